#include "ai/endpoint/faults.h"

namespace cairn::ai::endpoint {
namespace {

bool parse_mode(const std::string& s, FaultMode* mode) {
  static const std::map<std::string, FaultMode> kModes = {{"ok", FaultMode::kOk},
                                                          {"status", FaultMode::kStatus},
                                                          {"rate_limit", FaultMode::kRateLimit},
                                                          {"slow", FaultMode::kSlow},
                                                          {"refuse", FaultMode::kRefuse},
                                                          {"stream_error", FaultMode::kStreamError},
                                                          {"hang", FaultMode::kHang}};
  auto it = kModes.find(s);
  if (it == kModes.end()) {
    return false;
  }
  *mode = it->second;
  return true;
}

bool read_int(const nlohmann::json& body, const char* field, int64_t* out, std::string* error) {
  if (!body.contains(field)) {
    return true;
  }
  const auto& v = body[field];
  if (!v.is_number_integer()) {
    *error = std::string(field) + ": expected an integer";
    return false;
  }
  *out = v.get<int64_t>();
  return true;
}

}  // namespace

bool parse_fault(const nlohmann::json& body, Fault* fault, std::string* error) {
  if (!body.is_object()) {
    *error = "body: expected a JSON object such as {\"mode\": \"status\", \"status\": 503}";
    return false;
  }
  Fault f;
  if (!body.contains("mode") || !body["mode"].is_string() ||
      !parse_mode(body["mode"].get<std::string>(), &f.mode)) {
    *error = "mode: expected one of ok, status, rate_limit, slow, refuse, stream_error, hang";
    return false;
  }
  int64_t status = f.mode == FaultMode::kRateLimit ? 429 : 500;
  if (!read_int(body, "status", &status, error) || !read_int(body, "count", &f.count, error) ||
      !read_int(body, "retry_after_ms", &f.retry_after_ms, error) ||
      !read_int(body, "delay_ms", &f.delay_ms, error) ||
      !read_int(body, "after_tokens", &f.after_tokens, error)) {
    return false;
  }
  if (status < 100 || status > 599) {
    *error = "status: expected an HTTP status between 100 and 599, got " + std::to_string(status);
    return false;
  }
  f.status = static_cast<int>(status);
  if (f.count < -1 || f.count == 0) {
    *error = "count: expected a positive number of requests, or -1 for all of them";
    return false;
  }
  if (f.delay_ms < 0 || f.after_tokens < 0) {
    *error =
        f.delay_ms < 0 ? "delay_ms: must not be negative" : "after_tokens: must not be negative";
    return false;
  }
  if (body.contains("retry_after")) {
    const auto& v = body["retry_after"];
    if (v.is_string()) {
      f.retry_after = v.get<std::string>();
    } else if (v.is_number_integer()) {
      f.retry_after = std::to_string(v.get<int64_t>());
    } else {
      *error = "retry_after: expected seconds (\"2\") or an HTTP date string";
      return false;
    }
  }
  if (body.contains("error_code")) {
    if (!body["error_code"].is_string()) {
      *error = "error_code: expected a string such as \"insufficient_quota\"";
      return false;
    }
    f.error_code = body["error_code"].get<std::string>();
  }
  *fault = f;
  return true;
}

void FaultBoard::set(const Fault& fault) {
  std::lock_guard<std::mutex> lock(mu_);
  fault_ = fault;
}

void FaultBoard::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  fault_ = Fault{};
}

Fault FaultBoard::take(bool stream) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fault_.mode == FaultMode::kOk || (fault_.mode == FaultMode::kStreamError && !stream)) {
    return Fault{};
  }
  Fault taken = fault_;
  if (fault_.count > 0 && --fault_.count == 0) {
    fault_ = Fault{};
  }
  return taken;
}

void Stats::count_chat(bool stream) {
  std::lock_guard<std::mutex> lock(mu_);
  ++chat_requests_;
  if (stream) {
    ++stream_requests_;
  }
}

void Stats::count_embedding() {
  std::lock_guard<std::mutex> lock(mu_);
  ++embedding_requests_;
}

void Stats::count_status(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++by_status_[status];
}

nlohmann::json Stats::to_json() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json by_status = nlohmann::json::object();
  for (const auto& [status, n] : by_status_) {
    by_status[std::to_string(status)] = n;
  }
  return {{"chat_requests", chat_requests_},
          {"embedding_requests", embedding_requests_},
          {"stream_requests", stream_requests_},
          {"by_status", by_status},
          {"open_connections", open_connections_.load()},
          {"cancelled_streams", cancelled_streams_.load()},
          {"last_authorization_seen", last_authorization_seen_.load()}};
}

void Stats::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  chat_requests_ = 0;
  embedding_requests_ = 0;
  stream_requests_ = 0;
  by_status_.clear();
  cancelled_streams_.store(0);
  last_authorization_seen_.store(false);
}

}  // namespace cairn::ai::endpoint
