// The replay engine driven with hand-built histories, no server: commands of the first task,
// futures resolved from history, non-determinism, timers, signals, deterministic randomness,
// cancellation, and how errors escaping workflow code end the task or the workflow.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "cairn/replayer.h"
#include "sdk/history_builder.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

WorkflowInfo info(const std::string& run_id = "run-1") {
  WorkflowInfo i;
  i.workflow_id = "wf-1";
  i.run_id = run_id;
  return i;
}

std::string two_steps(WorkflowContext& ctx, std::string in) {
  auto a = ctx.activity<std::string>("fetch", in, {.start_to_close = 5s}).get();
  return ctx.activity<std::string>("summarize", a, {.start_to_close = 5s}).get();
}

TEST(ReplayerTest, FirstTaskSchedulesTheFirstActivity) {
  HistoryBuilder h("two_steps", to_payloads(std::string("doc")));
  ReplayResult r = replay(&two_steps, info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_EQ(r.commands.size(), 1u);
  const auto& c = r.commands[0];
  EXPECT_EQ(c.command_type(), v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
  const auto& a = c.schedule_activity_task_command_attributes();
  EXPECT_EQ(a.activity_type().name(), "fetch");
  EXPECT_EQ(a.activity_id(), "1");
  EXPECT_EQ(a.start_to_close_timeout_ms(), 5000);
  EXPECT_EQ(from_payloads<std::string>(a.input()), "doc");
}

TEST(ReplayerTest, CompletedActivitiesResolveAndTheWorkflowCompletes) {
  HistoryBuilder h("two_steps", to_payloads(std::string("doc")));
  h.task_completed();
  int64_t s1 = h.activity_scheduled("fetch", "1");
  h.activity_completed(s1, std::string("DOC")).workflow_task();
  // Second task: the first result is in; the code schedules the second activity.
  ReplayResult mid = replay(&two_steps, info(), h.events());
  ASSERT_EQ(mid.commands.size(), 1u);
  EXPECT_EQ(mid.commands[0].schedule_activity_task_command_attributes().activity_type().name(),
            "summarize");
  EXPECT_EQ(from_payloads<std::string>(mid.commands[0].schedule_activity_task_command_attributes().input()),
            "DOC");

  h.task_completed();
  int64_t s2 = h.activity_scheduled("summarize", "2");
  h.activity_completed(s2, std::string("summary")).workflow_task();
  ReplayResult r = replay(&two_steps, info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(r.commands[0].command_type(), v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
  EXPECT_EQ(from_payloads<std::string>(
                r.commands[0].complete_workflow_execution_command_attributes().result()),
            "summary");
}

TEST(ReplayerTest, DifferentActivityIsANonDeterminismErrorNamingTheEventAndBothSides) {
  HistoryBuilder h("agent");
  h.task_completed();
  int64_t s1 = h.activity_scheduled("fetch", "1");
  h.activity_completed(s1, std::string("doc")).workflow_task();
  auto changed = [](WorkflowContext& ctx) {
    return ctx.activity<std::string>("audit", {.start_to_close = 5s}).get();
  };
  ReplayResult r = replay(changed, info(), h.events());
  ASSERT_TRUE(r.task_failed);
  EXPECT_EQ(r.cause, v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  EXPECT_TRUE(r.commands.empty());
  const std::string& m = r.failure.message();
  EXPECT_THAT(m, HasSubstr("non-determinism at event " + std::to_string(s1)));
  EXPECT_THAT(m, HasSubstr("history has ActivityTaskScheduled(activity_type=fetch, activity_id=1)"));
  EXPECT_THAT(m, HasSubstr("workflow code issued ScheduleActivityTask(activity_type=audit"));
}

TEST(ReplayerTest, MissingAndExtraCommandsAreNonDeterminismErrors) {
  HistoryBuilder h("agent");
  h.task_completed();
  h.activity_scheduled("fetch", "1");
  h.workflow_task();
  auto none = [](WorkflowContext& ctx) { return ctx.signal<int>("never").wait(); };
  ReplayResult r = replay(none, info(), h.events());
  ASSERT_TRUE(r.task_failed);
  EXPECT_THAT(r.failure.message(), HasSubstr("workflow code issued nothing"));

  auto extra = [](WorkflowContext& ctx) {
    auto a = ctx.activity<int>("fetch", {.start_to_close = 5s});
    auto b = ctx.activity<int>("fetch2", {.start_to_close = 5s});
    return a.get() + b.get();
  };
  r = replay(extra, info(), h.events());
  ASSERT_TRUE(r.task_failed);
  EXPECT_EQ(r.cause, v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  EXPECT_THAT(r.failure.message(), HasSubstr("ScheduleActivityTask(activity_type=fetch2"));
}

TEST(ReplayerTest, TimerStartsThenFiresAndNowComesFromHistory) {
  auto sleeper = [](WorkflowContext& ctx) {
    auto before = ctx.now();
    ctx.sleep(1s);
    return std::chrono::duration_cast<std::chrono::milliseconds>(ctx.now() - before).count();
  };
  HistoryBuilder h("sleeper");
  int64_t first_task_time = h.events().back().event_time_ms();
  ReplayResult first = replay(sleeper, info(), h.events());
  ASSERT_EQ(first.commands.size(), 1u);
  EXPECT_EQ(first.commands[0].command_type(), v1::COMMAND_TYPE_START_TIMER);
  EXPECT_EQ(first.commands[0].start_timer_command_attributes().start_to_fire_timeout_ms(), 1000);
  std::string id = first.commands[0].start_timer_command_attributes().timer_id();

  h.task_completed();
  h.timer_started(id, 1000);
  h.timer_fired(id, 1000).workflow_task();
  ReplayResult r = replay(sleeper, info(), h.events());
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(from_payloads<int64_t>(r.commands[0].complete_workflow_execution_command_attributes().result()),
            h.events().back().event_time_ms() - first_task_time);
}

TEST(ReplayerTest, SignalBufferedBeforeTheWaitIsDelivered) {
  HistoryBuilder h("waiter");
  // The signal landed before the first task started: the code has not run yet.
  std::vector<v1::HistoryEvent> events = h.events();
  v1::HistoryEvent started = events.back();
  events.pop_back();
  v1::HistoryEvent sig;
  sig.set_event_id(started.event_id());
  sig.set_event_type(v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  sig.mutable_workflow_execution_signaled_event_attributes()->set_signal_name("name");
  *sig.mutable_workflow_execution_signaled_event_attributes()->mutable_input() =
      to_payloads(std::string("early bird"));
  events.push_back(sig);
  started.set_event_id(started.event_id() + 1);
  events.push_back(started);
  auto waiter = [](WorkflowContext& ctx) { return ctx.signal<std::string>("name").wait(); };
  ReplayResult r = replay(waiter, info(), events);
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(from_payloads<std::string>(r.commands[0].complete_workflow_execution_command_attributes().result()),
            "early bird");
}

TEST(ReplayerTest, SignalsAreDeliveredInHistoryOrder) {
  auto adder = [](WorkflowContext& ctx) {
    int a = ctx.signal<int>("add").wait();
    int b = ctx.signal<int>("add").wait();
    return a * 10 + b;
  };
  HistoryBuilder h("adder");
  EXPECT_TRUE(replay(adder, info(), h.events()).commands.empty());  // blocked, nothing to do
  h.task_completed();
  h.signaled("add", 4).signaled("add", 2).workflow_task();
  ReplayResult r = replay(adder, info(), h.events());
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(from_payloads<int>(r.commands[0].complete_workflow_execution_command_attributes().result()),
            42);
}

TEST(ReplayerTest, SignalWaitForTimesOutOrCancelsItsTimer) {
  auto impatient = [](WorkflowContext& ctx) {
    return ctx.signal<std::string>("approval").wait_for(500ms).value_or("timed out");
  };
  HistoryBuilder h("impatient");
  ReplayResult first = replay(impatient, info(), h.events());
  ASSERT_EQ(first.commands.size(), 1u);
  std::string id = first.commands[0].start_timer_command_attributes().timer_id();
  h.task_completed();
  h.timer_started(id, 500);

  HistoryBuilder fired = h;
  fired.timer_fired(id, 500).workflow_task();
  ReplayResult r = replay(impatient, info(), fired.events());
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(from_payloads<std::string>(r.commands[0].complete_workflow_execution_command_attributes().result()),
            "timed out");

  HistoryBuilder signaled = h;
  signaled.signaled("approval", std::string("yes")).workflow_task();
  r = replay(impatient, info(), signaled.events());
  ASSERT_EQ(r.commands.size(), 2u);
  EXPECT_EQ(r.commands[0].command_type(), v1::COMMAND_TYPE_CANCEL_TIMER);
  EXPECT_EQ(r.commands[0].cancel_timer_command_attributes().timer_id(), id);
  EXPECT_EQ(from_payloads<std::string>(r.commands[1].complete_workflow_execution_command_attributes().result()),
            "yes");
}

TEST(ReplayerTest, RandomAndUuidAreDeterministicPerRun) {
  auto draw = [](WorkflowContext& ctx) {
    return std::to_string(ctx.random()) + "/" + ctx.uuid();
  };
  HistoryBuilder h("draw");
  auto value = [&](const std::string& run) {
    ReplayResult r = replay(draw, info(run), h.events());
    return from_payloads<std::string>(r.commands.at(0).complete_workflow_execution_command_attributes().result());
  };
  EXPECT_EQ(value("run-a"), value("run-a"));
  EXPECT_NE(value("run-a"), value("run-b"));
  std::string v = value("run-a");
  std::string uuid = v.substr(v.find('/') + 1);
  EXPECT_EQ(uuid.size(), 36u);
  EXPECT_EQ(uuid[14], '4');
}

TEST(ReplayerTest, SideEffectIsRecordedOnceAndReplayedFromTheMarker) {
  int calls = 0;
  auto wf = [&calls](WorkflowContext& ctx) {
    int v = ctx.side_effect<int>([&] { return ++calls * 100; });
    ctx.signal<int>("go").wait();
    return v;
  };
  HistoryBuilder h("se");
  ReplayResult first = replay(wf, info(), h.events());
  ASSERT_EQ(first.commands.size(), 1u);
  EXPECT_EQ(first.commands[0].command_type(), v1::COMMAND_TYPE_RECORD_MARKER);
  EXPECT_EQ(calls, 1);
  // Replay of a history whose marker holds 7: the recorded value wins, fn is not called again.
  h.task_completed();
  h.marker("SideEffect", to_payloads(7));
  h.signaled("go", 1).workflow_task();
  ReplayResult r = replay(wf, info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(from_payloads<int>(r.commands[0].complete_workflow_execution_command_attributes().result()),
            7);
}

TEST(ReplayerTest, CancellationCancelsTheTimerAndTheWorkflow) {
  auto long_sleep = [](WorkflowContext& ctx) {
    ctx.sleep(1h);
    return std::string("woke up");
  };
  HistoryBuilder h("long_sleep");
  h.task_completed();
  h.timer_started("1", 3'600'000);
  h.cancel_requested().workflow_task();
  ReplayResult r = replay(long_sleep, info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_EQ(r.commands.size(), 2u);
  EXPECT_EQ(r.commands[0].command_type(), v1::COMMAND_TYPE_CANCEL_TIMER);
  EXPECT_EQ(r.commands[0].cancel_timer_command_attributes().timer_id(), "1");
  EXPECT_EQ(r.commands[1].command_type(), v1::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION);
}

TEST(ReplayerTest, CancellationReachesCodeAsCanceledErrorAndPendingActivitiesAreCanceled) {
  auto careful = [](WorkflowContext& ctx) {
    try {
      ctx.activity<int>("slow", {.start_to_close = 1h}).get();
      return std::string("finished");
    } catch (const CanceledError&) {
      return std::string("cleaned up");
    }
  };
  HistoryBuilder h("careful");
  h.task_completed();
  int64_t s = h.activity_scheduled("slow", "1");
  h.cancel_requested().workflow_task();
  ReplayResult r = replay(careful, info(), h.events());
  ASSERT_EQ(r.commands.size(), 2u);
  EXPECT_EQ(r.commands[0].command_type(), v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK);
  EXPECT_EQ(r.commands[0].request_cancel_activity_task_command_attributes().scheduled_event_id(), s);
  EXPECT_EQ(from_payloads<std::string>(r.commands[1].complete_workflow_execution_command_attributes().result()),
            "cleaned up");
}

TEST(ReplayerTest, FailedActivityReachesTheWorkflowAsActivityError) {
  auto wf = [](WorkflowContext& ctx) {
    try {
      ctx.activity<int>("bad", {.start_to_close = 5s}).get();
      return std::string("no error");
    } catch (const ActivityError& e) {
      return e.activity_type() + "|" + e.cause_type() + "|" + e.what();
    }
  };
  HistoryBuilder h("wf");
  h.task_completed();
  int64_t s = h.activity_scheduled("bad", "1");
  h.activity_failed(s, "the input is malformed", "BadInput").workflow_task();
  ReplayResult r = replay(wf, info(), h.events());
  ASSERT_EQ(r.commands.size(), 1u);
  std::string out = from_payloads<std::string>(
      r.commands[0].complete_workflow_execution_command_attributes().result());
  EXPECT_THAT(out, HasSubstr("bad|BadInput|"));
  EXPECT_THAT(out, HasSubstr("the input is malformed"));
}

TEST(ReplayerTest, ApplicationErrorFailsTheWorkflowOtherExceptionsFailTheTask) {
  HistoryBuilder h("wf");
  auto app = [](WorkflowContext&) -> int { throw ApplicationError("rejected", "Rejected"); };
  ReplayResult r = replay(app, info(), h.events());
  ASSERT_FALSE(r.task_failed);
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(r.commands[0].command_type(), v1::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION);
  const auto& f = r.commands[0].fail_workflow_execution_command_attributes().failure();
  EXPECT_EQ(f.message(), "rejected");
  EXPECT_EQ(f.application_failure_info().type(), "Rejected");

  auto bug = [](WorkflowContext&) -> int { throw std::out_of_range("index 7"); };
  r = replay(bug, info(), h.events());
  ASSERT_TRUE(r.task_failed);
  EXPECT_EQ(r.cause, v1::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE);
  EXPECT_THAT(r.failure.message(), HasSubstr("index 7"));
}

TEST(ReplayerTest, FailedWorkflowTasksInHistoryAreSkipped) {
  HistoryBuilder h("two_steps", to_payloads(std::string("doc")));
  h.task_failed();  // e.g. a non-determinism error of a broken build: its commands never happened
  h.workflow_task();
  ReplayResult r = replay(&two_steps, info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(r.commands[0].schedule_activity_task_command_attributes().activity_type().name(),
            "fetch");
}

TEST(ReplayerTest, BadWorkflowInputFailsTheWorkflowWithAPayloadError) {
  HistoryBuilder h("wf", to_payloads(std::string("not a number")));
  auto wf = [](WorkflowContext&, int x) { return x; };
  ReplayResult r = replay(wf, info(), h.events());
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(r.commands[0].command_type(), v1::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION);
  EXPECT_EQ(r.commands[0].fail_workflow_execution_command_attributes().failure()
                .application_failure_info().type(),
            "PayloadError");
}

TEST(ReplayerTest, BlockedWorkflowCodeIsUnwoundWhenTheTaskEnds) {
  bool destroyed = false;
  struct Guard {
    bool* flag;
    ~Guard() { *flag = true; }
  };
  auto wf = [&destroyed](WorkflowContext& ctx) {
    Guard g{&destroyed};
    return ctx.signal<int>("never").wait();
  };
  HistoryBuilder h("wf");
  ReplayResult r = replay(wf, info(), h.events());
  EXPECT_TRUE(r.commands.empty());
  EXPECT_TRUE(destroyed);  // the fiber's stack was unwound, destructors ran
}

TEST(ReplayerTest, ContinueAsNewIssuesTheCommandWithTheNewInput) {
  auto wf = [](WorkflowContext& ctx, int n) -> int {
    if (n < 3) {
      ctx.continue_as_new(n + 1);
    }
    return n;
  };
  HistoryBuilder h("counter", to_payloads(1));
  ReplayResult r = replay(wf, info(), h.events());
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(r.commands[0].command_type(), v1::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION);
  const auto& a = r.commands[0].continue_as_new_workflow_execution_command_attributes();
  EXPECT_EQ(a.workflow_type().name(), "counter");
  EXPECT_EQ(from_payloads<int>(a.input()), 2);
}

}  // namespace
}  // namespace cairn::testing
