// Local activities with hand-built histories: run inside the task and recorded as a marker,
// replayed from the marker without running the function, retried in-process, long backoffs as a
// durable timer followed by the next attempt, and failures reaching the workflow.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "sdk/feature_test_util.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <class T>
T detail_of(const v1::Command& c, const std::string& key) {
  return from_payloads<T>(c.record_marker_command_attributes().details().at(key));
}

TEST(LocalActivityTest, RunsInsideTheTaskAndIsRecordedAsAMarker) {
  std::atomic<int> calls{0};
  LocalActivities acts{{"upper", local([&](std::string s) {
                          ++calls;
                          for (auto& ch : s) ch = static_cast<char>(std::toupper(ch));
                          return s;
                        })}};
  auto wf = [](WorkflowContext& ctx) {
    return ctx.local_activity<std::string>("upper", std::string("abc"), {.start_to_close = 5s})
               .get() + "!";
  };
  HistoryBuilder h("wf");
  ReplayResult r = replay_local(wf, acts, h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  EXPECT_EQ(calls, 1);
  // The code went on in the same task: marker, then completion.
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_RECORD_MARKER,
                                    v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  const v1::Command& m = r.commands[0];
  EXPECT_EQ(m.record_marker_command_attributes().marker_name(), "LocalActivity");
  EXPECT_EQ(detail_of<std::string>(m, "type"), "upper");
  EXPECT_EQ(detail_of<std::string>(m, "id"), "1");
  EXPECT_EQ(detail_of<int>(m, "attempt"), 1);
  EXPECT_EQ(detail_of<std::string>(m, "result"), "ABC");
  EXPECT_EQ(completed_with<std::string>(r), "ABC!");
}

TEST(LocalActivityTest, ReplayTakesTheResultFromTheMarkerWithoutRunningTheFunction) {
  std::atomic<int> calls{0};
  LocalActivities acts{{"roll", local([&] { return 40 + ++calls; })}};
  auto wf = [](WorkflowContext& ctx) {
    int v = ctx.local_activity<int>("roll", {.start_to_close = 5s}).get();
    ctx.sleep(1s);
    return v;
  };
  HistoryBuilder h("wf");
  ReplayResult first = replay_local(wf, acts, h.events());
  ASSERT_THAT(types(first),
              ElementsAre(v1::COMMAND_TYPE_RECORD_MARKER, v1::COMMAND_TYPE_START_TIMER));
  ASSERT_EQ(calls, 1);
  record(h, first.commands);
  h.timer_fired("2").workflow_task();
  ReplayResult r = replay_local(wf, acts, h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(completed_with<int>(r), 41);
}

TEST(LocalActivityTest, FailedAttemptsAreRetriedInProcess) {
  std::atomic<int> calls{0};
  LocalActivities acts{{"flaky", local([&](ActivityContext& ctx) {
                          if (++calls < 3) {
                            throw std::runtime_error("not yet");
                          }
                          return ctx.info().attempt;
                        })}};
  auto wf = [](WorkflowContext& ctx) {
    return ctx.local_activity<int>("flaky", {.start_to_close = 5s,
                                             .retry = {.initial_interval = 10ms}})
        .get();
  };
  HistoryBuilder h("wf");
  ReplayResult r = replay_local(wf, acts, h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(detail_of<int>(r.commands[0], "attempt"), 3);
  EXPECT_EQ(completed_with<int>(r), 3);
}

TEST(LocalActivityTest, ALongBackoffBecomesADurableTimerThenTheNextAttempt) {
  std::atomic<int> calls{0};
  LocalActivities acts{{"down", local([&]() -> int {
                          ++calls;
                          throw ApplicationError("service down", "Down");
                        })}};
  auto wf = [](WorkflowContext& ctx) {
    try {
      return std::to_string(
          ctx.local_activity<int>("down", {.start_to_close = 5s,
                                           .retry = {.initial_interval = 5s,
                                                     .maximum_attempts = 2}})
              .get());
    } catch (const ActivityError& e) {
      return e.cause_type() + " after " + std::to_string(e.retry_state());
    }
  };
  HistoryBuilder h("wf");
  ReplayResult first = replay_local(wf, acts, h.events());
  ASSERT_FALSE(first.task_failed) << first.failure.message();
  ASSERT_THAT(types(first),
              ElementsAre(v1::COMMAND_TYPE_RECORD_MARKER, v1::COMMAND_TYPE_START_TIMER));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(detail_of<int64_t>(first.commands[0], "backoff_ms"), 5000);
  EXPECT_TRUE(first.commands[0].record_marker_command_attributes().has_failure());
  EXPECT_EQ(first.commands[1].start_timer_command_attributes().start_to_fire_timeout_ms(), 5000);

  record(h, first.commands);
  h.timer_fired(first.commands[1].start_timer_command_attributes().timer_id(), 5000)
      .workflow_task();
  ReplayResult second = replay_local(wf, acts, h.events());
  ASSERT_FALSE(second.task_failed) << second.failure.message();
  EXPECT_EQ(calls, 2);  // only attempt 2 ran: attempt 1 came from its marker
  ASSERT_THAT(types(second), ElementsAre(v1::COMMAND_TYPE_RECORD_MARKER,
                                         v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  EXPECT_EQ(detail_of<int>(second.commands[0], "attempt"), 2);
  EXPECT_EQ(completed_with<std::string>(second),
            "Down after " + std::to_string(v1::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED));
}

TEST(LocalActivityTest, NonRetryableAndUnregisteredActivitiesFailAtOnce) {
  std::atomic<int> calls{0};
  LocalActivities acts{{"reject", local([&]() -> int {
                          ++calls;
                          throw ApplicationError("bad input", "BadInput", /*non_retryable=*/true);
                        })}};
  auto wf = [](WorkflowContext& ctx) {
    std::string out;
    for (const char* type : {"reject", "missing"}) {
      try {
        ctx.local_activity<int>(type, {.start_to_close = 5s}).get();
      } catch (const ActivityError& e) {
        out += e.cause_type() + ";";
      }
    }
    return out;
  };
  HistoryBuilder h("wf");
  ReplayResult r = replay_local(wf, acts, h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(completed_with<std::string>(r), "BadInput;ActivityNotRegistered;");
}

TEST(LocalActivityTest, AnAttemptPastItsStartToCloseTimesOut) {
  LocalActivities acts{{"slow", local([](ActivityContext& ctx) {
                          while (!ctx.heartbeat()) {  // cancel_requested once abandoned
                            std::this_thread::sleep_for(1ms);
                          }
                          return 0;
                        })}};
  auto wf = [](WorkflowContext& ctx) {
    try {
      ctx.local_activity<int>("slow", {.start_to_close = 50ms, .retry = {.maximum_attempts = 1}})
          .get();
      return std::string("finished");
    } catch (const ActivityError& e) {
      return std::string(e.cause().has_timeout_failure_info() ? "timed out" : e.what());
    }
  };
  HistoryBuilder h("wf");
  ReplayResult r = replay_local(wf, acts, h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  EXPECT_EQ(completed_with<std::string>(r), "timed out");
}

TEST(LocalActivityTest, AMissingMarkerOnReplayIsANonDeterminismError) {
  LocalActivities acts{{"x", local([] { return 1; })}};
  auto before = [](WorkflowContext& ctx) {
    ctx.sleep(1s);
    return 0;
  };
  auto after = [](WorkflowContext& ctx) {
    ctx.local_activity<int>("x", {.start_to_close = 5s}).get();
    ctx.sleep(1s);
    return 0;
  };
  HistoryBuilder h("wf");
  record(h, replay(before, feature_info(), h.events()).commands);
  h.timer_fired("1").workflow_task();
  ReplayResult r = replay_local(after, acts, h.events());
  ASSERT_TRUE(r.task_failed);
  EXPECT_EQ(r.cause, v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  EXPECT_THAT(r.failure.message(), HasSubstr("LocalActivity"));
}

}  // namespace
}  // namespace cairn::testing
