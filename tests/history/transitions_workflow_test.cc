// Transition rules of the run and its workflow tasks: start, the workflow-task protocol, commands,
// buffering, signals, cancellation, termination, timers and timeouts.
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "history/transitions.h"
#include "tests/history/rules_test_util.h"

namespace cairn::rules_test {
namespace {

using T = v1::EventType;

bool contains(const Status& st, const std::string& text) {
  return st.message().find(text) != std::string::npos;
}

class WorkflowRulesTest : public RulesTest {
 protected:
  Status signal(const std::string& name, const std::string& request_id = "") {
    return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      return signal_workflow(ms, name, payloads("s"), "client", request_id, env, out);
    });
  }
  Status cancel(const std::string& request_id = "") {
    return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      return request_cancel_workflow(ms, "client", request_id, "no longer needed", env, out);
    });
  }
  Status terminate() {
    return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      return terminate_workflow(ms, "ops", payloads("why"), "admin", env, out);
    });
  }
  Status fail_wft(const v1::TaskToken& token) {
    return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      return fail_workflow_task(ms, token, v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
                                app_failure("nondeterminism"), "worker-1", env, out);
    });
  }
  // Completes with `commands`, expecting an error; the committed state must not change.
  Status rejected_commands(const v1::TaskToken& token, const std::vector<v1::Command>& commands) {
    v1::RunState before = ms_.state();
    size_t events = history_.size();
    Status st = complete_wft(token, commands);
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(history_.size(), events);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(before, ms_.state()));
    return st;
  }
};

