// End to end: activities against a real cairn-server — results, retries with backoff,
// heartbeats and the four timeouts.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class ActivityTest : public E2eTest {};

TEST_F(ActivityTest, TwoActivitiesAndTheirResultsFlowThroughTheWorkflow) {
  Worker& w = new_worker("act-basic");
  w.register_activity("upper", [](std::string s) {
    for (auto& c : s) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return s;
  });
  w.register_activity("exclaim", [](std::string s) { return s + "!"; });
  w.register_workflow("two_steps", [](WorkflowContext& ctx, std::string in) {
    auto a = ctx.activity<std::string>("upper", in, {.start_to_close = 10s}).get();
    return ctx.activity<std::string>("exclaim", a, {.start_to_close = 10s}).get();
  });
  w.start();
  auto handle = client_->start("two_steps", start_options("wf-basic", "act-basic"), std::string("hi"));
  EXPECT_EQ(handle.result<std::string>(30s), "HI!");
  auto events = handle.history();
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 2);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED), 2);
  EXPECT_EQ(events.back().event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
}

// An activity's failure can name its next retry delay (a rate-limited provider's Retry-After):
// the server waits that long instead of the policy's backoff — here far shorter than the
// policy's 20 s, which would outlast the result's timeout — and ends the activity at once when
// the delay reaches past its schedule-to-close deadline.
TEST_F(ActivityTest, TheFailuresNextRetryDelayReplacesTheBackoff) {
  Worker& w = new_worker("act-retry-after");
  w.register_activity("rate_limited", [](ActivityContext& ctx, int ms) {
    if (ctx.info().attempt == 1) {
      ApplicationError e("429 Too Many Requests", "RateLimited");
      throw e.set_next_retry_delay(std::chrono::milliseconds(ms));
    }
    return ctx.info().attempt;
  });
  w.register_workflow("retry_after", [](WorkflowContext& ctx, int ms) {
    RetryPolicy retry{.initial_interval = 20s};
    return ctx.activity<int>("rate_limited", ms,
                             {.schedule_to_close = 5s, .start_to_close = 5s, .retry = retry})
        .get();
  });
  w.start();
  auto soon = client_->start("retry_after", start_options("wf-retry-after", "act-retry-after"), 300);
  EXPECT_EQ(soon.result<int>(10s), 2);
  auto events = soon.history();
  const v1::HistoryEvent* scheduled = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  const v1::HistoryEvent* started = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  ASSERT_NE(scheduled, nullptr);
  ASSERT_NE(started, nullptr);
  EXPECT_EQ(started->activity_task_started_event_attributes().attempt(), 2);
  EXPECT_GE(started->event_time_ms() - scheduled->event_time_ms(), 300);

  // 60 s from now is past the 5 s schedule-to-close: no retry, a timeout at once.
  auto late = client_->start("retry_after", start_options("wf-retry-too-late", "act-retry-after"),
                             60'000);
  try {
    late.result<int>(10s);
    ADD_FAILURE() << "the activity was retried past its deadline";
  } catch (const WorkflowFailedError&) {
  }
  auto closed = late.history();
  const v1::HistoryEvent* failed = find(closed, v1::EVENT_TYPE_ACTIVITY_TASK_FAILED);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->activity_task_failed_event_attributes().retry_state(), v1::RETRY_STATE_TIMEOUT);
  EXPECT_EQ(failed->activity_task_failed_event_attributes().failure().message(),
            "429 Too Many Requests");
}

