// cairn-model-endpoint's switchable faults, context window and API key, over real loopback
// HTTP; and the Redis fixture's start, stop, kill and restart.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "tests/ai/support/endpoint_process.h"
#include "tests/ai/support/http_client.h"
#include "tests/ai/support/process_util.h"
#include "tests/ai/support/redis_process.h"

namespace cairn::testing {
namespace {

using nlohmann::json;

std::string simple_chat(const std::string& text = "Is shipping free? Shipping is free.") {
  return json({{"messages", json::array({{{"role", "user"}, {"content", text}}})}}).dump();
}

class EndpointFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(endpoint_.start(&error)) << error;
  }
  HttpResponse chat(const std::string& body = simple_chat()) {
    return http_post(endpoint_.base_url() + "/chat/completions", body);
  }
  EndpointProcess endpoint_;
};

TEST_F(EndpointFaultTest, StatusFaultForCountRequestsThenNormal) {
  endpoint_.set_fault({{"mode", "status"}, {"status", 503}, {"count", 2}});
  HttpResponse first = chat();
  EXPECT_EQ(first.status, 503);
  EXPECT_EQ(json::parse(first.body)["error"]["type"], "server_error");
  EXPECT_EQ(chat().status, 503);
  EXPECT_EQ(chat().status, 200);
  json stats = endpoint_.stats();
  EXPECT_EQ(stats["chat_requests"], 3);
  EXPECT_EQ(stats["by_status"]["503"], 2);
  EXPECT_EQ(stats["by_status"]["200"], 1);
}

TEST_F(EndpointFaultTest, RateLimitCarriesEachRetryAfterForm) {
  endpoint_.set_fault({{"mode", "rate_limit"}, {"retry_after", "2"}, {"count", 1}});
  HttpResponse seconds = chat();
  EXPECT_EQ(seconds.status, 429);
  EXPECT_EQ(seconds.headers["retry-after"], "2");
  EXPECT_EQ(seconds.headers.count("retry-after-ms"), 0u);
  EXPECT_EQ(json::parse(seconds.body)["error"]["code"], "rate_limit_exceeded");

  endpoint_.set_fault(
      {{"mode", "rate_limit"}, {"retry_after", "Wed, 21 Oct 2026 07:28:00 GMT"}, {"count", 1}});
  EXPECT_EQ(chat().headers["retry-after"], "Wed, 21 Oct 2026 07:28:00 GMT");

  endpoint_.set_fault({{"mode", "rate_limit"}, {"retry_after_ms", 1500}, {"count", 1}});
  HttpResponse ms = chat();
  EXPECT_EQ(ms.status, 429);
  EXPECT_EQ(ms.headers["retry-after-ms"], "1500");
  EXPECT_EQ(ms.headers.count("retry-after"), 0u);

  EXPECT_EQ(chat().status, 200);  // count 1: over
}

TEST_F(EndpointFaultTest, ErrorCodeAndForeverCount) {
  endpoint_.set_fault({{"mode", "status"}, {"status", 429}, {"error_code", "insufficient_quota"}});
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = chat();
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "insufficient_quota");
  }
  endpoint_.set_fault({{"mode", "ok"}});
  EXPECT_EQ(chat().status, 200);
}

TEST_F(EndpointFaultTest, RefuseIsContentFilterWithEmptyContent) {
  endpoint_.set_fault({{"mode", "refuse"}, {"count", 1}});
  HttpResponse r = chat();
  ASSERT_EQ(r.status, 200);
  json j = json::parse(r.body);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "content_filter");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "");
  EXPECT_EQ(j["usage"]["completion_tokens"], 0);
}

