// End to end: schedules through the SDK's Client against a real cairn-server and worker — an
// interval schedule that fires by itself and starts workflows under ids derived from the nominal
// times, trigger and backfill (their ids, runs and outcomes in describe), pause / unpause,
// update with an edit function, listing with a filter, delete, and the server's refusals as
// RpcError.
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>

#include "e2e/fixture.h"
#include "proto/schedule_spec.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

ScheduleTime at(const std::string& rfc3339) { return from_epoch_ms(*schedule::parse_utc(rfc3339)); }

class ScheduleClientTest : public E2eTest {
 protected:
  void start_worker() {
    Worker& w = new_worker("sched-q");
    w.register_workflow("scale_down",
                        [](WorkflowContext&, const std::string& pool) { return "scaled " + pool; });
    w.start();
  }

  ScheduleOptions options(std::vector<std::string> cron) {
    ScheduleOptions o;
    o.spec.cron = std::move(cron);
    o.action = ScheduleAction::start_workflow("scale_down", {.task_queue = "sched-q"}, "pool-a");
    return o;
  }

  // The recent action of `h` for `workflow_id`, once closed (the close reaches the schedule
  // after the workflow's result does).
  ScheduleActionResult closed_action(ScheduleHandle& h, const std::string& workflow_id) {
    ScheduleActionResult found;
    EXPECT_TRUE(eventually([&] {
      for (const auto& a : h.describe().recent_actions) {
        if (a.workflow_id == workflow_id && a.close_time) {
          found = a;
          return true;
        }
      }
      return false;
    })) << workflow_id;
    return found;
  }
};

