// End to end: versioning (an old run replays on patched code and keeps its old path while new
// runs take the new one), local activities and side effects recorded as markers, a cancellation
// scope canceling a running heartbeating activity, and clean-up activities in a non-cancellable
// scope after the workflow was canceled.
#include <atomic>
#include <thread>

#include "cairn/combinators.h"
#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class SdkFeaturesTest : public E2eTest {
 protected:
  static int markers(const std::vector<v1::HistoryEvent>& events, const std::string& name) {
    int n = 0;
    for (const auto& e : events) {
      n += e.event_type() == v1::EVENT_TYPE_MARKER_RECORDED &&
                   e.marker_recorded_event_attributes().marker_name() == name
               ? 1
               : 0;
    }
    return n;
  }
};

ActivityOptions quick() { return {.start_to_close = 10s}; }

std::string v1_workflow(WorkflowContext& ctx) {
  auto step = ctx.activity<std::string>("old_step", quick()).get();
  ctx.signal<std::string>("go").wait();
  return step;
}

std::string v2_workflow(WorkflowContext& ctx) {
  std::string step = ctx.patched("new-step")
                         ? ctx.activity<std::string>("new_step", quick()).get()
                         : ctx.activity<std::string>("old_step", quick()).get();
  ctx.signal<std::string>("go").wait();
  return step;
}

void register_steps(Worker& w) {
  w.register_activity("old_step", [] { return std::string("old path"); });
  w.register_activity("new_step", [] { return std::string("new path"); });
}

TEST_F(SdkFeaturesTest, APatchedWorkflowReplaysOldHistoriesAndTakesTheNewPathOnNewRuns) {
  Worker& old_worker = new_worker("ver");
  old_worker.register_workflow("agent", &v1_workflow);
  register_steps(old_worker);
  old_worker.start();
  auto old_run = client_->start("agent", start_options("ver-old", "ver"));
  // The old run is blocked on its signal once the activity's result was seen.
  ASSERT_TRUE(await_until([&] {
    return count(old_run.history(), v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= 2;
  }));
  old_worker.stop();

  Worker& new_worker_ = new_worker("ver");
  new_worker_.register_workflow("agent", &v2_workflow);
  register_steps(new_worker_);
  new_worker_.start();
  old_run.signal("go", std::string("now"));
  EXPECT_EQ(old_run.result<std::string>(30s), "old path");
  auto old_events = old_run.history();
  EXPECT_EQ(count(old_events, v1::EVENT_TYPE_WORKFLOW_TASK_FAILED), 0);  // replayed cleanly
  EXPECT_EQ(markers(old_events, "Version"), 0);

  auto new_run = client_->start("agent", start_options("ver-new", "ver"));
  ASSERT_TRUE(await_until([&] {
    return count(new_run.history(), v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= 2;
  }));
  new_run.signal("go", std::string("now"));
  EXPECT_EQ(new_run.result<std::string>(30s), "new path");
  EXPECT_EQ(markers(new_run.history(), "Version"), 1);
}

TEST_F(SdkFeaturesTest, LocalActivitiesAndSideEffectsAreRecordedAsMarkers) {
  std::atomic<int> local_calls{0};
  std::atomic<int> flaky_calls{0};
  std::atomic<int> side_effects{0};
  Worker& w = new_worker("local");
  w.register_activity("double", [&](int x) {
    ++local_calls;
    return 2 * x;
  });
  w.register_activity("flaky", [&](int x) {
    if (++flaky_calls < 3) {
      throw std::runtime_error("transient");
    }
    return x + 1;
  });
  w.register_workflow("calc", [&](WorkflowContext& ctx, int x) {
    int seed = ctx.side_effect<int>([&] { return 100 + ++side_effects; });
    int doubled = ctx.local_activity<int>("double", x, {.start_to_close = 5s}).get();
    ctx.sleep(100ms);  // a later task replays the markers above
    int bumped = ctx.local_activity<int>(
                        "flaky", doubled, {.start_to_close = 5s, .retry = {.initial_interval = 20ms}})
                     .get();
    return seed * 1000 + bumped;
  });
  w.start();
  auto handle = client_->start("calc", start_options("local-1", "local"), 20);
  EXPECT_EQ(handle.result<int>(30s), 101 * 1000 + 41);
  EXPECT_EQ(local_calls, 1);   // not run again on replay
  EXPECT_EQ(flaky_calls, 3);   // retried in-process
  EXPECT_EQ(side_effects, 1);  // replayed from its marker
  auto events = handle.history();
  EXPECT_EQ(markers(events, "LocalActivity"), 2);
  EXPECT_EQ(markers(events, "SideEffect"), 1);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 0);  // no task-queue trip
}

// An activity that heartbeats until it is asked to cancel, then reports the cancellation.
struct Heartbeater {
  std::atomic<bool> running{false};
  std::atomic<bool> saw_cancel{false};

  void operator()(ActivityContext& ctx) {
    running = true;
    while (!ctx.heartbeat()) {
      std::this_thread::sleep_for(20ms);  // the activity's own pacing, not a test wait
    }
    saw_cancel = ctx.cancel_requested();
    throw CanceledError("stopped on request");
  }
};

TEST_F(SdkFeaturesTest, ACancellationScopeCancelsARunningHeartbeatingActivity) {
  Heartbeater hb;
  Worker& w = new_worker("scope");
  w.register_activity("watch", [&](ActivityContext& ctx) { hb(ctx); });
  w.register_workflow("scoped", [](WorkflowContext& ctx) {
    auto scope = ctx.cancellation_scope();
    auto watch = scope.run([&] {
      return ctx.activity<void>(
          "watch", {.start_to_close = 1min,
                    .heartbeat = 5s,
                    .cancellation_type = ActivityCancellationType::kWaitCancellationCompleted});
    });
    auto stop = ctx.signal<int>("stop").wait();  // outside the scope
    scope.cancel();
    try {
      watch.get();
      return std::string("watch finished");
    } catch (const CanceledError&) {
      return "watch canceled, stop=" + std::to_string(stop);
    }
  });
  w.start();
  auto handle = client_->start("scoped", start_options("scope-1", "scope"));
  ASSERT_TRUE(await_until([&] { return hb.running.load(); }));
  handle.signal("stop", 7);
  EXPECT_EQ(handle.result<std::string>(30s), "watch canceled, stop=7");
  EXPECT_TRUE(hb.saw_cancel);
  auto events = handle.history();
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED), 1);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED), 1);
}

