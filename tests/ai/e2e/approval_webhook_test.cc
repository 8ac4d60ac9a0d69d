// End to end: human approval through a webhook. A real HTTP receiver (cpp-httplib on loopback,
// in the test process) gets the notify activity's POST and answers by completing the activity;
// whichever of the webhook and the update answers first wins, and the other is refused or
// ignored — visibly.
#include <chrono>
#include <thread>

#include <httplib.h>

#include "ai/e2e/approval_fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class ApprovalWebhookTest : public ApprovalTest {
 protected:
  void SetUp() override {
    ApprovalTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    http_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(http_mu_);
      bodies_.push_back(req.body);
      res.status = status_;
      res.set_content(status_ == 200 ? "{}" : "{\"error\": \"no\"}", "application/json");
    });
    port_ = http_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    http_thread_ = std::thread([this] { http_.listen_after_bind(); });
  }

  void TearDown() override {
    ApprovalTest::TearDown();  // workers first: no POST is in flight once the server stops
    http_.stop();
    if (http_thread_.joinable()) {
      http_thread_.join();
    }
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

  // The notices received so far.
  std::vector<ai::ApprovalNotice> notices() {
    std::lock_guard lock(http_mu_);
    std::vector<ai::ApprovalNotice> out;
    for (const auto& b : bodies_) {
      out.push_back(ai::parse_approval_notice(b));
    }
    return out;
  }

  size_t posts() {
    std::lock_guard lock(http_mu_);
    return bodies_.size();
  }

  void answer_with(int status) {
    std::lock_guard lock(http_mu_);
    status_ = status;
  }

  httplib::Server http_;
  std::thread http_thread_;
  int port_ = 0;
  std::mutex http_mu_;
  std::vector<std::string> bodies_;
  int status_ = 200;
};

TEST_F(ApprovalWebhookTest, TheReceiverAnswersByCompletingTheActivity) {
  auto h = start_approval(
      "hook-1",
      {{"id", "deploy-9"}, {"details", {{"service", "billing"}}}, {"webhook_url", url()}});
  ASSERT_TRUE(eventually([&] { return posts() == 1; })) << "the webhook was not called";
  ai::ApprovalNotice n = notices()[0];
  EXPECT_EQ(n.approval_id, "deploy-9");
  EXPECT_EQ(n.workflow_id, "hook-1");
  EXPECT_EQ(n.run_id, h.run_id());
  EXPECT_EQ(n.namespace_, "default");
  EXPECT_EQ(n.activity_id, "cairn.approval.deploy-9");
  EXPECT_EQ(n.what, "refund $420 to customer c-17");
  EXPECT_EQ(n.details["service"], "billing");
  EXPECT_EQ(n.approvers, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_FALSE(n.task_token.empty());
  EXPECT_GT(n.deadline_ms, n.requested_at_ms);

  ai::ApprovalDecision answer;
  answer.approved = true;
  answer.by = "bob";
  answer.comment = "looks fine";
  ai::answer_approval_notice(*client_, n, answer);
  auto d = h.result<ai::ApprovalDecision>(30s);
  EXPECT_TRUE(d.approved);
  EXPECT_EQ(d.by, "bob");
  EXPECT_EQ(d.comment, "looks fine");
  EXPECT_EQ(d.via, "webhook");
  EXPECT_EQ(d.approval_id, "deploy-9");
  EXPECT_EQ(count(h.history(), v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED), 1);
  ASSERT_TRUE(eventually([&] { return awaiting_ids().empty(); }));
  // Completing it again finds nothing waiting.
  EXPECT_THROW(ai::answer_approval_notice(*client_, n, answer), RpcError);
  expect_replays("hook-1");
}

TEST_F(ApprovalWebhookTest, AWebhookAnswerFirstMakesTheUpdateAConflict) {
  auto h = start_approval("hook-2", {{"webhook_url", url()}, {"hold", true}});
  ASSERT_TRUE(eventually([&] { return posts() == 1; }));
  ai::ApprovalDecision answer;
  answer.approved = false;
  answer.by = "alice";
  ai::answer_approval_notice(*client_, notices()[0], answer);
  ai::ApprovalStatus s = await_state("hook-2", "rejected");
  ASSERT_TRUE(s.decision);
  EXPECT_EQ(s.decision->via, "webhook");

  json refused = ctl_json({"approval", "approve", "-w", "hook-2", "--by", "bob"}, 1);
  EXPECT_EQ(refused["error"]["code"], "APPROVAL_CONFLICT") << refused;
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("already rejected by alice at "),
            std::string::npos)
      << refused;
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("via webhook"), std::string::npos);
  h.signal("done", std::string("ok"));
  EXPECT_EQ(h.result<ai::ApprovalDecision>(30s).by, "alice");
  expect_replays("hook-2");
}

TEST_F(ApprovalWebhookTest, AnUpdateFirstLeavesTheWebhookNothingToComplete) {
  auto h = start_approval("hook-3", {{"webhook_url", url()}});
  ASSERT_TRUE(eventually([&] { return posts() == 1; }));
  json approved = ctl_json({"approval", "approve", "-w", "hook-3", "--by", "alice"});
  EXPECT_EQ(approved["decision"]["via"], "update") << approved;
  auto d = h.result<ai::ApprovalDecision>(30s);
  EXPECT_EQ(d.by, "alice");
  // The notify activity was canceled; the run is closed: the late webhook answer is refused.
  EXPECT_EQ(count(h.history(), v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED), 1);
  ai::ApprovalDecision late;
  late.approved = false;
  late.by = "bob";
  try {
    ai::answer_approval_notice(*client_, notices()[0], late);
    ADD_FAILURE() << "the webhook completed an approval that was already decided";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::NOT_FOUND) << e.what();
  }
  EXPECT_EQ(h.result<ai::ApprovalDecision>(30s), d);
  expect_replays("hook-3");
}