TEST_F(WorkflowRulesTest, StartWritesEventsTaskTimerAndCurrentRun) {
  v1::StartWorkflowExecutionRequest req = start_request();
  req.set_workflow_run_timeout_ms(60'000);
  req.set_workflow_execution_timeout_ms(30'000);
  start(req);
  ASSERT_EQ(types_of(history_),
            (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
                            v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  const auto& started = event(1).workflow_execution_started_event_attributes();
  EXPECT_EQ(started.attempt(), 1);
  EXPECT_EQ(started.first_run_id(), "run-1");
  EXPECT_EQ(started.workflow_task_timeout_ms(), limits_.default_workflow_task_timeout_ms);
  EXPECT_EQ(started.request_id(), "req-1");
  const auto& sched = event(2).workflow_task_scheduled_event_attributes();
  EXPECT_EQ(sched.attempt(), 1);
  EXPECT_EQ(sched.task_queue(), "orders");
  EXPECT_EQ(sched.start_to_close_timeout_ms(), 10'000);

  ASSERT_EQ(tasks_.size(), 1u);
  v1::TaskRecord task = pending_task(v1::TASK_KIND_WORKFLOW);
  EXPECT_EQ(task.scheduled_event_id(), 2);
  EXPECT_EQ(task.attempt(), 1);
  EXPECT_EQ(task.task_queue(), "orders");
  EXPECT_EQ(task.namespace_(), "default");
  EXPECT_EQ(task.run_id(), "run-1");
  auto run_timeout = find_timer(v1::TIMER_KIND_WORKFLOW_RUN_TIMEOUT);
  ASSERT_TRUE(run_timeout.has_value());
  EXPECT_EQ(run_timeout->fire_time_ms(), kStartMs + 30'000);  // the shorter timeout

  ASSERT_TRUE(last_.current.has_value());
  EXPECT_EQ(last_.current->run_id(), "run-1");
  EXPECT_EQ(last_.current->status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  EXPECT_EQ(last_.current->start_request_id(), "req-1");
  EXPECT_FALSE(last_.closed);
  EXPECT_EQ(ms_.state().status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
}

TEST_F(WorkflowRulesTest, StartWithoutTimeoutsArmsNoRunTimer) {
  start();
  EXPECT_FALSE(find_timer(v1::TIMER_KIND_WORKFLOW_RUN_TIMEOUT).has_value());
}

TEST_F(WorkflowRulesTest, SignalWithStartRecordsTheSignalBeforeTheFirstTask) {
  v1::Payloads input = payloads("go");
  Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
    return start_workflow(start_request(), key_, std::string("approve"), &input, env, ms, out);
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_EQ(types_of(history_),
            (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
                            v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                            v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  EXPECT_EQ(event(2).workflow_execution_signaled_event_attributes().signal_name(), "approve");
  EXPECT_EQ(pending_task(v1::TASK_KIND_WORKFLOW).scheduled_event_id(), 3);
}

TEST_F(WorkflowRulesTest, ValidateStartRequestNamesTheField) {
  struct Case {
    std::function<void(v1::StartWorkflowExecutionRequest*)> set;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](auto* r) { r->clear_workflow_id(); }, "workflow_id"},
      {[](auto* r) { r->set_workflow_id(std::string(1001, 'x')); }, "workflow_id"},
      {[](auto* r) { r->mutable_workflow_type()->clear_name(); }, "workflow_type.name"},
      {[](auto* r) { r->clear_task_queue(); }, "task_queue"},
      {[](auto* r) { r->set_workflow_run_timeout_ms(-1); }, "workflow_run_timeout_ms"},
      {[](auto* r) { r->set_workflow_execution_timeout_ms(-1); }, "workflow_execution_timeout_ms"},
      {[](auto* r) { r->set_workflow_task_timeout_ms(-1); }, "workflow_task_timeout_ms"},
      {[](auto* r) { r->set_workflow_task_timeout_ms(500'000); }, "workflow_task_timeout_ms"},
      {[](auto* r) { r->mutable_retry_policy()->set_backoff_coefficient(0.5); },
       "retry_policy.backoff_coefficient"},
      {[](auto* r) { *r->mutable_input() = payloads(std::string(3 << 20, 'x')); }, "input"},
  };
  ASSERT_TRUE(validate_start_request(start_request(), limits_).ok());
  for (const auto& c : cases) {
    v1::StartWorkflowExecutionRequest r = start_request();
    c.set(&r);
    Status st = validate_start_request(r, limits_);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_TRUE(contains(st, c.field)) << st.message();
  }
}

TEST_F(WorkflowRulesTest, HappyPathEventSequence) {
  start();
  v1::TaskToken wft = start_wft();
  EXPECT_EQ(wft.kind(), v1::TASK_KIND_WORKFLOW);
  EXPECT_EQ(wft.scheduled_event_id(), 2);
  EXPECT_EQ(wft.started_event_id(), 3);
  EXPECT_EQ(wft.attempt(), 1);
  EXPECT_EQ(wft.run_id(), "run-1");
  EXPECT_EQ(tasks_.size(), 0u);  // the task left the outbox
  auto wft_timer = find_timer(v1::TIMER_KIND_WORKFLOW_TASK_START_TO_CLOSE, 2);
  ASSERT_TRUE(wft_timer.has_value());
  EXPECT_EQ(wft_timer->fire_time_ms(), now_ + 10'000);
  EXPECT_EQ(event(3).workflow_task_started_event_attributes().identity(), "worker-1");

  ASSERT_TRUE(complete_wft(wft, {schedule_activity()}).ok());
  EXPECT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                                     v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED}));
  EXPECT_EQ(event(5).activity_task_scheduled_event_attributes().workflow_task_completed_event_id(), 4);
  EXPECT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 0);
  v1::TaskRecord activity_task = pending_task(v1::TASK_KIND_ACTIVITY, 5);
  EXPECT_EQ(activity_task.task_queue(), "orders");  // the workflow's queue by default
  EXPECT_EQ(activity_task.attempt(), 1);

  now_ += 100;
  ActivityStart a = start_activity(5);
  EXPECT_TRUE(last_events().empty());  // attempts leave no history
  EXPECT_EQ(a.token.kind(), v1::TASK_KIND_ACTIVITY);
  EXPECT_EQ(a.token.attempt(), 1);
  EXPECT_EQ(a.info.started_time_ms(), now_);
  EXPECT_EQ(a.info.input().payloads(0).data(), "in");

  now_ += 100;
  Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
    return complete_activity_task(ms, a.token, payloads("out"), "aw-1", env, out);
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_ACTIVITY_TASK_STARTED,
                                                     v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
                                                     v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  EXPECT_EQ(event(6).activity_task_started_event_attributes().attempt(), 1);
  EXPECT_EQ(event(6).activity_task_started_event_attributes().identity(), "aw-1");
  EXPECT_EQ(event(7).activity_task_completed_event_attributes().started_event_id(), 6);
  EXPECT_EQ(event(7).activity_task_completed_event_attributes().scheduled_event_id(), 5);
  EXPECT_EQ(pending_task(v1::TASK_KIND_WORKFLOW).scheduled_event_id(), 8);

  v1::TaskToken wft2 = start_wft();
  EXPECT_EQ(wft2.started_event_id(), 9);
  ASSERT_TRUE(complete_wft(wft2, {complete_workflow("done")}).ok());
  EXPECT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                                     v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED}));
  EXPECT_EQ(history_.size(), 11u);
  EXPECT_TRUE(last_.closed);
  ASSERT_TRUE(last_.current.has_value());
  EXPECT_EQ(last_.current->status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  EXPECT_EQ(last_.current->close_time_ms(), now_);
  EXPECT_EQ(ms_.state().status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  EXPECT_EQ(ms_.state().close_event_id(), 11);
  EXPECT_EQ(ms_.state().last_completed_workflow_task_started_event_id(), 9);
  EXPECT_FALSE(ms_.has_workflow_task());

  // The timers armed along the way are stale now.
  for (auto kind : {v1::TIMER_KIND_WORKFLOW_TASK_START_TO_CLOSE, v1::TIMER_KIND_ACTIVITY_START_TO_CLOSE}) {
    while (auto t = find_timer(kind)) {
      auto fired = fire(*t);
      ASSERT_TRUE(fired.ok());
      EXPECT_FALSE(*fired);
    }
  }

  // Rebuilding the completed run from its history gives the same state.
  auto rebuilt = rebuild_from_events(history_, "default", "wf-1", "run-1");
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().to_string();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      event_derived(rebuilt->state()), event_derived(ms_.state())));
  EXPECT_EQ(rebuilt->state().history_size_bytes(), ms_.state().history_size_bytes());
  EXPECT_EQ(rebuilt->state().next_event_id(), 12);
}

TEST_F(WorkflowRulesTest, StaleWorkflowTaskTokensAreNotFound) {
  start();
  v1::TaskRecord task = pending_task(v1::TASK_KIND_WORKFLOW);
  v1::TaskToken token = start_wft();
  // The same task polled twice: the second start is stale.
  Status again = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
    return start_workflow_task(ms, task, "w2", "", env, out).status();
  });
  EXPECT_EQ(again.code(), StatusCode::kNotFound);

  v1::TaskToken wrong = token;
  wrong.set_started_event_id(99);
  Status st = rejected_commands(wrong, {});
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(),
            "run default/wf-1/run-1: workflow task (scheduled 2, started 99) not found (stale task "
            "token)");

  ASSERT_TRUE(complete_wft(token, {start_timer("t", 1000)}).ok());
  EXPECT_EQ(rejected_commands(token, {}).code(), StatusCode::kNotFound);  // answered twice
  v1::RunState before = ms_.state();
  EXPECT_EQ(fail_wft(token).code(), StatusCode::kNotFound);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(before, ms_.state()));
}

TEST_F(WorkflowRulesTest, TaskTokensRoundTrip) {
  start();
  v1::TaskToken token = start_wft();
  auto decoded = decode_task_token(encode_task_token(token));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*decoded, token));
  EXPECT_EQ(decode_task_token("\xff\xff garbage").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(decode_task_token("").status().message(), "malformed task token");
}

