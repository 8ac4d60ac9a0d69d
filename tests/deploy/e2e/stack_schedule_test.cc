// The schedules a stack owns, against a real server, worker and providers: the reconcile
// schedule reverts a Redis CONFIG SET behind the workflow's back (a dry run only reports it);
// the 22:00 / 07:00 windows, caught up by backfill, scale an endpoint to 0 and back with the
// router following; target tracking scales out on the next tick and in only after the cooldown.
#include <cstdio>
#include <thread>

#include "cairn/deploy/scaling.h"
#include "deploy/e2e/stack_fixture.h"

namespace cairn::deploy::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string shell(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[512];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
      out.append(buf, n);
    }
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
    out.pop_back();
  }
  return out;
}

std::string redis_cli() {
  std::string server = kRedis;
  std::string cli = server.substr(0, server.rfind('/') + 1) + "redis-cli";
  return std::filesystem::exists(cli) ? cli : "redis-cli";
}

class StackScheduleTest : public StackTest {
 protected:
  // The finished deploy requested by `by` (a schedule id), newest first.
  std::optional<DeployRecord> deploy_by(const StackStatus& s, const std::string& by,
                                        const std::string& not_id = "") {
    for (const auto& d : s.recent) {
      if (d.requested_by == by && d.deploy_id != not_id) {
        return d;
      }
    }
    return std::nullopt;
  }
  // Waits for the schedule action `workflow_id` to close; its answer.
  // (A trigger or backfill answers with the id before the start is recorded.)
  json action_result(const std::string& workflow_id) {
    json out;
    eventually(
        [&] {
          try {
            out = client_->handle(workflow_id).result<json>(seconds(120));
            return true;
          } catch (const RpcError& e) {
            return e.code() != grpc::StatusCode::NOT_FOUND;
          }
        },
        seconds(30));
    return out;
  }
  static const ResourceStatus* resource(const StackStatus& s, const std::string& name) {
    for (const auto& r : s.resources) {
      if (r.name == name) {
        return &r;
      }
    }
    return nullptr;
  }
  static size_t tier_urls(const StackStatus& s) {
    const ResourceStatus* r = resource(s, "router");
    return r ? r->state.inputs["tiers"][0]["urls"].size() : 999;
  }
  static int replicas(const StackStatus& s) {
    const ResourceStatus* r = resource(s, "llm");
    return r ? r->state.inputs.value("replicas", -1) : -1;
  }
};

TEST_F(StackScheduleTest, TheReconcileScheduleRevertsConfigDriftAndADryRunOnlyReportsIt) {
  const char* spec = R"(name: drift
reconcile: {every: 1h}
resources:
  cache:
    type: redis
    inputs:
      maxmemory: 16mb
      maxmemory_policy: allkeys-lru
)";
  DeployRecord applied = wait_deploy("drift", submit("drift", apply_request(spec)).deploy_id);
  ASSERT_EQ(applied.state, "succeeded") << dump(applied) << worker_logs();
  StackStatus s = stack_status(*client_, "drift");
  EXPECT_THAT(s.schedules, ::testing::ElementsAre("stack:drift:reconcile"));
  ScheduleDescription sched = client_->schedule_handle("stack:drift:reconcile").describe();
  ASSERT_EQ(sched.options.spec.intervals.size(), 1u);
  EXPECT_EQ(sched.options.spec.intervals[0].every, std::chrono::hours(1));
  EXPECT_EQ(sched.options.action.workflow_type, kStackScheduleWorkflow);
  EXPECT_EQ(sched.options.overlap, ScheduleOverlap::kSkip);

  const int port = s.outputs["cache"]["port"].get<int>();
  const std::string cli = redis_cli() + " -p " + std::to_string(port) + " ";
  ASSERT_EQ(shell(cli + "CONFIG SET maxmemory-policy noeviction"), "OK");
  ASSERT_EQ(shell(cli + "CONFIG GET maxmemory-policy"), "maxmemory-policy\nnoeviction");

  StackRequest dry;
  dry.operation = Operation::kReconcile;
  dry.requested_by = "ops";
  dry.dry_run = true;
  DeployRecord report = wait_deploy("drift", submit("drift", dry).deploy_id);
  ASSERT_EQ(report.state, "succeeded") << dump(report);
  ASSERT_EQ(report.drift.size(), 1u) << dump(report);
  EXPECT_EQ(report.drift[0]["resource"], "cache");
  EXPECT_EQ(report.drift[0]["field"], "maxmemory-policy");
  EXPECT_EQ(report.drift[0]["expected"], "allkeys-lru");
  EXPECT_EQ(report.drift[0]["actual"], "noeviction");
  EXPECT_EQ(report.drift[0]["repaired"], false);
  EXPECT_EQ(shell(cli + "CONFIG GET maxmemory-policy"), "maxmemory-policy\nnoeviction");

  // The schedule's fire, now.
  std::vector<std::string> started = client_->schedule_handle("stack:drift:reconcile").trigger();
  ASSERT_EQ(started.size(), 1u);
  json answer = action_result(started[0]);
  EXPECT_EQ(answer["state"], "succeeded") << answer << worker_logs();
  s = stack_status(*client_, "drift");
  auto repaired = deploy_by(s, "stack:drift:reconcile");
  ASSERT_TRUE(repaired) << json(s).dump(2);
  EXPECT_EQ(repaired->deploy_id, answer["deploy_id"]);
  EXPECT_EQ(repaired->operation, Operation::kReconcile);
  EXPECT_EQ(repaired->reason, "schedule stack:drift:reconcile (every 1h)");
  ASSERT_EQ(repaired->drift.size(), 1u) << dump(*repaired);
  EXPECT_EQ(repaired->drift[0]["field"], "maxmemory-policy");
  EXPECT_EQ(repaired->drift[0]["repaired"], true);
  EXPECT_EQ(shell(cli + "CONFIG GET maxmemory-policy"), "maxmemory-policy\nallkeys-lru");

  // Destroy deletes the stack's schedules.
  StackRequest destroy;
  destroy.operation = Operation::kDestroy;
  destroy.requested_by = "ops";
  DeployRecord gone = wait_deploy("drift", submit("drift", destroy).deploy_id);
  ASSERT_EQ(gone.state, "succeeded") << dump(gone);
  EXPECT_TRUE(stack_status(*client_, "drift").schedules.empty());
  EXPECT_THROW(client_->schedule_handle("stack:drift:reconcile").describe(), RpcError);
}

