// LogLimiter (see log_limiter.h).
#include "log_limiter.h"

namespace cairn::detail {

LogLimiter::LogLimiter(std::chrono::milliseconds interval, size_t max_keys)
    : interval_(interval), max_keys_(max_keys == 0 ? 1 : max_keys) {}

LogLimiter::Verdict LogLimiter::admit(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    Entry& e = it->second;
    if (now - e.last_logged < interval_) {
      ++e.suppressed;
      return Verdict{false, e.suppressed};
    }
    Verdict v{true, e.suppressed};
    e = Entry{now, 0};
    return v;
  }
  if (entries_.size() >= max_keys_) {
    // Keys whose interval has passed hold no state worth keeping but their count of held-back
    // lines, which a quiet key no longer needs; drop those, and the oldest if none has passed.
    auto oldest = entries_.end();
    for (auto e = entries_.begin(); e != entries_.end();) {
      if (now - e->second.last_logged >= interval_ && e->second.suppressed == 0) {
        e = entries_.erase(e);
        continue;
      }
      if (oldest == entries_.end() || e->second.last_logged < oldest->second.last_logged) {
        oldest = e;
      }
      ++e;
    }
    if (entries_.size() >= max_keys_ && oldest != entries_.end()) {
      entries_.erase(oldest);
    }
  }
  entries_.emplace(key, Entry{now, 0});
  return Verdict{true, 0};
}

std::string LogLimiter::suffix(const Verdict& verdict) {
  if (verdict.suppressed == 0) {
    return "";
  }
  return " (" + std::to_string(verdict.suppressed) + " similar line" +
         (verdict.suppressed == 1 ? "" : "s") + " suppressed)";
}

}  // namespace cairn::detail
