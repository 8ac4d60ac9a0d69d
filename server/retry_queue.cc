#include "server/retry_queue.h"

#include <algorithm>
#include <vector>

#include <spdlog/spdlog.h>

namespace cairn {

namespace {
constexpr int64_t kLogEveryMs = 60'000;
}  // namespace

RetryQueue::RetryQueue(Clock* clock, ThreadPool* pool, RetryQueueOptions options)
    : clock_(clock), pool_(pool), options_(options) {
  options_.initial_ms = std::max<int64_t>(1, options_.initial_ms);
  options_.maximum_ms = std::max(options_.initial_ms, options_.maximum_ms);
  options_.max_attempts = std::max(1, options_.max_attempts);
}

RetryQueue::~RetryQueue() { stop(); }

void RetryQueue::start(bool use_thread) {
  use_thread_ = use_thread;
  if (use_thread) {
    thread_ = std::thread([this] { run(); });
  } else {
    advance_listener_.attach(clock_, [this] { run_due(); });
  }
}

void RetryQueue::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [kind, c] : counts_) {
      c.pending = 0;
    }
    due_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  advance_listener_.detach();
}

int64_t RetryQueue::backoff_ms(int attempt) const {
  int64_t wait = options_.initial_ms;
  for (int i = 1; i < attempt && wait < options_.maximum_ms; ++i) {
    wait *= 2;
  }
  return std::min(wait, options_.maximum_ms);
}

bool RetryQueue::retry(const std::string& kind, const std::string& what, const std::string& cause,
                       int attempt, std::function<void(int next_attempt)> again) {
  bool scheduled = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return false;
    }
    Counts& c = counts_[kind];
    if (attempt >= options_.max_attempts) {
      ++c.gave_up;
      note_locked(kind, what, cause, attempt, /*giving_up=*/true);
      return false;
    }
    ++c.retried;
    ++c.pending;
    note_locked(kind, what, cause, attempt, /*giving_up=*/false);
    Item item;
    item.kind = kind;
    item.again = std::move(again);
    item.next_attempt = attempt + 1;
    due_.emplace(clock_->now_ms() + backoff_ms(attempt), std::move(item));
    ++changes_;
    scheduled = true;
  }
  wake_.notify_all();
  return scheduled;
}

RetryQueue::Counts RetryQueue::counts(const std::string& kind) const {
  std::lock_guard lock(mu_);
  if (!kind.empty()) {
    auto it = counts_.find(kind);
    return it == counts_.end() ? Counts{} : it->second;
  }
  Counts all;
  for (const auto& [k, c] : counts_) {
    all.retried += c.retried;
    all.gave_up += c.gave_up;
    all.pending += c.pending;
  }
  return all;
}

void RetryQueue::note_locked(const std::string& kind, const std::string& what,
                             const std::string& cause, int attempt, bool giving_up) {
  if (giving_up) {
    // Always logged: something waits for a restart now.
    spdlog::error(
        "{}: gave up after {} attempts ({}); it stays on disk and runs again after a "
        "restart of the server",
        what, attempt, cause);
    return;
  }
  CauseLog& log = logged_[kind + "\n" + cause];
  const int64_t now = clock_->now_ms();
  if (log.last_logged_ms != INT64_MIN && now - log.last_logged_ms < kLogEveryMs) {
    ++log.suppressed;
    return;
  }
  if (log.suppressed > 0) {
    spdlog::warn(
        "{} failed ({}), retrying in {} ms (attempt {}); {} more {} failures with this "
        "cause in the last minute were retried without a log line",
        what, cause, backoff_ms(attempt), attempt, log.suppressed, kind);
  } else {
    spdlog::warn(
        "{} failed ({}), retrying in {} ms (attempt {}); further {} failures with this "
        "cause are logged at most once a minute",
        what, cause, backoff_ms(attempt), attempt, kind);
  }
  log.last_logged_ms = now;
  log.suppressed = 0;
}

void RetryQueue::run_due() {
  std::vector<Item> ready;
  {
    std::lock_guard lock(mu_);
    const int64_t now = clock_->now_ms();
    while (!due_.empty() && due_.begin()->first <= now) {
      --counts_[due_.begin()->second.kind].pending;
      ready.push_back(std::move(due_.begin()->second));
      due_.erase(due_.begin());
    }
  }
  for (Item& item : ready) {
    if (use_thread_) {
      pool_->submit([item = std::move(item)] { item.again(item.next_attempt); });
    } else {
      item.again(item.next_attempt);
    }
  }
}

void RetryQueue::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const int64_t next = due_.empty() ? INT64_MAX : due_.begin()->first;
    const uint64_t seen = changes_;
    if (next > clock_->now_ms()) {
      clock_->wait_until(lock, wake_, next, [&] { return stopping_ || changes_ != seen; });
      continue;
    }
    lock.unlock();
    run_due();
    lock.lock();
  }
}

}  // namespace cairn