TEST_F(ActivityTest, FailsTwiceThenSucceedsAfterTheBackoff) {
  std::mutex mu;
  std::vector<int> attempts;
  Worker& w = new_worker("act-retry");
  w.register_activity("flaky", [&](ActivityContext& ctx, int x) {
    {
      std::lock_guard lock(mu);
      attempts.push_back(ctx.info().attempt);
    }
    if (ctx.info().attempt < 3) {
      throw ApplicationError("transient failure " + std::to_string(ctx.info().attempt), "Transient");
    }
    return x * 2;
  });
  w.register_workflow("retrying", [](WorkflowContext& ctx, int x) {
    RetryPolicy retry{.initial_interval = 300ms, .backoff_coefficient = 2.0};
    return ctx.activity<int>("flaky", x, {.start_to_close = 10s, .retry = retry}).get();
  });
  w.start();
  auto handle = client_->start("retrying", start_options("wf-retry", "act-retry"), 21);
  EXPECT_EQ(handle.result<int>(30s), 42);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3}));
  }
  auto events = handle.history();
  // Retries leave no events but the final attempt's ActivityTaskStarted (stamped when that
  // attempt started, with the previous attempt's failure); the backoff (300 ms + 600 ms) shows
  // as the time between scheduling and that start.
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 1);
  const v1::HistoryEvent* scheduled = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  const v1::HistoryEvent* started = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  const v1::HistoryEvent* completed = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  ASSERT_NE(scheduled, nullptr);
  ASSERT_NE(started, nullptr);
  ASSERT_NE(completed, nullptr);
  EXPECT_EQ(started->activity_task_started_event_attributes().attempt(), 3);
  EXPECT_EQ(started->activity_task_started_event_attributes().last_failure().message(),
            "transient failure 2");
  EXPECT_GE(started->event_time_ms() - scheduled->event_time_ms(), 900);
  EXPECT_GE(completed->event_time_ms(), started->event_time_ms());
}

TEST_F(ActivityTest, HeartbeatTimeoutRetriesWithTheLastDetails) {
  Gate& stuck = new_gate();
  std::atomic<int> second_attempt_saw{-1};
  Worker& w = new_worker("act-hb");
  w.register_activity("long_job", [&](ActivityContext& ctx) {
    if (ctx.info().attempt == 1) {
      ctx.heartbeat(7);  // progress: step 7
      // Then hang without heartbeating, as a stuck call would.
      stuck.wait(20s);
      return std::string("first");
    }
    second_attempt_saw = ctx.last_heartbeat_details<int>().value_or(-2);
    return std::string("resumed");
  });
  w.register_workflow("hb_wf", [](WorkflowContext& ctx) {
    RetryPolicy retry{.initial_interval = 100ms, .maximum_attempts = 3};
    return ctx.activity<std::string>("long_job",
                                     {.start_to_close = 30s, .heartbeat = 1s, .retry = retry})
        .get();
  });
  w.start();
  auto handle = client_->start("hb_wf", start_options("wf-hb", "act-hb"));
  EXPECT_EQ(handle.result<std::string>(30s), "resumed");
  EXPECT_EQ(second_attempt_saw.load(), 7);
}

TEST_F(ActivityTest, StartToCloseTimeoutReachesTheWorkflowAsActivityError) {
  Gate& stuck = new_gate();
  Worker& w = new_worker("act-stc");
  w.register_activity("slow", [&]() {
    stuck.wait(20s);
    return 1;
  });
  w.register_workflow("stc_wf", [](WorkflowContext& ctx) {
    RetryPolicy once{.maximum_attempts = 1};
    try {
      ctx.activity<int>("slow", {.start_to_close = 1s, .retry = once}).get();
      return std::string("no error");
    } catch (const ActivityError& e) {
      return std::string("activity error: ") + e.what();
    }
  });
  w.start();
  auto handle = client_->start("stc_wf", start_options("wf-stc", "act-stc"));
  std::string result = handle.result<std::string>(30s);
  EXPECT_NE(result.find("activity error"), std::string::npos) << result;
  auto events = handle.history();
  const v1::HistoryEvent* timed_out = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT);
  ASSERT_NE(timed_out, nullptr);
  EXPECT_EQ(timed_out->activity_task_timed_out_event_attributes()
                .failure()
                .timeout_failure_info()
                .timeout_type(),
            v1::TIMEOUT_TYPE_START_TO_CLOSE);
}

