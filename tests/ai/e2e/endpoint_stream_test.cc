// cairn-model-endpoint's SSE streams over real loopback HTTP: chunk shapes, the usage chunk,
// [DONE], tool-call deltas, a mid-stream error, refusals, pacing, and a client that closes
// (counted as a cancelled stream, its connection freed).
#include <chrono>

#include <gtest/gtest.h>

#include "tests/ai/support/endpoint_process.h"
#include "tests/ai/support/http_client.h"
#include "tests/ai/support/process_util.h"

namespace cairn::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

const char* kContext =
    "The office opens at 9am on weekdays. Parking is behind the building. "
    "Visitors sign in at the front desk.";

json chat_body(bool stream, bool include_usage = false) {
  json body = {
      {"messages", json::array({{{"role", "system"}, {"content", kContext}},
                                {{"role", "user"}, {"content", "When does the office open?"}}})}};
  if (stream) {
    body["stream"] = true;
  }
  if (include_usage) {
    body["stream_options"] = {{"include_usage", true}};
  }
  return body;
}

// The "data:" payloads of an SSE body, in order.
std::vector<std::string> events(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    size_t end = body.find("\n\n", pos);
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end == std::string::npos ? body.size() : end + 2;
  }
  return out;
}

class EndpointStreamTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args = {}) {
    endpoint_ = std::make_unique<EndpointProcess>(std::move(args));
    std::string error;
    ASSERT_TRUE(endpoint_->start(&error)) << error;
  }
  HttpResponse post(const json& body, milliseconds timeout = milliseconds(10000)) {
    return http_post(endpoint_->base_url() + "/chat/completions", body.dump(), {}, timeout);
  }
  std::unique_ptr<EndpointProcess> endpoint_;
};

