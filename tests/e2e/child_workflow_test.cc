// End to end: child workflows (result and failure reaching the parent, the three parent close
// policies observed on the child) and signals / cancel requests to other workflows from workflow
// code, against a real cairn-server.
#include <chrono>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class ChildWorkflowTest : public E2eTest {
 protected:
  v1::WorkflowExecutionStatus status_of(const std::string& workflow_id) {
    return client_->handle(workflow_id).describe().workflow_execution_info().status();
  }

  // A child that waits for signal "finish" and returns it; canceled when asked to cancel.
  void register_waiting_child(Worker& w) {
    w.register_workflow("waiting_child", [](WorkflowContext& ctx) {
      return ctx.signal<std::string>("finish").wait();
    });
  }
};

TEST_F(ChildWorkflowTest, ChildResultReachesTheParent) {
  Worker& w = new_worker("child-ok");
  w.register_workflow("doubler", [](WorkflowContext& ctx, int n) { return n * 2; });
  w.register_workflow("parent", [](WorkflowContext& ctx, int n) {
    auto child = ctx.child<int>("doubler", n, ChildWorkflowOptions{.id = "doubler-1"});
    std::string run_id = child.started();
    return child.get() + (run_id.empty() ? 0 : 1000);
  });
  w.start();
  auto handle = client_->start("parent", start_options("parent-ok", "child-ok"), 21);
  EXPECT_EQ(handle.result<int>(30s), 1042);

  auto events = handle.history();
  ASSERT_EQ(count(events, v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED), 1);
  ASSERT_EQ(count(events, v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED), 1);
  ASSERT_EQ(count(events, v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED), 1);
  const auto* started = find(events, v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED);
  const std::string child_run =
      started->child_workflow_execution_started_event_attributes().workflow_execution().run_id();

  // The child knows its parent, and its result is its own.
  auto child = client_->handle("doubler-1");
  EXPECT_EQ(child.result<int>(10s), 42);
  auto child_events = child.history();
  ASSERT_FALSE(child_events.empty());
  const auto& a = child_events[0].workflow_execution_started_event_attributes();
  EXPECT_EQ(a.parent_workflow_execution().workflow_id(), "parent-ok");
  EXPECT_EQ(a.parent_workflow_execution().run_id(), handle.describe().workflow_execution_info()
                                                        .execution().run_id());
  EXPECT_EQ(client_->handle("doubler-1").describe().workflow_execution_info().execution().run_id(),
            child_run);
}

TEST_F(ChildWorkflowTest, ChildFailureReachesTheParentAsChildWorkflowError) {
  Worker& w = new_worker("child-fail");
  w.register_workflow("failing", [](WorkflowContext& ctx) -> int {
    throw ApplicationError("the child gave up", "GaveUp", /*non_retryable=*/true);
  });
  w.register_workflow("parent", [](WorkflowContext& ctx) {
    try {
      ctx.child<int>("failing", ChildWorkflowOptions{.id = "failing-1"}).get();
      return std::string("no error");
    } catch (const ChildWorkflowError& e) {
      return e.cause().message() + "|" + e.cause_type() + "|" + e.workflow_id() + "|" +
             v1::WorkflowExecutionStatus_Name(e.status());
    }
  });
  w.start();
  auto handle = client_->start("parent", start_options("parent-fail", "child-fail"));
  EXPECT_EQ(handle.result<std::string>(30s),
            "the child gave up|GaveUp|failing-1|WORKFLOW_EXECUTION_STATUS_FAILED");
  EXPECT_EQ(count(handle.history(), v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED), 1);
}

TEST_F(ChildWorkflowTest, UncaughtChildFailureFailsTheParent) {
  Worker& w = new_worker("child-fail2");
  w.register_workflow("failing", [](WorkflowContext& ctx) -> int {
    throw ApplicationError("nope", "Nope", /*non_retryable=*/true);
  });
  w.register_workflow("parent", [](WorkflowContext& ctx) {
    return ctx.child<int>("failing", ChildWorkflowOptions{.id = "failing-2"}).get();
  });
  w.start();
  auto handle = client_->start("parent", start_options("parent-fail2", "child-fail2"));
  try {
    handle.result<int>(30s);
    FAIL() << "the parent should have failed";
  } catch (const WorkflowFailedError& e) {
    EXPECT_EQ(e.status(), v1::WORKFLOW_EXECUTION_STATUS_FAILED);
    EXPECT_NE(e.failure().message().find("failing-2"), std::string::npos) << e.failure().message();
  }
}