TEST_F(WorkflowRulesTest, InvalidCommandsNameTheCommandAndChangeNothing) {
  start();
  v1::TaskToken token = start_wft();
  ActivityOptions no_timeouts;
  no_timeouts.start_to_close = 0;
  ActivityOptions big;
  big.input = std::string(3 << 20, 'x');
  v1::Command no_attrs;
  no_attrs.set_command_type(v1::COMMAND_TYPE_START_TIMER);
  v1::Command unknown;
  unknown.set_command_type(static_cast<v1::CommandType>(42));
  struct Case {
    std::vector<v1::Command> commands;
    std::string expect;
  };
  std::vector<Case> cases = {
      {{schedule_activity(), schedule_activity()}, "command 1 (ScheduleActivityTask, activity \"a1\"): activity_id a1"},
      {{schedule_activity(no_timeouts)}, "command 0 (ScheduleActivityTask, activity \"a1\"): schedule_to_close"},
      {{record_marker("m"), cancel_timer("nope")}, "command 1 (CancelTimer, timer \"nope\"): timer nope is not pending"},
      {{complete_workflow("x"), start_timer("t", 5)}, "command 1 (StartTimer, timer \"t\"): no command may follow"},
      {{schedule_activity(big)}, "command 0 (ScheduleActivityTask, activity \"a1\"): input is"},
      {{complete_workflow(std::string(3 << 20, 'x'))}, "command 0 (CompleteWorkflowExecution): result is"},
      {{no_attrs}, "command 0 (StartTimer): attributes missing"},
      {{unknown}, "command 0 (type 42): unknown command type"},
      {{start_timer("t", 0)}, "command 0 (StartTimer, timer \"t\"): start_to_fire_timeout_ms"},
      {{start_timer("t", 10), start_timer("t", 10)}, "command 1 (StartTimer, timer \"t\"): timer t is already pending"},
      {{request_cancel_activity(77)}, "command 0 (RequestCancelActivityTask, activity 77): activity 77"},
  };
  for (const auto& c : cases) {
    Status st = rejected_commands(token, c.commands);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.expect;
    EXPECT_TRUE(contains(st, c.expect)) << st.message();
    EXPECT_TRUE(contains(st, "run default/wf-1/run-1")) << st.message();
  }
  v1::Command can;
  can.set_command_type(v1::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION);
  can.mutable_continue_as_new_workflow_execution_command_attributes()->set_workflow_run_timeout_ms(
      -1);
  EXPECT_EQ(rejected_commands(token, {can}).code(), StatusCode::kInvalidArgument);
  // The task is still open to a valid answer.
  EXPECT_TRUE(complete_wft(token, {schedule_activity()}).ok());
}

