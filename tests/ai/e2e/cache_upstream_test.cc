// The cache in front of a real model endpoint (cairn-model-endpoint) with a real redis-server:
// ten identical concurrent requests make one upstream HTTP call (counted by the endpoint), the
// others are hits that cost nothing; a changed parameter goes upstream again.
#include <thread>

#include <gtest/gtest.h>

#include "cairn/ai/cache.h"
#include "cairn/ai/openai.h"
#include "cairn/ai/router.h"
#include "tests/ai/support/endpoint_process.h"
#include "tests/ai/support/redis_process.h"

namespace cairn::ai {
namespace {

using cairn::testing::EndpointProcess;
using cairn::testing::RedisProcess;

RouterConfig config_for(const EndpointProcess& endpoint) {
  return parse_router_config(R"(default_tier: economy
tiers:
  - name: economy
    model: cairn-echo
    input_per_million: 0.25
    output_per_million: 1.25
    endpoints:
      - name: economy-a
        base_url: )" + endpoint.base_url() +
                                 "\n",
                             "cache-upstream.yaml");
}

ChatAttempt question(const std::string& q) {
  ChatAttempt a;
  a.request.messages = {
      Message{"system", "Passwords are reset from the account page. Refunds take five days."},
      Message{"user", q}};
  a.request.temperature = 0.0;
  a.request.seed = 1;
  return a;
}

class CacheUpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(endpoint_.start(&error)) << error;
    ASSERT_TRUE(redis_.start(&error)) << error;
  }

  // What the chat activity does on a miss: pick an endpoint, call it, price the usage.
  ChatResult call_upstream(Router& router, const ChatAttempt& attempt) {
    const EndpointConfig& e = router.pick_endpoint("economy", Router::TimePoint{});
    OpenAiClient client(e);
    ChatResult r;
    r.response = client.chat(attempt.request);
    r.tier = "economy";
    r.endpoint = e.name;
    r.model = r.response.model;
    r.usage = r.response.usage;
    r.cost_micros = cost(*router.config().price_for("economy"), r.usage, 0);
    return r;
  }

  EndpointProcess endpoint_{{"--latency-ms", "200"}};
  RedisProcess redis_;
};

TEST_F(CacheUpstreamTest, TenIdenticalConcurrentRequestsMakeOneUpstreamCall) {
  Router router(config_for(endpoint_));
  CacheOptions options;
  options.port = redis_.port();
  ResponseCache cache(options);
  const ChatAttempt attempt = question("How do I reset my password?");
  ASSERT_TRUE(ResponseCache::cacheable(attempt));
  const std::string key = ResponseCache::cache_key(attempt, "economy", "cairn-echo", "default");

  std::vector<ChatResult> results(10);
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      results[i] = cache.get_or_compute(key, [&] { return call_upstream(router, attempt); });
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(endpoint_.stats().value("chat_requests", -1), 1);
  int paid = 0;
  for (const auto& r : results) {
    EXPECT_EQ(r.response.message.content, results[0].response.message.content);
    EXPECT_FALSE(r.response.message.content.empty());
    EXPECT_GT(r.usage.prompt_tokens, 0);
    if (!r.cache_hit) {
      ++paid;
      EXPECT_GT(r.cost_micros, 0);
    } else {
      EXPECT_EQ(r.cost_micros, 0);
    }
  }
  EXPECT_EQ(paid, 1) << "one call paid for, nine served from it";
  EXPECT_EQ(cache.stats().computes, 1);

  // The same request later: a hit from Redis, no HTTP call.
  CacheOutcome outcome{};
  cache.get_or_compute(
      key, [&] { return call_upstream(router, attempt); }, &outcome);
  EXPECT_EQ(outcome, CacheOutcome::kHit);
  EXPECT_EQ(endpoint_.stats().value("chat_requests", -1), 1);

  // A changed parameter (max_tokens) is another key: upstream again.
  ChatAttempt other = attempt;
  other.request.max_tokens = 50;
  const std::string other_key = ResponseCache::cache_key(other, "economy", "cairn-echo", "default");
  ASSERT_NE(other_key, key);
  cache.get_or_compute(
      other_key, [&] { return call_upstream(router, other); }, &outcome);
  EXPECT_EQ(outcome, CacheOutcome::kMiss);
  EXPECT_EQ(endpoint_.stats().value("chat_requests", -1), 2);
}

}  // namespace
}  // namespace cairn::ai
