// What an operator sees of failing attempts: a run's workflow_task_failure (set by failed and
// timed-out workflow tasks, cleared by a completion, derived from events) and the visibility
// fields it gives; an activity's next retry time and the attempt / last failure its closing
// events carry.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "history/transitions.h"
#include "history/visibility.h"
#include "tests/history/rules_test_util.h"

namespace cairn::rules_test {
namespace {

class AttemptsVisibleTest : public RulesTest {
 protected:
  Status fail_wft(const v1::TaskToken& token, v1::WorkflowTaskFailedCause cause,
                  const std::string& message) {
    return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      v1::Failure f;
      f.set_message(message);
      f.set_source("Server");
      return fail_workflow_task(ms, token, cause, f, "worker-1", env, out);
    });
  }
  Status fail_activity(const v1::TaskToken& token, const std::string& message) {
    return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      return fail_activity_task(ms, token, app_failure(message), nullptr, "aw-1", env, out);
    });
  }
  Status complete_activity(const v1::TaskToken& token) {
    return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      return complete_activity_task(ms, token, payloads("out"), "aw-1", env, out);
    });
  }
  // Fires the pending retry timer of activity `id`, asserting it applied.
  void fire_retry(int64_t id) {
    auto timer = find_timer(v1::TIMER_KIND_ACTIVITY_RETRY, id);
    ASSERT_TRUE(timer.has_value());
    auto fired = fire(*timer);
    ASSERT_TRUE(fired.ok() && *fired);
  }
  v1::VisibilityRecord record() const { return visibility_record(ms_.state(), ShardId{kShard}); }
};

TEST_F(AttemptsVisibleTest, FailedTasksMarkTheRunUntilATaskCompletes) {
  start();
  EXPECT_FALSE(ms_.state().has_workflow_task_failure());
  EXPECT_EQ(record().task_failure(), "");

  ASSERT_TRUE(fail_wft(start_wft(), v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND, "bad 1").ok());
  ASSERT_TRUE(ms_.state().has_workflow_task_failure());
  const v1::WorkflowTaskFailureInfo first = ms_.state().workflow_task_failure();
  EXPECT_EQ(first.cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND);
  EXPECT_EQ(first.failure().message(), "bad 1");
  EXPECT_EQ(first.attempt(), 1);
  EXPECT_EQ(first.event_id(), 4);
  EXPECT_EQ(event(4).event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  EXPECT_EQ(first.time_ms(), now_);
  EXPECT_FALSE(first.timed_out());
  EXPECT_EQ(record().task_failure(), "BadCommand");
  EXPECT_EQ(record().task_failure_message(), "bad 1");
  EXPECT_EQ(record().task_failure_attempt(), 1);

  v1::RunState before = ms_.state();
  ASSERT_TRUE(
      fail_wft(start_wft(), v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR, "nd").ok());
  EXPECT_EQ(ms_.state().workflow_task_failure().attempt(), 2);
  EXPECT_EQ(record().task_failure(), "NonDeterministicError");
  EXPECT_TRUE(task_failure_visibility_changed(before, ms_.state()));

  // The retry after the backoff, completed: healthy again.
  auto retry = find_timer(v1::TIMER_KIND_WORKFLOW_TASK_RETRY);
  ASSERT_TRUE(retry.has_value());
  ASSERT_TRUE(fire(*retry).ok());
  before = ms_.state();
  run_wft({start_timer("t", 1000)});
  EXPECT_FALSE(ms_.state().has_workflow_task_failure());
  EXPECT_EQ(record().task_failure(), "");
  EXPECT_EQ(record().task_failure_attempt(), 0);
  EXPECT_TRUE(task_failure_visibility_changed(before, ms_.state()));
  // A step that does not touch it leaves the record as it is.
  before = ms_.state();
  auto timer = find_timer(v1::TIMER_KIND_USER_TIMER);
  ASSERT_TRUE(timer.has_value());
  ASSERT_TRUE(fire(*timer).ok());
  EXPECT_EQ(ms_.state().next_event_id(), before.next_event_id() + 2);  // fired + task scheduled
  EXPECT_FALSE(task_failure_visibility_changed(before, ms_.state()));
}

TEST_F(AttemptsVisibleTest, ATimedOutTaskIsShownAsTimedOutAndARaceIsNot) {
  start();
  start_wft("gone-worker");
  auto timeout = find_timer(v1::TIMER_KIND_WORKFLOW_TASK_START_TO_CLOSE);
  ASSERT_TRUE(timeout.has_value());
  ASSERT_TRUE(fire(*timeout).ok());
  ASSERT_TRUE(ms_.state().has_workflow_task_failure());
  EXPECT_TRUE(ms_.state().workflow_task_failure().timed_out());
  EXPECT_EQ(ms_.state().workflow_task_failure().attempt(), 1);
  EXPECT_NE(ms_.state().workflow_task_failure().failure().message().find("gone-worker"),
            std::string::npos);
  EXPECT_EQ(record().task_failure(), "TimedOut");

  // UNHANDLED_COMMAND (the worker raced new events) says nothing about being stuck.
  v1::RunState before = ms_.state();
  ASSERT_TRUE(fail_wft(start_wft(), v1::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, "race").ok());
  EXPECT_EQ(ms_.state().workflow_task_failure().event_id(),
            before.workflow_task_failure().event_id());
  EXPECT_FALSE(task_failure_visibility_changed(before, ms_.state()));
}

TEST_F(AttemptsVisibleTest, AClosedRunIsNotStuck) {
  start();
  ASSERT_TRUE(fail_wft(start_wft(), v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND, "bad").ok());
  ASSERT_TRUE(ms_.state().has_workflow_task_failure());
  ASSERT_TRUE(transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
                return terminate_workflow(ms, "ops", payloads("why"), "admin", env, out);
              }).ok());
  EXPECT_FALSE(ms_.state().has_workflow_task_failure());
  EXPECT_EQ(record().task_failure(), "");
}

