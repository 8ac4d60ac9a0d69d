// A small blocking HTTP client for the AI tests (libcurl): control calls to the endpoint
// fixture, and tests that check the endpoint's OpenAI shapes byte for byte. Not the product's
// client (cairn/ai/openai.h). Thread-safe (one curl handle per call).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::testing {

struct HttpResponse {
  long status = 0;  // 0: no HTTP answer (see error)
  std::string body;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string error;  // curl's message when the transfer failed (timeout, refused, aborted)
};

struct HttpRequest {
  std::string method = "GET";  // GET or POST
  std::string url;
  std::string body;                  // POST: sent as application/json
  std::vector<std::string> headers;  // "Name: value"
  std::chrono::milliseconds timeout{10000};
  // When set, called with each piece of the body as it arrives (the body is not collected);
  // returning false aborts the transfer and closes the connection.
  std::function<bool(std::string_view)> on_data;
};

HttpResponse http_request(const HttpRequest& request);
HttpResponse http_get(const std::string& url,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
HttpResponse http_post(const std::string& url, const std::string& body,
                       std::vector<std::string> headers = {},
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

}  // namespace cairn::testing