TEST_F(EndpointFaultTest, SlowDelaysTheAnswer) {
  endpoint_.set_fault({{"mode", "slow"}, {"delay_ms", 400}, {"count", 1}});
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(chat().status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
  // A client that gives up first gets nothing.
  endpoint_.set_fault({{"mode", "slow"}, {"delay_ms", 5000}, {"count", 1}});
  HttpResponse cut = http_post(endpoint_.base_url() + "/chat/completions", simple_chat(), {},
                               std::chrono::milliseconds(200));
  EXPECT_EQ(cut.status, 0);
  EXPECT_FALSE(cut.error.empty());
}

TEST_F(EndpointFaultTest, HangNeverAnswersUntilTheClientCloses) {
  endpoint_.set_fault({{"mode", "hang"}, {"count", 1}});
  HttpResponse r = http_post(endpoint_.base_url() + "/chat/completions", simple_chat(), {},
                             std::chrono::milliseconds(300));
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("imeout"), std::string::npos) << r.error;
  // The hanging handler notices the close and frees its connection.
  EXPECT_TRUE(ai_support::poll_until([&] { return endpoint_.stats()["open_connections"] == 1; },
                                     std::chrono::seconds(10)));
  EXPECT_EQ(chat().status, 200);
}

TEST_F(EndpointFaultTest, ConcurrentRequestsAreServedTogether) {
  endpoint_.set_fault({{"mode", "slow"}, {"delay_ms", 1500}, {"count", 8}});
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] { ok += chat().status == 200 ? 1 : 0; });
  }
  // All eight are in flight at once (plus the stats call's own connection).
  EXPECT_TRUE(ai_support::poll_until([&] { return endpoint_.stats()["open_connections"] == 9; },
                                     std::chrono::seconds(10)));
  for (auto& t : clients) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(endpoint_.stats()["chat_requests"], 8);
}

TEST_F(EndpointFaultTest, StopEndsHangingRequests) {
  endpoint_.set_fault({{"mode", "hang"}});
  std::atomic<bool> done{false};
  HttpResponse hung;
  std::thread client([&] {
    hung = http_post(endpoint_.base_url() + "/chat/completions", simple_chat(), {},
                     std::chrono::seconds(60));
    done = true;
  });
  ASSERT_TRUE(ai_support::poll_until([&] { return endpoint_.stats()["open_connections"] == 2; },
                                     std::chrono::seconds(10)));
  endpoint_.stop();
  EXPECT_TRUE(ai_support::poll_until([&] { return done.load(); }, std::chrono::seconds(10)));
  client.join();
  EXPECT_EQ(hung.status, 503) << hung.error;
  EXPECT_NE(hung.body.find("shutting down"), std::string::npos) << hung.body;
  EXPECT_NE(endpoint_.log().find("received SIGTERM"), std::string::npos) << endpoint_.log();
}

TEST_F(EndpointFaultTest, BadFaultsAreRefusedWithTheField) {
  HttpResponse r = http_post(endpoint_.root_url() + "/control/faults", R"({"mode": "explode"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("mode: expected one of"), std::string::npos) << r.body;
  r = http_post(endpoint_.root_url() + "/control/faults", R"({"mode": "status", "status": 42})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("status:"), std::string::npos) << r.body;
  r = http_post(endpoint_.root_url() + "/control/faults", R"({"mode": "status", "count": 0})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("count:"), std::string::npos) << r.body;
}

TEST(EndpointOptionsTest, ContextWindowRejectsLongPrompts) {
  EndpointProcess endpoint({"--context-window", "40", "--model", "small-model"});
  std::string error;
  ASSERT_TRUE(endpoint.start(&error)) << error;
  HttpResponse ok = http_post(endpoint.base_url() + "/chat/completions", simple_chat("Hi?"));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["model"], "small-model");
  std::string long_text(400, 'a');
  for (size_t i = 0; i < long_text.size(); i += 5) {
    long_text[i] = ' ';
  }
  HttpResponse r = http_post(endpoint.base_url() + "/chat/completions", simple_chat(long_text));
  EXPECT_EQ(r.status, 400);
  json j = json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "context_length_exceeded");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("maximum context length is 40"),
            std::string::npos);
}

