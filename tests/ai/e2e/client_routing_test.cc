// AiRuntime and the Router together, through cairn-server, with two real endpoint processes in
// one tier: a failing endpoint is cooled down for every workflow of the worker and the next
// attempt goes to the other; when all are cooling the attempt fails retryably with
// "TierCoolingDown"; a slow plain answer is kept alive by heartbeats.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "ai/e2e/client_workflow.h"
#include "ai/support/endpoint_process.h"
#include "cairn/ai/router.h"
#include "cairn/ai/runtime.h"
#include "e2e/fixture.h"

namespace cairn::ai {
namespace {

using namespace std::chrono_literals;
using cairn::ai::client_testing::chat_workflow;
using cairn::ai::client_testing::ChatCall;
using cairn::testing::EndpointProcess;

ChatRequest question() {
  ChatRequest r;
  r.messages = {{.role = "system", .content = "Cairn keeps the history of every run in RocksDB."},
                {.role = "user", .content = "Where is the history kept?"}};
  r.temperature = 0;
  return r;
}

class ClientRoutingTest : public cairn::testing::E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    std::string error;
    ASSERT_TRUE(a_.start(&error)) << error;
    ASSERT_TRUE(b_.start(&error)) << error;
  }

  void start_worker(std::chrono::milliseconds cooldown) {
    RouterConfig c;
    TierConfig t;
    t.name = "standard";
    t.model = "cairn-echo";
    EndpointConfig a{.name = "standard-a", .base_url = a_.base_url()};
    EndpointConfig b{.name = "standard-b", .base_url = b_.base_url()};
    t.endpoints = {a, b};
    c.tiers = {t};
    c.default_tier = "standard";
    c.cooldown = cooldown;
    runtime_ = std::make_unique<AiRuntime>(std::move(c));
    Worker& w = new_worker("ai-routing");
    runtime_->register_activities(w);
    w.register_workflow("client.chat", &chat_workflow);
    w.start();
  }

  WorkflowHandle start(const std::string& id, const ChatCall& call) {
    return client_->start("client.chat", start_options(id, "ai-routing"), call);
  }

  static int64_t requests(const EndpointProcess& e) {
    return e.stats()["chat_requests"].get<int64_t>();
  }

  EndpointProcess a_;
  EndpointProcess b_;
  std::unique_ptr<AiRuntime> runtime_;
};

TEST_F(ClientRoutingTest, AFailingEndpointRestsForEveryWorkflowAndTheOtherServes) {
  start_worker(30s);
  a_.set_fault({{"mode", "status"}, {"status", 503}, {"count", -1}});
  for (int i = 0; i < 4; ++i) {
    ChatResult r = start("wf-failover-" + std::to_string(i), {.attempt = {.request = question()}})
                       .result<ChatResult>(30s);
    EXPECT_EQ(r.endpoint, "standard-b") << "run " << i;
  }
  // Round robin reaches standard-a once; after its 503 it rests for 30 s, for all four runs.
  EXPECT_EQ(requests(a_), 1);
  EXPECT_EQ(requests(b_), 4);
}

TEST_F(ClientRoutingTest, AllEndpointsRestingIsTierCoolingDown) {
  start_worker(20s);
  a_.set_fault({{"mode", "status"}, {"status", 503}, {"count", -1}});
  b_.set_fault({{"mode", "status"}, {"status", 503}, {"count", -1}});
  WorkflowHandle h =
      start("wf-all-cooling", {.attempt = {.request = question()}, .max_attempts = 3});
  EXPECT_THROW(h.result<ChatResult>(30s), WorkflowFailedError);
  auto events = h.history();
  const v1::HistoryEvent* failed = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_FAILED);
  ASSERT_NE(failed, nullptr);
  const auto& attrs = failed->activity_task_failed_event_attributes();
  EXPECT_EQ(attrs.attempt(), 3);
  EXPECT_EQ(attrs.failure().application_failure_info().type(), "TierCoolingDown")
      << attrs.failure().message();
  EXPECT_EQ(attrs.last_failure().application_failure_info().type(), kServerError);
  EXPECT_EQ(requests(a_) + requests(b_), 2) << "the third attempt sent nothing";
}

TEST_F(ClientRoutingTest, ASlowPlainAnswerIsKeptAliveByHeartbeats) {
  start_worker(0s);
  a_.set_fault({{"mode", "slow"}, {"delay_ms", 2500}, {"count", -1}});
  b_.set_fault({{"mode", "slow"}, {"delay_ms", 2500}, {"count", -1}});
  ChatResult r =
      start("wf-slow",
            {.attempt = {.request = question()}, .max_attempts = 1, .heartbeat_ms = 1000})
          .result<ChatResult>(30s);
  EXPECT_GE(r.duration_ms, 2500);
  EXPECT_NE(r.response.message.content.find("RocksDB"), std::string::npos);
}

}  // namespace
}  // namespace cairn::ai
