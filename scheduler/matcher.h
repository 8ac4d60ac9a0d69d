// Matcher: task queues with long-poll matching. A task offered to a queue goes to the oldest
// waiting poller, or waits in the queue's backlog until one polls. Pollers are objects, not
// threads: 1,000 idle polls cost 1,000 small objects. Thread-safe. Owned by the server.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cairn/v1/persistence.pb.h"

namespace cairn {

// (namespace, task queue name, kind).
struct QueueKey {
  std::string ns;
  std::string name;
  v1::TaskKind kind = v1::TASK_KIND_UNSPECIFIED;
  bool operator==(const QueueKey&) const = default;
  std::string debug_string() const;
};

// One waiting long-poll. Exactly one party claims it: the matcher (to deliver a task) or the
// poll's own cancellation (deadline, disconnect, shutdown). Whoever wins try_claim() owns the
// single answer.
class PollWaiter {
 public:
  virtual ~PollWaiter() = default;
  bool try_claim() { return !claimed_.exchange(true); }
  bool claimed() const { return claimed_.load(); }
  // Called once, after a successful try_claim() by the matcher, never under the matcher's lock.
  virtual void deliver(v1::TaskRecord task) = 0;

 private:
  std::atomic<bool> claimed_{false};
};

struct QueueStats {
  int64_t backlog = 0;
  int64_t pollers = 0;
  int64_t last_poll_time_ms = 0;
  // Identities that polled in the last kRecentPollerMs, with their last poll time, newest first.
  std::vector<std::pair<std::string, int64_t>> recent_pollers;
};

class Matcher {
 public:
  // Gives the task to the oldest live waiter of its queue (claiming it), else appends it to the
  // backlog. Duplicate task_ids (re-offered after a restart) are ignored while queued.
  // task_id 0 means "unset" and is never deduplicated. deliver() runs on the calling thread,
  // after the matcher's lock is released.
  void offer(const QueueKey& queue, v1::TaskRecord task);

  // Takes the oldest backlog task at once when there is one (the waiter is not registered).
  // Otherwise registers `waiter` and returns nullopt; it is answered later by deliver() or by its
  // own cancellation. now_ms is recorded as the queue's last poll time.
  // `identity` (may be empty) is remembered for stats() for kRecentPollerMs.
  std::optional<v1::TaskRecord> poll(const QueueKey& queue, std::shared_ptr<PollWaiter> waiter,
                                     int64_t now_ms, const std::string& identity = "");

  static constexpr int64_t kRecentPollerMs = 5 * 60 * 1000;
  static constexpr size_t kMaxRecentPollers = 256;  // per queue

  // Forgets a waiter that was claimed by its cancellation. Cheap; claimed waiters are also skipped
  // lazily by offer().
  void remove(const QueueKey& queue, const PollWaiter* waiter);

  // Claims every waiting poller and returns them so the caller can answer them (shutdown).
  // Waiters already claimed by someone else are dropped, not returned. New polls are still
  // accepted afterwards: the caller stops those itself.
  std::vector<std::shared_ptr<PollWaiter>> drain_waiters();

  // Backlog size, waiters not yet claimed, last poll time; all zero for a queue never used.
  QueueStats stats(const QueueKey& queue) const;

 private:
  struct Queue {
    std::deque<v1::TaskRecord> backlog;
    std::unordered_set<int64_t> queued_ids;  // task_ids in backlog (except 0)
    std::deque<std::shared_ptr<PollWaiter>> waiters;
    int64_t last_poll_time_ms = 0;
    std::unordered_map<std::string, int64_t> recent_pollers;  // identity -> last poll time
  };
  struct KeyHash {
    size_t operator()(const QueueKey& k) const;
  };
  mutable std::mutex mu_;
  std::unordered_map<QueueKey, Queue, KeyHash> queues_;  // GUARDED_BY(mu_)
};

}  // namespace cairn
