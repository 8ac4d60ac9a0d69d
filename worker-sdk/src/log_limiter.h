// LogLimiter: bounds repeated log lines — at most one line per key (say a run and a failure
// cause) per interval, counting the lines held back so that the next one can say how many.
// Time is passed in, so tests drive it without sleeping. Thread-safe; owned by the worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace cairn::detail {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // One line per key per `interval`; at most `max_keys` keys remembered (past that the key
  // logged longest ago is forgotten first).
  explicit LogLimiter(std::chrono::milliseconds interval = std::chrono::minutes(1),
                      size_t max_keys = 10'000);

  struct Verdict {
    bool log = false;        // write this line
    int64_t suppressed = 0;  // lines of this key held back since the last one written
  };
  // Whether a line for `key` at `now` is written. REQUIRES: `now` does not go backwards.
  Verdict admit(const std::string& key, Clock::time_point now);

  // " (N similar lines suppressed)" for a verdict that held lines back, else "".
  static std::string suffix(const Verdict& verdict);

 private:
  struct Entry {
    Clock::time_point last_logged;
    int64_t suppressed = 0;
  };

  const std::chrono::milliseconds interval_;
  const size_t max_keys_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
};

}  // namespace cairn::detail
