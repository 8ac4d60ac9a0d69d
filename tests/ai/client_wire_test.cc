// The OpenAI wire format: what a chat / embeddings request body holds, how answers and stream
// chunks are read (content, tool calls in fragments, usage with cached tokens, refusals).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ai/src/openai_wire.h"

namespace cairn::ai {
namespace {

using nlohmann::json;

TEST(ClientWire, ChatBodyCarriesEveryParameter) {
  ChatRequest r;
  r.messages = {
      {.role = "system", .content = "be brief"},
      {.role = "user", .content = "weather in Oslo?"},
      {.role = "assistant",
       .tool_calls = {{.id = "c1", .name = "weather", .arguments = "{\"city\":\"Oslo\"}"}}},
      {.role = "tool", .content = "rain", .tool_call_id = "c1"}};
  r.temperature = 0;
  r.max_tokens = 64;
  r.stop = {"\n\n"};
  r.seed = 7;
  r.tools = {{.name = "weather", .description = "forecast", .parameters = {{"type", "object"}}}};
  r.tool_choice = "auto";
  r.response_format = {{"type", "json_object"}};
  json b = chat_request_body(r, "cairn-echo", /*stream=*/false);
  EXPECT_EQ(b["model"], "cairn-echo");
  ASSERT_EQ(b["messages"].size(), 4u);
  EXPECT_EQ(b["messages"][1], (json{{"role", "user"}, {"content", "weather in Oslo?"}}));
  EXPECT_TRUE(b["messages"][2]["content"].is_null());
  EXPECT_EQ(b["messages"][2]["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Oslo\"}");
  EXPECT_EQ(b["messages"][2]["tool_calls"][0]["type"], "function");
  EXPECT_EQ(b["messages"][3]["tool_call_id"], "c1");
  EXPECT_EQ(b["temperature"], 0);
  EXPECT_EQ(b["max_tokens"], 64);
  EXPECT_EQ(b["stop"], json::array({"\n\n"}));
  EXPECT_EQ(b["seed"], 7);
  EXPECT_EQ(b["tools"][0]["function"]["name"], "weather");
  EXPECT_EQ(b["tools"][0]["function"]["parameters"], (json{{"type", "object"}}));
  EXPECT_EQ(b["tool_choice"], "auto");
  EXPECT_EQ(b["response_format"]["type"], "json_object");
  EXPECT_FALSE(b.contains("stream"));
}

TEST(ClientWire, UnsetParametersAreLeftOutAndTheRequestModelWins) {
  ChatRequest r;
  r.model = "gpt-4o-mini";
  r.messages = {{.role = "user", .content = "hi"}};
  json b = chat_request_body(r, "cairn-echo", /*stream=*/true);
  EXPECT_EQ(b["model"], "gpt-4o-mini");
  for (const char* k :
       {"temperature", "max_tokens", "stop", "seed", "tools", "tool_choice", "response_format"}) {
    EXPECT_FALSE(b.contains(k)) << k;
  }
  EXPECT_EQ(b["stream"], true);
  EXPECT_EQ(b["stream_options"]["include_usage"], true);
}

TEST(ClientWire, AnUnresolvedContentRefIsRefused) {
  ChatRequest r;
  r.messages = {{.role = "user", .content_ref = "blob:sha256:ab"}};
  EXPECT_THROW(chat_request_body(r, "m", false), std::invalid_argument);
}

TEST(ClientWire, ParsesAnAnswerWithToolCallsAndCachedTokens) {
  json body = json::parse(R"({
    "id": "chatcmpl-1", "model": "cairn-echo",
    "choices": [{"index": 0, "finish_reason": "tool_calls",
      "message": {"role": "assistant", "content": null,
        "tool_calls": [{"id": "c1", "type": "function",
          "function": {"name": "lookup", "arguments": "{\"q\":\"x\"}"}}]}}],
    "usage": {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35,
      "prompt_tokens_details": {"cached_tokens": 20}}})");
  ChatResponse r = parse_chat_response(body);
  EXPECT_EQ(r.id, "chatcmpl-1");
  EXPECT_EQ(r.model, "cairn-echo");
  EXPECT_EQ(r.finish_reason, "tool_calls");
  EXPECT_EQ(r.message.role, "assistant");
  EXPECT_EQ(r.message.content, "");
  ASSERT_EQ(r.message.tool_calls.size(), 1u);
  EXPECT_EQ(r.message.tool_calls[0], (ToolCall{"c1", "lookup", "{\"q\":\"x\"}"}));
  EXPECT_EQ(r.usage, (Usage{30, 5, 20}));
}

TEST(ClientWire, ARefusalIsAContentFilter) {
  json body = json::parse(
      R"({"choices":[{"finish_reason":"stop","message":{"content":null,"refusal":"no"}}]})");
  EXPECT_EQ(parse_chat_response(body).finish_reason, "content_filter");
}

TEST(ClientWire, AnswersWithoutChoicesAreRefused) {
  EXPECT_THROW(parse_chat_response(json::parse(R"({"choices":[]})")), std::runtime_error);
  EXPECT_THROW(parse_chat_response(json::parse(R"([1])")), std::runtime_error);
  EXPECT_THROW(parse_chat_response(json::parse(R"({"choices":[{}]})")), std::runtime_error);
}

TEST(ClientWire, StreamChunksAssembleContentToolCallsAndUsage) {
  ChatStreamAccumulator acc;
  EXPECT_EQ(acc.add(json::parse(
                R"({"id":"s1","model":"m","choices":[{"index":0,"delta":{"role":"assistant"}}]})")),
            "");
  EXPECT_FALSE(acc.saw_token());
  EXPECT_EQ(acc.add(json::parse(R"({"choices":[{"index":0,"delta":{"content":"Hel"}}]})")), "Hel");
  EXPECT_TRUE(acc.saw_token());
  EXPECT_EQ(acc.add(json::parse(R"({"choices":[{"index":0,"delta":{"content":"lo"}}]})")), "lo");
  acc.add(json::parse(
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"look","arguments":"{\"q\""}}]}}]})"));
  acc.add(json::parse(
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"up","arguments":":1}"}}]}}]})"));
  EXPECT_FALSE(acc.finished());
  acc.add(json::parse(R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"));
  EXPECT_TRUE(acc.finished());
  acc.add(json::parse(
      R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":2}}})"));
  ChatResponse r = acc.response();
  EXPECT_EQ(r.id, "s1");
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.message.content, "Hello");
  ASSERT_EQ(r.message.tool_calls.size(), 1u);
  EXPECT_EQ(r.message.tool_calls[0], (ToolCall{"c1", "lookup", "{\"q\":1}"}));
  EXPECT_EQ(r.finish_reason, "tool_calls");
  EXPECT_EQ(r.usage, (Usage{9, 4, 2}));
}

TEST(ClientWire, EmbeddingsAreOrderedByIndexAndCounted) {
  EmbeddingRequest req{"", {"a", "b"}};
  json body = embedding_request_body(req, "embed-1");
  EXPECT_EQ(body["model"], "embed-1");
  EXPECT_EQ(body["input"], json::array({"a", "b"}));
  json answer = json::parse(R"({"model":"embed-1","data":[
      {"index":1,"embedding":[0.0,1.0]},{"index":0,"embedding":[1.0,0.0]}],
      "usage":{"prompt_tokens":2,"total_tokens":2}})");
  EmbeddingResponse r = parse_embedding_response(answer, 2);
  EXPECT_EQ(r.data, (std::vector<std::vector<float>>{{1, 0}, {0, 1}}));
  EXPECT_EQ(r.usage.prompt_tokens, 2);
  EXPECT_THROW(parse_embedding_response(answer, 3), std::runtime_error);
  json repeated =
      json::parse(R"({"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[2]}]})");
  EXPECT_THROW(parse_embedding_response(repeated, 2), std::runtime_error);
}

}  // namespace
}  // namespace cairn::ai
