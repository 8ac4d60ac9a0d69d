// The endpoint and the library's OpenAI client agree: cairn::ai::OpenAiClient against a real
// cairn-model-endpoint process — answers, usage, streams, tool calls, embeddings, and each
// fault classified as the client's error table says.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "cairn/ai/openai.h"
#include "cairn/ai/tokenizer.h"
#include "tests/ai/support/endpoint_process.h"
#include "tests/ai/support/process_util.h"

namespace cairn::testing {
namespace {

using ai::ChatRequest;
using ai::LlmError;
using ai::Message;

const char* kContext =
    "Refunds are issued within 5 business days after we receive the returned item. "
    "Shipping is free on orders over $50.";

ChatRequest refund_question() {
  ChatRequest r;
  r.messages = {{.role = "system", .content = kContext},
                {.role = "user", .content = "How long do refunds take?"}};
  r.temperature = 0;
  return r;
}

class EndpointClientTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args = {}) {
    endpoint_ = std::make_unique<EndpointProcess>(std::move(args));
    std::string error;
    ASSERT_TRUE(endpoint_->start(&error)) << error;
  }
  ai::OpenAiClient client(std::string key_env = "") {
    ai::EndpointConfig config;
    config.name = "local";
    config.base_url = endpoint_->base_url();
    config.model = "cairn-echo";
    config.api_key_env = std::move(key_env);
    config.request_timeout = std::chrono::seconds(10);
    return ai::OpenAiClient(config);
  }
  // The LlmError `fn` throws (a test failure when it throws none).
  template <class Fn>
  LlmError error_of(Fn fn) {
    try {
      fn();
    } catch (const LlmError& e) {
      return e;
    }
    ADD_FAILURE() << "no LlmError";
    return LlmError("none", "none", false, 0);
  }
  std::unique_ptr<EndpointProcess> endpoint_;
};

TEST_F(EndpointClientTest, ChatAnswersWithUsageOfTheTokenRule) {
  start();
  ai::ChatResponse r = client().chat(refund_question());
  EXPECT_EQ(r.message.role, "assistant");
  EXPECT_EQ(r.message.content,
            "Refunds are issued within 5 business days after we receive the returned item.");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.model, "cairn-echo");
  EXPECT_EQ(r.usage.prompt_tokens, ai::count_prompt_tokens(refund_question()));
  EXPECT_EQ(r.usage.completion_tokens, ai::count_tokens(r.message.content));
  EXPECT_EQ(endpoint_->stats()["chat_requests"], 1);
}

TEST_F(EndpointClientTest, StreamedDeltasMakeTheSameAnswer) {
  start({"--tokens-per-second", "200"});
  ai::ChatResponse plain = client().chat(refund_question());
  std::string streamed;
  int deltas = 0;
  ai::StreamOptions options;
  options.on_delta = [&](std::string_view d) {
    streamed += d;
    ++deltas;
    return true;
  };
  ai::ChatResponse r = client().chat(refund_question(), &options);
  EXPECT_EQ(streamed, plain.message.content);
  EXPECT_EQ(r.message.content, plain.message.content);
  EXPECT_EQ(r.usage, plain.usage);
  EXPECT_EQ(deltas, plain.usage.completion_tokens);
  EXPECT_EQ(endpoint_->stats()["stream_requests"], 1);
}

TEST_F(EndpointClientTest, ToolCallRoundTrip) {
  start();
  ChatRequest r;
  r.messages = {{.role = "user", .content = "What is the status of order A-77?"}};
  r.tools = {{.name = "get_order_status",
              .description = "Status of an order",
              .parameters = {{"type", "object"},
                             {"properties", {{"order_id", {{"type", "string"}}}}},
                             {"required", {"order_id"}}}}};
  ai::ChatResponse call = client().chat(r);
  EXPECT_EQ(call.finish_reason, "tool_calls");
  ASSERT_EQ(call.message.tool_calls.size(), 1u);
  EXPECT_EQ(call.message.tool_calls[0].name, "get_order_status");
  EXPECT_EQ(nlohmann::json::parse(call.message.tool_calls[0].arguments),
            nlohmann::json({{"order_id", "A-77"}}));
  r.messages.push_back(call.message);
  r.messages.push_back({.role = "tool",
                        .content = R"({"status": "delivered"})",
                        .tool_call_id = call.message.tool_calls[0].id});
  ai::ChatResponse answer = client().chat(r);
  EXPECT_EQ(answer.finish_reason, "stop");
  EXPECT_EQ(answer.message.content, "According to get_order_status, status is delivered.");
}

