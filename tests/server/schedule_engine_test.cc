// Schedules through the real engine and handlers, on the in-memory store and a ManualClock: every
// fire, overlap decision, catch-up and patch is one transition, and the workflows it starts are
// real runs (completed here by a minimal in-test worker that speaks the workflow-task protocol
// through the handlers). "Server down" is the engine stopped and destroyed while the store lives
// on and the clock moves; a new engine on the same store recovers timers and outbox tasks.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "history/history_store.h"
#include "proto/schedule_spec.h"
#include "scheduler/clock.h"
#include "server/engine.h"
#include "server/handlers/handlers.h"
#include "server/handlers/transfer.h"

namespace cairn {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
// 2026-12-07T12:00:00Z
constexpr int64_t kStart = 1'796'644'800'000;

class NullWaiter final : public PollWaiter {
 public:
  void deliver(v1::TaskRecord) override {}
};

v1::Payloads json_input(const std::string& json) {
  v1::Payloads p;
  v1::Payload* one = p.add_payloads();
  (*one->mutable_metadata())["encoding"] = "json/plain";
  one->set_data(json);
  return p;
}

class ScheduleEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = make_memory_store(4);
    boot();
  }
  void TearDown() override { down(); }

  int boots_ = 0;

  void boot(bool hold_transfers = false) {
    EngineOptions options;
    options.timer_thread = false;
    options.worker_threads = 2;
    // Each boot draws other run ids, as a restarted server does (it seeds from random_device):
    // the same seed would repeat the previous boot's run ids, and the store refuses a new run
    // whose events are already stored.
    options.seed = 7 + static_cast<uint64_t>(boots_++);
    options.hold_transfers_for_testing = hold_transfers;
    engine_ = std::make_unique<Engine>(store_.get(), &clock_, options);
    engine_->set_transfer_executor(
        [](Engine& e, const v1::TaskRecord& task) { return handlers::execute_transfer(e, task); });
    ASSERT_TRUE(engine_->start().ok());
    settle();
  }
  // The server goes down: nothing in memory survives, the store does.
  void down() {
    if (engine_) {
      settle();
      engine_->stop();
      engine_.reset();
    }
  }
  void settle() { ASSERT_TRUE(engine_->pool().wait_idle(10s)) << "engine pool did not drain"; }
  void advance(int64_t ms) {
    clock_.advance(ms);
    settle();
    // Transfers may have queued more work (a start recorded, a buffered start after a close).
    settle();
  }

  v1::Schedule interval_schedule(int64_t every_ms, v1::ScheduleOverlapPolicy policy) {
    v1::Schedule s;
    s.mutable_spec()->add_intervals()->set_every_ms(every_ms);
    s.mutable_action()->mutable_workflow_type()->set_name("job");
    s.mutable_action()->set_task_queue("jobs");
    s.mutable_policies()->set_overlap_policy(policy);
    return s;
  }

  Status create(const std::string& id, const v1::Schedule& schedule,
                const std::string& request_id = "") {
    v1::CreateScheduleRequest req;
    req.set_schedule_id(id);
    *req.mutable_schedule() = schedule;
    req.set_request_id(request_id);
    v1::CreateScheduleResponse resp;
    Status st = handlers::create_schedule(*engine_, req, &resp);
    settle();
    return st;
  }

  v1::DescribeScheduleResponse describe(const std::string& id) {
    v1::DescribeScheduleRequest req;
    req.set_schedule_id(id);
    v1::DescribeScheduleResponse resp;
    Status st = handlers::describe_schedule(*engine_, req, &resp);
    EXPECT_TRUE(st.ok()) << st.to_string();
    return resp;
  }

  Result<std::vector<std::string>> patch(const std::string& id, const v1::SchedulePatch& p,
                                         const std::string& request_id = "") {
    v1::PatchScheduleRequest req;
    req.set_schedule_id(id);
    *req.mutable_patch() = p;
    req.set_request_id(request_id);
    v1::PatchScheduleResponse resp;
    Status st = handlers::patch_schedule(*engine_, req, &resp);
    settle();
    settle();
    if (!st.ok()) {
      return st;
    }
    return std::vector<std::string>(resp.workflow_ids().begin(), resp.workflow_ids().end());
  }

  // Workflow ids of every run whose id starts with `prefix`, by id (so by nominal time).
  std::map<std::string, v1::RunState> runs(const std::string& prefix) {
    std::map<std::string, v1::RunState> out;
    auto keys = store_->list_runs_for_testing();
    EXPECT_TRUE(keys.ok());
    for (const RunKey& k : *keys) {
      if (k.workflow_id.rfind(prefix, 0) != 0) {
        continue;
      }
      auto state = store_->load_run(k);
      EXPECT_TRUE(state.ok());
      auto seen = out.find(k.workflow_id);
      if (seen != out.end()) {
        // Only a continue-as-new chain has two runs under one id; keep its newest run.
        const bool chain =
            seen->second.status() == v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW ||
            state->status() == v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW;
        EXPECT_TRUE(chain) << "two runs of " << k.workflow_id;
        if (state->status() == v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW) {
          continue;
        }
      }
      out[k.workflow_id] = *state;
    }
    return out;
  }
  std::vector<std::string> ids(const std::string& prefix) {
    std::vector<std::string> out;
    for (auto& [id, state] : runs(prefix)) {
      out.push_back(id);
    }
    return out;
  }
  std::vector<std::string> open_ids(const std::string& prefix) {
    std::vector<std::string> out;
    for (auto& [id, state] : runs(prefix)) {
      if (state.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
        out.push_back(id);
      }
    }
    return out;
  }

  // A minimal worker: takes the workflow task of `workflow_id` from the queue and answers it with
  // one command (complete, or cancel when asked to). Returns false when no task was there.
  enum class Answer { kComplete, kCancel, kContinueAsNew };
  bool finish(const std::string& workflow_id, bool cancel = false,
              const std::string& queue = "jobs") {
    return answer(workflow_id, cancel ? Answer::kCancel : Answer::kComplete, queue);
  }
  bool answer(const std::string& workflow_id, Answer how, const std::string& queue = "jobs") {
    QueueKey key{"default", queue, v1::TASK_KIND_WORKFLOW};
    std::vector<v1::TaskRecord> other;
    bool done = false;
    for (int i = 0; i < 100 && !done; ++i) {
      auto task = engine_->matcher().poll(key, std::make_shared<NullWaiter>(), clock_.now_ms());
      if (!task) {
        break;
      }
      if (task->workflow_id() != workflow_id) {
        other.push_back(*task);
        continue;
      }
      v1::PollWorkflowTaskQueueRequest poll;
      poll.set_task_queue(queue);
      poll.set_identity("test-worker");
      v1::PollWorkflowTaskQueueResponse polled;
      Status st = handlers::start_workflow_task(*engine_, *task, poll, &polled);
      EXPECT_TRUE(st.ok()) << st.to_string();
      v1::RespondWorkflowTaskCompletedRequest req;
      req.set_task_token(polled.task_token());
      req.set_identity("test-worker");
      v1::Command* c = req.add_commands();
      if (how == Answer::kCancel) {
        c->set_command_type(v1::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION);
        c->mutable_cancel_workflow_execution_command_attributes();
      } else if (how == Answer::kContinueAsNew) {
        c->set_command_type(v1::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION);
        c->mutable_continue_as_new_workflow_execution_command_attributes();
      } else {
        c->set_command_type(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
        c->mutable_complete_workflow_execution_command_attributes();
      }
      v1::RespondWorkflowTaskCompletedResponse resp;
      st = handlers::respond_workflow_task_completed(*engine_, req, &resp);
      EXPECT_TRUE(st.ok()) << st.to_string();
      done = true;
    }
    for (auto& t : other) {
      engine_->matcher().offer(key, t);
    }
    settle();
    settle();
    return done;
  }

  std::unique_ptr<HistoryStore> store_;
  ManualClock clock_{kStart};
  std::unique_ptr<Engine> engine_;
};

