// Request handling of cairn-model-endpoint, apart from HTTP: parses and validates OpenAI
// requests, applies auth and the context window, and builds the OpenAI response bodies and SSE
// chunks. The HTTP server (server.cc) only moves bytes. Thread-safe (the fault board and stats
// lock; the rest is immutable after construction).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ai/endpoint/answer.h"
#include "ai/endpoint/faults.h"
#include "ai/endpoint/prompt_cache.h"
#include "cairn/ai/types.h"

namespace cairn::ai::endpoint {

// Command-line options; defaults documented in ai/docs/endpoint.md.
struct Options {
  std::string host = "127.0.0.1";
  int port = 0;           // 0: any free port
  std::string port_file;  // written once serving
  std::string model = "cairn-echo";
  int64_t context_window = 0;    // prompt tokens accepted; 0: no limit
  std::string api_key_env;       // name of the variable holding the required key
  std::string api_key;           // its value, read at start-up; never logged
  int64_t latency_ms = 0;        // added before every chat and embedding response
  double tokens_per_second = 0;  // stream pace; 0: as fast as possible
  int64_t embedding_dim = 384;
  int threads = 64;           // connections served at once
  bool prompt_cache = false;  // report repeated leading messages as cached_tokens
};

// An HTTP answer: status, JSON body, extra headers.
struct Reply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// A valid chat request, ready to answer.
struct ChatCall {
  ChatRequest request;
  std::string model;  // the model named in the response: the request's, else the served one
  bool stream = false;
  bool include_usage = false;
};

// Compact JSON; a byte sequence that is not UTF-8 becomes U+FFFD instead of throwing.
std::string dump(const nlohmann::json& j);
// A JSON answer.
Reply json_reply(const nlohmann::json& body, int status = 200);
// 400 invalid_request_error naming the field: "<param>: <message>".
Reply invalid_param(const std::string& param, const std::string& message);

// An OpenAI error body: {"error": {"message", "type", "param", "code"}}.
Reply error_reply(int status, const std::string& type, const std::string& message,
                  const std::string& code = "", const std::string& param = "");

class Handler {
 public:
  explicit Handler(Options options);

  const Options& options() const { return options_; }
  FaultBoard& faults() { return faults_; }
  Stats& stats() { return stats_; }

  // nullopt when the request may pass; else the 401 answer. `authorization` is the header's
  // value or null. The key is compared, never echoed or logged.
  std::optional<Reply> check_auth(const std::string* authorization);

  // Whether a chat body asks for a stream (false for an unparsable body).
  static bool wants_stream(const std::string& body);
  // Parses and validates a chat body; false with the 400 answer in `error`.
  bool parse_chat(const std::string& body, ChatCall* call, Reply* error) const;
  // The 400 context_length_exceeded answer when the prompt is longer than the window.
  std::optional<Reply> check_context(const Completion& completion) const;

  // With --prompt-cache: sets completion->cached_tokens from the requests seen before.
  void count_cached(const ChatCall& call, Completion* completion);

  // A fresh completion id ("chatcmpl-...").
  std::string next_id();
  Reply chat_reply(const ChatCall& call, const Completion& completion, const std::string& id,
                   bool refused) const;
  Reply embeddings(const std::string& body);
  Reply models() const;
  // The answer of a kStatus / kRateLimit fault.
  static Reply fault_reply(const Fault& fault);

  Reply set_faults(const std::string& body);
  Reply stats_reply() const;
  Reply reset();

  // SSE events ("data: {...}\n\n") of a chat.completion.chunk stream.
  std::string chunk_event(const ChatCall& call, const std::string& id, const nlohmann::json& delta,
                          const nlohmann::json& finish_reason) const;
  std::string usage_event(const ChatCall& call, const std::string& id,
                          const Completion& completion) const;
  static std::string error_event(const Fault& fault);
  static std::string done_event() { return "data: [DONE]\n\n"; }

 private:
  Options options_;
  FaultBoard faults_;
  Stats stats_;
  PromptCache prompt_cache_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace cairn::ai::endpoint
