// Transition rules of activities, as a user of a durable runtime relies on them: scheduling and
// its validation, attempts that start without history, completion, retries with exact backoff,
// heartbeats, the four timeouts, stale tokens and timers, and cancellation.
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "history/transitions.h"
#include "tests/history/rules_test_util.h"

namespace cairn::rules_test {
namespace {

using google::protobuf::util::MessageDifferencer;
using T = v1::EventType;
constexpr T kWftScheduled = v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED;
constexpr T kWftCompleted = v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED;
constexpr T kScheduled = v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED;
constexpr T kStarted = v1::EVENT_TYPE_ACTIVITY_TASK_STARTED;
constexpr T kCompleted = v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED;
constexpr T kFailed = v1::EVENT_TYPE_ACTIVITY_TASK_FAILED;
constexpr T kTimedOut = v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT;
constexpr T kCancelRequested = v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED;
constexpr T kCanceled = v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED;
constexpr v1::TimerKind kScheduleToStart = v1::TIMER_KIND_ACTIVITY_SCHEDULE_TO_START;
constexpr v1::TimerKind kScheduleToClose = v1::TIMER_KIND_ACTIVITY_SCHEDULE_TO_CLOSE;
constexpr v1::TimerKind kStartToClose = v1::TIMER_KIND_ACTIVITY_START_TO_CLOSE;
constexpr v1::TimerKind kHeartbeat = v1::TIMER_KIND_ACTIVITY_HEARTBEAT;
constexpr v1::TimerKind kRetry = v1::TIMER_KIND_ACTIVITY_RETRY;

// The first payload's data, "<none>" when there is none.
std::string data_of(const v1::Payloads& p) {
  return p.payloads_size() > 0 ? p.payloads(0).data() : "<none>";
}

bool contains(const Status& st, const std::string& text) {
  return st.message().find(text) != std::string::npos;
}

class ActivityRulesTest : public RulesTest {
 protected:
  // Starts the run and has its first workflow task schedule one activity. Returns the
  // ActivityTaskScheduled event id (5: Started, Scheduled, WT Started, WT Completed, this).
  int64_t schedule(const ActivityOptions& o = {}) {
    start();
    run_wft({schedule_activity(o)});
    EXPECT_EQ(types_of(last_events()), (std::vector<T>{kWftCompleted, kScheduled}));
    return last_events().back().event_id();
  }

  Status complete(const v1::TaskToken& token, const std::string& result = "out") {
    return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      return complete_activity_task(ms, token, payloads(result), "aw-1", env, out);
    });
  }
  Status fail(const v1::TaskToken& token, const v1::Failure& failure,
              const v1::Payloads* details = nullptr) {
    return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      return fail_activity_task(ms, token, failure, details, "aw-1", env, out);
    });
  }
  Status cancel(const v1::TaskToken& token, const std::string& details = "bye") {
    return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      return cancel_activity_task(ms, token, payloads(details), "aw-1", env, out);
    });
  }
  // The heartbeat's answer (was cancellation requested?), or its error.
  Result<bool> heartbeat(const v1::TaskToken& token, const std::string& details) {
    Result<bool> answer = false;
    Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      answer = record_activity_heartbeat(ms, token, payloads(details), env, out);
      EXPECT_TRUE(out->events.empty() && out->add_timers.empty());  // state only
      return answer.status();
    });
    EXPECT_EQ(st, answer.status());
    return answer;
  }
  // A signal, so that the workflow gets a task in which to issue more commands.
  void wake() {
    Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      return signal_workflow(ms, "stop", payloads(""), "client", "", env, out);
    });
    ASSERT_TRUE(st.ok()) << st.to_string();
  }

  // Runs `call`, which must fail, and checks that nothing was committed.
  Status rejected(const std::function<Status()>& call) {
    v1::RunState before = ms_.state();
    size_t events = history_.size();
    size_t tasks = tasks_.size();
    size_t timers = timers_.size();
    Status st = call();
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(history_.size(), events);
    EXPECT_TRUE(MessageDifferencer::Equals(before, ms_.state())) << st.to_string();
    EXPECT_EQ(tasks_.size(), tasks);
    EXPECT_EQ(timers_.size(), timers);
    return st;
  }
  // Polls `task` again, expecting it to be stale: kNotFound and nothing written.
  void expect_stale_task(const v1::TaskRecord& task) {
    Status st = rejected([&] {
      return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
        return start_activity_task(ms, task, "aw-9", env, out).status();
      });
    });
    EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.to_string();
  }

  // The pending timer of `kind` armed for `attempt` of activity `scheduled` (at most one).
  std::optional<v1::TimerRecord> timer_for(v1::TimerKind kind, int64_t scheduled, int32_t attempt) {
    std::optional<v1::TimerRecord> found;
    for (const auto& [seq, t] : timers_) {
      if (t.kind() == kind && t.event_id() == scheduled && t.attempt() == attempt) {
        EXPECT_FALSE(found.has_value()) << "two " << v1::TimerKind_Name(kind) << " timers";
        found = t;
      }
    }
    return found;
  }
  // Its fire time; -1 when there is no such timer.
  int64_t fire_time(v1::TimerKind kind, int64_t scheduled, int32_t attempt) {
    auto t = timer_for(kind, scheduled, attempt);
    return t ? t->fire_time_ms() : -1;
  }
  // Checks that the timer is due at exactly `at`, fires it there, and expects it to apply.
  void fire_at(v1::TimerKind kind, int64_t scheduled, int32_t attempt, int64_t at) {
    auto t = timer_for(kind, scheduled, attempt);
    ASSERT_TRUE(t.has_value()) << v1::TimerKind_Name(kind) << " for attempt " << attempt;
    EXPECT_EQ(t->fire_time_ms(), at) << v1::TimerKind_Name(kind);
    auto fired = fire(*t);
    ASSERT_TRUE(fired.ok()) << fired.status().to_string();
    EXPECT_TRUE(*fired) << v1::TimerKind_Name(kind);
  }
  // Fires `timer`, expecting it to be stale (the fixture checks that nothing changed).
  void fire_stale(const std::optional<v1::TimerRecord>& timer) {
    ASSERT_TRUE(timer.has_value());
    auto fired = fire(*timer);
    ASSERT_TRUE(fired.ok()) << fired.status().to_string();
    EXPECT_FALSE(*fired) << v1::TimerKind_Name(timer->kind());
  }

  // Fails the running attempt with a retryable failure and expects a retry: no events, no task,
  // one ACTIVITY_RETRY timer at exactly now + `backoff_ms`. Fires it, expects the activity task of
  // the next attempt, and returns that attempt's start (10 ms after the task was queued).
  ActivityStart fail_and_retry(int64_t scheduled, const ActivityStart& running,
                               int64_t backoff_ms) {
    int32_t attempt = running.token.attempt();
    Status st = fail(running.token, app_failure("boom " + std::to_string(attempt)));
    EXPECT_TRUE(st.ok()) << st.to_string();
    EXPECT_TRUE(last_events().empty()) << "attempt " << attempt;
    EXPECT_EQ(count_tasks(v1::TASK_KIND_ACTIVITY), 0);
    EXPECT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 0);
    const v1::ActivityInfo* info = ms_.activity(scheduled);
    EXPECT_EQ(info->attempt(), attempt + 1);
    EXPECT_TRUE(info->waiting_for_retry());
    EXPECT_EQ(info->last_failure().message(), "boom " + std::to_string(attempt));
    fire_at(kRetry, scheduled, attempt + 1, now_ + backoff_ms);
    EXPECT_TRUE(last_events().empty());
    EXPECT_EQ(pending_task(v1::TASK_KIND_ACTIVITY, scheduled).attempt(), attempt + 1);
    EXPECT_FALSE(ms_.activity(scheduled)->waiting_for_retry());
    EXPECT_EQ(ms_.activity(scheduled)->current_attempt_scheduled_time_ms(), now_);
    now_ += 10;
    return start_activity(scheduled);
  }
};

