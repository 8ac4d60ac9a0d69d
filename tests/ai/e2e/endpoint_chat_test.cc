// cairn-model-endpoint over real loopback HTTP: the OpenAI shapes of chat completions, models
// and embeddings, usage equal to the library's token rule, deterministic extractive answers
// and tool calls.
#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "cairn/ai/tokenizer.h"
#include "tests/ai/support/endpoint_process.h"
#include "tests/ai/support/http_client.h"

namespace cairn::testing {
namespace {

using nlohmann::json;

const char* kKnowledge =
    "Refunds are issued within 5 business days after we receive the returned item. "
    "Shipping is free on orders over $50. "
    "You can reset your password from the login page by clicking Forgot password.";

// Little-endian float32 values from base64 (OpenAI's encoding_format "base64").
std::vector<float> decode_floats(const std::string& b64) {
  auto value = [](char c) -> uint32_t {
    if (c >= 'A' && c <= 'Z')
      return static_cast<uint32_t>(c - 'A');
    if (c >= 'a' && c <= 'z')
      return static_cast<uint32_t>(c - 'a' + 26);
    if (c >= '0' && c <= '9')
      return static_cast<uint32_t>(c - '0' + 52);
    return c == '+' ? 62u : 63u;
  };
  std::string bytes;
  for (size_t i = 0; i + 3 < b64.size(); i += 4) {
    uint32_t n = value(b64[i]) << 18 | value(b64[i + 1]) << 12;
    bytes.push_back(static_cast<char>(n >> 16));
    if (b64[i + 2] != '=') {
      n |= value(b64[i + 2]) << 6;
      bytes.push_back(static_cast<char>((n >> 8) & 0xff));
    }
    if (b64[i + 3] != '=') {
      n |= value(b64[i + 3]);
      bytes.push_back(static_cast<char>(n & 0xff));
    }
  }
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

class EndpointChatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(endpoint_.start(&error)) << error;
  }

  json chat(const json& body, long expect_status = 200) {
    HttpResponse r = http_post(endpoint_.base_url() + "/chat/completions", body.dump());
    EXPECT_EQ(r.status, expect_status) << r.error << " " << r.body;
    return json::parse(r.body, nullptr, false);
  }

  static json question(const std::string& q) {
    return {{"model", "cairn-echo"},
            {"temperature", 0},
            {"messages", json::array({{{"role", "system"}, {"content", kKnowledge}},
                                      {{"role", "user"}, {"content", q}}})}};
  }