std::string at(int64_t ms) { return schedule::format_utc(ms); }

// The seed case: scale model endpoints to zero at 22:00 UTC and back at 07:00, for two days.
TEST_F(ScheduleEngineTest, NightScaleDownAndMorningScaleUpFireAtTheirTimes) {
  v1::Schedule down_s;
  down_s.mutable_spec()->add_cron_expressions("0 22 * * *");
  down_s.mutable_action()->mutable_workflow_type()->set_name("scale_endpoints");
  down_s.mutable_action()->set_task_queue("ops");
  *down_s.mutable_action()->mutable_input() = json_input("{\"replicas\":0}");
  v1::Schedule up_s = down_s;
  up_s.mutable_spec()->set_cron_expressions(0, "0 7 * * *");
  *up_s.mutable_action()->mutable_input() = json_input("{\"replicas\":2}");
  ASSERT_TRUE(create("scale-down", down_s).ok());
  ASSERT_TRUE(create("scale-up", up_s).ok());

  EXPECT_EQ(at(describe("scale-down").info().future_action_times_ms(0)), "2026-12-07T22:00:00Z");
  EXPECT_EQ(at(describe("scale-up").info().future_action_times_ms(0)), "2026-12-08T07:00:00Z");

  std::vector<std::string> order;  // workflow ids in the order they started
  for (int hour = 0; hour < 48; ++hour) {
    advance(kHour);
    for (const char* prefix : {"scale-down-", "scale-up-"}) {
      for (const std::string& id : open_ids(prefix)) {
        order.push_back(id);
        EXPECT_TRUE(finish(id, false, "ops")) << id;
      }
    }
  }
  EXPECT_EQ(order, (std::vector<std::string>{
                       "scale-down-2026-12-07T22:00:00Z", "scale-up-2026-12-08T07:00:00Z",
                       "scale-down-2026-12-08T22:00:00Z", "scale-up-2026-12-09T07:00:00Z"}));
  auto all = runs("scale-");
  EXPECT_EQ(all["scale-down-2026-12-08T22:00:00Z"].status(),
            v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  v1::DescribeScheduleResponse d = describe("scale-up");
  EXPECT_EQ(d.info().action_count(), 2);
  ASSERT_EQ(d.info().recent_actions_size(), 2);
  EXPECT_EQ(d.info().recent_actions(1).workflow_id(), "scale-up-2026-12-09T07:00:00Z");
  EXPECT_EQ(d.info().recent_actions(1).status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  EXPECT_FALSE(d.info().recent_actions(1).run_id().empty());
  EXPECT_EQ(at(d.info().future_action_times_ms(0)), "2026-12-10T07:00:00Z");
  EXPECT_EQ(all["scale-up-2026-12-08T07:00:00Z"].scheduled_by().schedule_id(), "scale-up");
}

struct OverlapCase {
  v1::ScheduleOverlapPolicy policy;
  const char* name;
};

class OverlapTest : public ScheduleEngineTest, public ::testing::WithParamInterface<OverlapCase> {};

// Fires every minute from 12:01; the first action is still running when the next two come.
TEST_P(OverlapTest, SecondAndThirdFireWhileTheFirstRuns) {
  const v1::ScheduleOverlapPolicy policy = GetParam().policy;
  ASSERT_TRUE(create("ov", interval_schedule(kMinute, policy)).ok());
  const std::string first = "ov-" + at(kStart + kMinute);
  const std::string second = "ov-" + at(kStart + 2 * kMinute);
  const std::string third = "ov-" + at(kStart + 3 * kMinute);
  advance(kMinute);
  ASSERT_EQ(open_ids("ov-"), std::vector<std::string>{first});
  advance(kMinute);
  advance(kMinute);
  v1::DescribeScheduleResponse d = describe("ov");
  auto all = runs("ov-");
  switch (policy) {
    case v1::SCHEDULE_OVERLAP_POLICY_SKIP:
      EXPECT_EQ(ids("ov-"), std::vector<std::string>{first});
      EXPECT_EQ(d.info().overlap_skipped(), 2);
      ASSERT_TRUE(finish(first));
      advance(kMinute);  // the next fire finds nothing running
      EXPECT_EQ(open_ids("ov-"), std::vector<std::string>{"ov-" + at(kStart + 4 * kMinute)});
      break;
    case v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
      EXPECT_EQ(ids("ov-"), std::vector<std::string>{first});
      EXPECT_EQ(d.info().buffered_starts_size(), 1);
      EXPECT_EQ(d.info().overlap_skipped(), 1);  // the third was dropped
      ASSERT_TRUE(finish(first));                // the close starts the buffered one at once
      EXPECT_EQ(open_ids("ov-"), std::vector<std::string>{second});
      break;
    case v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
      EXPECT_EQ(d.info().buffered_starts_size(), 2);
      ASSERT_TRUE(finish(first));
      EXPECT_EQ(open_ids("ov-"), std::vector<std::string>{second});
      ASSERT_TRUE(finish(second));
      EXPECT_EQ(open_ids("ov-"), std::vector<std::string>{third});
      break;
    case v1::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER: {
      // The running one was asked to cancel; only the newest fire waits for it.
      EXPECT_TRUE(all[first].cancel_requested());
      EXPECT_EQ(d.info().buffered_starts_size(), 1);
      EXPECT_EQ(d.info().buffered_starts(0).nominal_time_ms(), kStart + 3 * kMinute);
      ASSERT_TRUE(finish(first, /*cancel=*/true));
      EXPECT_EQ(runs("ov-")[first].status(), v1::WORKFLOW_EXECUTION_STATUS_CANCELED);
      EXPECT_EQ(open_ids("ov-"), std::vector<std::string>{third});
      break;
    }
    case v1::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER:
      // Each fire terminated the one before and started at once after its close.
      EXPECT_EQ(all[first].status(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
      EXPECT_EQ(all[second].status(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
      EXPECT_EQ(open_ids("ov-"), std::vector<std::string>{third});
      EXPECT_EQ(d.info().buffered_starts_size(), 0);
      break;
    case v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL:
      EXPECT_EQ(open_ids("ov-"), (std::vector<std::string>{first, second, third}));
      EXPECT_EQ(d.info().running_actions_size(), 3);
      break;
    default:
      FAIL() << "unhandled policy";
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryPolicy, OverlapTest,
    ::testing::Values(OverlapCase{v1::SCHEDULE_OVERLAP_POLICY_SKIP, "Skip"},
                      OverlapCase{v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE, "BufferOne"},
                      OverlapCase{v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL, "BufferAll"},
                      OverlapCase{v1::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER, "CancelOther"},
                      OverlapCase{v1::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER, "TerminateOther"},
                      OverlapCase{v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, "AllowAll"}),
    [](const auto& info) { return std::string(info.param.name); });

// Down past several fires: those within the catch-up window run once each, in order; older ones
// are skipped and counted.
TEST_F(ScheduleEngineTest, CatchUpAfterDowntimeWithinAndBeyondTheWindow) {
  v1::Schedule s = interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL);
  s.mutable_policies()->set_catchup_window_ms(5 * kMinute);
  ASSERT_TRUE(create("cu", s).ok());
  advance(kMinute);  // 12:01 fires
  ASSERT_EQ(ids("cu-").size(), 1u);

  down();
  clock_.advance(3 * kMinute);  // down over 12:02, 12:03, 12:04 — inside the window
  boot();
  advance(0);
  EXPECT_EQ(ids("cu-"), (std::vector<std::string>{
                            "cu-" + at(kStart + kMinute), "cu-" + at(kStart + 2 * kMinute),
                            "cu-" + at(kStart + 3 * kMinute), "cu-" + at(kStart + 4 * kMinute)}));
  EXPECT_EQ(describe("cu").info().missed_catchup_window(), 0);

  down();
  clock_.advance(10 * kMinute);  // now 12:14; down over 12:05 … 12:14
  boot();
  advance(0);
  // 12:05 … 12:08 are more than 5 minutes old: counted; 12:09 … 12:14 run.
  v1::DescribeScheduleResponse d = describe("cu");
  EXPECT_EQ(d.info().missed_catchup_window(), 4);
  std::vector<std::string> got = ids("cu-");
  ASSERT_EQ(got.size(), 4u + 6u);
  EXPECT_EQ(got[4], "cu-" + at(kStart + 9 * kMinute));
  EXPECT_EQ(got.back(), "cu-" + at(kStart + 14 * kMinute));
  EXPECT_EQ(d.info().action_count(), 10);
  EXPECT_EQ(at(d.info().future_action_times_ms(0)), at(kStart + 15 * kMinute));
}

// A day of downtime of a one-second schedule: a long catch-up is taken in bounded transitions and
// the fires older than the window are counted without being enumerated one by one.
TEST_F(ScheduleEngineTest, LongDowntimeIsCaughtUpInBoundedSteps) {
  v1::Schedule s = interval_schedule(1000, v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL);
  s.mutable_policies()->set_catchup_window_ms(250'000);  // 250 fires
  ASSERT_TRUE(create("sec", s).ok());
  down();
  clock_.advance(24 * kHour);
  boot();
  advance(0);
  v1::DescribeScheduleResponse d = describe("sec");
  EXPECT_EQ(d.info().action_count(), 251);  // every second of the last 250 s, both ends in
  EXPECT_EQ(d.info().missed_catchup_window() + d.info().action_count(), 24 * 3600);
  EXPECT_EQ(ids("sec-").size(), 251u);
}

TEST_F(ScheduleEngineTest, PauseUnpauseTriggerAndBackfill) {
  ASSERT_TRUE(
      create("pb", interval_schedule(10 * kMinute, v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)).ok());
  v1::SchedulePatch pause;
  pause.set_pause("maintenance window");
  ASSERT_TRUE(patch("pb", pause).ok());
  v1::DescribeScheduleResponse d = describe("pb");
  EXPECT_TRUE(d.schedule().paused());
  EXPECT_EQ(d.schedule().notes(), "maintenance window");
  EXPECT_EQ(d.info().future_action_times_ms_size(), 0);
  advance(35 * kMinute);  // 12:10, 12:20, 12:30 pass while paused
  EXPECT_TRUE(ids("pb-").empty());

  // Trigger works while paused; a retry of the same patch does not fire twice.
  v1::SchedulePatch trigger;
  trigger.set_trigger_immediately(true);
  auto triggered = patch("pb", trigger, "req-1");
  ASSERT_TRUE(triggered.ok());
  ASSERT_EQ(triggered->size(), 1u);
  EXPECT_EQ((*triggered)[0], "pb-" + at(kStart + 35 * kMinute));
  ASSERT_TRUE(patch("pb", trigger, "req-1").ok());
  EXPECT_EQ(ids("pb-"), std::vector<std::string>{"pb-" + at(kStart + 35 * kMinute)});

  v1::SchedulePatch unpause;
  unpause.set_unpause("done");
  ASSERT_TRUE(patch("pb", unpause).ok());
  d = describe("pb");
  EXPECT_FALSE(d.schedule().paused());
  EXPECT_EQ(d.info().paused_skipped(), 3);
  EXPECT_EQ(at(d.info().future_action_times_ms(0)), at(kStart + 40 * kMinute));  // not caught up

  // Backfill 12:00 … 12:30: four nominal times, each started once under its own id.
  v1::SchedulePatch backfill;
  auto* b = backfill.add_backfill();
  b->set_start_time_ms(kStart);
  b->set_end_time_ms(kStart + 30 * kMinute);
  auto filled = patch("pb", backfill);
  ASSERT_TRUE(filled.ok());
  EXPECT_EQ(filled->size(), 4u);
  EXPECT_EQ(ids("pb-").size(), 5u);
  EXPECT_EQ(runs("pb-")["pb-" + at(kStart + 20 * kMinute)].status(),
            v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  // The same range again: nothing new starts. The three still running are skipped; the one
  // that closed meanwhile is refused by its id (it ran already), and the refusal is recorded.
  ASSERT_TRUE(finish("pb-" + at(kStart + 20 * kMinute)));
  const int64_t skipped_before = describe("pb").info().overlap_skipped();
  ASSERT_TRUE(patch("pb", backfill).ok());
  EXPECT_EQ(ids("pb-").size(), 5u);
  d = describe("pb");
  EXPECT_EQ(d.info().overlap_skipped(), skipped_before + 3);
  ASSERT_GE(d.info().recent_actions_size(), 2);
  const auto& refused_action = d.info().recent_actions(d.info().recent_actions_size() - 1);
  EXPECT_EQ(refused_action.workflow_id(), "pb-" + at(kStart + 20 * kMinute));
  EXPECT_NE(refused_action.start_error().find("already"), std::string::npos)
      << refused_action.start_error();

  // A backfill whose end is before its start is refused and changes nothing.
  v1::SchedulePatch bad;
  auto* r = bad.add_backfill();
  r->set_start_time_ms(kStart + kHour);
  r->set_end_time_ms(kStart);
  auto refused = patch("pb", bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("before start_time"), std::string::npos);
}

TEST_F(ScheduleEngineTest, RemainingActionsBoundTheScheduledFires) {
  v1::Schedule s = interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL);
  s.set_limited_actions(true);
  s.set_remaining_actions(2);
  ASSERT_TRUE(create("lim", s).ok());
  EXPECT_EQ(describe("lim").info().future_action_times_ms_size(), 2);
  advance(5 * kMinute);
  EXPECT_EQ(ids("lim-").size(), 2u);
  v1::DescribeScheduleResponse d = describe("lim");
  EXPECT_EQ(d.schedule().remaining_actions(), 0);
  EXPECT_EQ(d.info().future_action_times_ms_size(), 0);
}

TEST_F(ScheduleEngineTest, PauseOnFailurePausesWhenAnActionFails) {
  v1::Schedule s = interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_SKIP);
  s.mutable_policies()->set_pause_on_failure(true);
  ASSERT_TRUE(create("pf", s).ok());
  advance(kMinute);
  ASSERT_TRUE(finish("pf-" + at(kStart + kMinute), /*cancel=*/true));
  v1::DescribeScheduleResponse d = describe("pf");
  EXPECT_TRUE(d.schedule().paused());
  EXPECT_NE(d.schedule().notes().find("CANCELED"), std::string::npos);
  advance(5 * kMinute);
  EXPECT_EQ(ids("pf-").size(), 1u);
}

// The schedule follows a continue-as-new chain: the action runs until the last run closes.
TEST_F(ScheduleEngineTest, AnActionThatContinuesAsNewStillCountsAsRunning) {
  ASSERT_TRUE(create("can", interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_SKIP)).ok());
  const std::string first = "can-" + at(kStart + kMinute);
  advance(kMinute);
  ASSERT_TRUE(answer(first, Answer::kContinueAsNew));
  advance(kMinute);  // 12:02: the chain still runs, so it is skipped
  EXPECT_EQ(ids("can-"), std::vector<std::string>{first});
  EXPECT_EQ(describe("can").info().overlap_skipped(), 1);
  ASSERT_TRUE(finish(first));  // the successor run completes
  v1::DescribeScheduleResponse d = describe("can");
  ASSERT_EQ(d.info().recent_actions_size(), 1);
  EXPECT_EQ(d.info().recent_actions(0).status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  EXPECT_EQ(d.info().running_actions_size(), 0);
  advance(kMinute);
  EXPECT_EQ(open_ids("can-"), std::vector<std::string>{"can-" + at(kStart + 3 * kMinute)});
}

TEST_F(ScheduleEngineTest, BadSpecsAreRefusedAndChangeNothing) {
  v1::Schedule bad_cron = interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_SKIP);
  bad_cron.mutable_spec()->clear_intervals();
  bad_cron.mutable_spec()->add_cron_expressions("0 25 * * *");
  Status st = create("bad", bad_cron);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("spec.cron_expressions[0]"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("column 3"), std::string::npos) << st.message();

  v1::Schedule bad_zone = interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_SKIP);
  bad_zone.mutable_spec()->set_time_zone("Mars/Olympus_Mons");
  st = create("bad", bad_zone);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("spec.time_zone"), std::string::npos) << st.message();

  v1::Schedule zero = interval_schedule(0, v1::SCHEDULE_OVERLAP_POLICY_SKIP);
  st = create("bad", zero);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("every_ms"), std::string::npos) << st.message();

  v1::Schedule reversed = interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_SKIP);
  reversed.mutable_spec()->set_start_time_ms(kStart + kHour);
  reversed.mutable_spec()->set_end_time_ms(kStart);
  st = create("bad", reversed);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("end_time"), std::string::npos) << st.message();

  v1::Schedule no_type = interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_SKIP);
  no_type.mutable_action()->clear_workflow_type();
  st = create("bad", no_type);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("action.workflow_type"), std::string::npos) << st.message();

  auto all = store_->list_runs_for_testing();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty()) << "a refused create wrote a run";
  v1::DescribeScheduleRequest dreq;
  dreq.set_schedule_id("bad");
  v1::DescribeScheduleResponse dresp;
  EXPECT_EQ(handlers::describe_schedule(*engine_, dreq, &dresp).code(), StatusCode::kNotFound);
}

