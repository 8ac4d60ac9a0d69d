// End to end: workflow-level behaviour against a real cairn-server — timers, signals before and
// after the workflow waits, cancellation, termination, and the workflow id policies.
#include <chrono>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class WorkflowTest : public E2eTest {};

TEST_F(WorkflowTest, DurableTimerFiresAfterItsDuration) {
  Worker& w = new_worker("wf-timer");
  w.register_workflow("sleeper", [](WorkflowContext& ctx) {
    auto before = ctx.now();
    ctx.sleep(1s);
    return std::chrono::duration_cast<std::chrono::milliseconds>(ctx.now() - before).count();
  });
  w.start();
  auto handle = client_->start("sleeper", start_options("wf-timer-1", "wf-timer"));
  int64_t slept = handle.result<int64_t>(30s);
  EXPECT_GE(slept, 1000);
  auto events = handle.history();
  const v1::HistoryEvent* started = find(events, v1::EVENT_TYPE_TIMER_STARTED);
  const v1::HistoryEvent* fired = find(events, v1::EVENT_TYPE_TIMER_FIRED);
  ASSERT_NE(started, nullptr);
  ASSERT_NE(fired, nullptr);
  EXPECT_EQ(started->timer_started_event_attributes().start_to_fire_timeout_ms(), 1000);
  EXPECT_GE(fired->event_time_ms() - started->event_time_ms(), 1000);
}

TEST_F(WorkflowTest, SignalSentBeforeTheWorkflowWaitsIsDelivered) {
  Worker& w = new_worker("wf-sig-early");
  w.register_workflow("waiter", [](WorkflowContext& ctx) {
    return ctx.signal<std::string>("name").wait();
  });
  // No worker is running yet: the signal lands in history before any workflow code runs.
  auto handle = client_->start("waiter", start_options("wf-sig-early-1", "wf-sig-early"));
  handle.signal("name", std::string("early bird"));
  w.start();
  EXPECT_EQ(handle.result<std::string>(30s), "early bird");
}

TEST_F(WorkflowTest, SignalSentWhileTheWorkflowWaitsWakesIt) {
  Worker& w = new_worker("wf-sig-late");
  w.register_workflow("waiter", [](WorkflowContext& ctx) {
    auto first = ctx.signal<int>("add").wait();
    auto second = ctx.signal<int>("add").wait();
    return first + second;
  });
  w.start();
  auto handle = client_->start("waiter", start_options("wf-sig-late-1", "wf-sig-late"));
  // Wait until the workflow is blocked (its first workflow task completed), then signal.
  ASSERT_TRUE(await_until([&] {
    return count(handle.history(), v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= 1;
  }));
  handle.signal("add", 40);
  handle.signal("add", 2);
  EXPECT_EQ(handle.result<int>(30s), 42);
  EXPECT_EQ(count(handle.history(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 2);
}

TEST_F(WorkflowTest, SignalWaitForTimesOutDurably) {
  Worker& w = new_worker("wf-sig-timeout");
  w.register_workflow("impatient", [](WorkflowContext& ctx) {
    auto got = ctx.signal<std::string>("approval").wait_for(500ms);
    return got.has_value() ? *got : std::string("timed out");
  });
  w.start();
  auto handle = client_->start("impatient", start_options("wf-sig-timeout-1", "wf-sig-timeout"));
  EXPECT_EQ(handle.result<std::string>(30s), "timed out");
}

TEST_F(WorkflowTest, SignalWithStartStartsOnceAndDelivers) {
  Worker& w = new_worker("wf-sws");
  w.register_workflow("collector", [](WorkflowContext& ctx) {
    return ctx.signal<std::string>("item").wait();
  });
  w.start();
  auto handle = client_->signal_with_start("collector", start_options("wf-sws-1", "wf-sws"), "item",
                                           std::string("apple"));
  EXPECT_EQ(handle.result<std::string>(30s), "apple");
}

TEST_F(WorkflowTest, CancelReachesWorkflowCodeAsCanceledError) {
  Worker& w = new_worker("wf-cancel");
  w.register_workflow("long_sleep", [](WorkflowContext& ctx) {
    ctx.sleep(1h);
    return std::string("woke up");
  });
  w.start();
  auto handle = client_->start("long_sleep", start_options("wf-cancel-1", "wf-cancel"));
  ASSERT_TRUE(await_until([&] { return count(handle.history(), v1::EVENT_TYPE_TIMER_STARTED) == 1; }));
  handle.cancel("user asked");
  try {
    handle.result<std::string>(30s);
    FAIL() << "result() should throw for a canceled workflow";
  } catch (const WorkflowFailedError& e) {
    EXPECT_EQ(e.status(), v1::WORKFLOW_EXECUTION_STATUS_CANCELED);
  }
  auto events = handle.history();
  EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED), 1);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_TIMER_CANCELED), 1);
  EXPECT_EQ(events.back().event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED);
}