TEST_F(ApprovalWebhookTest, ALateWebhookAnswerToAnOpenRunChangesNothing) {
  auto h = start_approval("hook-8", {{"webhook_url", url()}, {"hold", true}});
  ASSERT_TRUE(eventually([&] { return posts() == 1; }));
  ai::ApprovalDecision first = ai::answer_approval(*client_, "hook-8", {"", true, "alice", ""});
  ASSERT_EQ(count(h.history(), v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED), 1);
  // The canceled activity may still take a completion (the server has not closed it yet) or
  // refuse it; either way the decision stands and the run goes on.
  ai::ApprovalDecision late;
  late.approved = false;
  late.by = "bob";
  try {
    ai::answer_approval_notice(*client_, notices()[0], late);
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::NOT_FOUND) << e.what();
  }
  EXPECT_EQ(ai::approval_status(*client_, "hook-8").decision, first);
  h.signal("done", std::string("ok"));
  EXPECT_EQ(h.result<ai::ApprovalDecision>(30s), first);
  expect_replays("hook-8");
}

TEST_F(ApprovalWebhookTest, AWebhookAnswerByAnUnknownApproverIsIgnoredVisibly) {
  auto h = start_approval("hook-4", {{"webhook_url", url()}});
  ASSERT_TRUE(eventually([&] { return posts() == 1; }));
  ai::ApprovalDecision answer;
  answer.approved = true;
  answer.by = "mallory";
  ai::answer_approval_notice(*client_, notices()[0], answer);
  ai::ApprovalStatus s =
      await_status("hook-4", [](const ai::ApprovalStatus& st) { return !st.ignored.empty(); });
  ASSERT_EQ(s.ignored.size(), 1u) << nlohmann::json(s);
  EXPECT_EQ(s.ignored[0]["by"], "mallory");
  EXPECT_NE(s.ignored[0]["reason"].get<std::string>().find("UnknownApprover"), std::string::npos);
  EXPECT_EQ(s.state, "waiting");
  Run card = ctl({"approval", "show", "-w", "hook-4"});
  EXPECT_NE(card.output.find("ignored     webhook answer by mallory"), std::string::npos)
      << card.output;

  ai::answer_approval(*client_, "hook-4", {"", true, "alice", ""});
  EXPECT_EQ(h.result<ai::ApprovalDecision>(30s).by, "alice");
}

TEST_F(ApprovalWebhookTest, ARefusingWebhookIsVisibleAndTheUpdateStillAnswers) {
  answer_with(403);
  auto h = start_approval("hook-5", {{"webhook_url", url()}});
  ai::ApprovalStatus s = await_status(
      "hook-5", [](const ai::ApprovalStatus& st) { return !st.webhook_error.empty(); });
  EXPECT_NE(s.webhook_error.find("answered HTTP 403"), std::string::npos) << s.webhook_error;
  EXPECT_EQ(posts(), 1u) << "a 403 is not retried";
  EXPECT_EQ(s.state, "waiting");
  json shown = ctl_json({"approval", "show", "-w", "hook-5"});
  EXPECT_NE(shown["approval"]["webhook_error"].get<std::string>().find("403"), std::string::npos);
  ai::answer_approval(*client_, "hook-5", {"", true, "bob", ""});
  EXPECT_EQ(h.result<ai::ApprovalDecision>(30s).via, "update");
}

TEST_F(ApprovalWebhookTest, AFailingWebhookIsRetriedUntilItTakesTheNotice) {
  answer_with(503);
  auto h = start_approval("hook-6", {{"webhook_url", url()}});
  ASSERT_TRUE(eventually([&] { return posts() >= 1; }));
  answer_with(200);
  ASSERT_TRUE(eventually([&] { return posts() >= 2; }, 20s)) << "a 503 must be retried";
  ai::ApprovalDecision answer;
  answer.approved = true;
  answer.by = "alice";
  ai::answer_approval_notice(*client_, notices().back(), answer);
  EXPECT_EQ(h.result<ai::ApprovalDecision>(30s).via, "webhook");
}

TEST_F(ApprovalWebhookTest, EscalationNotifiesTheWebhookAgain) {
  auto h = start_approval("hook-7", {{"webhook_url", url()},
                                     {"timeout_ms", 500},
                                     {"escalation", {"carol"}},
                                     {"escalation_timeout_ms", 120'000}});
  ASSERT_TRUE(eventually([&] { return posts() == 2; })) << posts();
  ai::ApprovalNotice second = notices()[1];
  EXPECT_TRUE(second.escalated);
  EXPECT_EQ(second.activity_id, "cairn.approval." + second.approval_id + ".escalation");
  EXPECT_EQ(second.approvers, (std::vector<std::string>{"alice", "bob", "carol"}));
  ai::ApprovalDecision answer;
  answer.approved = true;
  answer.by = "carol";
  ai::answer_approval_notice(*client_, second, answer);
  auto d = h.result<ai::ApprovalDecision>(30s);
  EXPECT_EQ(d.via, "webhook");
  EXPECT_TRUE(d.escalated);
  EXPECT_EQ(d.by, "carol");
  expect_replays("hook-7");
}

}  // namespace
}  // namespace cairn::testing