TEST_F(ActivityRulesTest, ScheduleWritesEventTaskAndScheduleTimers) {
  now_ += 700;
  int64_t t0 = now_;
  int64_t id = schedule({.schedule_to_close = 60'000, .schedule_to_start = 5'000,
                         .start_to_close = 10'000, .heartbeat = 2'000});
  ASSERT_EQ(id, 5);
  const auto& a = event(5).activity_task_scheduled_event_attributes();
  EXPECT_EQ(a.activity_id(), "a1");
  EXPECT_EQ(a.activity_type().name(), "echo");
  EXPECT_EQ(a.task_queue(), "orders");  // the workflow's queue by default
  EXPECT_EQ(data_of(a.input()), "in");
  EXPECT_EQ(a.schedule_to_close_timeout_ms(), 60'000);
  EXPECT_EQ(a.schedule_to_start_timeout_ms(), 5'000);
  EXPECT_EQ(a.start_to_close_timeout_ms(), 10'000);
  EXPECT_EQ(a.heartbeat_timeout_ms(), 2'000);
  EXPECT_EQ(a.workflow_task_completed_event_id(), 4);
  // The resolved policy is recorded: Temporal's defaults.
  EXPECT_EQ(a.retry_policy().initial_interval_ms(), 1000);
  EXPECT_DOUBLE_EQ(a.retry_policy().backoff_coefficient(), 2.0);
  EXPECT_EQ(a.retry_policy().maximum_interval_ms(), 100'000);
  EXPECT_EQ(a.retry_policy().maximum_attempts(), 0);
  ASSERT_EQ(count_tasks(v1::TASK_KIND_ACTIVITY), 1);
  v1::TaskRecord task = pending_task(v1::TASK_KIND_ACTIVITY, id);
  EXPECT_EQ(task.attempt(), 1);
  EXPECT_EQ(task.task_queue(), "orders");
  EXPECT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 0);
  EXPECT_EQ(fire_time(kScheduleToClose, id, 1), t0 + 60'000);
  EXPECT_EQ(fire_time(kScheduleToStart, id, 1), t0 + 5'000);
  // Attempt timers wait for the start.
  EXPECT_FALSE(find_timer(kStartToClose).has_value());
  EXPECT_FALSE(find_timer(kHeartbeat).has_value());
  ASSERT_NE(ms_.activity(id), nullptr);
  EXPECT_EQ(ms_.activity(id)->attempt(), 1);
  EXPECT_EQ(ms_.activity(id)->scheduled_time_ms(), t0);
}

TEST_F(ActivityRulesTest, TimeoutsAreResolvedAgainstScheduleToClose) {
  struct Case {
    ActivityOptions given;
    int64_t schedule_to_start, start_to_close, heartbeat;  // resolved
    bool schedule_to_start_timer, schedule_to_close_timer;
  };
  std::vector<Case> cases = {
      // Defaults from schedule-to-close; a heartbeat longer than an attempt is clamped.
      {{.schedule_to_close = 30'000, .start_to_close = 0, .heartbeat = 90'000},
       30'000, 30'000, 30'000, false, true},
      // Nothing exceeds schedule-to-close; schedule-to-start equal to it needs no timer.
      {{.schedule_to_close = 4'000, .schedule_to_start = 9'000, .start_to_close = 9'000},
       4'000, 4'000, 0, false, true},
      // Start-to-close alone: no schedule timers at all.
      {{.start_to_close = 10'000}, 0, 10'000, 0, false, false},
      {{.schedule_to_start = 500, .start_to_close = 10'000}, 500, 10'000, 0, true, false},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    const Case& c = cases[i];
    ms_ = MutableState();
    history_.clear();
    tasks_.clear();
    timers_.clear();
    int64_t id = schedule(c.given);
    const auto& a = event(id).activity_task_scheduled_event_attributes();
    EXPECT_EQ(a.schedule_to_close_timeout_ms(), c.given.schedule_to_close);
    EXPECT_EQ(a.schedule_to_start_timeout_ms(), c.schedule_to_start);
    EXPECT_EQ(a.start_to_close_timeout_ms(), c.start_to_close);
    EXPECT_EQ(a.heartbeat_timeout_ms(), c.heartbeat);
    EXPECT_EQ(find_timer(kScheduleToStart).has_value(), c.schedule_to_start_timer);
    EXPECT_EQ(find_timer(kScheduleToClose).has_value(), c.schedule_to_close_timer);
    start_activity(id);
    EXPECT_EQ(fire_time(kStartToClose, id, 1), now_ + c.start_to_close);
    EXPECT_EQ(find_timer(kHeartbeat).has_value(), c.heartbeat > 0);
  }
}

TEST_F(ActivityRulesTest, InvalidScheduleCommandsNameTheFieldAndChangeNothing) {
  start();
  run_wft({schedule_activity()});  // "a1" is pending from now on
  wake();
  struct Case {
    std::function<void(ActivityOptions*)> set;
    std::string expect;
  };
  std::vector<Case> cases = {
      {[](ActivityOptions* o) { o->id = ""; }, "activity_id is required"},
      {[](ActivityOptions* o) { o->id = std::string(1001, 'x'); }, "activity_id is longer"},
      {[](ActivityOptions* o) { o->type = ""; }, "activity_type.name is required"},
      {[](ActivityOptions* o) { o->id = "a1"; }, "activity_id a1 is already used"},
      {[](ActivityOptions* o) { o->start_to_close = 0; },
       "schedule_to_close_timeout_ms or start_to_close_timeout_ms is required"},
      {[](ActivityOptions* o) { o->schedule_to_close = -1; }, "schedule_to_close_timeout_ms"},
      {[](ActivityOptions* o) { o->schedule_to_start = -1; }, "schedule_to_start_timeout_ms"},
      {[](ActivityOptions* o) { o->start_to_close = -1; }, "start_to_close_timeout_ms"},
      {[](ActivityOptions* o) { o->heartbeat = -1; }, "heartbeat_timeout_ms"},
      {[](ActivityOptions* o) { o->retry.set_backoff_coefficient(0.5); },
       "retry_policy.backoff_coefficient"},
      {[](ActivityOptions* o) { o->retry.set_maximum_attempts(-1); },
       "retry_policy.maximum_attempts"},
      {[](ActivityOptions* o) { o->retry.set_initial_interval_ms(-1); },
       "retry_policy.initial_interval_ms"},
      {[](ActivityOptions* o) { o->retry.set_maximum_interval_ms(1); },  // below 1 s initial
       "retry_policy.maximum_interval_ms"},
      {[](ActivityOptions* o) { o->input = std::string(3 << 20, 'x'); }, "input is"},
  };
  v1::TaskToken token = start_wft();
  for (const auto& c : cases) {
    ActivityOptions o{.id = "a2"};
    c.set(&o);
    Status st = rejected([&] {
      return complete_wft(token, {record_marker("m"), schedule_activity(o)});
    });
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.expect;
    const std::string id = o.id.size() > 100 ? o.id.substr(0, 100) + "..." : o.id;
    EXPECT_TRUE(contains(st, "command 1 (ScheduleActivityTask, activity \"" + id + "\"): " + c.expect))
        << st.message();
  }
  // Two commands with the same id in one task: the second one is named.
  Status dup = rejected([&] {
    return complete_wft(token, {schedule_activity({.id = "b"}), schedule_activity({.id = "b"})});
  });
  EXPECT_TRUE(contains(dup, "command 1 (ScheduleActivityTask, activity \"b\"): activity_id b is already used"))
      << dup.message();
  // The task still takes a valid answer.
  EXPECT_TRUE(complete_wft(token, {schedule_activity({.id = "a2"})}).ok());
  EXPECT_EQ(ms_.state().activities_size(), 2);
}

TEST_F(ActivityRulesTest, ActivityIdMayBeReusedOnceClosedAndQueueChosen) {
  int64_t id = schedule();
  ASSERT_TRUE(complete(start_activity(id).token).ok());  // 6, 7, WT scheduled 8
  v1::Command again = schedule_activity();
  again.mutable_schedule_activity_task_command_attributes()->set_task_queue("gpu");
  run_wft({again});
  EXPECT_EQ(event(11).activity_task_scheduled_event_attributes().task_queue(), "gpu");
  EXPECT_EQ(pending_task(v1::TASK_KIND_ACTIVITY, 11).task_queue(), "gpu");
}

TEST_F(ActivityRulesTest, StartRecordsTheAttemptWithoutAnEventAndArmsAttemptTimers) {
  int64_t id = schedule({.start_to_close = 10'000, .heartbeat = 2'000});
  v1::TaskRecord task = pending_task(v1::TASK_KIND_ACTIVITY, id);
  now_ += 300;
  ActivityStart a = start_activity(id, "aw-7");
  EXPECT_TRUE(last_events().empty());  // ActivityTaskStarted waits for the closing event
  EXPECT_EQ(history_.size(), 5u);
  EXPECT_EQ(count_tasks(v1::TASK_KIND_ACTIVITY), 0);  // the task left the outbox
  EXPECT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 0);  // nothing for the workflow to see
  EXPECT_EQ(a.token.kind(), v1::TASK_KIND_ACTIVITY);
  EXPECT_EQ(a.token.run_id(), "run-1");
  EXPECT_EQ(a.token.scheduled_event_id(), id);
  EXPECT_EQ(a.token.attempt(), 1);
  EXPECT_EQ(a.info.attempt(), 1);
  EXPECT_EQ(a.info.started_time_ms(), now_);
  EXPECT_EQ(a.info.started_identity(), "aw-7");
  EXPECT_EQ(data_of(a.info.input()), "in");
  EXPECT_EQ(a.info.heartbeat_timeout_ms(), 2'000);
  EXPECT_FALSE(a.info.has_heartbeat_details());

  EXPECT_EQ(fire_time(kStartToClose, id, 1), now_ + 10'000);
  EXPECT_EQ(fire_time(kHeartbeat, id, 1), now_ + 2'000);
  expect_stale_task(task);  // the same task polled twice
}

TEST_F(ActivityRulesTest, CompleteWritesStartedAndCompletedAndWakesTheWorkflow) {
  int64_t id = schedule();
  now_ += 100;
  ActivityStart a = start_activity(id, "aw-3");
  now_ += 250;
  ASSERT_TRUE(complete(a.token, "result!").ok());
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kStarted, kCompleted, kWftScheduled}));
  const auto& started = event(6).activity_task_started_event_attributes();
  EXPECT_EQ(started.scheduled_event_id(), id);
  EXPECT_EQ(started.attempt(), 1);
  EXPECT_EQ(started.identity(), "aw-3");
  EXPECT_FALSE(started.has_last_failure());
  EXPECT_EQ(event(6).event_time_ms(), a.info.started_time_ms());  // when the attempt started
  const auto& done = event(7).activity_task_completed_event_attributes();
  EXPECT_EQ(data_of(done.result()), "result!");
  EXPECT_EQ(done.scheduled_event_id(), id);
  EXPECT_EQ(done.started_event_id(), 6);
  EXPECT_EQ(done.identity(), "aw-1");
  EXPECT_EQ(event(7).event_time_ms(), now_);
  EXPECT_EQ(ms_.activity(id), nullptr);
  EXPECT_EQ(pending_task(v1::TASK_KIND_WORKFLOW).scheduled_event_id(), 8);
}

TEST_F(ActivityRulesTest, StaleTokensAreNotFoundAndWriteNothing) {
  int64_t id = schedule();
  v1::TaskToken never_started;
  never_started.set_kind(v1::TASK_KIND_ACTIVITY);
  never_started.set_run_id("run-1");
  never_started.set_scheduled_event_id(id);
  never_started.set_attempt(1);
  EXPECT_EQ(rejected([&] { return complete(never_started); }).code(), StatusCode::kNotFound);

  ActivityStart a = start_activity(id);
  v1::TaskToken wrong_attempt = a.token;
  wrong_attempt.set_attempt(2);
  Status st = rejected([&] { return complete(wrong_attempt); });
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(),
            "run default/wf-1/run-1: activity task (scheduled 5, attempt 2) not found (stale task "
            "token)");
  v1::TaskToken unknown = a.token;
  unknown.set_scheduled_event_id(99);
  EXPECT_EQ(rejected([&] { return complete(unknown); }).code(), StatusCode::kNotFound);
  v1::TaskToken other_run = a.token;
  other_run.set_run_id("run-0");
  EXPECT_EQ(rejected([&] { return complete(other_run); }).code(), StatusCode::kNotFound);
  v1::TaskToken workflow_kind = a.token;
  workflow_kind.set_kind(v1::TASK_KIND_WORKFLOW);
  EXPECT_EQ(rejected([&] { return complete(workflow_kind); }).code(),
            StatusCode::kInvalidArgument);

  ASSERT_TRUE(complete(a.token).ok());
  // Answered twice, or answered otherwise after the first answer: all stale.
  EXPECT_EQ(rejected([&] { return complete(a.token); }).code(), StatusCode::kNotFound);
  EXPECT_EQ(rejected([&] { return fail(a.token, app_failure("late")); }).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(rejected([&] { return cancel(a.token); }).code(), StatusCode::kNotFound);
  EXPECT_EQ(rejected([&] { return heartbeat(a.token, "hb").status(); }).code(),
            StatusCode::kNotFound);
}

TEST_F(ActivityRulesTest, OversizePayloadsAreInvalidAndWriteNothing) {
  int64_t id = schedule();
  ActivityStart a = start_activity(id);
  std::string big(3 << 20, 'x');
  Status r = rejected([&] { return complete(a.token, big); });
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(r, "activity result is")) << r.message();
  Status h = rejected([&] { return heartbeat(a.token, big).status(); });
  EXPECT_TRUE(contains(h, "heartbeat details is")) << h.message();
  v1::Payloads details = payloads(big);
  Status f = rejected([&] { return fail(a.token, app_failure("x"), &details); });
  EXPECT_TRUE(contains(f, "last heartbeat details is")) << f.message();
  // The attempt is still running; details given with a failure reach the next attempt.
  details = payloads("page 7");
  ASSERT_TRUE(fail(a.token, app_failure("rate limited"), &details).ok());
  fire_at(kRetry, id, 2, now_ + 1000);
  EXPECT_EQ(data_of(start_activity(id).info.heartbeat_details()), "page 7");
}

TEST_F(ActivityRulesTest, ResultsJoinAScheduledWorkflowTaskOrWaitForAStartedOne) {
  start();
  run_wft({schedule_activity(), schedule_activity({.id = "a2"}),
           schedule_activity({.id = "a3"})});  // events 5, 6, 7
  ActivityStart a1 = start_activity(5);
  ActivityStart a2 = start_activity(6);
  ActivityStart a3 = start_activity(7);
  ASSERT_TRUE(complete(a1.token).ok());  // 8, 9, WT scheduled 10
  // A non-retryable failure ends the first attempt at once.
  ASSERT_TRUE(fail(a2.token, app_failure("no", "Error", /*non_retryable=*/true)).ok());
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kStarted, kFailed}));  // 11, 12
  EXPECT_EQ(event(11).activity_task_started_event_attributes().attempt(), 1);
  const auto& failed = event(12).activity_task_failed_event_attributes();
  EXPECT_EQ(failed.started_event_id(), 11);
  EXPECT_EQ(failed.retry_state(), v1::RETRY_STATE_NON_RETRYABLE_FAILURE);
  EXPECT_FALSE(find_timer(kRetry).has_value());
  EXPECT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 1);

  v1::TaskToken wft = start_wft();  // 13
  now_ += 40;
  int64_t arrived = now_;
  ASSERT_TRUE(complete(a3.token, "third").ok());
  EXPECT_TRUE(last_events().empty());
  EXPECT_EQ(ms_.state().buffered_events_size(), 2);
  EXPECT_EQ(ms_.activity(7), nullptr);  // applied at once: a duplicate answer is stale
  EXPECT_EQ(rejected([&] { return complete(a3.token); }).code(), StatusCode::kNotFound);
  now_ += 40;
  ASSERT_TRUE(complete_wft(wft, {}).ok());
  ASSERT_EQ(types_of(last_events()),
            (std::vector<T>{kWftCompleted, kStarted, kCompleted, kWftScheduled}));
  EXPECT_EQ(event(15).activity_task_started_event_attributes().scheduled_event_id(), 7);
  EXPECT_EQ(event(16).activity_task_completed_event_attributes().started_event_id(), 15);
  EXPECT_EQ(data_of(event(16).activity_task_completed_event_attributes().result()),
            "third");
  EXPECT_EQ(event(16).event_time_ms(), arrived);
}

// A failure that names its next retry delay (a provider's Retry-After) arms the retry timer that
// far out instead of the policy's 1 s; a negative delay is refused and changes nothing.
TEST_F(ActivityRulesTest, TheFailuresNextRetryDelaySetsTheRetryTimer) {
  int64_t id = schedule();
  ActivityStart a = start_activity(id);
  v1::Failure negative = app_failure("rate limited");
  negative.mutable_application_failure_info()->set_next_retry_delay_ms(-1);
  Status r = rejected([&] { return fail(a.token, negative); });
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(r, "next_retry_delay_ms must not be negative (got -1)")) << r.message();

  v1::Failure later = app_failure("rate limited");
  later.mutable_application_failure_info()->set_next_retry_delay_ms(45'000);
  ASSERT_TRUE(fail(a.token, later).ok());
  auto retry = timer_for(kRetry, id, 2);
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->fire_time_ms(), now_ + 45'000);
  EXPECT_EQ(ms_.activity(id)->next_attempt_time_ms(), now_ + 45'000);
}

TEST_F(ActivityRulesTest, RetryBackoffFollowsACustomPolicyExactly) {
  int64_t id = schedule({.retry = retry_policy(100, 3.0, 4)});
  ActivityStart a = start_activity(id);
  const std::vector<int64_t> backoff = {100, 300, 900};
  for (size_t i = 0; i < backoff.size(); ++i) {
    now_ += 50;
    a = fail_and_retry(id, a, backoff[i]);
    ASSERT_EQ(a.token.attempt(), static_cast<int32_t>(i) + 2);
    EXPECT_EQ(a.info.attempt(), a.token.attempt());
    EXPECT_EQ(a.info.last_failure().message(), "boom " + std::to_string(i + 1));
    v1::TaskToken old = a.token;  // the previous attempt's token is stale now
    old.set_attempt(a.token.attempt() - 1);
    EXPECT_EQ(rejected([&] { return complete(old); }).code(), StatusCode::kNotFound);
  }
  // Attempt 4 of 4 fails: final.
  now_ += 50;
  ASSERT_TRUE(fail(a.token, app_failure("boom 4")).ok());
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kStarted, kFailed, kWftScheduled}));
  const auto& started = event(6).activity_task_started_event_attributes();
  EXPECT_EQ(started.attempt(), 4);
  EXPECT_EQ(started.last_failure().message(), "boom 3");
  EXPECT_EQ(event(6).event_time_ms(), a.info.started_time_ms());
  const auto& failed = event(7).activity_task_failed_event_attributes();
  EXPECT_EQ(failed.retry_state(), v1::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
  EXPECT_EQ(failed.failure().message(), "boom 4");
  EXPECT_EQ(failed.started_event_id(), 6);
  EXPECT_EQ(failed.scheduled_event_id(), id);
  EXPECT_EQ(failed.identity(), "aw-1");
  EXPECT_EQ(ms_.activity(id), nullptr);
  EXPECT_FALSE(find_timer(kRetry).has_value());
}

TEST_F(ActivityRulesTest, DefaultRetryPolicyDoublesFromOneSecondUpToTheCap) {
  int64_t id = schedule();  // default policy: 1 s, x2, max 100 s, unlimited attempts
  ActivityStart a = start_activity(id);
  for (int64_t b : {1000, 2000, 4000, 8000, 16'000, 32'000, 64'000, 100'000, 100'000}) {
    a = fail_and_retry(id, a, b);
    ASSERT_GT(a.token.attempt(), 1);
  }
  EXPECT_EQ(a.token.attempt(), 10);
  ASSERT_TRUE(complete(a.token).ok());
  EXPECT_EQ(event(6).activity_task_started_event_attributes().attempt(), 10);
  EXPECT_EQ(event(6).activity_task_started_event_attributes().last_failure().message(), "boom 9");
  EXPECT_EQ(history_.size(), 8u);  // nine retries left no other trace
}

TEST_F(ActivityRulesTest, NonRetryableErrorTypesFailAtOnce) {
  v1::RetryPolicy retry;
  retry.add_non_retryable_error_types("BadInput");
  int64_t id = schedule({.retry = retry});
  ActivityStart a = start_activity(id);
  a = fail_and_retry(id, a, 1000);  // a type not on the list is retried
  ASSERT_EQ(a.token.attempt(), 2);
  ASSERT_TRUE(fail(a.token, app_failure("bad", "BadInput")).ok());
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kStarted, kFailed, kWftScheduled}));
  EXPECT_EQ(event(7).activity_task_failed_event_attributes().retry_state(),
            v1::RETRY_STATE_NON_RETRYABLE_FAILURE);
  EXPECT_EQ(event(6).activity_task_started_event_attributes().attempt(), 2);
}

TEST_F(ActivityRulesTest, HeartbeatsPushTheDeadlineAndTheirTimeoutRetriesWithLastDetails) {
  int64_t id = schedule({.start_to_close = 60'000, .heartbeat = 2'000});
  ActivityStart a = start_activity(id);
  int64_t t0 = now_;
  now_ = t0 + 1500;
  auto hb = heartbeat(a.token, "p1");
  ASSERT_TRUE(hb.ok()) << hb.status().to_string();
  EXPECT_FALSE(*hb);  // no cancellation requested
  EXPECT_TRUE(last_events().empty());
  EXPECT_EQ(data_of(ms_.activity(id)->heartbeat_details()), "p1");
  EXPECT_EQ(ms_.activity(id)->last_heartbeat_time_ms(), t0 + 1500);
  // The timer armed at the start finds a recent heartbeat: re-armed at that heartbeat + 2 s.
  fire_at(kHeartbeat, id, 1, t0 + 2000);
  EXPECT_TRUE(last_events().empty());
  now_ = t0 + 3000;
  ASSERT_TRUE(heartbeat(a.token, "progress-40%").ok());
  fire_at(kHeartbeat, id, 1, t0 + 3500);
  EXPECT_EQ(ms_.activity(id)->started_time_ms(), t0);  // still running
  fire_at(kHeartbeat, id, 1, t0 + 5000);  // no heartbeat since: the attempt timed out
  EXPECT_TRUE(last_events().empty());
  EXPECT_FALSE(timer_for(kHeartbeat, id, 1).has_value());
  const v1::ActivityInfo* info = ms_.activity(id);
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->attempt(), 2);
  EXPECT_EQ(info->last_failure().timeout_failure_info().timeout_type(), v1::TIMEOUT_TYPE_HEARTBEAT);
  // The late worker of attempt 1 is stale.
  EXPECT_EQ(rejected([&] { return heartbeat(a.token, "x").status(); }).code(),
            StatusCode::kNotFound);

  fire_at(kRetry, id, 2, t0 + 5000 + 1000);
  ActivityStart next = start_activity(id);
  EXPECT_EQ(next.token.attempt(), 2);
  EXPECT_EQ(data_of(next.info.heartbeat_details()), "progress-40%");
  const auto& timeout = next.info.last_failure().timeout_failure_info();
  EXPECT_EQ(timeout.timeout_type(), v1::TIMEOUT_TYPE_HEARTBEAT);
  EXPECT_EQ(data_of(timeout.last_heartbeat_details()), "progress-40%");
  EXPECT_EQ(fire_time(kHeartbeat, id, 2), now_ + 2000);  // the new attempt's own timer
}

