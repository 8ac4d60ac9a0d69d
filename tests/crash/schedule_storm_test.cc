// A kill -9 storm while a one-second schedule fires: the real cairn-server is killed at random
// moments and restarted on the same data directory; a worker completes every started workflow.
// Afterwards every nominal second from the first fire to the last has exactly one workflow
// (derived id "<schedule>-<nominal time>"): no fire lost, none doubled.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "e2e/fixture.h"
#include "proto/schedule_spec.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class ScheduleStormTest : public E2eTest {
 protected:
  grpc::Status describe(v1::DescribeScheduleResponse* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    v1::DescribeScheduleRequest req;
    req.set_schedule_id("storm");
    return client_->stub().DescribeSchedule(&ctx, req, resp);
  }

  // Every run of the schedule's workflows: workflow id -> statuses of its runs.
  std::map<std::string, std::vector<v1::WorkflowExecutionStatus>> scheduled_runs() {
    std::map<std::string, std::vector<v1::WorkflowExecutionStatus>> out;
    v1::ListWorkflowExecutionsRequest req;
    req.set_query("WorkflowId STARTS_WITH 'storm-'");
    req.set_page_size(1000);
    while (true) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 10s);
      v1::ListWorkflowExecutionsResponse page;
      grpc::Status st = client_->stub().ListWorkflowExecutions(&ctx, req, &page);
      EXPECT_TRUE(st.ok()) << st.error_message();
      for (const auto& e : page.executions()) {
        out[e.execution().workflow_id()].push_back(e.status());
      }
      if (!st.ok() || page.next_page_token().empty()) {
        return out;
      }
      req.set_next_page_token(page.next_page_token());
    }
  }
};

TEST_F(ScheduleStormTest, KillDashNineWhileAOneSecondScheduleFiresLosesAndDoublesNoFire) {
  Worker& w = new_worker("storm-q", 4);
  w.register_workflow("tick", [](WorkflowContext& ctx) { return std::string("tock"); });
  w.start();

  v1::CreateScheduleRequest create;
  create.set_schedule_id("storm");
  create.set_request_id("create-storm");
  v1::Schedule* s = create.mutable_schedule();
  s->mutable_spec()->add_intervals()->set_every_ms(1000);
  s->mutable_action()->mutable_workflow_type()->set_name("tick");
  s->mutable_action()->set_task_queue("storm-q");
  s->mutable_action()->set_workflow_run_timeout_ms(60'000);
  s->mutable_policies()->set_overlap_policy(v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL);
  {
    grpc::ClientContext ctx;
    v1::CreateScheduleResponse resp;
    grpc::Status st = client_->stub().CreateSchedule(&ctx, create, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // At least 20 kills, each after a random 150–600 ms of serving: kills land before, during and
  // after fires, starts and their records on the schedule.
  std::mt19937 rng(20261207);
  std::uniform_int_distribution<int> serve_ms(150, 600);
  const int port = server_->port();
  constexpr int kKills = 20;
  for (int i = 0; i < kKills; ++i) {
    // The moment of the kill (chaos, not synchronisation): a random point in the serving.
    std::this_thread::sleep_for(std::chrono::milliseconds(serve_ms(rng)));
    server_->kill9();
    std::string error;
    ASSERT_TRUE(server_->start(port, 30s, &error)) << "restart " << i << ": " << error;
  }

  // Let the schedule fire a few more times undisturbed, then pause it and wait until every
  // started workflow has closed.
  v1::DescribeScheduleResponse d;
  int64_t count_after_storm = 0;
  ASSERT_TRUE(await_until([&] { return describe(&d).ok(); }, 30s));
  count_after_storm = d.info().action_count();
  ASSERT_TRUE(await_until([&] {
    return describe(&d).ok() && d.info().action_count() >= count_after_storm + 3;
  }, 30s)) << "the schedule stopped firing after the storm";
  {
    grpc::ClientContext ctx;
    v1::PatchScheduleRequest req;
    req.set_schedule_id("storm");
    req.mutable_patch()->set_pause("storm over");
    v1::PatchScheduleResponse resp;
    grpc::Status st = client_->stub().PatchSchedule(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  ASSERT_TRUE(await_until([&] {
    return describe(&d).ok() && d.info().running_actions_size() == 0 &&
           d.info().buffered_starts_size() == 0;
  }, 60s)) << d.DebugString();

  auto runs = scheduled_runs();
  ASSERT_FALSE(runs.empty());
  std::set<int64_t> nominal;
  for (const auto& [id, statuses] : runs) {
    EXPECT_EQ(statuses.size(), 1u) << id << " ran " << statuses.size() << " times";
    EXPECT_EQ(statuses[0], v1::WORKFLOW_EXECUTION_STATUS_COMPLETED) << id;
    auto t = schedule::parse_utc(id.substr(std::string("storm-").size()));
    ASSERT_TRUE(t.ok()) << id;
    nominal.insert(*t);
  }
  // Contiguous seconds: a missing one is a lost fire.
  int64_t expected = *nominal.begin();
  for (int64_t t : nominal) {
    EXPECT_EQ(t, expected) << "no workflow for " << schedule::format_utc(expected);
    expected = t + 1000;
  }
  EXPECT_EQ(static_cast<int64_t>(runs.size()), d.info().action_count());
  EXPECT_EQ(d.info().missed_catchup_window(), 0);
  // Roughly one fire per second of the test (the storm took several seconds).
  EXPECT_GE(runs.size(), 5u);
}

}  // namespace
}  // namespace cairn::testing
