// The workflow-task rules (history/transitions_workflow_task.cc) through the real engine and
// handlers: a polled task is started, answered with commands, failed, retried and timed out. A
// stale or forged token, or a task started twice, is refused and changes nothing; refused
// commands are recorded as a failed workflow task (with the cause in history and in describe)
// and none of their effects are written.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "history/transition_context.h"
#include "tests/server/engine_fixture.h"

namespace cairn {
namespace {

using engine_test::EngineFixture;
using engine_test::kMinute;
using engine_test::kSecond;
using engine_test::StoreSnapshot;

class WorkflowTaskTransitionsTest : public EngineFixture {
 protected:
  Status fail_task(const std::string& token, v1::WorkflowTaskFailedCause cause) {
    v1::RespondWorkflowTaskFailedRequest req;
    req.set_task_token(token);
    req.set_cause(cause);
    req.mutable_failure()->set_message("worker failed");
    req.set_identity("test-worker");
    v1::RespondWorkflowTaskFailedResponse resp;
    Status st = handlers::respond_workflow_task_failed(*engine_, req, &resp);
    settle();
    return st;
  }
  static v1::TaskToken parse(const std::string& bytes) {
    auto token = decode_task_token(bytes);
    EXPECT_TRUE(token.ok());
    return token.ok() ? *token : v1::TaskToken();
  }
};

TEST_F(WorkflowTaskTransitionsTest, StartingATaskRecordsItAndHandsOutTheHistoryAndAToken) {
  const std::string run = start_run("wf-poll");
  auto polled = poll_workflow_task("wf-poll");
  ASSERT_TRUE(polled.ok()) << polled.status().to_string();
  const auto events = history("wf-poll", run);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  ASSERT_EQ(polled->history().events_size(), 3);  // up to and including WorkflowTaskStarted
  EXPECT_EQ(polled->started_event_id(), 3);
  EXPECT_EQ(polled->attempt(), 1);
  EXPECT_EQ(polled->workflow_execution().run_id(), run);
  const v1::TaskToken token = parse(polled->task_token());
  EXPECT_EQ(token.kind(), v1::TASK_KIND_WORKFLOW);
  EXPECT_EQ(token.scheduled_event_id(), 2);
  EXPECT_EQ(token.started_event_id(), 3);
  EXPECT_EQ(describe("wf-poll").pending_workflow_task().started_event_id(), 3);
  // The task's record left the outbox with the start.
  for (const auto& t : snapshot().tasks) {
    EXPECT_NE(t.kind(), v1::TASK_KIND_WORKFLOW) << t.DebugString();
  }
}

TEST_F(WorkflowTaskTransitionsTest, ATaskStartedTwiceIsStaleTheSecondTimeAndWritesNothing) {
  start_run("wf-twice");
  auto task = take_task("wf-twice", v1::TASK_KIND_WORKFLOW);
  ASSERT_TRUE(task.has_value());
  v1::PollWorkflowTaskQueueRequest poll;
  poll.set_task_queue(kQueue);
  v1::PollWorkflowTaskQueueResponse first;
  ASSERT_TRUE(handlers::start_workflow_task(*engine_, *task, poll, &first).ok());
  settle();
  const StoreSnapshot before = snapshot();
  v1::PollWorkflowTaskQueueResponse second;
  EXPECT_EQ(handlers::start_workflow_task(*engine_, *task, poll, &second).code(),
            StatusCode::kNotFound);
  expect_unchanged(before);
}

TEST_F(WorkflowTaskTransitionsTest, CompletedCommandsScheduleAnActivityStartATimerAndClose) {
  const std::string run = start_run("wf-cmds");
  ASSERT_TRUE(complete_task("wf-cmds",
                            {schedule_activity("pay", kMinute), start_timer("wait", 5 * kMinute)})
                  .ok());
  auto events = history("wf-cmds", run);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[3].event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  EXPECT_EQ(events[4].event_type(), v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  EXPECT_EQ(events[4].activity_task_scheduled_event_attributes().activity_id(), "pay");
  EXPECT_EQ(events[5].event_type(), v1::EVENT_TYPE_TIMER_STARTED);
  EXPECT_EQ(backlog(v1::TASK_KIND_ACTIVITY), 1) << "the activity task was not dispatched";
  const auto described = describe("wf-cmds");
  ASSERT_EQ(described.pending_activities_size(), 1);
  EXPECT_EQ(described.pending_activities(0).activity_id(), "pay");
  ASSERT_EQ(described.pending_timers_size(), 1);
  EXPECT_EQ(described.pending_timers(0).fire_time_ms(), clock_.now_ms() + 5 * kMinute);
  const StoreSnapshot on_disk = snapshot();
  bool timer_on_disk = false;
  for (const auto& t : on_disk.timers) {
    timer_on_disk =
        timer_on_disk || (t.kind() == v1::TIMER_KIND_USER_TIMER && t.timer_id() == "wait");
  }
  EXPECT_TRUE(timer_on_disk);
  expect_consistent("wf-cmds", run);

  // The timer fires: a new workflow task, answered by completing the run.
  advance(5 * kMinute);
  ASSERT_TRUE(complete_task("wf-cmds", {complete_workflow("paid")}).ok());
  const v1::RunState state = stored("wf-cmds", run);
  EXPECT_EQ(state.status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  events = history("wf-cmds", run);
  EXPECT_EQ(events.back().event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  EXPECT_EQ(
      events.back().workflow_execution_completed_event_attributes().result().payloads(0).data(),
      "paid");
  expect_consistent("wf-cmds", run);
}

TEST_F(WorkflowTaskTransitionsTest, AStaleTokenIsNotFoundAndWritesNothing) {
  start_run("wf-stale");
  auto polled = poll_workflow_task("wf-stale");
  ASSERT_TRUE(polled.ok());
  ASSERT_TRUE(respond_completed(polled->task_token(), {start_timer("t", kMinute)}).ok());
  const StoreSnapshot before = snapshot();
  // The same completion again: its workflow task is done.
  Status st = respond_completed(polled->task_token(), {start_timer("t2", kMinute)});
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("stale task token"), std::string::npos) << st.to_string();
  // A failure of it is refused the same way.
  EXPECT_EQ(
      fail_task(polled->task_token(), v1::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND).code(),
      StatusCode::kNotFound);
  expect_unchanged(before);
}

TEST_F(WorkflowTaskTransitionsTest, ForgedTokensAreRefusedAndWriteNothing) {
  const std::string run = start_run("wf-forged");
  auto polled = poll_workflow_task("wf-forged");
  ASSERT_TRUE(polled.ok());
  const v1::TaskToken real = parse(polled->task_token());
  const StoreSnapshot before = snapshot();

  // Bytes that are no token at all.
  EXPECT_EQ(respond_completed("not a token", {complete_workflow()}).code(),
            StatusCode::kInvalidArgument);
  // An activity token sent as a workflow task's.
  v1::TaskToken kind = real;
  kind.set_kind(v1::TASK_KIND_ACTIVITY);
  EXPECT_EQ(respond_completed(encode_task_token(kind), {complete_workflow()}).code(),
            StatusCode::kInvalidArgument);
  // The right run, but a workflow task it does not have.
  v1::TaskToken other_task = real;
  other_task.set_scheduled_event_id(real.scheduled_event_id() + 7);
  EXPECT_EQ(respond_completed(encode_task_token(other_task), {complete_workflow()}).code(),
            StatusCode::kNotFound);
  v1::TaskToken other_start = real;
  other_start.set_started_event_id(real.started_event_id() + 1);
  EXPECT_EQ(respond_completed(encode_task_token(other_start), {complete_workflow()}).code(),
            StatusCode::kNotFound);
  // A run that does not exist.
  v1::TaskToken no_run = real;
  no_run.set_run_id("no-such-run");
  EXPECT_EQ(respond_completed(encode_task_token(no_run), {complete_workflow()}).code(),
            StatusCode::kNotFound);
  v1::TaskToken no_workflow = real;
  no_workflow.set_workflow_id("wf-nobody");
  EXPECT_EQ(
      fail_task(encode_task_token(no_workflow), v1::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED).code(),
      StatusCode::kNotFound);
  expect_unchanged(before);

  // The real token still works.
  ASSERT_TRUE(respond_completed(polled->task_token(), {complete_workflow()}).ok());
  EXPECT_EQ(stored("wf-forged", run).status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
}

TEST_F(WorkflowTaskTransitionsTest, ABadCommandFailsTheTaskInHistoryAndAppliesNoneOfTheCommands) {
  const std::string run = start_run("wf-bad-cmd");
  auto polled = poll_workflow_task("wf-bad-cmd");
  ASSERT_TRUE(polled.ok());
  const size_t before_events = history("wf-bad-cmd", run).size();
  // A good timer first, then one with no timeout: the whole completion is refused.
  v1::RespondWorkflowTaskCompletedResponse resp;
  Status st = respond_completed(polled->task_token(),
                                {start_timer("good", kMinute), start_timer("bad", 0)}, &resp);
  ASSERT_TRUE(st.ok()) << "a refused completion is an OK answer that carries the rejection: "
                       << st.to_string();
  EXPECT_EQ(resp.rejected_cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND);
  EXPECT_NE(resp.rejection().message().find("command 1"), std::string::npos)
      << resp.rejection().DebugString();

  const auto events = history("wf-bad-cmd", run);
  ASSERT_EQ(events.size(), before_events + 2);
  const v1::HistoryEvent& failed = events[before_events];
  ASSERT_EQ(failed.event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  EXPECT_EQ(failed.workflow_task_failed_event_attributes().cause(),
            v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND);
  EXPECT_EQ(failed.workflow_task_failed_event_attributes().failure().message(),
            resp.rejection().message());
  EXPECT_EQ(events[before_events + 1].event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  EXPECT_EQ(count_events(events, v1::EVENT_TYPE_TIMER_STARTED), 0) << "a refused command applied";
  EXPECT_EQ(stored("wf-bad-cmd", run).timers_size(), 0);

  const auto described = describe("wf-bad-cmd");
  EXPECT_EQ(described.workflow_task_failure().cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND);
  EXPECT_EQ(described.workflow_task_failure().attempt(), 1);
  EXPECT_EQ(described.workflow_task_failure().event_id(), failed.event_id());
  EXPECT_EQ(described.pending_workflow_task().attempt(), 2);
  expect_consistent("wf-bad-cmd", run);

  // The second attempt is offered at once; its good completion clears the failure.
  ASSERT_TRUE(complete_task("wf-bad-cmd", {start_timer("good", kMinute)}).ok());
  EXPECT_FALSE(describe("wf-bad-cmd").has_workflow_task_failure());
  EXPECT_EQ(stored("wf-bad-cmd", run).timers_size(), 1);
}

TEST_F(WorkflowTaskTransitionsTest, AnUnregisteredSearchAttributeFailsTheTaskWithItsOwnCause) {
  const std::string run = start_run("wf-bad-sa");
  auto polled = poll_workflow_task("wf-bad-sa");
  ASSERT_TRUE(polled.ok());
  v1::Command upsert;
  upsert.set_command_type(v1::COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
  v1::Payload value;
  (*value.mutable_metadata())["encoding"] = "json/plain";
  value.set_data("\"x\"");
  (*upsert.mutable_upsert_workflow_search_attributes_command_attributes()
        ->mutable_search_attributes())["NotRegistered"] = value;
  v1::RespondWorkflowTaskCompletedResponse resp;
  ASSERT_TRUE(respond_completed(polled->task_token(), {upsert}, &resp).ok());
  EXPECT_EQ(resp.rejected_cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES);
  const auto events = history("wf-bad-sa", run);
  EXPECT_EQ(count_events(events, v1::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES), 0);
  ASSERT_EQ(count_events(events, v1::EVENT_TYPE_WORKFLOW_TASK_FAILED), 1);
  EXPECT_EQ(describe("wf-bad-sa").workflow_task_failure().cause(),
            v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES);
  EXPECT_TRUE(stored("wf-bad-sa", run).search_attributes().empty());
  expect_consistent("wf-bad-sa", run);
}

TEST_F(WorkflowTaskTransitionsTest, FailedTasksRetryAtOnceThenAfterABackoffOnTheClock) {
  const std::string run = start_run("wf-retry");
  auto first = poll_workflow_task("wf-retry");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(
      fail_task(first->task_token(), v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR).ok());
  const auto failure = describe("wf-retry").workflow_task_failure();
  EXPECT_EQ(failure.cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  EXPECT_EQ(failure.failure().message(), "worker failed");
  // Attempt 2 goes out at once.
  auto second = poll_workflow_task("wf-retry");
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(second->attempt(), 2);
  ASSERT_TRUE(
      fail_task(second->task_token(), v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR).ok());
  // Attempt 3 waits for a retry timer: nothing to poll until it is due, and exactly then.
  const int64_t backoff = rules::workflow_task_retry_backoff_ms(3);
  ASSERT_GT(backoff, 1);
  EXPECT_EQ(backlog(v1::TASK_KIND_WORKFLOW), 0) << "attempt 3 was offered before its backoff";
  advance(backoff - 1);
  EXPECT_EQ(backlog(v1::TASK_KIND_WORKFLOW), 0) << "attempt 3 was offered before its backoff";
  advance(1);
  EXPECT_EQ(backlog(v1::TASK_KIND_WORKFLOW), 1) << "attempt 3 was not offered at its time";
  auto third = poll_workflow_task("wf-retry");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->attempt(), 3);
  expect_consistent("wf-retry", run);
}

TEST_F(WorkflowTaskTransitionsTest, ATaskNotAnsweredInTimeTimesOutAndItsTokenGoesStale) {
  const std::string run = start_run("wf-timeout");
  auto polled = poll_workflow_task("wf-timeout");
  ASSERT_TRUE(polled.ok());
  const int64_t timeout = stored("wf-timeout", run).workflow_task_timeout_ms();
  ASSERT_GT(timeout, 0);
  advance(timeout - 1);
  EXPECT_EQ(count_events(history("wf-timeout", run), v1::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), 0)
      << "timed out before its start-to-close timeout";
  advance(1);
  EXPECT_EQ(count_events(history("wf-timeout", run), v1::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), 1);
  EXPECT_TRUE(describe("wf-timeout").workflow_task_failure().timed_out());
  // The late answer is refused and changes nothing; the next attempt is on the queue.
  const StoreSnapshot before = snapshot();
  EXPECT_EQ(respond_completed(polled->task_token(), {complete_workflow()}).code(),
            StatusCode::kNotFound);
  expect_unchanged(before);
  auto next = poll_workflow_task("wf-timeout");
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  EXPECT_EQ(next->attempt(), 2);
  expect_consistent("wf-timeout", run);
}

}  // namespace
}  // namespace cairn