TEST_F(ChildWorkflowTest, StartingAChildWhoseIdIsTakenFailsWithChildWorkflowError) {
  Worker& w = new_worker("child-dup");
  register_waiting_child(w);
  w.register_workflow("parent", [](WorkflowContext& ctx) {
    try {
      ctx.child<std::string>("waiting_child", ChildWorkflowOptions{.id = "taken-1"}).started();
      return std::string("started");
    } catch (const ChildWorkflowError& e) {
      return e.cause_type();
    }
  });
  w.start();
  auto squatter = client_->start("waiting_child", start_options("taken-1", "child-dup"));
  auto handle = client_->start("parent", start_options("parent-dup", "child-dup"));
  EXPECT_EQ(handle.result<std::string>(30s),
            "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS");
  EXPECT_EQ(status_of("taken-1"), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  squatter.terminate("done");
}

// The parent returns as soon as its child has started; the policy decides the child's fate.
class ParentClosePolicyTest : public ChildWorkflowTest {
 protected:
  void run_parent(const std::string& tq, ParentClosePolicy policy, const std::string& child_id) {
    Worker& w = new_worker(tq);
    register_waiting_child(w);
    w.register_workflow("parent", [policy, child_id](WorkflowContext& ctx) {
      auto child = ctx.child<std::string>(
          "waiting_child", ChildWorkflowOptions{.id = child_id, .parent_close_policy = policy});
      return child.started();
    });
    w.start();
    auto handle = client_->start("parent", start_options("parent-" + child_id, tq));
    std::string run_id = handle.result<std::string>(30s);
    ASSERT_FALSE(run_id.empty());
  }
};

TEST_F(ParentClosePolicyTest, TerminateTerminatesTheChild) {
  run_parent("pcp-term", ParentClosePolicy::kTerminate, "pcp-term-child");
  ASSERT_TRUE(await_until([&] {
    return status_of("pcp-term-child") == v1::WORKFLOW_EXECUTION_STATUS_TERMINATED;
  })) << v1::WorkflowExecutionStatus_Name(status_of("pcp-term-child"));
  auto child_events = client_->handle("pcp-term-child").history();
  const auto* closed = find(child_events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
  ASSERT_NE(closed, nullptr);
  EXPECT_NE(closed->workflow_execution_terminated_event_attributes().reason().find("parent"),
            std::string::npos)
      << closed->DebugString();
}

TEST_F(ParentClosePolicyTest, RequestCancelCancelsTheChild) {
  run_parent("pcp-cancel", ParentClosePolicy::kRequestCancel, "pcp-cancel-child");
  ASSERT_TRUE(await_until([&] {
    return status_of("pcp-cancel-child") == v1::WORKFLOW_EXECUTION_STATUS_CANCELED;
  })) << v1::WorkflowExecutionStatus_Name(status_of("pcp-cancel-child"));
  EXPECT_EQ(count(client_->handle("pcp-cancel-child").history(),
                  v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED),
            1);
}

TEST_F(ParentClosePolicyTest, AbandonLeavesTheChildRunning) {
  // Two children of one parent: the terminated sibling shows that the parent's close policies
  // have been applied (they are written in the same transition) when the abandoned one is checked.
  Worker& w = new_worker("pcp-abandon");
  register_waiting_child(w);
  w.register_workflow("parent", [](WorkflowContext& ctx) {
    auto kept = ctx.child<std::string>(
        "waiting_child", ChildWorkflowOptions{.id = "pcp-abandon-child",
                                              .parent_close_policy = ParentClosePolicy::kAbandon});
    auto killed = ctx.child<std::string>(
        "waiting_child", ChildWorkflowOptions{.id = "pcp-abandon-sibling",
                                              .parent_close_policy = ParentClosePolicy::kTerminate});
    return kept.started() + killed.started();
  });
  w.start();
  auto handle = client_->start("parent", start_options("parent-abandon", "pcp-abandon"));
  ASSERT_FALSE(handle.result<std::string>(30s).empty());
  ASSERT_TRUE(await_until([&] {
    return status_of("pcp-abandon-sibling") == v1::WORKFLOW_EXECUTION_STATUS_TERMINATED;
  }));
  EXPECT_EQ(status_of("pcp-abandon-child"), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  auto child = client_->handle("pcp-abandon-child");
  child.signal("finish", std::string("still here"));
  EXPECT_EQ(child.result<std::string>(30s), "still here");
  EXPECT_EQ(count(child.history(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED), 0);
}

TEST_F(ChildWorkflowTest, CancelingTheParentCancelsItsChildrenButNotThoseInANonCancellableScope) {
  Worker& w = new_worker("child-cancel");
  register_waiting_child(w);
  w.register_workflow("parent", [](WorkflowContext& ctx) {
    // Abandon: only the cancellation of the parent's scope reaches the children here.
    ChildWorkflowOptions o{.id = "cc-child", .parent_close_policy = ParentClosePolicy::kAbandon};
    auto child = ctx.child<std::string>("waiting_child", o);
    auto kept = ctx.non_cancellable([&] {
      ChildWorkflowOptions k{.id = "cc-kept", .parent_close_policy = ParentClosePolicy::kAbandon};
      return ctx.child<std::string>("waiting_child", k);
    });
    child.started();
    kept.started();
    return child.get();
  });
  w.start();
  auto parent = client_->start("parent", start_options("cc-parent", "child-cancel"));
  ASSERT_TRUE(await_until([&] {
    // Both started in the parent's history first: before that the children may not exist.
    return count(parent.history(), v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) == 2 &&
           status_of("cc-child") == v1::WORKFLOW_EXECUTION_STATUS_RUNNING &&
           status_of("cc-kept") == v1::WORKFLOW_EXECUTION_STATUS_RUNNING;
  }));
  parent.cancel("user stopped the agent");
  try {
    parent.result<std::string>(30s);
    ADD_FAILURE() << "the canceled parent returned a result";
  } catch (const WorkflowFailedError& e) {
    EXPECT_EQ(e.status(), v1::WORKFLOW_EXECUTION_STATUS_CANCELED);
  }
  ASSERT_TRUE(await_until(
      [&] { return status_of("cc-child") == v1::WORKFLOW_EXECUTION_STATUS_CANCELED; }))
      << v1::WorkflowExecutionStatus_Name(status_of("cc-child"));
  EXPECT_EQ(status_of("cc-kept"), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  EXPECT_EQ(count(parent.history(),
                  v1::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
            1);
  client_->handle("cc-kept").terminate("test done");
}

TEST_F(ChildWorkflowTest, SignalAndCancelExternalWorkflows) {
  Worker& w = new_worker("external");
  w.register_workflow("receiver", [](WorkflowContext& ctx) {
    return ctx.signal<std::string>("ping").wait();
  });
  register_waiting_child(w);
  w.register_workflow("sender", [](WorkflowContext& ctx) {
    ctx.signal_external("receiver-1", "", "ping", std::string("hello")).get();
    ctx.cancel_external("victim-1").get();
    try {
      ctx.signal_external("nobody", "", "ping", std::string("?")).get();
      return std::string("signaled nobody");
    } catch (const ApplicationError& e) {
      return e.type();
    }
  });
  w.start();
  auto receiver = client_->start("receiver", start_options("receiver-1", "external"));
  auto victim = client_->start("waiting_child", start_options("victim-1", "external"));
  auto sender = client_->start("sender", start_options("sender-1", "external"));
  EXPECT_EQ(sender.result<std::string>(30s), "ExternalWorkflowExecutionNotFound");
  EXPECT_EQ(receiver.result<std::string>(30s), "hello");
  ASSERT_TRUE(await_until(
      [&] { return status_of("victim-1") == v1::WORKFLOW_EXECUTION_STATUS_CANCELED; }));

  auto events = sender.history();
  EXPECT_EQ(count(events, v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED), 2);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED), 1);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED), 1);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED), 1);
  auto receiver_events = receiver.history();
  const auto* signaled = find(receiver_events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  ASSERT_NE(signaled, nullptr);
  EXPECT_EQ(signaled->workflow_execution_signaled_event_attributes().identity(), "sender-1")
      << signaled->DebugString();
}

}  // namespace
}  // namespace cairn::testing
