// The user-timer rules (history/transitions_timer.cc) through the real engine and handlers on a
// ManualClock: a timer fires exactly at its time and not a millisecond before, timers fire in
// their order, a canceled timer never fires, and a bad timer command is refused as a failed
// workflow task with nothing of it applied.
#include <string>

#include <gtest/gtest.h>

#include "tests/server/engine_fixture.h"

namespace cairn {
namespace {

using engine_test::EngineFixture;
using engine_test::kMinute;
using engine_test::kSecond;
using engine_test::StoreSnapshot;

class TimerTransitionsTest : public EngineFixture {
 protected:
  int fired(const std::string& workflow_id, const std::string& run) {
    return count_events(history(workflow_id, run), v1::EVENT_TYPE_TIMER_FIRED);
  }
  // Wakes the run (a signal) so that it has a workflow task to answer.
  void wake(const std::string& workflow_id) {
    v1::SignalWorkflowExecutionRequest req;
    req.mutable_workflow_execution()->set_workflow_id(workflow_id);
    req.set_signal_name("wake");
    v1::SignalWorkflowExecutionResponse resp;
    ASSERT_TRUE(handlers::signal_workflow(*engine_, req, &resp).ok());
    settle();
  }
};

TEST_F(TimerTransitionsTest, ATimerFiresExactlyAtItsTimeAndNotBefore) {
  const std::string run = start_run("wf-timer");
  ASSERT_TRUE(complete_task("wf-timer", {start_timer("t", 90 * kSecond)}).ok());
  const int64_t due = clock_.now_ms() + 90 * kSecond;
  ASSERT_EQ(describe("wf-timer").pending_timers_size(), 1);
  EXPECT_EQ(describe("wf-timer").pending_timers(0).fire_time_ms(), due);

  advance(90 * kSecond - 1);
  EXPECT_EQ(fired("wf-timer", run), 0) << "fired before its time";
  EXPECT_EQ(backlog(v1::TASK_KIND_WORKFLOW), 0);
  advance(1);
  ASSERT_EQ(fired("wf-timer", run), 1) << "did not fire at its time";
  const auto events = history("wf-timer", run);
  EXPECT_EQ(events[events.size() - 2].event_type(), v1::EVENT_TYPE_TIMER_FIRED);
  EXPECT_EQ(events[events.size() - 2].timer_fired_event_attributes().timer_id(), "t");
  EXPECT_EQ(events.back().event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  EXPECT_EQ(backlog(v1::TASK_KIND_WORKFLOW), 1) << "the fire did not wake the workflow";
  EXPECT_EQ(describe("wf-timer").pending_timers_size(), 0);
  EXPECT_EQ(stored("wf-timer", run).timers_size(), 0);
  // Its record left the store with the fire: a later advance writes nothing.
  const StoreSnapshot after_fire = snapshot();
  for (const auto& t : after_fire.timers) {
    EXPECT_NE(t.kind(), v1::TIMER_KIND_USER_TIMER) << t.DebugString();
  }
  advance(kMinute);
  EXPECT_EQ(fired("wf-timer", run), 1) << "fired twice";
  expect_consistent("wf-timer", run);
}

TEST_F(TimerTransitionsTest, TimersFireInTheOrderOfTheirTimes) {
  const std::string run = start_run("wf-two");
  ASSERT_TRUE(
      complete_task("wf-two", {start_timer("late", 2 * kMinute), start_timer("early", kMinute)})
          .ok());
  advance(kMinute);
  ASSERT_EQ(fired("wf-two", run), 1);
  ASSERT_EQ(describe("wf-two").pending_timers_size(), 1);
  EXPECT_EQ(describe("wf-two").pending_timers(0).timer_id(), "late");
  advance(kMinute);
  const auto events = history("wf-two", run);
  std::vector<std::string> order;
  for (const auto& e : events) {
    if (e.event_type() == v1::EVENT_TYPE_TIMER_FIRED) {
      order.push_back(e.timer_fired_event_attributes().timer_id());
    }
  }
  EXPECT_EQ(order, (std::vector<std::string>{"early", "late"}));
  expect_consistent("wf-two", run);
}

TEST_F(TimerTransitionsTest, AFireWhileTheWorkflowTaskRunsIsBufferedBehindIt) {
  const std::string run = start_run("wf-busy");
  // Shorter than the workflow task's start-to-close timeout, so the task is still running.
  const int64_t fire_in = stored("wf-busy", run).workflow_task_timeout_ms() / 2;
  ASSERT_TRUE(complete_task("wf-busy", {start_timer("t", fire_in)}).ok());
  wake("wf-busy");
  auto polled = poll_workflow_task("wf-busy");
  ASSERT_TRUE(polled.ok());
  const size_t started = history("wf-busy", run).size();
  advance(fire_in);
  EXPECT_EQ(history("wf-busy", run).size(), started) << "appended behind WorkflowTaskStarted";
  EXPECT_EQ(stored("wf-busy", run).timers_size(), 0) << "the fire's effect was not applied";
  ASSERT_TRUE(respond_completed(polled->task_token(), {}).ok());
  const auto events = history("wf-busy", run);
  ASSERT_GT(events.size(), started + 1);
  EXPECT_EQ(events[started].event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  EXPECT_EQ(events[started + 1].event_type(), v1::EVENT_TYPE_TIMER_FIRED);
  expect_consistent("wf-busy", run);
}

TEST_F(TimerTransitionsTest, ACanceledTimerNeverFires) {
  const std::string run = start_run("wf-cancel");
  ASSERT_TRUE(complete_task("wf-cancel", {start_timer("t", kMinute)}).ok());
  advance(30 * kSecond);
  wake("wf-cancel");
  ASSERT_TRUE(complete_task("wf-cancel", {cancel_timer("t")}).ok());
  auto events = history("wf-cancel", run);
  ASSERT_EQ(count_events(events, v1::EVENT_TYPE_TIMER_CANCELED), 1);
  EXPECT_EQ(describe("wf-cancel").pending_timers_size(), 0);

  const StoreSnapshot before = snapshot();
  advance(30 * kSecond);  // the timer's time
  advance(kMinute);
  EXPECT_EQ(fired("wf-cancel", run), 0) << "a canceled timer fired";
  EXPECT_EQ(store_->commits(), before.commits) << "a canceled timer's time wrote something";
  EXPECT_EQ(history("wf-cancel", run).size(), events.size());
  EXPECT_EQ(backlog(v1::TASK_KIND_WORKFLOW), 0);
  expect_consistent("wf-cancel", run);
}

TEST_F(TimerTransitionsTest, BadTimerCommandsFailTheWorkflowTaskAndStartNoTimer) {
  const std::string run = start_run("wf-bad-timer");
  ASSERT_TRUE(complete_task("wf-bad-timer", {start_timer("t", 60 * kMinute)}).ok());
  wake("wf-bad-timer");
  struct Case {
    const char* what;
    v1::Command command;
  };
  const Case cases[] = {
      {"a duplicate timer id", start_timer("t", kMinute)},
      {"no timeout", start_timer("u", 0)},
      {"an empty timer id", start_timer("", kMinute)},
      {"cancel of an unknown timer", cancel_timer("nope")},
  };
  int failures = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto polled = poll_workflow_task("wf-bad-timer");
    ASSERT_TRUE(polled.ok()) << polled.status().to_string();
    v1::RespondWorkflowTaskCompletedResponse resp;
    ASSERT_TRUE(respond_completed(polled->task_token(), {c.command}, &resp).ok());
    EXPECT_EQ(resp.rejected_cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND);
    ++failures;
    const auto events = history("wf-bad-timer", run);
    EXPECT_EQ(count_events(events, v1::EVENT_TYPE_WORKFLOW_TASK_FAILED), failures);
    EXPECT_EQ(count_events(events, v1::EVENT_TYPE_TIMER_STARTED), 1);
    EXPECT_EQ(count_events(events, v1::EVENT_TYPE_TIMER_CANCELED), 0);
    // Attempts past the second wait for a backoff before they are offered.
    advance(kMinute / 2);
  }
  const v1::RunState state = stored("wf-bad-timer", run);
  ASSERT_EQ(state.timers_size(), 1);
  EXPECT_TRUE(state.timers().contains("t"));
  expect_consistent("wf-bad-timer", run);
}

}  // namespace
}  // namespace cairn
