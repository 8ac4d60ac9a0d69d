// End to end: a workflow changed incompatibly while a run is open fails its workflow task with a
// non-determinism error naming the event; once the fix is deployed the run continues.
#include <chrono>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class NonDeterminismTest : public E2eTest {};

std::string v1_code(WorkflowContext& ctx) {
  auto a = ctx.activity<std::string>("fetch", {.start_to_close = 5s}).get();
  auto go = ctx.signal<std::string>("go").wait();
  auto b = ctx.activity<std::string>("summarize", a, {.start_to_close = 5s}).get();
  return b + go;
}

// The incompatible change: a new activity inserted before the one history recorded.
std::string v2_broken(WorkflowContext& ctx) {
  ctx.activity<std::string>("audit", {.start_to_close = 5s}).get();
  return v1_code(ctx);
}

void register_activities(Worker& w) {
  w.register_activity("fetch", []() { return std::string("doc"); });
  w.register_activity("summarize", [](std::string s) { return "summary of " + s; });
  w.register_activity("audit", []() { return std::string("audited"); });
}

TEST_F(NonDeterminismTest, IncompatibleChangeFailsTheTaskAndTheFixLetsTheRunFinish) {
  // v1 runs the workflow up to its signal wait.
  Worker& first = new_worker("nd-q");
  register_activities(first);
  first.register_workflow("agent", &v1_code);
  first.start();
  auto handle = client_->start("agent", start_options("nd-1", "nd-q"));
  ASSERT_TRUE(await_until([&] {
    return count(handle.history(), v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 1 &&
           count(handle.history(), v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 2;
  }));
  first.stop();

  // The broken build replays the history and must refuse it.
  Worker& broken = new_worker("nd-q");
  register_activities(broken);
  broken.register_workflow("agent", &v2_broken);
  broken.start();
  handle.signal("go", std::string("!"));
  ASSERT_TRUE(await_until([&] {
    return count(handle.history(), v1::EVENT_TYPE_WORKFLOW_TASK_FAILED) >= 1;
  }));
  broken.stop();
  auto events = handle.history();
  const v1::HistoryEvent* failed = find(events, v1::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  ASSERT_NE(failed, nullptr);
  const auto& attrs = failed->workflow_task_failed_event_attributes();
  EXPECT_EQ(attrs.cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  const v1::HistoryEvent* scheduled = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  ASSERT_NE(scheduled, nullptr);
  std::string message = attrs.failure().message();
  EXPECT_NE(message.find("event " + std::to_string(scheduled->event_id())), std::string::npos)
      << message;
  EXPECT_NE(message.find("fetch"), std::string::npos) << message;
  EXPECT_NE(message.find("audit"), std::string::npos) << message;
  // The run itself is still open: the failure was the task's, not the workflow's.
  EXPECT_EQ(handle.describe().workflow_execution_info().status(),
            v1::WORKFLOW_EXECUTION_STATUS_RUNNING);

  // Deploying the fixed (compatible) build lets the run continue where it was.
  Worker& fixed = new_worker("nd-q");
  register_activities(fixed);
  fixed.register_workflow("agent", &v1_code);
  fixed.start();
  EXPECT_EQ(handle.result<std::string>(60s), "summary of doc!");
  EXPECT_EQ(count(handle.history(), v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 2);
}

}  // namespace
}  // namespace cairn::testing