TEST(EndpointOptionsTest, ApiKeyRequiredAndNeverLogged) {
  const std::string key = "sk-test-e2e-9f8e7d6c5b4a";
  ::setenv("CAIRN_ENDPOINT_TEST_KEY", key.c_str(), 1);
  EndpointProcess endpoint({"--api-key-env", "CAIRN_ENDPOINT_TEST_KEY"});
  std::string error;
  ASSERT_TRUE(endpoint.start(&error)) << error;
  ::unsetenv("CAIRN_ENDPOINT_TEST_KEY");
  std::string url = endpoint.base_url() + "/chat/completions";

  HttpResponse none = http_post(url, simple_chat());
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(endpoint.stats()["last_authorization_seen"], false);
  HttpResponse wrong = http_post(url, simple_chat(), {"Authorization: Bearer sk-wrong"});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(json::parse(wrong.body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(wrong.body.find("sk-wrong"), std::string::npos);
  HttpResponse right = http_post(url, simple_chat(), {"Authorization: Bearer " + key});
  EXPECT_EQ(right.status, 200) << right.body;
  EXPECT_EQ(endpoint.stats()["last_authorization_seen"], true);
  HttpResponse embed = http_post(endpoint.base_url() + "/embeddings", R"({"input": "x"})");
  EXPECT_EQ(embed.status, 401);

  endpoint.stop();
  std::string log = endpoint.log();
  EXPECT_NE(log.find("POST /v1/chat/completions 401"), std::string::npos) << log;
  EXPECT_EQ(log.find(key), std::string::npos) << log;
  EXPECT_EQ(log.find("sk-wrong"), std::string::npos) << log;
}

TEST(EndpointOptionsTest, MissingKeyVariableFailsAtStart) {
  ::unsetenv("CAIRN_ENDPOINT_TEST_UNSET");
  EndpointProcess endpoint({"--api-key-env", "CAIRN_ENDPOINT_TEST_UNSET"});
  std::string error;
  EXPECT_FALSE(endpoint.start(&error));
  EXPECT_NE(error.find("CAIRN_ENDPOINT_TEST_UNSET"), std::string::npos) << error;
}

TEST(EndpointOptionsTest, RestartKeepsThePort) {
  EndpointProcess endpoint;
  std::string error;
  ASSERT_TRUE(endpoint.start(&error)) << error;
  int port = endpoint.port();
  endpoint.kill9();
  EXPECT_EQ(http_get(endpoint.root_url() + "/health", std::chrono::seconds(1)).status, 0);
  ASSERT_TRUE(endpoint.start(&error)) << error;
  EXPECT_EQ(endpoint.port(), port);
  EXPECT_EQ(endpoint.stats()["chat_requests"], 0);
}

TEST(RedisProcessTest, StartsWithConfigStopsAndRestartsOnTheSamePort) {
  RedisProcess redis({"maxmemory 2mb", "maxmemory-policy allkeys-lru"});
  std::string error;
  ASSERT_TRUE(redis.start(&error)) << error;
  EXPECT_GT(redis.port(), 0);
  EXPECT_EQ(redis.command("PING"), "+PONG\r\n");
  EXPECT_NE(redis.command("CONFIG GET maxmemory-policy").find("allkeys-lru"), std::string::npos);
  EXPECT_NE(redis.command("CONFIG GET save").find("\r\n\r\n"), std::string::npos)
      << "persistence must be off unless asked for";
  EXPECT_EQ(redis.command("SET k v"), "+OK\r\n");
  int port = redis.port();
  redis.kill9();
  EXPECT_EQ(redis.command("PING"), "");
  ASSERT_TRUE(redis.start(&error)) << error;
  EXPECT_EQ(redis.port(), port);
  EXPECT_EQ(redis.command("GET k"), "$-1\r\n");  // nothing persisted across the kill
  redis.stop();
  EXPECT_FALSE(redis.running());
  EXPECT_EQ(redis.command("PING"), "");
}

}  // namespace
}  // namespace cairn::testing
