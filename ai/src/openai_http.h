// One HTTP POST over libcurl, driven by curl's multi interface so that the caller's
// cancellation check runs every 100 ms even while no byte arrives, and a cancelled request
// closes its connection at once (each request has its own connection: nothing is pooled).
// curl retries nothing and follows no redirects. Thread-safe: nothing is shared between calls.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "cairn/ai/openai.h"

namespace cairn::ai {

struct HttpPost {
  std::string url;
  std::string body;           // JSON
  std::string bearer;         // empty: no Authorization header
  bool event_stream = false;  // Accept: text/event-stream
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds timeout{120000};
};

struct HttpResult {
  int status = 0;  // 0: no answer
  HttpHeaders headers;
  std::string body;  // the whole body, unless a 2xx body went to the sink
  // Transport failure (status may still be set when the body broke off).
  enum class Failure {
    kNone,
    kTimeout,
    kNetwork,
    kCancelled,
    kSinkStopped
  } failure = Failure::kNone;
  std::string failure_detail;  // curl's description; never contains the request's headers
};

// Called with each piece of a 2xx body; false stops the transfer (closing the connection).
using BodySink = std::function<bool(std::string_view bytes)>;

// Sends `post`. With a sink, a 2xx answer's body goes to it instead of HttpResult::body.
// `cancelled` (may be empty) is polled at least every 100 ms; true ends the transfer with
// Failure::kCancelled. Never throws for transport failures (they are in the result); the sink
// must not throw.
HttpResult http_post(const HttpPost& post, const BodySink& sink,
                     const std::function<bool()>& cancelled);

}  // namespace cairn::ai
