// OpenAiClient against a real cairn-model-endpoint process on loopback: answers plain and
// streamed, every fault of the endpoint classified as the table says, one HTTP request per call,
// cancellation closing the connection, and API keys from the environment and from a file that
// never show up in an error.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "ai/support/endpoint_process.h"
#include "cairn/ai/openai.h"
#include "e2e/server_process.h"

namespace cairn::ai {
namespace {

using namespace std::chrono_literals;
using cairn::testing::EndpointProcess;
using cairn::testing::TempDir;
using Clock = std::chrono::steady_clock;

ChatRequest question() {
  ChatRequest r;
  r.messages = {
      {.role = "system",
       .content = "Cairn keeps the history of every run in RocksDB. Workers run workflow code on "
                  "fibers. The server retries activities by their retry policy. Payloads above "
                  "the threshold are stored by reference."},
      {.role = "user", .content = "Where does Cairn keep the history of a run?"}};
  r.temperature = 0;
  r.seed = 1;
  return r;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);  // the polling interval
  }
  return done();
}

class ClientHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(endpoint_.start(&error)) << error;
  }

  EndpointConfig config() const {
    EndpointConfig c;
    c.name = "local-1";
    c.base_url = endpoint_.base_url();
    c.model = "cairn-echo";
    c.request_timeout = 20s;
    return c;
  }

  // The LlmError a chat call throws with `fault` set for one request.
  LlmError failure(const nlohmann::json& fault, bool stream = false) {
    endpoint_.set_fault(fault);
    OpenAiClient client(config());
    StreamOptions s;
    s.on_delta = [](std::string_view) { return true; };
    try {
      client.chat(question(), stream ? &s : nullptr);
    } catch (const LlmError& e) {
      return e;
    }
    ADD_FAILURE() << "no error for fault " << fault.dump();
    return LlmError("none", "", false, 0);
  }

  EndpointProcess endpoint_;
};

TEST_F(ClientHttpTest, AnswersFromTheContextWithUsage) {
  OpenAiClient client(config());
  ChatResponse r = client.chat(question());
  EXPECT_NE(r.message.content.find("RocksDB"), std::string::npos) << r.message.content;
  EXPECT_EQ(r.message.role, "assistant");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.model, "cairn-echo");
  EXPECT_GT(r.usage.prompt_tokens, 20);
  EXPECT_GT(r.usage.completion_tokens, 0);
  EXPECT_EQ(endpoint_.stats()["chat_requests"], 1);
}

TEST_F(ClientHttpTest, AStreamedAnswerEqualsThePlainOne) {
  OpenAiClient client(config());
  ChatResponse plain = client.chat(question());
  std::string pieces;
  int deltas = 0;
  StreamOptions s;
  s.on_delta = [&](std::string_view d) {
    pieces += d;
    ++deltas;
    return true;
  };
  ChatResponse streamed = client.chat(question(), &s);
  EXPECT_EQ(streamed.message.content, plain.message.content);
  EXPECT_EQ(pieces, plain.message.content);
  EXPECT_GT(deltas, 2) << "the answer came in one piece: not streamed";
  EXPECT_EQ(streamed.usage, plain.usage) << "usage from the final usage chunk";
  EXPECT_EQ(streamed.finish_reason, "stop");
  EXPECT_EQ(endpoint_.stats()["stream_requests"], 1);
}

TEST_F(ClientHttpTest, ToolCallsPlainAndStreamed) {
  ChatRequest r;
  r.messages = {{.role = "user", .content = "What is the weather in Oslo? Use get_weather."}};
  r.tools = {{.name = "get_weather",
              .description = "weather forecast for a city",
              .parameters = {{"type", "object"},
                             {"properties", {{"city", {{"type", "string"}}}}},
                             {"required", {"city"}}}}};
  r.temperature = 0;
  OpenAiClient client(config());
  ChatResponse plain = client.chat(r);
  ASSERT_EQ(plain.message.tool_calls.size(), 1u) << plain.message.content;
  EXPECT_EQ(plain.message.tool_calls[0].name, "get_weather");
  EXPECT_EQ(plain.finish_reason, "tool_calls");
  StreamOptions s;
  s.on_delta = [](std::string_view) { return true; };
  ChatResponse streamed = client.chat(r, &s);
  EXPECT_EQ(streamed.message.tool_calls, plain.message.tool_calls);
}

