// The activity rules (history/transitions_activity.cc, activity_attempts.cc) through the real
// engine and handlers: an attempt starts, heartbeats and ends completed, failed (retried on the
// manual clock by its policy, or final) or canceled. A second completion, an answer after the
// attempt timed out, a forged token or a cancellation nobody asked for is refused and changes
// nothing.
#include <string>

#include <gtest/gtest.h>

#include "tests/server/engine_fixture.h"

namespace cairn {
namespace {

using engine_test::EngineFixture;
using engine_test::kMinute;
using engine_test::kSecond;
using engine_test::StoreSnapshot;

class ActivityTransitionsTest : public EngineFixture {
 protected:
  // A run whose first workflow task scheduled activity "pay".
  std::string run_with_activity(const std::string& workflow_id, int64_t start_to_close_ms,
                                const v1::RetryPolicy* retry = nullptr) {
    const std::string run = start_run(workflow_id);
    Status st = complete_task(workflow_id, {schedule_activity("pay", start_to_close_ms, retry)});
    EXPECT_TRUE(st.ok()) << st.to_string();
    return run;
  }
  static v1::RetryPolicy retry_policy(int64_t initial_ms, int32_t maximum_attempts) {
    v1::RetryPolicy p;
    p.set_initial_interval_ms(initial_ms);
    p.set_backoff_coefficient(2.0);
    p.set_maximum_attempts(maximum_attempts);
    return p;
  }
  Status complete(const std::string& token, const std::string& result = "ok") {
    v1::RespondActivityTaskCompletedRequest req;
    req.set_task_token(token);
    req.mutable_result()->add_payloads()->set_data(result);
    req.set_identity("test-worker");
    v1::RespondActivityTaskCompletedResponse resp;
    Status st = handlers::respond_activity_completed(*engine_, req, &resp);
    settle();
    return st;
  }
  Status fail(const std::string& token, const std::string& message = "card declined") {
    v1::RespondActivityTaskFailedRequest req;
    req.set_task_token(token);
    req.mutable_failure()->set_message(message);
    req.set_identity("test-worker");
    v1::RespondActivityTaskFailedResponse resp;
    Status st = handlers::respond_activity_failed(*engine_, req, &resp);
    settle();
    return st;
  }
  Status canceled(const std::string& token) {
    v1::RespondActivityTaskCanceledRequest req;
    req.set_task_token(token);
    req.set_identity("test-worker");
    v1::RespondActivityTaskCanceledResponse resp;
    Status st = handlers::respond_activity_canceled(*engine_, req, &resp);
    settle();
    return st;
  }
  Result<bool> heartbeat(const std::string& token, const std::string& details) {
    v1::RecordActivityTaskHeartbeatRequest req;
    req.set_task_token(token);
    req.mutable_details()->add_payloads()->set_data(details);
    v1::RecordActivityTaskHeartbeatResponse resp;
    CAIRN_RETURN_IF_ERROR(handlers::record_activity_heartbeat(*engine_, req, &resp));
    settle();
    return resp.cancel_requested();
  }
  v1::PendingActivityInfo pending(const std::string& workflow_id) {
    auto d = describe(workflow_id);
    EXPECT_EQ(d.pending_activities_size(), 1);
    return d.pending_activities_size() > 0 ? d.pending_activities(0) : v1::PendingActivityInfo();
  }
};

TEST_F(ActivityTransitionsTest, AStartedAttemptWritesNoEventAndArmsItsStartToCloseTimer) {
  const std::string run = run_with_activity("wf-act-start", kMinute);
  const size_t events = history("wf-act-start", run).size();
  auto polled = poll_activity_task("wf-act-start");
  ASSERT_TRUE(polled.ok()) << polled.status().to_string();
  EXPECT_EQ(polled->activity_id(), "pay");
  EXPECT_EQ(polled->attempt(), 1);
  EXPECT_EQ(polled->start_to_close_timeout_ms(), kMinute);
  EXPECT_EQ(history("wf-act-start", run).size(), events) << "a start wrote an event";
  EXPECT_EQ(pending("wf-act-start").state(), v1::PENDING_ACTIVITY_STATE_STARTED);
  bool armed = false;
  for (const auto& t : snapshot().timers) {
    armed = armed || (t.kind() == v1::TIMER_KIND_ACTIVITY_START_TO_CLOSE &&
                      t.fire_time_ms() == clock_.now_ms() + kMinute);
  }
  EXPECT_TRUE(armed);
}

TEST_F(ActivityTransitionsTest, AHeartbeatRecordsItsDetailsAndReportsACancelRequest) {
  const std::string run = run_with_activity("wf-hb", kMinute);
  auto polled = poll_activity_task("wf-hb");
  ASSERT_TRUE(polled.ok());
  advance(10 * kSecond);
  auto cancel = heartbeat(polled->task_token(), "half way");
  ASSERT_TRUE(cancel.ok()) << cancel.status().to_string();
  EXPECT_FALSE(*cancel);
  const auto info = pending("wf-hb");
  ASSERT_EQ(info.heartbeat_details().payloads_size(), 1);
  EXPECT_EQ(info.heartbeat_details().payloads(0).data(), "half way");
  EXPECT_EQ(info.last_heartbeat_time_ms(), clock_.now_ms());

  // The workflow asks for the activity's cancellation (a signal wakes it up): the next
  // heartbeat says so, and the worker's cancellation closes the activity.
  v1::SignalWorkflowExecutionRequest sig;
  sig.mutable_workflow_execution()->set_workflow_id("wf-hb");
  sig.set_signal_name("stop");
  v1::SignalWorkflowExecutionResponse sig_resp;
  ASSERT_TRUE(handlers::signal_workflow(*engine_, sig, &sig_resp).ok());
  settle();
  v1::Command request_cancel;
  request_cancel.set_command_type(v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK);
  request_cancel.mutable_request_cancel_activity_task_command_attributes()->set_scheduled_event_id(
      info.scheduled_event_id());
  ASSERT_TRUE(complete_task("wf-hb", {request_cancel}).ok());
  cancel = heartbeat(polled->task_token(), "stopping");
  ASSERT_TRUE(cancel.ok());
  EXPECT_TRUE(*cancel);
  ASSERT_TRUE(canceled(polled->task_token()).ok());
  const auto events = history("wf-hb", run);
  EXPECT_EQ(count_events(events, v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED), 1);
  EXPECT_EQ(describe("wf-hb").pending_activities_size(), 0);
  expect_consistent("wf-hb", run);
}

TEST_F(ActivityTransitionsTest, ACancellationNobodyAskedForIsAFailedPreconditionAndWritesNothing) {
  run_with_activity("wf-no-cancel", kMinute);
  auto polled = poll_activity_task("wf-no-cancel");
  ASSERT_TRUE(polled.ok());
  const StoreSnapshot before = snapshot();
  EXPECT_EQ(canceled(polled->task_token()).code(), StatusCode::kFailedPrecondition);
  expect_unchanged(before);
}

TEST_F(ActivityTransitionsTest, ACompletionIsRecordedOnceAndTheSecondIsRefusedWritingNothing) {
  const std::string run = run_with_activity("wf-done", kMinute);
  auto polled = poll_activity_task("wf-done");
  ASSERT_TRUE(polled.ok());
  ASSERT_TRUE(complete(polled->task_token(), "receipt").ok());
  const auto events = history("wf-done", run);
  EXPECT_EQ(count_events(events, v1::EVENT_TYPE_ACTIVITY_TASK_STARTED), 1);
  ASSERT_EQ(count_events(events, v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED), 1);
  EXPECT_EQ(events.back().event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
      << "the completion did not wake the workflow";
  EXPECT_EQ(describe("wf-done").pending_activities_size(), 0);
  expect_consistent("wf-done", run);

  const StoreSnapshot before = snapshot();
  Status st = complete(polled->task_token(), "receipt again");
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("stale task token"), std::string::npos) << st.to_string();
  EXPECT_EQ(fail(polled->task_token()).code(), StatusCode::kNotFound);
  EXPECT_EQ(heartbeat(polled->task_token(), "late").status().code(), StatusCode::kNotFound);
  expect_unchanged(before);
}

TEST_F(ActivityTransitionsTest, AFailedAttemptIsRetriedWhenItsBackoffEndsOnTheClock) {
  const v1::RetryPolicy policy = retry_policy(10 * kSecond, 3);
  const std::string run = run_with_activity("wf-retry", kMinute, &policy);
  auto first = poll_activity_task("wf-retry");
  ASSERT_TRUE(first.ok());
  const size_t events = history("wf-retry", run).size();
  ASSERT_TRUE(fail(first->task_token()).ok());
  EXPECT_EQ(history("wf-retry", run).size(), events) << "a retried failure wrote an event";
  auto info = pending("wf-retry");
  EXPECT_EQ(info.attempt(), 2);
  EXPECT_EQ(info.last_failure().message(), "card declined");
  EXPECT_EQ(info.next_attempt_schedule_time_ms(), clock_.now_ms() + 10 * kSecond);

  // The next attempt is offered exactly when the backoff ends.
  EXPECT_EQ(backlog(v1::TASK_KIND_ACTIVITY), 0);
  advance(10 * kSecond - 1);
  EXPECT_EQ(backlog(v1::TASK_KIND_ACTIVITY), 0) << "attempt 2 was offered before its backoff";
  advance(1);
  EXPECT_EQ(backlog(v1::TASK_KIND_ACTIVITY), 1) << "attempt 2 was not offered at its time";

  // The first attempt's token is stale now.
  StoreSnapshot before = snapshot();
  EXPECT_EQ(complete(first->task_token()).code(), StatusCode::kNotFound);
  expect_unchanged(before);

  auto second = poll_activity_task("wf-retry");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->attempt(), 2);
  ASSERT_TRUE(fail(second->task_token()).ok());
  EXPECT_EQ(pending("wf-retry").next_attempt_schedule_time_ms(), clock_.now_ms() + 20 * kSecond)
      << "the backoff doubles";
  advance(20 * kSecond);
  auto third = poll_activity_task("wf-retry");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->attempt(), 3);
  // The last attempt allowed: its failure is final and is written, with the retry state.
  ASSERT_TRUE(fail(third->task_token(), "still declined").ok());
  const auto final_events = history("wf-retry", run);
  ASSERT_EQ(count_events(final_events, v1::EVENT_TYPE_ACTIVITY_TASK_FAILED), 1);
  for (const auto& e : final_events) {
    if (e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_FAILED) {
      const auto& a = e.activity_task_failed_event_attributes();
      EXPECT_EQ(a.retry_state(), v1::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
      EXPECT_EQ(a.attempt(), 3);
      EXPECT_EQ(a.failure().message(), "still declined");
    }
  }
  EXPECT_EQ(describe("wf-retry").pending_activities_size(), 0);
  expect_consistent("wf-retry", run);
}

TEST_F(ActivityTransitionsTest, AnAnswerAfterTheAttemptTimedOutIsRefusedAndWritesNothing) {
  const v1::RetryPolicy no_retries = retry_policy(kSecond, 1);
  const std::string run = run_with_activity("wf-late", 30 * kSecond, &no_retries);
  auto polled = poll_activity_task("wf-late");
  ASSERT_TRUE(polled.ok());
  advance(30 * kSecond - 1);
  EXPECT_EQ(count_events(history("wf-late", run), v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT), 0)
      << "timed out before its start-to-close timeout";
  advance(1);
  const auto events = history("wf-late", run);
  ASSERT_EQ(count_events(events, v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT), 1);

  const StoreSnapshot before = snapshot();
  EXPECT_EQ(complete(polled->task_token()).code(), StatusCode::kNotFound);
  EXPECT_EQ(fail(polled->task_token()).code(), StatusCode::kNotFound);
  EXPECT_EQ(heartbeat(polled->task_token(), "late").status().code(), StatusCode::kNotFound);
  expect_unchanged(before);
  expect_consistent("wf-late", run);
}

TEST_F(ActivityTransitionsTest, ATimedOutAttemptWithRetriesLeftIsRetriedAndItsTokenGoesStale) {
  const v1::RetryPolicy policy = retry_policy(5 * kSecond, 0);
  const std::string run = run_with_activity("wf-late-retry", 30 * kSecond, &policy);
  auto first = poll_activity_task("wf-late-retry");
  ASSERT_TRUE(first.ok());
  advance(30 * kSecond);
  EXPECT_EQ(pending("wf-late-retry").attempt(), 2);
  const StoreSnapshot before = snapshot();
  EXPECT_EQ(complete(first->task_token()).code(), StatusCode::kNotFound);
  expect_unchanged(before);
  advance(5 * kSecond);
  auto second = poll_activity_task("wf-late-retry");
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  ASSERT_TRUE(complete(second->task_token()).ok());
  const auto events = history("wf-late-retry", run);
  EXPECT_EQ(count_events(events, v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT), 0);
  EXPECT_EQ(count_events(events, v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED), 1);
  expect_consistent("wf-late-retry", run);
}

TEST_F(ActivityTransitionsTest, ForgedTokensAndOversizeResultsAreRefusedAndWriteNothing) {
  run_with_activity("wf-act-forged", kMinute);
  auto polled = poll_activity_task("wf-act-forged");
  ASSERT_TRUE(polled.ok());
  auto token = decode_task_token(polled->task_token());
  ASSERT_TRUE(token.ok());
  const StoreSnapshot before = snapshot();

  EXPECT_EQ(complete("garbage").code(), StatusCode::kInvalidArgument);
  v1::TaskToken workflow_kind = *token;
  workflow_kind.set_kind(v1::TASK_KIND_WORKFLOW);
  EXPECT_EQ(complete(encode_task_token(workflow_kind)).code(), StatusCode::kInvalidArgument);
  v1::TaskToken other_attempt = *token;
  other_attempt.set_attempt(2);
  EXPECT_EQ(complete(encode_task_token(other_attempt)).code(), StatusCode::kNotFound);
  v1::TaskToken other_activity = *token;
  other_activity.set_scheduled_event_id(token->scheduled_event_id() + 100);
  EXPECT_EQ(fail(encode_task_token(other_activity)).code(), StatusCode::kNotFound);
  v1::TaskToken other_run = *token;
  other_run.set_run_id("no-such-run");
  EXPECT_EQ(heartbeat(encode_task_token(other_run), "x").status().code(), StatusCode::kNotFound);

  v1::RespondActivityTaskCompletedRequest big;
  big.set_task_token(polled->task_token());
  big.mutable_result()->add_payloads()->set_data(
      std::string(engine_->options().limits.max_payload_bytes + 1, 'x'));
  v1::RespondActivityTaskCompletedResponse resp;
  Status st = handlers::respond_activity_completed(*engine_, big, &resp);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("activity result"), std::string::npos) << st.to_string();
  expect_unchanged(before);

  // The real token still completes the attempt.
  EXPECT_TRUE(complete(polled->task_token()).ok());
}

}  // namespace
}  // namespace cairn