TEST_F(ActivityTest, ScheduleToCloseEndsTheRetriesAndTheWorkflowSeesActivityError) {
  std::atomic<int> calls{0};
  Worker& w = new_worker("act-s2c");
  w.register_activity("always_fails", [&]() -> int {
    ++calls;
    throw ApplicationError("still broken", "Broken");
  });
  w.register_workflow("s2c_wf", [](WorkflowContext& ctx) {
    RetryPolicy retry{.initial_interval = 200ms, .backoff_coefficient = 1.0};
    try {
      ctx.activity<int>("always_fails", {.schedule_to_close = 1500ms, .start_to_close = 1s,
                                         .retry = retry})
          .get();
      return std::string("no error");
    } catch (const ActivityError& e) {
      return std::string("gave up: ") + e.what();
    }
  });
  w.start();
  auto handle = client_->start("s2c_wf", start_options("wf-s2c", "act-s2c"));
  std::string result = handle.result<std::string>(30s);
  EXPECT_EQ(result.rfind("gave up", 0), 0u) << result;
  EXPECT_GE(calls.load(), 3);  // several attempts fit in 1.5 s at 200 ms apart
  auto events = handle.history();
  bool ended = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_FAILED) != nullptr ||
               find(events, v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) != nullptr;
  EXPECT_TRUE(ended);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 1);
}

TEST_F(ActivityTest, NonRetryableErrorIsNotRetried) {
  std::atomic<int> calls{0};
  Worker& w = new_worker("act-nonretry");
  w.register_activity("bad_input", [&]() -> int {
    ++calls;
    throw ApplicationError("the input is malformed", "BadInput", /*non_retryable=*/true);
  });
  w.register_workflow("nonretry_wf", [](WorkflowContext& ctx) {
    ctx.activity<int>("bad_input", {.start_to_close = 5s}).get();
    return 0;
  });
  w.start();
  auto handle = client_->start("nonretry_wf", start_options("wf-nonretry", "act-nonretry"));
  EXPECT_THROW(handle.result<int>(30s), WorkflowFailedError);
  EXPECT_EQ(calls.load(), 1);
  auto events = handle.history();
  EXPECT_EQ(events.back().event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
}

}  // namespace
}  // namespace cairn::testing

namespace cairn::testing {
namespace {

TEST_F(ActivityTest, FirstAttemptsRunEagerlyWhileRetriesAndOtherWorkersActivitiesArePolled) {
  std::atomic<int> flaky_calls{0};
  // `w` runs the workflow and "local"; "remote" runs on another task queue, polled by `other`.
  Worker& w = new_worker("act-eager");
  w.register_activity("local", [&](ActivityContext& ctx, int x) {
    if (++flaky_calls == 1) {
      throw ApplicationError("first attempt fails");
    }
    return x + ctx.info().attempt * 10;
  });
  w.register_workflow("eager_wf", [](WorkflowContext& ctx) {
    RetryPolicy retry{.initial_interval = 50ms, .maximum_attempts = 3};
    int a = ctx.activity<int>("local", 1, {.start_to_close = 10s, .retry = retry}).get();
    int b = ctx.activity<int>("remote", 2, {.task_queue = "act-eager-remote",
                                            .start_to_close = 10s})
                .get();
    return a + b;
  });
  Worker& other = new_worker("act-eager-remote");
  other.register_activity("remote", [](int x) { return x * 100; });
  w.start();
  other.start();
  auto h = client_->start("eager_wf", start_options("wf-eager", "act-eager"));
  EXPECT_EQ(h.result<int>(30s), 21 + 200);
  // Only the first attempt of "local" was eager; its retry and "remote" came through polls.
  EXPECT_EQ(w.stats().eager_activities, 1);
  EXPECT_EQ(other.stats().eager_activities, 0);
  EXPECT_EQ(flaky_calls.load(), 2);
  auto events = h.history();
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED), 2);
}

TEST_F(ActivityTest, EagerActivitiesOffSendsEveryActivityThroughTheQueue) {
  WorkerOptions wo;
  wo.task_queue = "act-no-eager";
  wo.eager_activities = false;
  workers_.push_back(std::make_unique<Worker>(*client_, wo));
  Worker& w = *workers_.back();
  w.register_activity("double", [](int x) { return 2 * x; });
  w.register_workflow("double_wf", [](WorkflowContext& ctx, int x) {
    return ctx.activity<int>("double", x, {.start_to_close = 10s}).get();
  });
  w.start();
  auto h = client_->start("double_wf", start_options("wf-no-eager", "act-no-eager"), 21);
  EXPECT_EQ(h.result<int>(30s), 42);
  EXPECT_EQ(w.stats().eager_activities, 0);
}

}  // namespace
}  // namespace cairn::testing