TEST_F(ActivityRulesTest, FinalHeartbeatTimeoutIsTimedOutWithDetails) {
  int64_t id = schedule({.heartbeat = 1'000, .retry = retry_policy(0, 0, 1)});
  ActivityStart a = start_activity(id);
  ASSERT_TRUE(heartbeat(a.token, "half").ok());
  fire_at(kHeartbeat, id, 1, now_ + 1000);
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kStarted, kTimedOut, kWftScheduled}));
  const auto& t = event(7).activity_task_timed_out_event_attributes();
  EXPECT_EQ(t.retry_state(), v1::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
  EXPECT_EQ(t.started_event_id(), 6);
  EXPECT_EQ(t.failure().timeout_failure_info().timeout_type(), v1::TIMEOUT_TYPE_HEARTBEAT);
  EXPECT_EQ(data_of(t.failure().timeout_failure_info().last_heartbeat_details()), "half");
}

TEST_F(ActivityRulesTest, StartToCloseTimeoutRetriesThenTimesOut) {
  int64_t id = schedule({.start_to_close = 3'000, .retry = retry_policy(500, 2.0, 2)});
  ActivityStart a = start_activity(id);
  fire_at(kStartToClose, id, 1, now_ + 3000);
  EXPECT_TRUE(last_events().empty());
  EXPECT_EQ(rejected([&] { return complete(a.token); }).code(), StatusCode::kNotFound);
  fire_at(kRetry, id, 2, now_ + 500);
  now_ += 20;
  ASSERT_EQ(start_activity(id).token.attempt(), 2);
  fire_at(kStartToClose, id, 2, now_ + 3000);
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kStarted, kTimedOut, kWftScheduled}));
  const auto& t = event(7).activity_task_timed_out_event_attributes();
  EXPECT_EQ(t.failure().timeout_failure_info().timeout_type(), v1::TIMEOUT_TYPE_START_TO_CLOSE);
  EXPECT_EQ(t.retry_state(), v1::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
  EXPECT_EQ(t.failure().cause().timeout_failure_info().timeout_type(),
            v1::TIMEOUT_TYPE_START_TO_CLOSE);  // attempt 1's failure
  EXPECT_EQ(event(6).activity_task_started_event_attributes().attempt(), 2);
}