TEST_F(WorkflowRulesTest, PendingLimitsAreResourceExhausted) {
  limits_.max_pending_timers = 2;
  limits_.max_pending_activities = 1;
  start();
  v1::TaskToken token = start_wft();
  Status timers = rejected_commands(token, {start_timer("a", 10), start_timer("b", 10), start_timer("c", 10)});
  EXPECT_EQ(timers.code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(contains(timers, "command 2 (StartTimer, timer \"c\")")) << timers.message();
  ActivityOptions second;
  second.id = "a2";
  EXPECT_EQ(rejected_commands(token, {schedule_activity(), schedule_activity(second)}).code(),
            StatusCode::kResourceExhausted);
}

TEST_F(WorkflowRulesTest, MarkersAndCommandsShareTheCompletedEventId) {
  start();
  run_wft({record_marker("side-effect"), start_timer("t", 1000)});
  ASSERT_EQ(types_of(last_events()),
            (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED, v1::EVENT_TYPE_MARKER_RECORDED,
                            v1::EVENT_TYPE_TIMER_STARTED}));
  EXPECT_EQ(event(5).marker_recorded_event_attributes().workflow_task_completed_event_id(), 4);
  EXPECT_EQ(event(6).timer_started_event_attributes().workflow_task_completed_event_id(), 4);
  EXPECT_EQ(tasks_.size(), 0u);  // nothing new for the workflow to see
}