TEST_F(WorkflowTest, TerminateClosesTheRunAtOnce) {
  Worker& w = new_worker("wf-term");
  w.register_workflow("forever", [](WorkflowContext& ctx) {
    return ctx.signal<int>("never").wait();
  });
  w.start();
  auto handle = client_->start("forever", start_options("wf-term-1", "wf-term"));
  ASSERT_TRUE(await_until([&] {
    return count(handle.history(), v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= 1;
  }));
  handle.terminate("operator stopped it");
  try {
    handle.result<int>(30s);
    FAIL() << "result() should throw for a terminated workflow";
  } catch (const WorkflowFailedError& e) {
    EXPECT_EQ(e.status(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  }
  auto desc = handle.describe();
  EXPECT_EQ(desc.workflow_execution_info().status(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  // A closed run rejects signals and changes nothing.
  size_t before = handle.history().size();
  EXPECT_THROW(handle.signal("never", 1), RpcError);
  EXPECT_EQ(handle.history().size(), before);
}

TEST_F(WorkflowTest, IdConflictAndReusePolicies) {
  Worker& w = new_worker("wf-ids");
  w.register_workflow("echo", [](WorkflowContext& ctx, int x) { return x; });
  w.register_workflow("blocked", [](WorkflowContext& ctx) {
    return ctx.signal<int>("go").wait();
  });
  w.start();

  // Running: a second start fails by default; USE_EXISTING returns the running run.
  auto running = client_->start("blocked", start_options("dup", "wf-ids"));
  EXPECT_THROW(client_->start("blocked", start_options("dup", "wf-ids")), RpcError);
  auto use_existing = start_options("dup", "wf-ids");
  use_existing.id_conflict_policy = v1::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING;
  EXPECT_EQ(client_->start("blocked", use_existing).run_id(), running.run_id());
  // TERMINATE_EXISTING replaces it.
  auto replace = start_options("dup", "wf-ids");
  replace.id_conflict_policy = v1::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING;
  auto replacement = client_->start("blocked", replace);
  EXPECT_NE(replacement.run_id(), running.run_id());
  EXPECT_EQ(running.describe().workflow_execution_info().status(),
            v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  replacement.signal("go", 5);
  EXPECT_EQ(replacement.result<int>(30s), 5);

  // Closed: REJECT_DUPLICATE refuses, ALLOW_DUPLICATE_FAILED_ONLY refuses after a success,
  // the default allows a new run.
  auto reject = start_options("dup", "wf-ids");
  reject.id_reuse_policy = v1::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE;
  EXPECT_THROW(client_->start("echo", reject, 1), RpcError);
  auto failed_only = start_options("dup", "wf-ids");
  failed_only.id_reuse_policy = v1::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY;
  EXPECT_THROW(client_->start("echo", failed_only, 1), RpcError);
  auto again = client_->start("echo", start_options("dup", "wf-ids"), 9);
  EXPECT_NE(again.run_id(), replacement.run_id());
  EXPECT_EQ(again.result<int>(30s), 9);

  // A retried start with the same request id gets the first answer, not a second run.
  auto dedup = start_options("dedup", "wf-ids");
  dedup.request_id = "req-123";
  auto first = client_->start("echo", dedup, 3);
  auto retry = client_->start("echo", dedup, 3);
  EXPECT_EQ(first.run_id(), retry.run_id());
}

TEST_F(WorkflowTest, DescribeShowsPendingActivityAndWorkflowState) {
  Worker& w = new_worker("wf-desc");
  std::atomic<bool> release{false};
  w.register_activity("hold", [&](ActivityContext& ctx) {
    while (!release.load()) {
      ctx.heartbeat();
      struct timespec ts {0, 20'000'000};
      nanosleep(&ts, nullptr);
    }
    return 1;
  });
  w.register_workflow("holder", [](WorkflowContext& ctx) {
    return ctx.activity<int>("hold", {.start_to_close = 30s, .heartbeat = 5s}).get();
  });
  w.start();
  auto handle = client_->start("holder", start_options("wf-desc-1", "wf-desc"));
  ASSERT_TRUE(await_until([&] {
    auto d = handle.describe();
    return d.pending_activities_size() == 1 &&
           d.pending_activities(0).state() == v1::PENDING_ACTIVITY_STATE_STARTED;
  }));
  auto d = handle.describe();
  EXPECT_EQ(d.workflow_execution_info().status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  EXPECT_EQ(d.workflow_execution_info().type().name(), "holder");
  EXPECT_EQ(d.pending_activities(0).activity_type().name(), "hold");
  EXPECT_EQ(d.pending_activities(0).attempt(), 1);
  release = true;
  EXPECT_EQ(handle.result<int>(30s), 1);
  EXPECT_EQ(handle.describe().pending_activities_size(), 0);
}

}  // namespace
}  // namespace cairn::testing