TEST_F(ActivityRulesTest, ScheduleToStartTimeoutIsFinal) {
  int64_t id = schedule({.schedule_to_start = 2'000});  // unlimited attempts
  v1::TaskRecord task = pending_task(v1::TASK_KIND_ACTIVITY, id);
  fire_at(kScheduleToStart, id, 1, now_ + 2000);
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kTimedOut, kWftScheduled}));
  const auto& t = event(6).activity_task_timed_out_event_attributes();
  EXPECT_EQ(t.failure().timeout_failure_info().timeout_type(), v1::TIMEOUT_TYPE_SCHEDULE_TO_START);
  EXPECT_EQ(t.retry_state(), v1::RETRY_STATE_TIMEOUT);
  EXPECT_EQ(t.started_event_id(), 0);  // never started: no ActivityTaskStarted
  EXPECT_EQ(ms_.activity(id), nullptr);
  EXPECT_FALSE(find_timer(kRetry).has_value());
  expect_stale_task(task);  // a poller that takes the queued task now gets nothing
}

TEST_F(ActivityRulesTest, ScheduleToStartIsReArmedForEachRetry) {
  int64_t id = schedule({.schedule_to_start = 700, .start_to_close = 1'000});
  int64_t t0 = now_;
  now_ += 100;
  start_activity(id);  // in time
  fire_stale(timer_for(kScheduleToStart, id, 1));
  fire_at(kStartToClose, id, 1, t0 + 1100);
  fire_at(kRetry, id, 2, t0 + 2100);
  fire_at(kScheduleToStart, id, 2, t0 + 2800);  // nobody polled attempt 2
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kTimedOut, kWftScheduled}));
  const auto& t = event(6).activity_task_timed_out_event_attributes();
  EXPECT_EQ(t.failure().timeout_failure_info().timeout_type(), v1::TIMEOUT_TYPE_SCHEDULE_TO_START);
  EXPECT_EQ(t.failure().cause().timeout_failure_info().timeout_type(),
            v1::TIMEOUT_TYPE_START_TO_CLOSE);
}

