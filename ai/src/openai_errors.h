// How a provider's failure becomes an LlmError: the classification table (HTTP status and the
// provider's error code → type and retryability), the Retry-After rule (capped; a longer one
// fails fast), and key redaction for anything quoted from the provider. Pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "cairn/ai/openai.h"

namespace cairn::ai {

struct ErrorClass {
  std::string type;  // one of the k* types of cairn/ai/openai.h
  bool retryable = false;
  bool operator==(const ErrorClass&) const = default;
};

// The class of an HTTP answer with `status` and the provider's error `code` (OpenAI's
// error.code, or error.type when code is empty). The code wins over the status for
// insufficient_quota and context_length_exceeded (providers send them with 429 or 400).
ErrorClass classify_http(int status, std::string_view code);

// The class of a mid-stream {"error": …} event by its code / type (no status).
ErrorClass classify_stream_error(std::string_view code);

// `text` with every occurrence of `secret` (when not empty) and every "Bearer <token>" replaced
// by "[redacted]": providers echo keys in their messages.
std::string redact(std::string_view text, std::string_view secret);

// What the request was, for messages: endpoint name and the operation.
struct CallSite {
  std::string endpoint;   // the configured name
  std::string operation;  // "chat completion", "embeddings"
};

// The LlmError for an HTTP answer `status` with `body` and `headers` at time `now`: the class
// from the table, the provider's message (redacted of `secret`, shortened), the Retry-After as
// next retry delay when the class is retryable and the delay is within `max_retry_after`; a
// longer one makes the error non-retryable and says so.
LlmError http_error(const CallSite& site, int status, std::string_view body,
                    const HttpHeaders& headers, std::chrono::system_clock::time_point now,
                    std::chrono::milliseconds max_retry_after, std::string_view secret);

// Applies the Retry-After rule to `error` (retryable ones only): within the cap it becomes the
// next retry delay; past it the error is rebuilt as non-retryable. Returns the error to throw.
LlmError with_retry_after(LlmError error, std::chrono::milliseconds retry_after,
                          std::chrono::milliseconds max_retry_after);

// "1.5s", "250ms", "2m0s": durations as messages show them.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace cairn::ai