TEST_F(ScheduleEngineTest, CreateIsIdempotentByRequestIdAndRefusesASecondSchedule) {
  v1::Schedule s = interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_SKIP);
  ASSERT_TRUE(create("once", s, "r1").ok());
  EXPECT_TRUE(create("once", s, "r1").ok());  // a retried call
  EXPECT_EQ(create("once", s, "r2").code(), StatusCode::kAlreadyExists);
  // A user workflow may not take a schedule entity's id, nor signal or terminate it.
  v1::StartWorkflowExecutionRequest start;
  start.set_workflow_id(schedule::entity_workflow_id("once"));
  start.mutable_workflow_type()->set_name("x");
  start.set_task_queue("q");
  v1::StartWorkflowExecutionResponse sresp;
  EXPECT_EQ(handlers::start_workflow(*engine_, start, &sresp).code(), StatusCode::kInvalidArgument);
  v1::TerminateWorkflowExecutionRequest term;
  term.mutable_workflow_execution()->set_workflow_id(schedule::entity_workflow_id("once"));
  v1::TerminateWorkflowExecutionResponse tresp;
  EXPECT_EQ(handlers::terminate_workflow(*engine_, term, &tresp).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ScheduleEngineTest, UpdateReplacesTheSpecAndChecksTheConflictToken) {
  ASSERT_TRUE(create("up", interval_schedule(kHour, v1::SCHEDULE_OVERLAP_POLICY_SKIP)).ok());
  v1::DescribeScheduleResponse before = describe("up");
  v1::UpdateScheduleRequest req;
  req.set_schedule_id("up");
  *req.mutable_schedule() = interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_SKIP);
  req.set_conflict_token("stale-token");
  v1::UpdateScheduleResponse resp;
  EXPECT_EQ(handlers::update_schedule(*engine_, req, &resp).code(), StatusCode::kAborted);
  EXPECT_EQ(describe("up").schedule().spec().intervals(0).every_ms(), kHour);  // unchanged
  req.set_conflict_token(before.conflict_token());
  ASSERT_TRUE(handlers::update_schedule(*engine_, req, &resp).ok());
  EXPECT_NE(resp.conflict_token(), before.conflict_token());
  advance(kMinute);
  EXPECT_EQ(ids("up-"), std::vector<std::string>{"up-" + at(kStart + kMinute)});
}