TEST_F(ClientHttpTest, StatusMatrix) {
  struct Case {
    nlohmann::json fault;
    const char* type;
    bool retryable;
    int status;
  };
  const Case cases[] = {
      {{{"mode", "status"}, {"status", 408}}, kTimeout, true, 408},
      {{{"mode", "status"}, {"status", 409}}, kConflict, true, 409},
      {{{"mode", "rate_limit"}}, kRateLimited, true, 429},
      {{{"mode", "status"}, {"status", 500}}, kServerError, true, 500},
      {{{"mode", "status"}, {"status", 502}}, kServerError, true, 502},
      {{{"mode", "status"}, {"status", 503}}, kServerError, true, 503},
      {{{"mode", "status"}, {"status", 400}}, kInvalidRequest, false, 400},
      {{{"mode", "status"}, {"status", 401}}, kAuthenticationFailed, false, 401},
      {{{"mode", "status"}, {"status", 403}}, kPermissionDenied, false, 403},
      {{{"mode", "status"}, {"status", 404}}, kNotFound, false, 404},
      {{{"mode", "status"}, {"status", 429}, {"error_code", "insufficient_quota"}},
       kInsufficientQuota,
       false,
       429},
      {{{"mode", "refuse"}}, kContentFiltered, false, 200},
  };
  int requests = 0;
  for (const Case& c : cases) {
    nlohmann::json fault = c.fault;
    fault["count"] = 1;
    LlmError e = failure(fault);
    ++requests;
    EXPECT_EQ(e.type(), c.type) << fault.dump() << ": " << e.what();
    EXPECT_EQ(!e.non_retryable(), c.retryable) << fault.dump();
    EXPECT_EQ(e.http_status(), c.status) << fault.dump();
    EXPECT_NE(std::string(e.what()).find("endpoint \"local-1\""), std::string::npos) << e.what();
  }
  EXPECT_EQ(endpoint_.stats()["chat_requests"], requests) << "the client retried on its own";
}

TEST_F(ClientHttpTest, ARefusedStreamIsContentFilteredToo) {
  LlmError e = failure({{"mode", "refuse"}, {"count", 1}}, /*stream=*/true);
  EXPECT_EQ(e.type(), kContentFiltered);
  EXPECT_TRUE(e.non_retryable());
}

TEST_F(ClientHttpTest, ContextLengthExceeded) {
  EndpointProcess small({"--context-window", "20"});
  std::string error;
  ASSERT_TRUE(small.start(&error)) << error;
  EndpointConfig c = config();
  c.base_url = small.base_url();
  try {
    OpenAiClient(c).chat(question());
    FAIL() << "a prompt over the context window was answered";
  } catch (const LlmError& e) {
    EXPECT_EQ(e.type(), kContextLengthExceeded) << e.what();
    EXPECT_TRUE(e.non_retryable());
    EXPECT_EQ(e.http_status(), 400);
  }
}

