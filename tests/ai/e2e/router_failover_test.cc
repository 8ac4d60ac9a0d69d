// Cooldowns against real endpoints: a tier of two cairn-model-endpoint processes, one failing
// with 503; after its failure is reported the router sends every call to the other until the
// cooldown (or the Retry-After of a 429) has passed — one failed HTTP request, not one per call.
#include <set>

#include <gtest/gtest.h>

#include "cairn/ai/openai.h"
#include "cairn/ai/router.h"
#include "tests/ai/support/endpoint_process.h"

namespace cairn::ai {
namespace {

using cairn::testing::EndpointProcess;
using std::chrono::seconds;

class RouterFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(a_.start(&error)) << error;
    ASSERT_TRUE(b_.start(&error)) << error;
    config_ = parse_router_config(R"(default_tier: economy
cooldown: 30s
tiers:
  - name: economy
    model: cairn-echo
    endpoints:
      - name: a
        base_url: )" + a_.base_url() + R"(
      - name: b
        base_url: )" + b_.base_url() + "\n",
                                  "failover.yaml");
  }

  // One call as the chat activity makes it: pick, call, report.
  std::string call(Router& router, Router::TimePoint now) {
    const EndpointConfig& e = router.pick_endpoint("economy", now);
    ChatRequest request;
    request.messages = {Message{"user", "hello there"}};
    try {
      OpenAiClient(e).chat(request);
      router.report_success(e.name);
      return e.name;
    } catch (const LlmError& error) {
      router.report_failure(e.name, now, error.retry_after().value_or(std::chrono::seconds(0)));
      return e.name + ":" + error.type();
    }
  }

  EndpointProcess a_;
  EndpointProcess b_;
  RouterConfig config_;
};

const Router::TimePoint t0{seconds(5000)};

TEST_F(RouterFailoverTest, FailedEndpointRestsForTheCooldown) {
  a_.set_fault({{"mode", "status"}, {"status", 503}, {"count", -1}});
  Router router(config_);
  EXPECT_EQ(call(router, t0), "a:ServerError");
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(call(router, t0 + seconds(i)), "b");
  }
  EXPECT_EQ(a_.stats().value("chat_requests", -1), 1) << "no request to a while it rests";
  EXPECT_EQ(b_.stats().value("chat_requests", -1), 6);
  // The cooldown over and a healthy again: a takes calls again.
  a_.reset();
  std::set<std::string> served;
  for (int i = 0; i < 2; ++i) {
    served.insert(call(router, t0 + seconds(30)));
  }
  EXPECT_EQ(served, (std::set<std::string>{"a", "b"}));
}

TEST_F(RouterFailoverTest, RetryAfterOfA429SetsTheRest) {
  a_.set_fault({{"mode", "rate_limit"}, {"retry_after", "2"}, {"count", 1}});
  b_.set_fault({{"mode", "rate_limit"}, {"retry_after", "5"}, {"count", 1}});
  Router router(config_);
  EXPECT_EQ(call(router, t0), "a:RateLimited");
  EXPECT_EQ(call(router, t0), "b:RateLimited");
  // Both rest: the tier is cooling down until a's 2 s are over.
  try {
    router.pick_endpoint("economy", t0 + seconds(1));
    FAIL() << "picked a resting endpoint";
  } catch (const ApplicationError& e) {
    EXPECT_EQ(e.type(), "TierCoolingDown");
    EXPECT_EQ(e.next_retry_delay(), seconds(1));
  }
  EXPECT_EQ(call(router, t0 + seconds(2)), "a");
  EXPECT_EQ(a_.stats().value("chat_requests", -1), 2);
  EXPECT_EQ(b_.stats().value("chat_requests", -1), 1);
}

}  // namespace
}  // namespace cairn::ai