TEST_F(EndpointStreamTest, ChunksConcatenateToTheNonStreamAnswer) {
  start();
  json plain = json::parse(post(chat_body(false)).body);
  HttpResponse r = post(chat_body(true, /*include_usage=*/true));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"].rfind("text/event-stream", 0), 0u);
  std::vector<std::string> ev = events(r.body);
  ASSERT_GE(ev.size(), 4u);
  EXPECT_EQ(ev.back(), "[DONE]");
  json first = json::parse(ev[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  std::string content;
  std::string id = first["id"];
  int content_chunks = 0;
  for (size_t i = 1; i + 3 < ev.size(); ++i) {  // role, tokens..., finish, usage, [DONE]
    json chunk = json::parse(ev[i]);
    EXPECT_EQ(chunk["id"], id);
    EXPECT_TRUE(chunk["choices"][0]["finish_reason"].is_null());
    content += chunk["choices"][0]["delta"]["content"].get<std::string>();
    ++content_chunks;
  }
  json finish = json::parse(ev[ev.size() - 3]);
  EXPECT_EQ(finish["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(finish["choices"][0]["delta"], json::object());
  json usage = json::parse(ev[ev.size() - 2]);
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"], plain["usage"]);
  EXPECT_EQ(content, plain["choices"][0]["message"]["content"]);
  EXPECT_EQ(content, "The office opens at 9am on weekdays.");
  EXPECT_EQ(content_chunks, plain["usage"]["completion_tokens"]);  // one token per chunk

  HttpResponse no_usage = post(chat_body(true));
  for (const std::string& e : events(no_usage.body)) {
    EXPECT_EQ(e.find("\"usage\""), std::string::npos) << e;
  }
  json stats = endpoint_->stats();
  EXPECT_EQ(stats["chat_requests"], 3);
  EXPECT_EQ(stats["stream_requests"], 2);
  EXPECT_EQ(stats["cancelled_streams"], 0);
}

TEST_F(EndpointStreamTest, ToolCallArgumentsStreamAsDeltas) {
  start();
  json body = {
      {"stream", true},
      {"messages", json::array({{{"role", "user"}, {"content", "Track order 5521 please"}}})},
      {"tools",
       json::array(
           {{{"type", "function"},
             {"function",
              {{"name", "track_order"},
               {"parameters",
                {{"type", "object"}, {"properties", {{"order_id", {{"type", "string"}}}}}}}}}}})}};
  HttpResponse r = post(body);
  std::vector<std::string> ev = events(r.body);
  ASSERT_GE(ev.size(), 4u);
  std::string name;
  std::string arguments;
  std::string finish;
  for (const std::string& e : ev) {
    if (e == "[DONE]") {
      continue;
    }
    json chunk = json::parse(e);
    const json& choice = chunk["choices"][0];
    if (choice["delta"].contains("tool_calls")) {
      const json& call = choice["delta"]["tool_calls"][0];
      EXPECT_EQ(call["index"], 0);
      if (call.contains("id")) {
        name = call["function"]["name"];
      }
      arguments += call["function"]["arguments"].get<std::string>();
    }
    if (!choice["finish_reason"].is_null()) {
      finish = choice["finish_reason"];
    }
  }
  EXPECT_EQ(name, "track_order");
  EXPECT_EQ(json::parse(arguments), json({{"order_id", "5521"}}));
  EXPECT_EQ(finish, "tool_calls");
}

TEST_F(EndpointStreamTest, StreamErrorAfterTokens) {
  start();
  endpoint_->set_fault({{"mode", "stream_error"}, {"after_tokens", 3}, {"count", 1}});
  // Non-stream requests are not affected and do not use up the fault.
  EXPECT_EQ(post(chat_body(false)).status, 200);
  HttpResponse r = post(chat_body(true, true));
  ASSERT_EQ(r.status, 200);
  std::vector<std::string> ev = events(r.body);
  ASSERT_EQ(ev.size(), 5u) << r.body;  // role, 3 tokens, error
  std::string content;
  for (size_t i = 1; i < 4; ++i) {
    content += json::parse(ev[i])["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(content, "The office");  // "The" " offi" "ce"
  json error = json::parse(ev[4]);
  EXPECT_EQ(error["error"]["type"], "server_error");
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
  // count 1: the next stream is whole.
  EXPECT_EQ(events(post(chat_body(true)).body).back(), "[DONE]");
}

TEST_F(EndpointStreamTest, RefusedStreamFinishesWithContentFilter) {
  start();
  endpoint_->set_fault({{"mode", "refuse"}, {"count", 1}});
  std::vector<std::string> ev = events(post(chat_body(true)).body);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(json::parse(ev[1])["choices"][0]["finish_reason"], "content_filter");
  EXPECT_EQ(ev[2], "[DONE]");
}

TEST_F(EndpointStreamTest, ClientThatClosesMidStreamIsCountedAndFreed) {
  start({"--tokens-per-second", "20"});
  HttpRequest req;
  req.method = "POST";
  req.url = endpoint_->base_url() + "/chat/completions";
  req.body = chat_body(true).dump();
  int pieces = 0;
  req.on_data = [&](std::string_view data) {
    pieces += static_cast<int>(events(std::string(data)).size());
    return pieces < 3;  // close after the role chunk and two tokens
  };
  auto start_time = std::chrono::steady_clock::now();
  HttpResponse r = http_request(req);
  EXPECT_FALSE(r.error.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start_time, milliseconds(5000));
  EXPECT_TRUE(ai_support::poll_until([&] { return endpoint_->stats()["cancelled_streams"] == 1; },
                                     std::chrono::seconds(10)))
      << endpoint_->stats().dump();
  EXPECT_TRUE(ai_support::poll_until([&] { return endpoint_->stats()["open_connections"] == 1; },
                                     std::chrono::seconds(10)));
}

TEST_F(EndpointStreamTest, HangingStreamClosedByTheClientIsCancelled) {
  start();
  endpoint_->set_fault({{"mode", "hang"}, {"count", 1}});
  HttpResponse r = post(chat_body(true), milliseconds(300));
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(ai_support::poll_until([&] { return endpoint_->stats()["cancelled_streams"] == 1; },
                                     std::chrono::seconds(10)));
}

TEST_F(EndpointStreamTest, TokensPerSecondPacesTheStream) {
  start({"--tokens-per-second", "50"});
  auto t0 = std::chrono::steady_clock::now();
  HttpResponse r = post(chat_body(true));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(events(r.body).back(), "[DONE]");
  // 11 tokens at 50 per second: at least 10 gaps of 20 ms.
  EXPECT_GE(took, milliseconds(200));
}

TEST_F(EndpointStreamTest, LatencyIsAddedToEveryAnswer) {
  start({"--latency-ms", "300"});
  for (bool stream : {false, true}) {
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(post(chat_body(stream)).status, 200);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(300));
  }
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(http_post(endpoint_->base_url() + "/embeddings", R"({"input": "x"})").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(300));
}

}  // namespace
}  // namespace cairn::testing