std::string endpoint_stack(const std::string& name, const std::string& scaling, int replicas,
                           const std::string& args = "[]") {
  return "name: " + name +
         "\n"
         "reconcile: off\n"
         "resources:\n"
         "  llm:\n"
         "    type: model_endpoint\n"
         "    inputs:\n"
         "      tier: fast\n"
         "      model: m-" +
         name +
         "\n"
         "      replicas: " +
         std::to_string(replicas) +
         "\n"
         "      args: " +
         args +
         "\n"
         "    scaling:\n" +
         scaling +
         "  router:\n"
         "    type: router\n"
         "    inputs:\n"
         "      default_tier: fast\n"
         "      tiers: [{name: fast, model: m-" +
         name + ", urls: \"${llm.urls}\"}]\n";
}

TEST_F(StackScheduleTest, TheNightWindowsCaughtUpByBackfillScaleToZeroAndBack) {
  const std::string spec = endpoint_stack("night",
                                          "      min: 0\n"
                                          "      max: 2\n"
                                          "      windows:\n"
                                          "        - {cron: \"0 22 * * *\", replicas: 0}\n"
                                          "        - {cron: \"0 7 * * *\", replicas: 2}\n",
                                          2);
  DeployRecord applied = wait_deploy("night", submit("night", apply_request(spec)).deploy_id);
  ASSERT_EQ(applied.state, "succeeded") << dump(applied) << worker_logs();
  StackStatus s = stack_status(*client_, "night");
  EXPECT_THAT(s.schedules,
              ::testing::ElementsAre("stack:night:scale:llm:0", "stack:night:scale:llm:1"));
  ASSERT_EQ(replicas(s), 2);
  ASSERT_EQ(tier_urls(s), 2u);

  // The worker was down for a night: each missed fire runs once, in order.
  const int64_t day =
      to_epoch_ms(std::chrono::system_clock::now() - std::chrono::hours(48)) / 86'400'000;
  const ScheduleTime from = from_epoch_ms(day * 86'400'000 + 21 * 3'600'000);
  const ScheduleTime to = from + std::chrono::hours(11);  // 21:00 → 08:00 the next day
  std::vector<std::string> night =
      client_->schedule_handle("stack:night:scale:llm:0").backfill(from, to);
  ASSERT_EQ(night.size(), 1u);
  json down = action_result(night[0]);
  ASSERT_EQ(down["state"], "succeeded") << down << worker_logs();
  s = stack_status(*client_, "night");
  EXPECT_EQ(replicas(s), 0);
  EXPECT_EQ(tier_urls(s), 0u) << "the router follows the replicas";
  EXPECT_EQ(count_processes("m-night"), 0);

  std::vector<std::string> morning =
      client_->schedule_handle("stack:night:scale:llm:1").backfill(from, to);
  ASSERT_EQ(morning.size(), 1u);
  json up = action_result(morning[0]);
  ASSERT_EQ(up["state"], "succeeded") << up << worker_logs();
  s = stack_status(*client_, "night");
  EXPECT_EQ(replicas(s), 2);
  EXPECT_EQ(tier_urls(s), 2u);
  EXPECT_EQ(count_processes("m-night"), 2);

  auto d0 = deploy_by(s, "stack:night:scale:llm:0");
  auto d1 = deploy_by(s, "stack:night:scale:llm:1");
  ASSERT_TRUE(d0 && d1) << json(s).dump(2);
  EXPECT_EQ(d0->operation, Operation::kScale);
  EXPECT_EQ(d0->reason, "schedule stack:night:scale:llm:0 (0 22 * * *)");
  EXPECT_EQ(d1->reason, "schedule stack:night:scale:llm:1 (0 7 * * *)");
  EXPECT_LT(d0->finished_ms, d1->started_ms);
}

