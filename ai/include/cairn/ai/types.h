// The value types every part of the AI batteries shares: chat messages, tool calls, requests and
// responses in the shape of the OpenAI API, token usage, money, and what the chat and embedding
// activities take and return. They travel as activity inputs and results, so they are in
// history: each has nlohmann to_json / from_json (ai/src/types.cc) with stable field names, and
// optional fields left out when unset. The OpenAI wire format is the client's business
// (cairn/ai/openai.h); these are Cairn's own recorded form. Plain values; thread-compatible.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cairn::ai {

// Money: integer micro-dollars ($1 = 1,000,000). Never floating point.
using Micros = int64_t;
inline constexpr Micros kMicrosPerDollar = 1'000'000;

// A tool call the model asked for; `arguments` is the JSON text the model produced (it may be
// malformed: the tool runner reports that back to the model).
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;
  bool operator==(const ToolCall&) const = default;
};

// One chat message. role: "system", "user", "assistant" or "tool". A tool result carries the
// tool_call_id it answers. A content above the claim-check threshold is stored outside history:
// `content` is then empty and `content_ref` names the stored blob (cairn/ai/claim_check.h).
struct Message {
  std::string role;
  std::string content;
  std::string name;
  std::string tool_call_id;
  std::vector<ToolCall> tool_calls;
  std::string content_ref;
  bool operator==(const Message&) const = default;
};

// A function the model may call: its JSON-schema parameters as the OpenAI API takes them.
struct ToolSpec {
  std::string name;
  std::string description;
  nlohmann::json parameters = nlohmann::json::object();
  bool operator==(const ToolSpec&) const = default;
};

// A chat completion request. `model` empty: the endpoint's (or tier's) configured model.
// tool_choice / response_format are passed through as the OpenAI API defines them (null: unset).
struct ChatRequest {
  std::string model;
  std::vector<Message> messages;
  std::optional<double> temperature;
  std::optional<int64_t> max_tokens;
  std::vector<std::string> stop;
  std::optional<int64_t> seed;
  std::vector<ToolSpec> tools;
  nlohmann::json tool_choice;
  nlohmann::json response_format;
  bool operator==(const ChatRequest&) const = default;
};

// Token counts as the provider reported them. cached_tokens are part of prompt_tokens (priced
// once, at the input price).
struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t total() const { return prompt_tokens + completion_tokens; }
  Usage& operator+=(const Usage& o) {
    prompt_tokens += o.prompt_tokens;
    completion_tokens += o.completion_tokens;
    cached_tokens += o.cached_tokens;
    return *this;
  }
  bool operator==(const Usage&) const = default;
};

// A chat completion: the assistant's message (content and/or tool_calls) and why it stopped
// ("stop", "length", "tool_calls", "content_filter").
struct ChatResponse {
  std::string id;
  std::string model;
  Message message;
  std::string finish_reason;
  Usage usage;
  bool operator==(const ChatResponse&) const = default;
};

struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> input;
  bool operator==(const EmbeddingRequest&) const = default;
};

struct EmbeddingResponse {
  std::string model;
  std::vector<std::vector<float>> data;  // one vector per input, in order
  Usage usage;
  bool operator==(const EmbeddingResponse&) const = default;
};

// The names of the model activities (registered by AiRuntime, scheduled by workflow code and
// read back from history by cost accounting). Recorded in histories: never rename.
inline constexpr char kChatActivity[] = "cairn.ai.chat";
inline constexpr char kEmbedActivity[] = "cairn.ai.embed";

// Input of the chat activity ("cairn.ai.chat"): one call to one tier. Routing and fallback are
// decided by the workflow helper (cairn/ai/session.h) and recorded; the activity only picks an
// endpoint of `tier` that is not cooling down.
struct ChatAttempt {
  ChatRequest request;
  std::string tier;        // a tier of the worker's router config; empty: its default tier
  bool use_cache = true;   // consult the response cache when the request is cacheable
  bool cache_nondeterministic = false;  // opt-in: cache even when temperature is not 0
  std::string cache_namespace;          // part of the cache key (default: the run's namespace)
  std::string prompt_version;           // part of the cache key: bump to invalidate
  bool stream = false;                  // stream tokens (SSE), heartbeating while they arrive
  bool operator==(const ChatAttempt&) const = default;
};

// Result of the chat activity: what served the call and what it cost — recorded in history, so
// replay and cost accounting read it and never call a model.
struct ChatResult {
  ChatResponse response;
  std::string tier;
  std::string endpoint;   // the endpoint's configured name (never its key)
  std::string model;      // the model that answered
  Usage usage;            // of this call (a cache hit: the original call's usage)
  Micros cost_micros = 0; // of this call; 0 for a cache hit
  bool cache_hit = false;
  int64_t duration_ms = 0;
  bool operator==(const ChatResult&) const = default;
};

// Input / result of the embedding activity ("cairn.ai.embed"). At most 2,048 inputs a request:
// the activity splits larger batches.
struct EmbedAttempt {
  EmbeddingRequest request;
  std::string tier;  // empty: the router config's embedding tier
  bool operator==(const EmbedAttempt&) const = default;
};

struct EmbedResult {
  EmbeddingResponse response;
  std::string tier;
  std::string endpoint;
  std::string model;
  Usage usage;
  Micros cost_micros = 0;
  int64_t duration_ms = 0;
  bool operator==(const EmbedResult&) const = default;
};

void to_json(nlohmann::json& j, const ToolCall& v);
void from_json(const nlohmann::json& j, ToolCall& v);
void to_json(nlohmann::json& j, const Message& v);
void from_json(const nlohmann::json& j, Message& v);
void to_json(nlohmann::json& j, const ToolSpec& v);
void from_json(const nlohmann::json& j, ToolSpec& v);
void to_json(nlohmann::json& j, const ChatRequest& v);
void from_json(const nlohmann::json& j, ChatRequest& v);
void to_json(nlohmann::json& j, const Usage& v);
void from_json(const nlohmann::json& j, Usage& v);
void to_json(nlohmann::json& j, const ChatResponse& v);
void from_json(const nlohmann::json& j, ChatResponse& v);
void to_json(nlohmann::json& j, const EmbeddingRequest& v);
void from_json(const nlohmann::json& j, EmbeddingRequest& v);
void to_json(nlohmann::json& j, const EmbeddingResponse& v);
void from_json(const nlohmann::json& j, EmbeddingResponse& v);
void to_json(nlohmann::json& j, const ChatAttempt& v);
void from_json(const nlohmann::json& j, ChatAttempt& v);
void to_json(nlohmann::json& j, const ChatResult& v);
void from_json(const nlohmann::json& j, ChatResult& v);
void to_json(nlohmann::json& j, const EmbedAttempt& v);
void from_json(const nlohmann::json& j, EmbedAttempt& v);
void to_json(nlohmann::json& j, const EmbedResult& v);
void from_json(const nlohmann::json& j, EmbedResult& v);

// Formats micro-dollars as dollars for people: 1234567 → "$1.234567", 500 → "$0.000500".
std::string format_dollars(Micros micros);

}  // namespace cairn::ai