TEST_F(SdkFeaturesTest, CleanUpActivityRunsInANonCancellableScopeAfterTheWorkflowIsCanceled) {
  Heartbeater hb;
  std::atomic<int> cleanups{0};
  Worker& w = new_worker("cleanup");
  w.register_activity("work", [&](ActivityContext& ctx) { hb(ctx); });
  w.register_activity("cleanup", [&](std::string what) {
    ++cleanups;
    return "released " + what;
  });
  w.register_workflow("provision", [](WorkflowContext& ctx) {
    try {
      ctx.activity<void>("work", {.start_to_close = 1min, .heartbeat = 5s}).get();
      return std::string("done");
    } catch (const CanceledError&) {
      ctx.non_cancellable([&] {
        ctx.activity<std::string>("cleanup", std::string("gpu"), quick()).get();
      });
      throw;
    }
  });
  w.start();
  auto handle = client_->start("provision", start_options("cleanup-1", "cleanup"));
  ASSERT_TRUE(await_until([&] { return hb.running.load(); }));
  handle.cancel("user asked");
  try {
    handle.result<std::string>(30s);
    FAIL() << "result() should throw for a canceled workflow";
  } catch (const WorkflowFailedError& e) {
    EXPECT_EQ(e.status(), v1::WORKFLOW_EXECUTION_STATUS_CANCELED);
  }
  EXPECT_EQ(cleanups, 1);
  auto events = handle.history();
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 2);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED), 1);  // the clean-up
  EXPECT_EQ(events.back().event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED);
  // The canceled activity learns it from its heartbeat (TRY_CANCEL did not wait for it).
  EXPECT_TRUE(await_until([&] { return hb.saw_cancel.load(); }));
}

TEST_F(SdkFeaturesTest, AnyOfAndAwaitConditionAgainstARealServer) {
  Worker& w = new_worker("comb");
  w.register_activity("fast", [] { return 1; });
  w.register_workflow("race", [](WorkflowContext& ctx) {
    auto fast = ctx.activity<int>("fast", quick());
    auto slow = ctx.timer(1h);
    size_t first = any_of(slow, fast);
    bool got = ctx.await_condition([&] { return false; }, 200ms);  // times out durably
    return std::to_string(first) + (got ? " met" : " timed out");
  });
  w.start();
  auto handle = client_->start("race", start_options("comb-1", "comb"));
  EXPECT_EQ(handle.result<std::string>(30s), "1 timed out");
  auto events = handle.history();
  EXPECT_EQ(count(events, v1::EVENT_TYPE_TIMER_FIRED), 1);  // the condition's timeout
}

}  // namespace
}  // namespace cairn::testing