TEST_F(WorkflowRulesTest, SignalDuringStartedTaskIsBufferedThenFlushed) {
  start();
  v1::TaskToken token = start_wft();
  now_ += 50;
  ASSERT_TRUE(signal("approve").ok());
  EXPECT_TRUE(last_events().empty());
  EXPECT_EQ(ms_.state().buffered_events_size(), 1);
  now_ += 50;
  ASSERT_TRUE(complete_wft(token, {start_timer("t", 1000)}).ok());
  ASSERT_EQ(types_of(last_events()),
            (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED, v1::EVENT_TYPE_TIMER_STARTED,
                            v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                            v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  EXPECT_EQ(event(6).event_time_ms(), kStartMs + 50);  // keeps its arrival time
  EXPECT_EQ(event(6).workflow_execution_signaled_event_attributes().signal_name(), "approve");
  EXPECT_EQ(ms_.state().buffered_events_size(), 0);
  EXPECT_EQ(pending_task(v1::TASK_KIND_WORKFLOW).scheduled_event_id(), 7);
}

TEST_F(WorkflowRulesTest, SignalJoinsAScheduledTaskOrSchedulesOne) {
  start();
  ASSERT_TRUE(signal("one").ok());  // the first task is scheduled, not started
  EXPECT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED}));
  EXPECT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 1);
  run_wft({});
  EXPECT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 0);
  ASSERT_TRUE(signal("two").ok());  // no task at all
  EXPECT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                                                     v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  EXPECT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 1);
}

