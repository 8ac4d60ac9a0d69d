// End to end: an activity that leaves itself pending (ActivityContext::complete_async) is
// finished later by another client — by (workflow id, activity id) or by its task token — the way
// an approval UI or a webhook finishes a step.
#include <chrono>
#include <mutex>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class AsyncCompletionTest : public E2eTest {
 protected:
  // A worker whose "approval.request" activity records its task token and stays pending.
  void start_worker(const std::string& queue) {
    Worker& w = new_worker(queue);
    w.register_activity("approval.request", [this](ActivityContext& ctx, const std::string& what)
                                                -> std::string {
      {
        std::lock_guard lock(mu_);
        token_ = ctx.info().task_token;
        asked_ = what;
      }
      ctx.complete_async();
    });
    w.register_workflow("approve", [](WorkflowContext& ctx, const std::string& what) {
      ActivityOptions o;
      o.start_to_close = 60s;
      o.activity_id = "approval";
      return "decision: " + ctx.activity<std::string>("approval.request", what, o).get();
    });
    w.start();
  }

  std::string token() {
    std::lock_guard lock(mu_);
    return token_;
  }

  std::mutex mu_;
  std::string token_;
  std::string asked_;
};

TEST_F(AsyncCompletionTest, CompletedByWorkflowAndActivityIdFromASecondClient) {
  start_worker("async-id");
  auto h = client_->start("approve", start_options("async-id-1", "async-id"), std::string("deploy"));
  ASSERT_TRUE(await_until([&] { return !token().empty(); }));
  // The worker sent nothing: the activity is still pending, and the run still open.
  auto pending = h.describe();
  ASSERT_EQ(pending.pending_activities_size(), 1);
  EXPECT_EQ(pending.pending_activities(0).state(), v1::PENDING_ACTIVITY_STATE_STARTED);

  ClientOptions opts;
  opts.address = server_->address();
  Client ui(opts);
  EXPECT_FALSE(ui.heartbeat_activity("async-id-1", "", "approval"));
  ui.complete_activity("async-id-1", "", "approval", std::string("approved"));
  EXPECT_EQ(h.result<std::string>(30s), "decision: approved");
  // A second completion finds nothing waiting.
  EXPECT_THROW(ui.complete_activity("async-id-1", "", "approval", std::string("again")), RpcError);
}

TEST_F(AsyncCompletionTest, CompletedByTaskToken) {
  start_worker("async-token");
  auto h = client_->start("approve", start_options("async-token-1", "async-token"),
                          std::string("scale up"));
  ASSERT_TRUE(await_until([&] { return !token().empty(); }));
  ClientOptions opts;
  opts.address = server_->address();
  Client webhook(opts);
  webhook.complete_activity(token(), std::string("rejected"));
  EXPECT_EQ(h.result<std::string>(30s), "decision: rejected");
  auto events = h.history();
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED), 1);
}

TEST_F(AsyncCompletionTest, FailedByIdFailsTheActivityInTheWorkflow) {
  start_worker("async-fail");
  auto h = client_->start("approve", start_options("async-fail-1", "async-fail"), std::string("x"));
  ASSERT_TRUE(await_until([&] { return !token().empty(); }));
  // Non-retryable: the workflow sees the failure at once instead of a retry.
  client_->fail_activity("async-fail-1", "", "approval",
                         ApplicationError("nobody approved", "Denied", /*non_retryable=*/true));
  EXPECT_THROW(h.result<std::string>(30s), WorkflowFailedError);
  EXPECT_EQ(count(h.history(), v1::EVENT_TYPE_ACTIVITY_TASK_FAILED), 1);
}

}  // namespace
}  // namespace cairn::testing