TEST_F(ActivityRulesTest, ScheduleToCloseTimeoutIsFinalWhileRunning) {
  int64_t id = schedule({.schedule_to_close = 5'000, .start_to_close = 0});
  int64_t t0 = now_;
  now_ += 100;
  ActivityStart a = start_activity(id);
  fire_at(kScheduleToClose, id, 1, t0 + 5000);
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kStarted, kTimedOut, kWftScheduled}));
  EXPECT_EQ(event(6).event_time_ms(), t0 + 100);
  const auto& t = event(7).activity_task_timed_out_event_attributes();
  EXPECT_EQ(t.failure().timeout_failure_info().timeout_type(), v1::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE);
  EXPECT_EQ(t.retry_state(), v1::RETRY_STATE_TIMEOUT);
  EXPECT_EQ(t.started_event_id(), 6);
  EXPECT_EQ(rejected([&] { return complete(a.token); }).code(), StatusCode::kNotFound);
  fire_stale(timer_for(kStartToClose, id, 1));
}

TEST_F(ActivityRulesTest, ScheduleToCloseTimeoutEndsABackoff) {
  int64_t id = schedule({.schedule_to_close = 10'000, .start_to_close = 1'000,
                         .retry = retry_policy(8'000, 2.0, 0)});
  int64_t t0 = now_;
  ActivityStart a = start_activity(id);
  ASSERT_TRUE(fail(a.token, app_failure("flaky")).ok());  // retry at t0 + 8000 < t0 + 10000
  EXPECT_TRUE(last_events().empty());
  fire_at(kRetry, id, 2, t0 + 8000);
  fire_at(kScheduleToClose, id, 1, t0 + 10'000);  // attempt 2 queued, never polled
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kTimedOut, kWftScheduled}));
  const auto& t = event(6).activity_task_timed_out_event_attributes();
  EXPECT_EQ(t.failure().timeout_failure_info().timeout_type(), v1::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE);
  EXPECT_EQ(t.failure().cause().message(), "flaky");
  EXPECT_EQ(t.retry_state(), v1::RETRY_STATE_TIMEOUT);
}

TEST_F(ActivityRulesTest, ScheduleToCloseStopsRetriesWhileAttemptsRemain) {
  int64_t id = schedule({.schedule_to_close = 5'000, .start_to_close = 1'000,
                         .retry = retry_policy(1'000, 2.0, 10)});
  int64_t t0 = now_;
  ActivityStart a = start_activity(id);
  now_ = t0 + 100;
  a = fail_and_retry(id, a, 1000);  // next attempt at t0 + 1100: in time
  now_ = t0 + 3500;                 // a 2 s backoff would end at t0 + 5500: too late
  ASSERT_TRUE(fail(a.token, app_failure("again")).ok());
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kStarted, kFailed, kWftScheduled}));
  EXPECT_EQ(event(7).activity_task_failed_event_attributes().retry_state(),
            v1::RETRY_STATE_TIMEOUT);
  EXPECT_EQ(event(6).activity_task_started_event_attributes().attempt(), 2);
  EXPECT_FALSE(find_timer(kRetry).has_value());
  fire_stale(timer_for(kScheduleToClose, id, 1));
}

TEST_F(ActivityRulesTest, FailureAfterTheScheduleToCloseDeadlineIsFinal) {
  int64_t id = schedule({.schedule_to_close = 5'000});
  ActivityStart a = start_activity(id);
  now_ += 5'000;  // the schedule-to-close timer is due but has not fired yet
  ASSERT_TRUE(fail(a.token, app_failure("late")).ok());
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kStarted, kFailed, kWftScheduled}));
  EXPECT_EQ(event(7).activity_task_failed_event_attributes().retry_state(),
            v1::RETRY_STATE_TIMEOUT);
}