TEST_F(WorkflowRulesTest, CloseIsRefusedWhileASignalIsBuffered) {
  start();
  v1::TaskToken token = start_wft();
  ASSERT_TRUE(signal("late").ok());
  ASSERT_TRUE(complete_wft(token, {complete_workflow("done")}).ok());
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_TASK_FAILED,
                                                     v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                                                     v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  EXPECT_EQ(event(4).workflow_task_failed_event_attributes().cause(),
            v1::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
  EXPECT_EQ(event(6).workflow_task_scheduled_event_attributes().attempt(), 1);
  EXPECT_TRUE(ms_.is_open());
  EXPECT_FALSE(last_.closed);
  // The workflow runs again, sees the signal, and may now close.
  run_wft({complete_workflow("done")});
  EXPECT_EQ(ms_.state().status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
}

TEST_F(WorkflowRulesTest, SignalsAreDeduplicatedAndRejectedOnClosedRuns) {
  limits_.max_recent_request_ids = 2;
  start();
  ASSERT_TRUE(signal("s", "r1").ok());
  ASSERT_TRUE(signal("s", "r1").ok());
  EXPECT_TRUE(last_events().empty());  // a retried signal
  ASSERT_TRUE(signal("s", "r2").ok());
  ASSERT_TRUE(signal("s", "r3").ok());
  EXPECT_EQ(ms_.state().recent_request_ids_size(), 2);
  ASSERT_TRUE(signal("s", "r1").ok());  // fell out of the window
  EXPECT_EQ(last_events().size(), 1u);
  EXPECT_EQ(signal("").code(), StatusCode::kInvalidArgument);  // a name is required

  run_wft({complete_workflow("x")});
  Status closed = signal("s");
  EXPECT_EQ(closed.code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(closed, "already completed")) << closed.message();
}

TEST_F(WorkflowRulesTest, BufferIsBounded) {
  limits_.max_buffered_events = 2;
  start();
  start_wft();
  ASSERT_TRUE(signal("a").ok());
  ASSERT_TRUE(signal("b").ok());
  EXPECT_EQ(signal("c").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ms_.state().buffered_events_size(), 2);
}

TEST_F(WorkflowRulesTest, CancelRequestIsBufferedOnceAndWorkflowMayCancel) {
  start();
  v1::TaskToken token = start_wft();
  ASSERT_TRUE(cancel("c1").ok());
  EXPECT_TRUE(ms_.state().cancel_requested());
  ASSERT_TRUE(cancel("c2").ok());  // a second request changes nothing
  EXPECT_EQ(ms_.state().buffered_events_size(), 1);
  ASSERT_TRUE(complete_wft(token, {}).ok());
  ASSERT_EQ(types_of(last_events()),
            (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                            v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
                            v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  EXPECT_EQ(event(5).workflow_execution_cancel_requested_event_attributes().cause(),
            "no longer needed");
  run_wft({cancel_workflow()});
  EXPECT_EQ(ms_.state().status(), v1::WORKFLOW_EXECUTION_STATUS_CANCELED);
  EXPECT_EQ(last_.current->status(), v1::WORKFLOW_EXECUTION_STATUS_CANCELED);
  EXPECT_EQ(cancel().code(), StatusCode::kNotFound);
}

TEST_F(WorkflowRulesTest, FailWorkflowClosesAsFailed) {
  start();
  run_wft({fail_workflow("bad input")});
  EXPECT_EQ(ms_.state().status(), v1::WORKFLOW_EXECUTION_STATUS_FAILED);
  EXPECT_EQ(event(5).workflow_execution_failed_event_attributes().failure().message(), "bad input");
  EXPECT_TRUE(last_.closed);
}

TEST_F(WorkflowRulesTest, TerminateClosesAtOnceKeepingBufferedEvents) {
  start();
  v1::TaskToken token = start_wft();
  ASSERT_TRUE(signal("s").ok());
  ASSERT_TRUE(terminate().ok());
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                                                     v1::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED}));
  EXPECT_EQ(event(5).workflow_execution_terminated_event_attributes().reason(), "ops");
  EXPECT_EQ(ms_.state().status(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  EXPECT_TRUE(last_.closed);
  EXPECT_EQ(last_.current->status(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  EXPECT_EQ(ms_.state().buffered_events_size(), 0);
  EXPECT_EQ(complete_wft(token, {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(terminate().code(), StatusCode::kNotFound);
}

TEST_F(WorkflowRulesTest, RunTimeoutClosesTheRun) {
  v1::StartWorkflowExecutionRequest req = start_request();
  req.set_workflow_run_timeout_ms(5000);
  start(req);
  start_wft();
  auto timer = find_timer(v1::TIMER_KIND_WORKFLOW_RUN_TIMEOUT);
  ASSERT_TRUE(timer.has_value());
  auto fired = fire(*timer);
  ASSERT_TRUE(fired.ok() && *fired);
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT}));
  EXPECT_EQ(event(4).workflow_execution_timed_out_event_attributes().retry_state(),
            v1::RETRY_STATE_TIMEOUT);
  EXPECT_EQ(ms_.state().status(), v1::WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
  EXPECT_EQ(last_.current->status(), v1::WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
  auto wft_timer = find_timer(v1::TIMER_KIND_WORKFLOW_TASK_START_TO_CLOSE);
  ASSERT_TRUE(wft_timer.has_value());
  auto stale = fire(*wft_timer);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
}

TEST_F(WorkflowRulesTest, FailedWorkflowTasksRetryWithBackoff) {
  start();
  ASSERT_TRUE(fail_wft(start_wft()).ok());
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_TASK_FAILED,
                                                     v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  EXPECT_EQ(event(4).workflow_task_failed_event_attributes().cause(),
            v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  v1::TaskRecord second = pending_task(v1::TASK_KIND_WORKFLOW);
  EXPECT_EQ(second.attempt(), 2);  // at once
  const std::vector<int64_t> delays = {1000, 2000, 4000, 8000, 16'000, 30'000, 30'000};
  for (size_t i = 0; i < delays.size(); ++i) {
    int32_t attempt = static_cast<int32_t>(i) + 3;
    ASSERT_TRUE(fail_wft(start_wft()).ok());
    EXPECT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 0) << attempt;
    auto retry = find_timer(v1::TIMER_KIND_WORKFLOW_TASK_RETRY);
    ASSERT_TRUE(retry.has_value()) << attempt;
    EXPECT_EQ(retry->fire_time_ms() - now_, delays[i]) << attempt;
    EXPECT_EQ(retry->attempt(), attempt);
    auto fired = fire(*retry);
    ASSERT_TRUE(fired.ok() && *fired);
    EXPECT_TRUE(last_events().empty());
    EXPECT_EQ(pending_task(v1::TASK_KIND_WORKFLOW).attempt(), attempt);
  }
  run_wft({complete_workflow("finally")});
  EXPECT_EQ(ms_.state().status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
}

TEST_F(WorkflowRulesTest, WorkflowTaskTimeoutSchedulesTheNextAttemptAtOnce) {
  start();
  v1::TaskToken token = start_wft();
  ASSERT_TRUE(signal("meanwhile").ok());
  auto timer = find_timer(v1::TIMER_KIND_WORKFLOW_TASK_START_TO_CLOSE, 2);
  ASSERT_TRUE(timer.has_value());
  auto fired = fire(*timer);
  ASSERT_TRUE(fired.ok() && *fired);
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
                                                     v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                                                     v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  EXPECT_EQ(event(4).workflow_task_timed_out_event_attributes().started_event_id(), 3);
  EXPECT_EQ(pending_task(v1::TASK_KIND_WORKFLOW).attempt(), 2);
  EXPECT_EQ(complete_wft(token, {}).code(), StatusCode::kNotFound);  // the late answer
}

TEST_F(WorkflowRulesTest, UserTimersFireAndCancel) {
  start();
  run_wft({start_timer("t1", 5000), start_timer("t2", 9000)});
  auto t1 = find_timer(v1::TIMER_KIND_USER_TIMER, 5);
  auto t2 = find_timer(v1::TIMER_KIND_USER_TIMER, 6);
  ASSERT_TRUE(t1.has_value() && t2.has_value());
  EXPECT_EQ(t1->timer_id(), "t1");
  EXPECT_EQ(t1->fire_time_ms(), now_ + 5000);
  auto fired = fire(*t1);
  ASSERT_TRUE(fired.ok() && *fired);
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_TIMER_FIRED,
                                                     v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  EXPECT_EQ(event(7).timer_fired_event_attributes().started_event_id(), 5);
  EXPECT_EQ(ms_.timer("t1"), nullptr);

  run_wft({cancel_timer("t2")});
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                                     v1::EVENT_TYPE_TIMER_CANCELED}));
  EXPECT_EQ(event(11).timer_canceled_event_attributes().started_event_id(), 6);
  auto stale = fire(*t2);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
}

TEST_F(WorkflowRulesTest, TimerFiringDuringTheTaskThatCancelsItIsCanceled) {
  start();
  run_wft({start_timer("t1", 1000)});
  ASSERT_TRUE(signal("wake").ok());
  v1::TaskToken token = start_wft();
  auto t1 = find_timer(v1::TIMER_KIND_USER_TIMER);
  ASSERT_TRUE(t1.has_value());
  auto fired = fire(*t1);
  ASSERT_TRUE(fired.ok() && *fired);
  EXPECT_EQ(ms_.state().buffered_events_size(), 1);
  // Reusing the id before the workflow saw the fire would make history ambiguous.
  EXPECT_EQ(rejected_commands(token, {start_timer("t1", 10)}).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(complete_wft(token, {cancel_timer("t1")}).ok());
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                                     v1::EVENT_TYPE_TIMER_CANCELED}));
  EXPECT_EQ(ms_.state().buffered_events_size(), 0);
  EXPECT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 0);
}

}  // namespace
}  // namespace cairn::rules_test