TEST_F(EndpointClientTest, EmbeddingsAreTheHashedEmbeddings) {
  start();
  ai::EmbeddingResponse r = client().embed({.model = "", .input = {"refund policy", "parking"}});
  ASSERT_EQ(r.data.size(), 2u);
  EXPECT_EQ(r.data[0], ai::hashed_embedding("refund policy"));
  EXPECT_EQ(r.data[1], ai::hashed_embedding("parking"));
  EXPECT_EQ(r.usage.prompt_tokens, ai::count_tokens("refund policy") + ai::count_tokens("parking"));
}

TEST_F(EndpointClientTest, FaultsAreClassified) {
  start({"--context-window", "60"});
  auto c = client();
  endpoint_->set_fault({{"mode", "rate_limit"}, {"retry_after", "2"}, {"count", 1}});
  LlmError limited = error_of([&] { c.chat(refund_question()); });
  EXPECT_EQ(limited.type(), ai::kRateLimited);
  EXPECT_FALSE(limited.non_retryable());
  EXPECT_EQ(limited.http_status(), 429);
  EXPECT_EQ(limited.retry_after(), std::chrono::milliseconds(2000));

  endpoint_->set_fault({{"mode", "rate_limit"}, {"retry_after_ms", 1500}, {"count", 1}});
  EXPECT_EQ(error_of([&] { c.chat(refund_question()); }).retry_after(),
            std::chrono::milliseconds(1500));

  endpoint_->set_fault({{"mode", "status"}, {"status", 503}, {"count", 1}});
  LlmError server = error_of([&] { c.chat(refund_question()); });
  EXPECT_EQ(server.type(), ai::kServerError);
  EXPECT_FALSE(server.non_retryable());

  endpoint_->set_fault(
      {{"mode", "status"}, {"status", 429}, {"error_code", "insufficient_quota"}, {"count", 1}});
  LlmError quota = error_of([&] { c.chat(refund_question()); });
  EXPECT_EQ(quota.type(), ai::kInsufficientQuota);
  EXPECT_TRUE(quota.non_retryable());

  endpoint_->set_fault({{"mode", "refuse"}, {"count", 1}});
  LlmError refused = error_of([&] { c.chat(refund_question()); });
  EXPECT_EQ(refused.type(), ai::kContentFiltered);
  EXPECT_TRUE(refused.non_retryable());

  ChatRequest long_prompt = refund_question();
  long_prompt.messages[0].content = std::string(300, 'x') + " " + std::string(300, 'y');
  LlmError too_long = error_of([&] { c.chat(long_prompt); });
  EXPECT_EQ(too_long.type(), ai::kContextLengthExceeded);
  EXPECT_TRUE(too_long.non_retryable());

  EXPECT_EQ(endpoint_->stats()["chat_requests"], 6);  // one HTTP request per call: no retries
}

TEST_F(EndpointClientTest, StreamErrorAfterTheFirstTokenIsInterrupted) {
  start();
  endpoint_->set_fault({{"mode", "stream_error"}, {"after_tokens", 2}, {"count", 1}});
  std::string streamed;
  ai::StreamOptions options;
  options.on_delta = [&](std::string_view d) {
    streamed += d;
    return true;
  };
  LlmError e = error_of([&] { client().chat(refund_question(), &options); });
  EXPECT_EQ(e.type(), ai::kStreamInterrupted);
  EXPECT_TRUE(e.non_retryable());
  EXPECT_EQ(streamed, "Refunds");  // "Refu" "nds"
}

TEST_F(EndpointClientTest, CancelledStreamClosesTheConnection) {
  start({"--tokens-per-second", "20"});
  ai::StreamOptions options;
  int deltas = 0;
  options.on_delta = [&](std::string_view) { return ++deltas < 2; };
  EXPECT_THROW(client().chat(refund_question(), &options), CanceledError);
  EXPECT_TRUE(ai_support::poll_until([&] { return endpoint_->stats()["cancelled_streams"] == 1; },
                                     std::chrono::seconds(5)));
}

TEST_F(EndpointClientTest, ApiKeyFromTheEnvironment) {
  ::setenv("CAIRN_CLIENT_TEST_KEY", "sk-client-test-1234", 1);
  start({"--api-key-env", "CAIRN_CLIENT_TEST_KEY"});
  EXPECT_EQ(client("CAIRN_CLIENT_TEST_KEY").chat(refund_question()).finish_reason, "stop");
  EXPECT_EQ(endpoint_->stats()["last_authorization_seen"], true);
  LlmError denied = error_of([&] { client().chat(refund_question()); });
  EXPECT_EQ(denied.type(), ai::kAuthenticationFailed);
  EXPECT_TRUE(denied.non_retryable());
  ::unsetenv("CAIRN_CLIENT_TEST_KEY");
}

}  // namespace
}  // namespace cairn::testing