TEST_F(ScheduleClientTest, AnIntervalScheduleFiresByItselfUnderDerivedIds) {
  start_worker();
  ScheduleOptions o = options({});
  o.spec.intervals = {{.every = 1s}};
  o.action.workflow.workflow_id = "tick";
  o.overlap = ScheduleOverlap::kAllowAll;
  ScheduleHandle h = client_->create_schedule("every-second", o);
  ScheduleDescription d;
  ASSERT_TRUE(eventually([&] {
    d = h.describe();
    return d.recent_actions.size() >= 2;  // two fires started and closed (recent = closed)
  })) << "fired "
      << d.action_count << " times";
  h.pause("enough");
  d = h.describe();
  EXPECT_TRUE(d.paused);
  EXPECT_EQ(d.note, "enough");
  ASSERT_GE(d.recent_actions.size(), 2u);
  std::set<std::string> ids;
  for (const auto& a : d.recent_actions) {
    // "<base>-<nominal time>": the nominal times of a 1 s interval are whole seconds.
    EXPECT_EQ(a.workflow_id, "tick-" + schedule::format_utc(to_epoch_ms(a.nominal)));
    EXPECT_EQ(to_epoch_ms(a.nominal) % 1000, 0) << a.workflow_id;
    EXPECT_EQ(a.cause, ScheduleActionCause::kScheduled);
    EXPECT_GE(a.actual, a.nominal);
    ids.insert(a.workflow_id);
  }
  EXPECT_EQ(ids.size(), d.recent_actions.size()) << "no nominal time started twice";
  const std::string first = d.recent_actions.front().workflow_id;
  EXPECT_EQ(closed_action(h, first).status, v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  EXPECT_EQ(client_->handle(first).result<std::string>(60s), "scaled pool-a");
  h.remove();
}

TEST_F(ScheduleClientTest, TriggerAndBackfillReportTheirRunsAndOutcomes) {
  start_worker();
  ScheduleOptions o = options({"0 22 * * *"});
  o.spec.time_zone = "America/New_York";
  o.overlap = ScheduleOverlap::kAllowAll;
  ScheduleHandle h = client_->create_schedule("nightly", o);

  std::vector<std::string> triggered = h.trigger();
  ASSERT_EQ(triggered.size(), 1u);
  // The server starts it moments later (its transfer queue); describe shows it once closed.
  ScheduleActionResult t = closed_action(h, triggered[0]);
  EXPECT_EQ(client_->handle(triggered[0]).result<std::string>(60s), "scaled pool-a");
  EXPECT_EQ(t.cause, ScheduleActionCause::kTrigger);
  EXPECT_EQ(t.status, v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  EXPECT_EQ(t.run_id.size(), 36u);
  EXPECT_EQ(client_->handle(triggered[0]).describe().workflow_execution_info().execution().run_id(),
            t.run_id);

  // America's autumn DST change (2026-11-01): 22:00 in New York is 02:00Z, then 03:00Z.
  std::vector<std::string> filled =
      h.backfill(at("2026-10-31T00:00:00Z"), at("2026-11-02T04:00:00Z"));
  // 22:00 in New York: EDT (02:00Z) until the change on 1 November, then EST (03:00Z).
  EXPECT_THAT(filled, ElementsAre("nightly-2026-10-31T02:00:00Z", "nightly-2026-11-01T02:00:00Z",
                                  "nightly-2026-11-02T03:00:00Z"));
  for (const auto& id : filled) {
    EXPECT_EQ(closed_action(h, id).cause, ScheduleActionCause::kBackfill);
    EXPECT_EQ(client_->handle(id).result<std::string>(60s), "scaled pool-a");
  }
  ScheduleDescription d = h.describe(3);
  EXPECT_GE(d.action_count, 3);
  EXPECT_TRUE(d.running_actions.empty());
  ASSERT_EQ(d.next_fires.size(), 3u);
  auto compiled = schedule::CompiledSpec::compile(to_proto(o).spec());
  ASSERT_TRUE(compiled.ok());
  std::vector<int64_t> expected = compiled->next_n(to_epoch_ms(d.next_fires[0]) - 1, 3);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(to_epoch_ms(d.next_fires[i]), expected[i]) << i;
  }
  EXPECT_GT(d.next_fires[0], std::chrono::system_clock::now());
}

TEST_F(ScheduleClientTest, UpdateEditsListFiltersAndDeleteRemoves) {
  ScheduleOptions o = options({"0 22 * * *"});
  o.catchup_window = 10min;
  client_->create_schedule("night", o);
  ScheduleOptions morning = options({"0 7 * * *"});
  morning.paused = true;
  morning.note = "not yet";
  client_->create_schedule("morning", morning);

  ScheduleHandle h = client_->schedule_handle("night");
  h.update([](ScheduleOptions& edit) {
    edit.spec.cron = {"0 23 * * *"};
    edit.spec.time_zone = "Europe/Paris";
    edit.remaining_actions = 5;
  });
  ScheduleDescription d = h.describe();
  EXPECT_EQ(d.options.spec.cron, std::vector<std::string>{"0 23 * * *"});
  EXPECT_EQ(d.options.spec.time_zone, "Europe/Paris");
  EXPECT_EQ(d.options.remaining_actions, 5);
  EXPECT_EQ(d.options.catchup_window, 10min) << "kept";
  EXPECT_EQ(d.options.action.workflow.task_queue, "sched-q") << "kept";
  ASSERT_EQ(d.options.action.input.payloads_size(), 1);
  EXPECT_EQ(from_payload<std::string>(d.options.action.input.payloads(0)), "pool-a");

  // A bad edit is refused before anything is sent.
  EXPECT_THROW(h.update([](ScheduleOptions& edit) { edit.spec.time_zone = "Mars/Olympus"; }),
               OptionsError);
  EXPECT_EQ(h.describe().options.spec.time_zone, "Europe/Paris");

  std::vector<ScheduleSummary> all = client_->list_schedules();
  EXPECT_EQ(all.size(), 2u);
  std::vector<ScheduleSummary> paused = client_->list_schedules("Paused = true");
  ASSERT_EQ(paused.size(), 1u);
  EXPECT_EQ(paused[0].schedule_id, "morning");
  EXPECT_EQ(paused[0].note, "not yet");
  EXPECT_EQ(paused[0].workflow_type, "scale_down");

  h.remove();
  try {
    h.describe();
    FAIL() << "described a deleted schedule";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_TRUE(eventually([&] { return client_->list_schedules().size() == 1; }));
}

TEST_F(ScheduleClientTest, TheServersRefusalsAreRpcErrors) {
  client_->create_schedule("taken", options({"@daily"}));
  try {
    client_->create_schedule("taken", options({"@hourly"}));
    FAIL() << "created twice";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::ALREADY_EXISTS) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("taken"));
  }
  // The same request id again (a retry whose first answer was lost) is the first create's.
  ScheduleOptions again = options({"@daily"});
  again.request_id = "create-once";
  client_->create_schedule("once", again);
  EXPECT_NO_THROW(client_->create_schedule("once", again));
  try {
    client_->list_schedules("Paused = ");
    FAIL() << "listed with a bad query";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::INVALID_ARGUMENT) << e.what();
  }
  try {
    client_->schedule_handle("no-such").trigger();
    FAIL() << "triggered an unknown schedule";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::NOT_FOUND) << e.what();
  }
}

}  // namespace
}  // namespace cairn::testing
