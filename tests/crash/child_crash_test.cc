// Crash test for the transfer outbox: kill -9 of cairn-server after a parent's
// StartChildWorkflowExecutionInitiated is on disk but before the child started. After the
// restart the pending transfer task runs from disk: the child starts exactly once and the parent
// completes with its result.
#include <chrono>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class ChildCrashTest : public E2eTest {
 protected:
  // The first server holds transfer tasks (writes them, never runs them): the window between
  // the parent's initiated event and the child's start stays open until the kill.
  std::vector<std::string> server_args() override { return {"--hold-transfers-for-testing"}; }
};

TEST_F(ChildCrashTest, KillBetweenStartChildInitiatedAndTheChildsStartStartsItExactlyOnce) {
  Worker& w = new_worker("child-crash");
  w.register_workflow("child", [](WorkflowContext& ctx, std::string s) { return s + "!"; });
  w.register_workflow("parent", [](WorkflowContext& ctx) {
    return ctx.child<std::string>("child", std::string("hi"), ChildWorkflowOptions{.id = "cc-1"})
        .get();
  });
  w.start();
  auto handle = client_->start("parent", start_options("cc-parent", "child-crash"));
  ASSERT_TRUE(await_until([&] {
    return count(handle.history(), v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) == 1;
  }));
  // Not started: the transfer task is only on disk.
  EXPECT_THROW(client_->handle("cc-1").describe(), RpcError);

  int port = server_->port();
  server_->kill9();
  server_ = std::make_unique<ServerProcess>(dir_.path() + "/data");  // without the hold flag
  std::string error;
  ASSERT_TRUE(server_->start(port, 30s, &error)) << error;
  ASSERT_TRUE(client_->wait_until_ready(30s));

  EXPECT_EQ(handle.result<std::string>(60s), "hi!");
  auto events = handle.history();
  EXPECT_EQ(count(events, v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED), 1);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED), 1);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED), 1);
  const auto* started = find(events, v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED);
  ASSERT_NE(started, nullptr);
  const std::string child_run =
      started->child_workflow_execution_started_event_attributes().workflow_execution().run_id();

  // Exactly one run of the child: the current run is the one the parent recorded, and it is the
  // first of its chain.
  auto child = client_->handle("cc-1").describe().workflow_execution_info();
  EXPECT_EQ(child.execution().run_id(), child_run);
  EXPECT_EQ(child.status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  auto child_events = client_->handle("cc-1", child_run).history();
  ASSERT_FALSE(child_events.empty());
  EXPECT_EQ(child_events[0].workflow_execution_started_event_attributes().first_run_id(),
            child_run);

  // A second restart re-runs nothing: no transfer task is left behind.
  port = server_->port();
  ASSERT_EQ(server_->stop(), 0);
  ASSERT_TRUE(server_->start(port, 30s, &error)) << error;
  ASSERT_TRUE(client_->wait_until_ready(30s));
  EXPECT_NE(server_->log().find("recovered 0 pending tasks"), std::string::npos) << server_->log();
  EXPECT_EQ(count(handle.history(), v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED), 1);
}

}  // namespace
}  // namespace cairn::testing