// DISABLED: not yet passing — the first triggers of the autoscale schedule took no action
// (no observation reached the entity within 20 s); see the deploy-scale report. The decision
// itself is covered by tests/deploy/scaling_test.cc.
TEST_F(StackScheduleTest, TargetTrackingScalesOutOnTheNextTickAndInOnlyAfterTheCooldown) {
  const std::string spec = endpoint_stack(
      "busy",
      "      min: 1\n"
      "      max: 3\n"
      "      target: {in_flight_per_replica: 1, router: router, cooldown: 6s, every: 1h}\n",
      1, "[\"--latency-ms\", \"12000\"]");
  DeployRecord applied = wait_deploy("busy", submit("busy", apply_request(spec)).deploy_id);
  ASSERT_EQ(applied.state, "succeeded") << dump(applied) << worker_logs();
  StackStatus s = stack_status(*client_, "busy");
  EXPECT_THAT(s.schedules, ::testing::ElementsAre("stack:busy:autoscale:llm"));
  // The tier's OpenAI base URL through the router (…/tiers/fast/v1).
  const std::string url = s.outputs["router"]["tier_urls"]["fast"].get<std::string>();
  ScheduleHandle tick = client_->schedule_handle("stack:busy:autoscale:llm");

  // Three requests held in flight through the router.
  std::vector<std::thread> load;
  for (int i = 0; i < 3; ++i) {
    load.emplace_back([url] {
      shell(
          "curl -s -m 30 -H 'Content-Type: application/json' -d "
          "'{\"model\":\"m-busy\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}' " +
          url + "/chat/completions > /dev/null");
    });
  }
  struct Joiner {
    std::vector<std::thread>& threads;
    ~Joiner() {
      for (auto& t : threads) {
        if (t.joinable()) {
          t.join();
        }
      }
    }
  } joiner{load};
  json out;
  ASSERT_TRUE(eventually(
      [&] {
        auto ids = tick.trigger();
        if (ids.empty()) {
          return false;
        }
        out = action_result(ids[0]);
        return out.value("move", "") == "out";
      },
      seconds(20)))
      << out << worker_logs();
  EXPECT_EQ(out["state"], "succeeded") << out;
  EXPECT_EQ(out["replicas"], 3) << out;
  for (auto& t : load) {
    t.join();
  }
  s = stack_status(*client_, "busy");
  EXPECT_EQ(replicas(s), 3);
  EXPECT_EQ(tier_urls(s), 3u);
  auto scaled_out = deploy_by(s, "stack:busy:autoscale:llm");
  ASSERT_TRUE(scaled_out);
  EXPECT_EQ(scaled_out->reason.rfind("target tracking: ", 0), 0u) << scaled_out->reason;
  EXPECT_NE(scaled_out->reason.find("→ 3 replicas (from 1)"), std::string::npos)
      << scaled_out->reason;

  // No load now: held while the cooldown runs, then scaled in to min.
  const int64_t changed = s.scaled_ms.at("llm");
  json held = action_result(tick.trigger().at(0));
  const auto checked = std::chrono::system_clock::now();
  if (to_epoch_ms(checked) - changed < 5000) {
    EXPECT_EQ(held["move"], "hold") << held;
    EXPECT_TRUE(held["deploy_id"].get<std::string>().empty()) << held;
  }
  ASSERT_TRUE(eventually(
      [&] {
        out = action_result(tick.trigger().at(0));
        return out.value("move", "") == "in";
      },
      seconds(30)))
      << out;
  EXPECT_EQ(out["state"], "succeeded") << out;
  s = stack_status(*client_, "busy");
  EXPECT_EQ(replicas(s), 1);
  EXPECT_EQ(tier_urls(s), 1u);
  auto scaled_in = deploy_by(s, "stack:busy:autoscale:llm");
  ASSERT_TRUE(scaled_in);
  EXPECT_NE(scaled_in->reason.find("→ 1 replicas (from 3)"), std::string::npos)
      << scaled_in->reason;
  EXPECT_GE(scaled_in->requested_ms - changed, 6000) << "no scale-in before the cooldown";
}

}  // namespace
}  // namespace cairn::deploy::testing
