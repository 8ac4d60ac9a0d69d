// The endpoint's switchable misbehaviour (POST /control/faults) and its request counters
// (GET /control/stats). One FaultBoard and one Stats per endpoint process, shared by all
// request threads: both are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace cairn::ai::endpoint {

// What the endpoint does to the next matching request. kOk: answer normally.
enum class FaultMode { kOk, kStatus, kRateLimit, kSlow, kRefuse, kStreamError, kHang };

struct Fault {
  FaultMode mode = FaultMode::kOk;
  int status = 0;               // kStatus: the HTTP status (default 500); kRateLimit: 429
  int64_t count = -1;           // requests it applies to; -1: until changed or reset
  std::string retry_after;      // kRateLimit: the Retry-After header, as given ("2" or a date)
  int64_t retry_after_ms = -1;  // kRateLimit: the retry-after-ms header; -1: none
  int64_t delay_ms = 3000;      // kSlow: added before answering
  std::string error_code;       // the error body's "code" (e.g. "insufficient_quota")
  int64_t after_tokens = 0;     // kStreamError: content tokens streamed before the error
};

// Parses a /control/faults body. Returns false with `error` naming the field when invalid.
bool parse_fault(const nlohmann::json& body, Fault* fault, std::string* error);

// The fault set by the control API and how many requests it still applies to.
class FaultBoard {
 public:
  void set(const Fault& fault);
  void reset();
  // The fault for the next chat or embedding request, consuming one of its count. A
  // kStreamError fault applies only to streams: other requests get kOk and consume nothing.
  Fault take(bool stream);

 private:
  std::mutex mu_;
  Fault fault_;  // GUARDED_BY(mu_)
};

// Counters of what the endpoint served, for tests and demos.
class Stats {
 public:
  void count_chat(bool stream);
  void count_embedding();
  void count_status(int status);
  void count_cancelled_stream() { cancelled_streams_.fetch_add(1); }
  void connection_opened() { open_connections_.fetch_add(1); }
  void connection_closed() { open_connections_.fetch_sub(1); }
  void saw_authorization(bool present) { last_authorization_seen_.store(present); }
  nlohmann::json to_json() const;
  // Zeroes every counter but open_connections (connections stay open across a reset).
  void reset();

 private:
  mutable std::mutex mu_;
  int64_t chat_requests_ = 0;         // GUARDED_BY(mu_)
  int64_t embedding_requests_ = 0;    // GUARDED_BY(mu_)
  int64_t stream_requests_ = 0;       // GUARDED_BY(mu_)
  std::map<int, int64_t> by_status_;  // GUARDED_BY(mu_)
  std::atomic<int64_t> open_connections_{0};
  std::atomic<int64_t> cancelled_streams_{0};
  std::atomic<bool> last_authorization_seen_{false};
};

}  // namespace cairn::ai::endpoint