TEST_F(AttemptsVisibleTest, ShortNamesCoverEveryCause) {
  v1::WorkflowTaskFailureInfo f;
  const std::vector<std::pair<v1::WorkflowTaskFailedCause, std::string>> names = {
      {v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND, "BadCommand"},
      {v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR, "NonDeterministicError"},
      {v1::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, "WorkerUnhandledFailure"},
      {v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, "BadSearchAttributes"},
      {v1::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED, "Unspecified"},
  };
  for (const auto& [cause, name] : names) {
    f.set_cause(cause);
    EXPECT_EQ(task_failure_name(f), name);
  }
  f.set_timed_out(true);
  EXPECT_EQ(task_failure_name(f), "TimedOut");
}

TEST_F(AttemptsVisibleTest, RetryTimeIsShownAndClosingEventsCarryTheAttempts) {
  start();
  ActivityOptions o;
  o.retry = retry_policy(1'000, 2.0, 3);
  run_wft({schedule_activity(o)});
  const int64_t id = last_events().back().event_id();
  ActivityStart a = start_activity(id);
  now_ += 100;
  ASSERT_TRUE(fail_activity(a.token, "boom 1").ok());
  EXPECT_TRUE(ms_.activity(id)->waiting_for_retry());
  EXPECT_EQ(ms_.activity(id)->next_attempt_time_ms(), now_ + 1'000);
  fire_retry(id);
  EXPECT_EQ(ms_.activity(id)->next_attempt_time_ms(), 0);  // scheduled: no longer waiting
  a = start_activity(id);
  ASSERT_TRUE(fail_activity(a.token, "boom 2").ok());
  EXPECT_EQ(ms_.activity(id)->next_attempt_time_ms(), now_ + 2'000);
  fire_retry(id);
  a = start_activity(id);
  ASSERT_EQ(a.token.attempt(), 3);
  ASSERT_TRUE(complete_activity(a.token).ok());
  const v1::HistoryEvent& done = last_events()[1];
  ASSERT_EQ(done.event_type(), v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  EXPECT_EQ(done.activity_task_completed_event_attributes().attempt(), 3);
  EXPECT_EQ(done.activity_task_completed_event_attributes().last_failure().message(), "boom 2");
}

TEST_F(AttemptsVisibleTest, FinalFailureAndTimeoutCarryTheAttempt) {
  start();
  ActivityOptions failing;
  failing.retry = retry_policy(1'000, 2.0, 2);
  ActivityOptions timing_out;
  timing_out.id = "slow";
  timing_out.retry = retry_policy(1'000, 2.0, 1);
  run_wft({schedule_activity(failing), schedule_activity(timing_out)});
  const int64_t id = last_events()[1].event_id();
  const int64_t slow = last_events()[2].event_id();

  ActivityStart a = start_activity(id);
  ASSERT_TRUE(fail_activity(a.token, "boom 1").ok());
  fire_retry(id);
  a = start_activity(id);
  ASSERT_TRUE(fail_activity(a.token, "boom 2").ok());
  const v1::HistoryEvent& failed = last_events()[1];
  ASSERT_EQ(failed.event_type(), v1::EVENT_TYPE_ACTIVITY_TASK_FAILED);
  EXPECT_EQ(failed.activity_task_failed_event_attributes().attempt(), 2);
  EXPECT_EQ(failed.activity_task_failed_event_attributes().last_failure().message(), "boom 1");

  start_activity(slow);
  auto timeout = find_timer(v1::TIMER_KIND_ACTIVITY_START_TO_CLOSE, slow);
  ASSERT_TRUE(timeout.has_value());
  ASSERT_TRUE(fire(*timeout).ok());
  bool found = false;
  for (const auto& e : last_events()) {
    if (e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) {
      EXPECT_EQ(e.activity_task_timed_out_event_attributes().attempt(), 1);
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace cairn::rules_test
