// The OpenAI wire format: request bodies for chat completions and embeddings, and reading their
// answers — whole, or streamed chunk by chunk (ChatStreamAccumulator). Cairn's own recorded form
// of these types is in cairn/ai/types.h; this is only what goes over HTTP. Pure functions and a
// single-threaded accumulator.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "cairn/ai/types.h"

namespace cairn::ai {

// The JSON body of POST /chat/completions. `model` replaces an empty request.model. stream:
// adds "stream": true and asks for the final usage chunk. Throws std::invalid_argument naming
// the message when one still has an unresolved content_ref.
nlohmann::json chat_request_body(const ChatRequest& request, const std::string& model, bool stream);

// A chat completion answer. Throws std::runtime_error naming what is missing when `body` is
// not one (no choices, no message).
ChatResponse parse_chat_response(const nlohmann::json& body);

// The OpenAI "usage" object (prompt_tokens, completion_tokens,
// prompt_tokens_details.cached_tokens); missing fields are zero.
Usage parse_usage(const nlohmann::json& usage);

// Assembles a streamed completion from its chunks.
class ChatStreamAccumulator {
 public:
  // Adds one chunk (the JSON of one "data:" event). Returns the assistant content it carries
  // (empty when none). Throws std::runtime_error when the chunk is not an object.
  std::string add(const nlohmann::json& chunk);
  // True once a chunk carried content, a refusal or a tool-call fragment.
  bool saw_token() const { return saw_token_; }
  // True once a choice reported its finish_reason.
  bool finished() const { return !finish_reason_.empty(); }
  // The completion so far (tool calls in index order).
  ChatResponse response() const;
  const std::string& refusal() const { return refusal_; }

 private:
  std::string id_;
  std::string model_;
  std::string content_;
  std::string refusal_;
  std::string finish_reason_;
  std::map<int, ToolCall> tool_calls_;
  Usage usage_;
  bool saw_token_ = false;
};

// The JSON body of POST /embeddings.
nlohmann::json embedding_request_body(const EmbeddingRequest& request, const std::string& model);

// An embeddings answer, vectors ordered by their "index". Throws std::runtime_error when it has
// not exactly `expected` vectors or one is malformed.
EmbeddingResponse parse_embedding_response(const nlohmann::json& body, size_t expected);

}  // namespace cairn::ai