TEST_F(ClientHttpTest, RetryAfterFromTheEndpointBecomesTheNextRetryDelay) {
  LlmError seconds = failure({{"mode", "rate_limit"}, {"retry_after", "2"}, {"count", 1}});
  EXPECT_EQ(seconds.next_retry_delay(), 2000ms);
  LlmError ms = failure({{"mode", "rate_limit"}, {"retry_after_ms", 1500}, {"count", 1}});
  EXPECT_EQ(ms.next_retry_delay(), 1500ms);
  LlmError too_long = failure({{"mode", "rate_limit"}, {"retry_after", "600"}, {"count", 1}});
  EXPECT_TRUE(too_long.non_retryable()) << "past max_retry_after (60 s): fail fast";
  EXPECT_EQ(too_long.type(), kRateLimited);
  EXPECT_EQ(too_long.retry_after(), 600'000ms);
}

TEST_F(ClientHttpTest, AFailureAfterTheFirstStreamedTokenIsNotRetryable) {
  LlmError late = failure({{"mode", "stream_error"}, {"after_tokens", 3}, {"count", 1}},
                          /*stream=*/true);
  EXPECT_EQ(late.type(), kStreamInterrupted) << late.what();
  EXPECT_TRUE(late.non_retryable());
  LlmError early = failure({{"mode", "stream_error"}, {"after_tokens", 0}, {"count", 1}},
                           /*stream=*/true);
  EXPECT_EQ(early.type(), kServerError) << "no token yet: a retry duplicates nothing";
  EXPECT_FALSE(early.non_retryable());
}

TEST_F(ClientHttpTest, NoEndpointIsANetworkError) {
  EndpointConfig c = config();
  c.base_url = "http://127.0.0.1:1/v1";
  try {
    OpenAiClient(c).chat(question());
    FAIL() << "a call to a closed port succeeded";
  } catch (const LlmError& e) {
    EXPECT_EQ(e.type(), kNetworkError) << e.what();
    EXPECT_FALSE(e.non_retryable());
    EXPECT_EQ(e.http_status(), 0);
  }
}

TEST_F(ClientHttpTest, ARequestTimeoutIsATimeout) {
  endpoint_.set_fault({{"mode", "hang"}, {"count", 1}});
  EndpointConfig c = config();
  c.request_timeout = 300ms;
  try {
    OpenAiClient(c).chat(question());
    FAIL() << "a hanging endpoint answered";
  } catch (const LlmError& e) {
    EXPECT_EQ(e.type(), kTimeout) << e.what();
    EXPECT_FALSE(e.non_retryable());
  }
}

TEST_F(ClientHttpTest, CancellationClosesTheConnectionWithinASecond) {
  for (bool stream : {false, true}) {
    endpoint_.reset();
    endpoint_.set_fault({{"mode", "hang"}, {"count", 1}});
    std::atomic<bool> cancel{false};
    StreamOptions s;
    if (stream) {
      s.on_delta = [](std::string_view) { return true; };
    }
    s.cancelled = [&] { return cancel.load(); };
    OpenAiClient client(config());
    // At rest the endpoint counts one connection: the stats request's own.
    const int64_t idle = 1;
    ASSERT_TRUE(wait_for([&] { return endpoint_.stats()["open_connections"] == idle; }));
    auto call = std::async(std::launch::async, [&] { client.chat(question(), &s); });
    ASSERT_TRUE(wait_for([&] { return endpoint_.stats()["open_connections"] == idle + 1; }))
        << endpoint_.stats().dump();
    Clock::time_point at = Clock::now();
    cancel = true;
    EXPECT_THROW(call.get(), CanceledError);
    ASSERT_TRUE(wait_for([&] { return endpoint_.stats()["open_connections"] == idle; }, 2s));
    EXPECT_LT(Clock::now() - at, 1s) << "stream " << stream;
    if (stream) {
      EXPECT_TRUE(wait_for([&] { return endpoint_.stats()["cancelled_streams"] == 1; }, 2s))
          << endpoint_.stats().dump();
    }
  }
}

TEST_F(ClientHttpTest, OnDeltaFalseStopsTheStream) {
  EndpointProcess slow({"--tokens-per-second", "20"});
  std::string error;
  ASSERT_TRUE(slow.start(&error)) << error;
  EndpointConfig c = config();
  c.base_url = slow.base_url();
  int deltas = 0;
  StreamOptions s;
  s.on_delta = [&](std::string_view) { return ++deltas < 2; };
  EXPECT_THROW(OpenAiClient(c).chat(question(), &s), CanceledError);
  EXPECT_EQ(deltas, 2);
  EXPECT_TRUE(wait_for([&] { return slow.stats()["cancelled_streams"] == 1; }, 3s))
      << slow.stats().dump();
}

TEST_F(ClientHttpTest, EmbeddingsInInputOrderAndTheBatchLimit) {
  OpenAiClient client(config());
  EmbeddingResponse r = client.embed({"", {"history in RocksDB", "fibers", "history in RocksDB"}});
  ASSERT_EQ(r.data.size(), 3u);
  EXPECT_EQ(r.data[0].size(), 384u);
  EXPECT_EQ(r.data[0], r.data[2]);
  EXPECT_NE(r.data[0], r.data[1]);
  EXPECT_GT(r.usage.prompt_tokens, 0);
  EmbeddingRequest big;
  big.input.assign(OpenAiClient::kMaxEmbeddingInputs + 1, "x");
  try {
    client.embed(big);
    FAIL() << "an oversized batch was sent";
  } catch (const LlmError& e) {
    EXPECT_EQ(e.type(), kInvalidRequest);
  }
  EXPECT_EQ(endpoint_.stats()["embedding_requests"], 1);
}

// Keys: from the environment and from a file; the endpoint checks them; no error quotes them.
class ClientKeyTest : public ::testing::Test {
 protected:
  static constexpr char kKey[] = "sk-cairn-e2e-4f1d8a2b9c7e6053";
  void SetUp() override {
    ::setenv("CAIRN_E2E_ENDPOINT_KEY", kKey, 1);
    endpoint_ = std::make_unique<EndpointProcess>(
        std::vector<std::string>{"--api-key-env", "CAIRN_E2E_ENDPOINT_KEY"});
    std::string error;
    ASSERT_TRUE(endpoint_->start(&error)) << error;
  }
  void TearDown() override {
    ::unsetenv("CAIRN_E2E_ENDPOINT_KEY");
    ::unsetenv("CAIRN_E2E_CLIENT_KEY");
  }
  EndpointConfig config() const {
    EndpointConfig c;
    c.name = "keyed";
    c.base_url = endpoint_->base_url();
    c.model = "cairn-echo";
    return c;
  }
  std::unique_ptr<EndpointProcess> endpoint_;
  TempDir dir_;
};

TEST_F(ClientKeyTest, FromTheEnvironment) {
  ::setenv("CAIRN_E2E_CLIENT_KEY", kKey, 1);
  EndpointConfig c = config();
  c.api_key_env = "CAIRN_E2E_CLIENT_KEY";
  EXPECT_FALSE(OpenAiClient(c).chat(question()).message.content.empty());
  EXPECT_EQ(endpoint_->stats()["last_authorization_seen"], true);
}

TEST_F(ClientKeyTest, FromAFile) {
  std::string path = dir_.path() + "/key";
  std::ofstream(path) << "  " << kKey << "\n";
  EndpointConfig c = config();
  c.api_key_file = path;
  EXPECT_FALSE(OpenAiClient(c).chat(question()).message.content.empty());
  EXPECT_EQ(endpoint_->stats()["last_authorization_seen"], true);
}

TEST_F(ClientKeyTest, AWrongKeyIsAuthenticationFailedAndNeverQuoted) {
  const std::string wrong = "sk-wrong-key-77aa55cc";
  ::setenv("CAIRN_E2E_CLIENT_KEY", wrong.c_str(), 1);
  EndpointConfig c = config();
  c.api_key_env = "CAIRN_E2E_CLIENT_KEY";
  try {
    OpenAiClient(c).chat(question());
    FAIL() << "a wrong key was accepted";
  } catch (const LlmError& e) {
    EXPECT_EQ(e.type(), kAuthenticationFailed);
    EXPECT_TRUE(e.non_retryable());
    EXPECT_EQ(std::string(e.what()).find(wrong), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(kKey), std::string::npos) << e.what();
  }
}

TEST_F(ClientKeyTest, AMissingKeyNamesWhereItShouldBe) {
  EndpointConfig c = config();
  c.api_key_env = "CAIRN_E2E_CLIENT_KEY";  // not set
  try {
    OpenAiClient(c).chat(question());
    FAIL() << "a call without its key was sent";
  } catch (const LlmError& e) {
    EXPECT_EQ(e.type(), kAuthenticationFailed);
    EXPECT_NE(std::string(e.what()).find("CAIRN_E2E_CLIENT_KEY"), std::string::npos) << e.what();
  }
  c.api_key_env.clear();
  c.api_key_file = dir_.path() + "/missing";
  try {
    OpenAiClient(c).chat(question());
    FAIL() << "a call without its key file was sent";
  } catch (const LlmError& e) {
    EXPECT_EQ(e.type(), kAuthenticationFailed);
    EXPECT_NE(std::string(e.what()).find("/missing"), std::string::npos) << e.what();
  }
  EXPECT_EQ(endpoint_->stats()["chat_requests"], 0) << "nothing is sent without the key";
}

TEST_F(ClientKeyTest, NoKeyAtAllIsRefusedByTheEndpoint) {
  try {
    OpenAiClient(config()).chat(question());
    FAIL() << "the endpoint accepted a call without a key";
  } catch (const LlmError& e) {
    EXPECT_EQ(e.type(), kAuthenticationFailed);
    EXPECT_EQ(e.http_status(), 401);
  }
}

}  // namespace
}  // namespace cairn::ai
