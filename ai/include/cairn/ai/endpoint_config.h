// How to reach one OpenAI-compatible model endpoint: its name, base URL, served model and where
// its API key lives. The router config (cairn/ai/router.h) holds these per tier and the client
// (cairn/ai/openai.h) takes one. The key itself is never in this struct: only the name of the
// environment variable or the path of the file that holds it, read when a request is made.
// Plain value; thread-compatible.
#pragma once

#include <chrono>
#include <string>

namespace cairn::ai {

struct EndpointConfig {
  // Unique in a router config; names the endpoint in results, metrics, cooldowns and errors.
  std::string name;
  // "http(s)://host[:port]/path", e.g. "http://127.0.0.1:8081/v1" (no credentials, no query).
  std::string base_url;
  // The model id sent to the endpoint. Loaded from a router config: the tier's model when the
  // endpoint names none.
  std::string model;
  // Name of the environment variable holding the API key (empty: none).
  std::string api_key_env;
  // Path of a file holding the API key (empty: none; surrounding whitespace is ignored).
  std::string api_key_file;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{120000};
  bool operator==(const EndpointConfig&) const = default;
};

}  // namespace cairn::ai
