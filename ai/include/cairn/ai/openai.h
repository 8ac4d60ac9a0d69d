// OpenAiClient: one OpenAI-compatible HTTP endpoint (a hosted provider, vLLM, llama.cpp's server,
// cairn-model-endpoint) over libcurl — chat completions (plain or streamed as server-sent
// events) and embeddings. It retries nothing: each call is one HTTP request, and a failure is an
// LlmError whose type says whether the activity's retry policy should try again and whose next
// retry delay carries the provider's Retry-After. Thread-safe: concurrent calls share only the
// immutable config. The API key (EndpointConfig::api_key_env, else the content of api_key_file
// without surrounding whitespace) is read when a request is made, held in memory for that
// request only, sent as "Authorization: Bearer <key>", and never logged, put in an error or in a
// result. Neither set: no Authorization header (local endpoints).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "cairn/ai/endpoint_config.h"
#include "cairn/ai/types.h"
#include "cairn/errors.h"

namespace cairn::ai {

// Client-wide limits (the router config's values; see cairn/ai/router.h).
struct OpenAiOptions {
  // The longest Retry-After honoured as the next retry delay. A provider asking for longer gets
  // a non-retryable "RateLimited" error, so that the caller falls back to another tier at once
  // instead of waiting. Zero: every Retry-After is too long.
  std::chrono::milliseconds max_retry_after{60000};
};

// Streaming a chat completion (OpenAiClient::chat). Both callbacks run on the calling thread.
struct StreamOptions {
  // Each piece of assistant content as it arrives. Return false to cancel: the connection is
  // closed and chat() throws CanceledError. Empty: the request is not streamed (one JSON
  // answer), but `cancelled` is still polled while waiting for it.
  std::function<bool(std::string_view delta)> on_delta;
  // Polled at least every 100 ms while the request is in flight (also while no byte arrives);
  // true: close the connection and throw CanceledError. Empty: never cancelled.
  std::function<bool()> cancelled;
};

// Error types (LlmError::type()). Retryable: the activity's retry policy tries again.
inline constexpr char kRateLimited[] = "RateLimited";    // 429 (non-retryable past the cap)
inline constexpr char kTimeout[] = "Timeout";            // 408, or the request timed out
inline constexpr char kConflict[] = "Conflict";          // 409
inline constexpr char kServerError[] = "ServerError";    // 5xx, or an unreadable answer
inline constexpr char kNetworkError[] = "NetworkError";  // cannot connect, connection reset
// Non-retryable: the same request fails the same way again.
inline constexpr char kInvalidRequest[] = "InvalidRequest";              // 400, other 4xx
inline constexpr char kAuthenticationFailed[] = "AuthenticationFailed";  // 401, or no key
inline constexpr char kPermissionDenied[] = "PermissionDenied";          // 403
inline constexpr char kNotFound[] = "NotFound";                          // 404
inline constexpr char kInsufficientQuota[] = "InsufficientQuota";        // code insufficient_quota
inline constexpr char kContentFiltered[] = "ContentFiltered";  // finish_reason content_filter
inline constexpr char kContextLengthExceeded[] = "ContextLengthExceeded";  // that code
// A stream failed after its first token: retrying would send the output twice.
inline constexpr char kStreamInterrupted[] = "StreamInterrupted";

// A failed model call. type() is one of the k* names above; non_retryable() follows the table;
// next_retry_delay() is the provider's Retry-After when one was given (and within the cap).
class LlmError : public cairn::ApplicationError {
 public:
  LlmError(const std::string& message, std::string type, bool non_retryable, int http_status,
           std::string error_code = "")
      : ApplicationError(message, std::move(type), non_retryable),
        http_status_(http_status),
        error_code_(std::move(error_code)) {}

  // The HTTP status of the answer; 0 when there was none (network error, timeout).
  int http_status() const { return http_status_; }
  // The provider's error code ("insufficient_quota", "context_length_exceeded"), if any.
  const std::string& error_code() const { return error_code_; }
  // The Retry-After the provider sent, uncapped (nullopt: none).
  std::optional<std::chrono::milliseconds> retry_after() const { return retry_after_; }
  void set_retry_after(std::chrono::milliseconds delay) { retry_after_ = delay; }

 private:
  int http_status_;
  std::string error_code_;
  std::optional<std::chrono::milliseconds> retry_after_;
};

// True for the retryable types above (RateLimited, Timeout, Conflict, ServerError,
// NetworkError).
bool is_retryable_type(std::string_view type);

// Response headers by lower-case name (the last value of a repeated header).
using HttpHeaders = std::map<std::string, std::string>;

// The delay a response asks for before the next request: `retry-after-ms` (milliseconds,
// fractional allowed), else `retry-after` as seconds or as an HTTP date (RFC 9110 IMF-fixdate,
// e.g. "Wed, 21 Oct 2026 07:28:00 GMT"), measured from `now`. A date in the past gives zero.
// nullopt when neither header is present or parses. Pure: the time is passed in.
std::optional<std::chrono::milliseconds> parse_retry_after(
    const HttpHeaders& headers, std::chrono::system_clock::time_point now);

class OpenAiClient {
 public:
  // Throws OptionsError naming the field when base_url is empty or not http(s)://, or a
  // timeout is not positive.
  explicit OpenAiClient(EndpointConfig config, OpenAiOptions options = {});

  const EndpointConfig& config() const { return config_; }

  // POST {base_url}/chat/completions. The request's model, or the endpoint's when empty.
  // `stream` with on_delta set: streamed (SSE), each content piece passed to on_delta, usage
  // from the final usage chunk. Returns the assistant message, finish reason and usage.
  // Throws LlmError (see the types above; ContentFiltered for a content_filter finish or a
  // refusal; StreamInterrupted for any failure after the first streamed token), CanceledError
  // when on_delta or cancelled asked to stop.
  ChatResponse chat(const ChatRequest& request, const StreamOptions* stream = nullptr);

  // POST {base_url}/embeddings with every input in one request. REQUIRES: at most
  // kMaxEmbeddingInputs inputs (else InvalidRequest, nothing sent). Returns one vector per
  // input, in input order. Throws LlmError.
  EmbeddingResponse embed(const EmbeddingRequest& request);

  // The most inputs one embeddings request may carry.
  static constexpr size_t kMaxEmbeddingInputs = 2048;

 private:
  EndpointConfig config_;
  OpenAiOptions options_;
};

}  // namespace cairn::ai