  EndpointProcess endpoint_;
};

TEST_F(EndpointChatTest, AnswersWithTheBestMatchingSentenceInTheOpenAiShape) {
  json r = chat(question("How long do refunds take?"));
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["model"], "cairn-echo");
  EXPECT_EQ(r["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  ASSERT_EQ(r["choices"].size(), 1u);
  const json& choice = r["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_EQ(choice["message"]["content"],
            "Refunds are issued within 5 business days after we receive the returned item.");

  json other = chat(question("I forgot my password, how do I reset it?"));
  EXPECT_EQ(other["choices"][0]["message"]["content"],
            "You can reset your password from the login page by clicking Forgot password.");
}

TEST_F(EndpointChatTest, UsageFollowsTheLibraryTokenRule) {
  json r = chat(question("How long do refunds take?"));
  ai::ChatRequest request;
  request.messages = {{.role = "system", .content = kKnowledge},
                      {.role = "user", .content = "How long do refunds take?"}};
  std::string content = r["choices"][0]["message"]["content"];
  EXPECT_EQ(r["usage"]["prompt_tokens"], ai::count_prompt_tokens(request));
  EXPECT_EQ(r["usage"]["completion_tokens"], ai::count_tokens(content));
  EXPECT_EQ(r["usage"]["total_tokens"],
            ai::count_prompt_tokens(request) + ai::count_tokens(content));
  EXPECT_EQ(r["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
}

TEST_F(EndpointChatTest, SameRequestSameAnswer) {
  json body = question("Is shipping free?");
  body["seed"] = 7;
  json a = chat(body);
  json b = chat(body);
  EXPECT_EQ(a["choices"][0]["message"], b["choices"][0]["message"]);
  EXPECT_EQ(a["usage"], b["usage"]);
  EXPECT_NE(a["id"], b["id"]);  // each completion has its own id
  EXPECT_EQ(a["choices"][0]["message"]["content"], "Shipping is free on orders over $50.");
}

TEST_F(EndpointChatTest, AnswersATicketFromRetrievedChunks) {
  // As the support agent sends it: instructions, retrieved chunks with source tags (two
  // overlapping, one cut mid-sentence), and a ticket whose question follows the customer's
  // own story.
  std::string context =
      "You are a support agent for Acme. Answer the customer using only the context below.\n"
      "Context:\n"
      "[refunds.md#0] # Refund policy\n"
      "Refunds are issued to the original payment method within 5 business days after we "
      "receive the returned item. Items must be returned within 30 days of delivery.\n"
      "[refunds.md#1] Items must be returned within 30 days of delivery. Shipping costs are "
      "not refundable unless the item arrived damaged.\n"
      "[shipping.md#0] Standard shipping takes 3 to 5 business days. Express shipping "
      "delivers the next\n"
      "[account.md#0] To reset your password, click Forgot password on the login page.";
  auto ask = [&](const std::string& ticket) {
    json body = {{"temperature", 0},
                 {"messages", json::array({{{"role", "system"}, {"content", context}},
                                           {{"role", "user"}, {"content", ticket}}})}};
    return chat(body)["choices"][0]["message"]["content"].get<std::string>();
  };
  EXPECT_EQ(ask("Hi, I ordered a blender last week and my refund has not arrived. How long do "
                "refunds take?"),
            "Refunds are issued to the original payment method within 5 business days after we "
            "receive the returned item.");
  EXPECT_EQ(ask("How long does shipping take?"), "Standard shipping takes 3 to 5 business days.");
  std::string returns = ask("Until when can items be returned?");
  std::string sentence = "Items must be returned within 30 days of delivery.";
  size_t at = returns.find(sentence);
  ASSERT_NE(at, std::string::npos) << returns;
  EXPECT_EQ(returns.find(sentence, at + 1), std::string::npos) << "repeated: " << returns;
}

TEST_F(EndpointChatTest, ResponseFormatShapesTheAnswerAsJson) {
  json body = question("Is shipping free?");
  body["response_format"] = {{"type", "json_object"}};
  json content = json::parse(chat(body)["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_EQ(content, json({{"answer", "Shipping is free on orders over $50."}}));

  json schema = {{"type", "object"},
                 {"properties",
                  {{"complexity", {{"type", "string"}, {"enum", {"low", "medium", "high"}}}},
                   {"summary", {{"type", "string"}}},
                   {"confident", {{"type", "boolean"}}}}},
                 {"required", {"complexity", "summary", "confident"}}};
  body = question("Is this a high priority shipping question?");
  body["response_format"] = {{"type", "json_schema"},
                             {"json_schema", {{"name", "triage"}, {"schema", schema}}}};
  content = json::parse(chat(body)["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_EQ(content["complexity"], "high");
  EXPECT_EQ(content["summary"], "Shipping is free on orders over $50.");
  EXPECT_EQ(content["confident"], false);
}

TEST_F(EndpointChatTest, NoMatchingContextSaysSo) {
  json r = chat(question("Do you sell bicycles?"));
  EXPECT_EQ(r["choices"][0]["message"]["content"],
            "I could not find the answer to that in the provided context.");
}

TEST_F(EndpointChatTest, MaxTokensAndStopCutTheAnswer) {
  json body = question("How long do refunds take?");
  body["max_tokens"] = 3;
  json r = chat(body);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r["choices"][0]["message"]["content"], "Refunds are");  // "Refu" "nds" " are"
  EXPECT_EQ(r["usage"]["completion_tokens"], 3);

  json stopped = question("How long do refunds take?");
  stopped["stop"] = json::array({" business"});
  r = chat(stopped);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(r["choices"][0]["message"]["content"], "Refunds are issued within 5");
}

TEST_F(EndpointChatTest, CutsNeverSplitAUtf8Character) {
  json body = {{"messages",
                json::array({{{"role", "system"}, {"content", "Über Grüße: Zoë fährt nach Köln."}},
                             {{"role", "user"}, {"content", "Wohin fährt Zoë?"}}})},
               {"max_tokens", 2}};
  json r = chat(body);
  // The answer is the whole sentence; two tokens of it are "Über" and " Grüß" (4 characters
  // each, "ß" two bytes), so the content stays valid UTF-8.
  EXPECT_EQ(r["choices"][0]["message"]["content"], "Über Grüß");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
}

TEST_F(EndpointChatTest, CallsAnOfferedToolThenAnswersFromItsResult) {
  json tools = json::array(
      {{{"type", "function"},
        {"function",
         {{"name", "get_order_status"},
          {"description", "Look up the shipping status of an order"},
          {"parameters",
           {{"type", "object"},
            {"properties", {{"order_id", {{"type", "string"}}}}},
            {"required", json::array({"order_id"})}}}}}},
       {{"type", "function"},
        {"function",
         {{"name", "search_kb"},
          {"parameters",
           {{"type", "object"}, {"properties", {{"query", {{"type", "string"}}}}}}}}}}});
  json messages = json::array({{{"role", "user"}, {"content", "Where is my order A-1234?"}}});
  json r = chat({{"messages", messages}, {"tools", tools}});
  const json& choice = r["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u);
  const json& call = choice["message"]["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_order_status");
  EXPECT_EQ(json::parse(call["function"]["arguments"].get<std::string>()),
            json({{"order_id", "A-1234"}}));
  EXPECT_TRUE(choice["message"]["content"].is_null());

  messages.push_back(choice["message"]);
  messages.push_back({{"role", "tool"},
                      {"tool_call_id", call["id"]},
                      {"content", R"({"status": "shipped", "eta": "December 10"})"}});
  r = chat({{"messages", messages}, {"tools", tools}});
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(r["choices"][0]["message"]["content"],
            "According to get_order_status, eta is December 10, status is shipped.");
}

TEST_F(EndpointChatTest, ToolChoiceNoneAndForced) {
  json tools =
      json::array({{{"type", "function"},
                    {"function",
                     {{"name", "get_weather"},
                      {"parameters",
                       {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}});
  json messages = json::array({{{"role", "user"}, {"content", "What's the weather in Oslo?"}}});
  json r = chat({{"messages", messages}, {"tools", tools}, {"tool_choice", "none"}});
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  r = chat({{"messages", json::array({{{"role", "user"}, {"content", "Hello there"}}})},
            {"tools", tools},
            {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}}});
  EXPECT_EQ(r["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(r["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "get_weather");
}

TEST_F(EndpointChatTest, InvalidRequestsNameTheField) {
  json r = chat({{"messages", json::array()}}, 400);
  EXPECT_EQ(r["error"]["type"], "invalid_request_error");
  EXPECT_EQ(r["error"]["param"], "messages");
  r = chat({{"messages", json::array({{{"role", "robot"}, {"content", "hi"}}})}}, 400);
  EXPECT_EQ(r["error"]["param"], "messages[0].role");
  r = chat({{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}, {"max_tokens", 0}},
           400);
  EXPECT_EQ(r["error"]["param"], "max_tokens");
  EXPECT_EQ(http_post(endpoint_.base_url() + "/chat/completions", "not json").status, 400);
}

TEST_F(EndpointChatTest, ModelsHealthAndStats) {
  HttpResponse models = http_get(endpoint_.base_url() + "/models");
  ASSERT_EQ(models.status, 200);
  json m = json::parse(models.body);
  EXPECT_EQ(m["object"], "list");
  EXPECT_EQ(m["data"][0]["id"], "cairn-echo");
  EXPECT_EQ(http_get(endpoint_.root_url() + "/health").status, 200);
  EXPECT_EQ(http_get(endpoint_.base_url() + "/nope").status, 404);

  chat(question("Is shipping free?"));
  chat(question("Is shipping free?"));
  json stats = endpoint_.stats();
  EXPECT_EQ(stats["chat_requests"], 2);
  EXPECT_EQ(stats["stream_requests"], 0);
  EXPECT_EQ(stats["by_status"]["200"], 2);
  EXPECT_EQ(stats["last_authorization_seen"], false);
  endpoint_.reset();
  EXPECT_EQ(endpoint_.stats()["chat_requests"], 0);
}

TEST_F(EndpointChatTest, EmbeddingsAreNormalisedAndRelatedTextsAreNear) {
  HttpResponse r = http_post(
      endpoint_.base_url() + "/embeddings",
      json({{"model", "cairn-echo"},
            {"input", {"How do refunds work?", "refund policy for returns", "reset my password"}}})
          .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 3u);
  std::vector<std::vector<float>> v;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(j["data"][i]["object"], "embedding");
    EXPECT_EQ(j["data"][i]["index"], i);
    v.push_back(j["data"][i]["embedding"].get<std::vector<float>>());
    ASSERT_EQ(v.back().size(), 384u);
  }
  auto dot = [](const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      s += static_cast<double>(a[i]) * b[i];
    }
    return s;
  };
  EXPECT_NEAR(dot(v[0], v[0]), 1.0, 1e-5);
  EXPECT_GT(dot(v[0], v[1]), dot(v[0], v[2]) + 0.2);
  EXPECT_EQ(v[0], ai::hashed_embedding("How do refunds work?"));
  int64_t tokens = ai::count_tokens("How do refunds work?") +
                   ai::count_tokens("refund policy for returns") +
                   ai::count_tokens("reset my password");
  EXPECT_EQ(j["usage"]["prompt_tokens"], tokens);
  EXPECT_EQ(endpoint_.stats()["embedding_requests"], 1);

  HttpResponse b64 = http_post(endpoint_.base_url() + "/embeddings",
                               R"({"input": "How do refunds work?", "encoding_format": "base64"})");
  ASSERT_EQ(b64.status, 200) << b64.body;
  std::string encoded = json::parse(b64.body)["data"][0]["embedding"];
  EXPECT_EQ(encoded.size(), 2048u);  // 384 floats of 4 bytes, in base64
  EXPECT_EQ(decode_floats(encoded), v[0]);

  json too_many = {{"input", std::vector<std::string>(2049, "x")}};
  HttpResponse big = http_post(endpoint_.base_url() + "/embeddings", too_many.dump());
  EXPECT_EQ(big.status, 400);
  EXPECT_NE(big.body.find("at most 2048"), std::string::npos) << big.body;
  json ok = {{"input", std::vector<std::string>(2048, "x")}};
  EXPECT_EQ(http_post(endpoint_.base_url() + "/embeddings", ok.dump()).status, 200);
}

}  // namespace
}  // namespace cairn::testing