TEST_F(ActivityRulesTest, TimeoutDuringAStartedWorkflowTaskIsBuffered) {
  int64_t id = schedule({.schedule_to_close = 5'000});
  start_activity(id);
  wake();                           // 6, 7
  v1::TaskToken wft = start_wft();  // 8
  fire_at(kScheduleToClose, id, 1, kStartMs + 5'000);
  EXPECT_TRUE(last_events().empty());
  EXPECT_EQ(ms_.state().buffered_events_size(), 2);
  EXPECT_EQ(ms_.activity(id), nullptr);
  ASSERT_TRUE(complete_wft(wft, {}).ok());
  ASSERT_EQ(types_of(last_events()),
            (std::vector<T>{kWftCompleted, kStarted, kTimedOut, kWftScheduled}));
  EXPECT_EQ(event(11).activity_task_timed_out_event_attributes().started_event_id(), 10);
}

TEST_F(ActivityRulesTest, TimersOfEarlierAttemptsAreStale) {
  int64_t id = schedule({.schedule_to_close = 60'000, .schedule_to_start = 2'000,
                         .heartbeat = 1'000, .retry = retry_policy(100, 2.0, 0)});
  ActivityStart a = start_activity(id);
  auto s2s1 = timer_for(kScheduleToStart, id, 1);
  auto s2c1 = timer_for(kStartToClose, id, 1);
  auto hb1 = timer_for(kHeartbeat, id, 1);
  ASSERT_TRUE(fail(a.token, app_failure("x")).ok());
  auto retry = timer_for(kRetry, id, 2);
  // Attempt 1's timers, while attempt 2 waits for its backoff.
  fire_stale(hb1);
  fire_stale(s2s1);
  fire_at(kRetry, id, 2, retry->fire_time_ms());
  fire_stale(retry);  // delivered twice
  ActivityStart b = start_activity(id);
  ASSERT_EQ(b.token.attempt(), 2);
  fire_stale(s2c1);  // ... and while attempt 2 runs
  EXPECT_EQ(ms_.activity(id)->attempt(), 2);
  EXPECT_NE(ms_.activity(id)->started_time_ms(), 0);
  ASSERT_TRUE(complete(b.token).ok());
  // Everything armed for this activity is stale once it completed.
  for (auto kind : {kScheduleToClose, kStartToClose, kHeartbeat, kScheduleToStart}) {
    while (auto t = find_timer(kind, id)) {
      fire_stale(t);
    }
  }
  EXPECT_FALSE(find_timer(kRetry).has_value());
}

TEST_F(ActivityRulesTest, ClosingTheRunMakesActivityWorkStale) {
  int64_t id = schedule({.schedule_to_close = 9'000});
  v1::TaskRecord task = pending_task(v1::TASK_KIND_ACTIVITY, id);
  wake();
  run_wft({complete_workflow("done without it")});
  ASSERT_FALSE(ms_.is_open());
  expect_stale_task(task);
  fire_stale(timer_for(kScheduleToClose, id, 1));
}

TEST_F(ActivityRulesTest, CancelBeforeStartCancelsAtOnce) {
  int64_t id = schedule();
  v1::TaskRecord task = pending_task(v1::TASK_KIND_ACTIVITY, id);
  wake();  // 6, 7
  run_wft({request_cancel_activity(id)});
  ASSERT_EQ(types_of(last_events()),
            (std::vector<T>{kWftCompleted, kCancelRequested, kCanceled, kWftScheduled}));
  // The workflow needs a new task to learn that the activity is canceled.
  EXPECT_EQ(pending_task(v1::TASK_KIND_WORKFLOW).scheduled_event_id(), 12);
  const auto& canceled = event(11).activity_task_canceled_event_attributes();
  EXPECT_EQ(canceled.scheduled_event_id(), id);
  EXPECT_EQ(canceled.latest_cancel_requested_event_id(), 10);
  EXPECT_EQ(canceled.started_event_id(), 0);
  const auto& requested = event(10).activity_task_cancel_requested_event_attributes();
  EXPECT_EQ(requested.workflow_task_completed_event_id(), 9);
  EXPECT_EQ(ms_.activity(id), nullptr);
  expect_stale_task(task);
}

TEST_F(ActivityRulesTest, CancelOfARunningActivityIsDeliveredByHeartbeat) {
  int64_t id = schedule({.heartbeat = 5'000});
  ActivityStart a = start_activity(id);
  Status early = rejected([&] { return cancel(a.token); });  // needs a request first
  EXPECT_EQ(early.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(early, "cancellation was not requested")) << early.message();
  auto hb = heartbeat(a.token, "h1");
  ASSERT_TRUE(hb.ok());
  EXPECT_FALSE(*hb);

  wake();
  run_wft({request_cancel_activity(id)});
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kWftCompleted, kCancelRequested}));
  int64_t requested = last_events().back().event_id();
  EXPECT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 0);  // nothing new for the workflow yet
  ASSERT_NE(ms_.activity(id), nullptr);
  EXPECT_TRUE(ms_.activity(id)->cancel_requested());

  hb = heartbeat(a.token, "h2");
  ASSERT_TRUE(hb.ok());
  EXPECT_TRUE(*hb);
  now_ += 10;
  ASSERT_TRUE(cancel(a.token, "cleaned up").ok());
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kStarted, kCanceled, kWftScheduled}));
  const auto& c = last_events()[1].activity_task_canceled_event_attributes();
  EXPECT_EQ(c.latest_cancel_requested_event_id(), requested);
  EXPECT_EQ(c.started_event_id(), last_events()[0].event_id());
  EXPECT_EQ(c.scheduled_event_id(), id);
  EXPECT_EQ(data_of(c.details()), "cleaned up");
  EXPECT_EQ(c.identity(), "aw-1");
  EXPECT_EQ(ms_.activity(id), nullptr);
}

TEST_F(ActivityRulesTest, CancelOfAnActivityWhoseResultArrivedMeanwhileRerunsTheWorkflow) {
  int64_t id = schedule();
  ActivityStart a = start_activity(id);
  wake();                           // 6, 7
  v1::TaskToken wft = start_wft();  // 8
  ASSERT_TRUE(complete(a.token).ok());  // buffered: the workflow code has not seen it
  ASSERT_TRUE(complete_wft(wft, {request_cancel_activity(id)}).ok());
  // The commands are dropped, the result is flushed and a new task shows it to the workflow.
  auto types = types_of(last_events());
  ASSERT_EQ(types.front(), v1::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  EXPECT_EQ(last_events().front().workflow_task_failed_event_attributes().cause(),
            v1::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
  EXPECT_EQ(std::count(types.begin(), types.end(), kCancelRequested), 0);
  EXPECT_EQ(std::count(types.begin(), types.end(), kCompleted), 1);
  EXPECT_EQ(types.back(), kWftScheduled);
  EXPECT_EQ(pending_task(v1::TASK_KIND_WORKFLOW).attempt(), 1);  // dispatched at once
}

TEST_F(ActivityRulesTest, CancelRequestedActivityIsNotRetried) {
  int64_t id = schedule();
  ActivityStart a = start_activity(id);
  wake();
  run_wft({request_cancel_activity(id)});
  ASSERT_TRUE(fail(a.token, app_failure("interrupted")).ok());
  ASSERT_EQ(types_of(last_events()), (std::vector<T>{kStarted, kFailed, kWftScheduled}));
  EXPECT_EQ(last_events()[1].activity_task_failed_event_attributes().retry_state(),
            v1::RETRY_STATE_CANCEL_REQUESTED);
}

TEST_F(ActivityRulesTest, CancelDuringBackoffCancelsAtOnce) {
  int64_t id = schedule();
  ASSERT_TRUE(fail(start_activity(id).token, app_failure("x")).ok());
  auto retry = timer_for(kRetry, id, 2);
  wake();
  run_wft({request_cancel_activity(id)});
  ASSERT_EQ(types_of(last_events()),
            (std::vector<T>{kWftCompleted, kCancelRequested, kCanceled, kWftScheduled}));
  EXPECT_EQ(ms_.activity(id), nullptr);
  fire_stale(retry);
  EXPECT_EQ(count_tasks(v1::TASK_KIND_ACTIVITY), 0);
}

}  // namespace
}  // namespace cairn::rules_test