TEST_F(ScheduleEngineTest, DeleteStopsFiresAndTheIdCanBeCreatedAgain) {
  ASSERT_TRUE(
      create("del", interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)).ok());
  advance(kMinute);
  v1::DeleteScheduleRequest req;
  req.set_schedule_id("del");
  v1::DeleteScheduleResponse resp;
  ASSERT_TRUE(handlers::delete_schedule(*engine_, req, &resp).ok());
  EXPECT_EQ(handlers::delete_schedule(*engine_, req, &resp).code(), StatusCode::kNotFound);
  advance(5 * kMinute);
  EXPECT_EQ(ids("del-").size(), 1u);
  EXPECT_EQ(open_ids("del-").size(), 1u);              // the running action goes on
  ASSERT_TRUE(finish("del-" + at(kStart + kMinute)));  // its close reaches no schedule: fine
  v1::ListSchedulesRequest lreq;
  v1::ListSchedulesResponse lresp;
  ASSERT_TRUE(handlers::list_schedules(*engine_, lreq, &lresp).ok());
  EXPECT_EQ(lresp.schedules_size(), 0);
  ASSERT_TRUE(
      create("del", interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)).ok());
  advance(kMinute);
  EXPECT_EQ(ids("del-").size(), 2u);
}

TEST_F(ScheduleEngineTest, ListFiltersByIdPausedAndWorkflowType) {
  v1::Schedule a = interval_schedule(kHour, v1::SCHEDULE_OVERLAP_POLICY_SKIP);
  v1::Schedule b = a;
  b.mutable_action()->mutable_workflow_type()->set_name("reindex");
  b.set_paused(true);
  ASSERT_TRUE(create("alpha", a).ok());
  ASSERT_TRUE(create("beta", b).ok());
  auto list = [&](const std::string& q) {
    v1::ListSchedulesRequest req;
    req.set_query(q);
    v1::ListSchedulesResponse resp;
    Status st = handlers::list_schedules(*engine_, req, &resp);
    EXPECT_TRUE(st.ok()) << st.to_string();
    std::vector<std::string> out;
    for (const auto& s : resp.schedules()) {
      out.push_back(s.schedule_id());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(list(""), (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_EQ(list("Paused = true"), std::vector<std::string>{"beta"});
  EXPECT_EQ(list("ScheduleId = 'alpha'"), std::vector<std::string>{"alpha"});
  EXPECT_EQ(list("WorkflowType = 'reindex'"), std::vector<std::string>{"beta"});
  // Schedules are not workflows: workflow listings do not show their entities.
  v1::ListWorkflowExecutionsRequest wreq;
  v1::ListWorkflowExecutionsResponse wresp;
  ASSERT_TRUE(handlers::list_workflows(*engine_, wreq, &wresp).ok());
  EXPECT_EQ(wresp.executions_size(), 0);
  v1::ListSchedulesRequest bad;
  bad.set_query("Paused = ");
  v1::ListSchedulesResponse bresp;
  EXPECT_EQ(handlers::list_schedules(*engine_, bad, &bresp).code(), StatusCode::kInvalidArgument);
}

// A crash after the fire was decided but before its workflow started: the outbox task is on disk
// with the decision, and the restarted engine starts the workflow exactly once — also when the
// task runs twice.
TEST_F(ScheduleEngineTest, AFireDecidedBeforeACrashStartsExactlyOnce) {
  down();
  boot(/*hold_transfers=*/true);
  ASSERT_TRUE(create("cr", interval_schedule(kMinute, v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)).ok());
  advance(kMinute);
  EXPECT_TRUE(ids("cr-").empty());  // decided, not started
  down();
  boot();
  EXPECT_EQ(ids("cr-"), std::vector<std::string>{"cr-" + at(kStart + kMinute)});
  // Run every transfer left on disk again by hand: a redo is a no-op.
  for (int32_t shard = 0; shard < store_->shard_count(); ++shard) {
    auto page = store_->scan_tasks(ShardId{shard}, 0, 1000);
    ASSERT_TRUE(page.ok());
    for (const auto& task : page->tasks) {
      if (task.kind() == v1::TASK_KIND_TRANSFER) {
        EXPECT_TRUE(handlers::execute_transfer(*engine_, task).ok());
      }
    }
  }
  settle();
  EXPECT_EQ(ids("cr-").size(), 1u);
  v1::DescribeScheduleResponse d = describe("cr");
  ASSERT_EQ(d.info().running_actions_size(), 1);
  EXPECT_FALSE(d.info().running_actions(0).run_id().empty());
  EXPECT_EQ(d.info().action_count(), 1);
}

TEST_F(ScheduleEngineTest, JitterDelaysTheFireButKeepsTheNominalId) {
  v1::Schedule s = interval_schedule(kHour, v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL);
  s.mutable_spec()->set_jitter_ms(10 * kMinute);
  ASSERT_TRUE(create("jit", s).ok());
  const int64_t nominal = kStart + kHour;
  const int64_t delay = schedule::jitter_for("jit", nominal, 10 * kMinute);
  ASSERT_GE(delay, 0);
  ASSERT_LT(delay, 10 * kMinute);
  advance(kHour + delay - 1);
  EXPECT_TRUE(ids("jit-").empty());
  advance(1);
  EXPECT_EQ(ids("jit-"), std::vector<std::string>{"jit-" + at(nominal)});
  auto run = runs("jit-")["jit-" + at(nominal)];
  EXPECT_EQ(run.start_time_ms(), nominal + delay);
}

}  // namespace
}  // namespace cairn
