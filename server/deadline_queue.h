// DeadlineQueue: answers waiting long-polls when their deadline passes, and all of them at
// shutdown. Holds weak references: an entry whose owner is gone is skipped. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "scheduler/clock.h"

namespace cairn {

class Expirable {
 public:
  virtual ~Expirable() = default;
  // Called at most once per add(), outside the queue's lock.
  virtual void expire() = 0;
};

class DeadlineQueue {
 public:
  explicit DeadlineQueue(Clock* clock);
  ~DeadlineQueue();

  void start(bool use_thread);
  void stop();  // idempotent; does not expire anything

  // Returns an id for remove().
  uint64_t add(int64_t deadline_ms, std::weak_ptr<Expirable> entry);
  void remove(int64_t deadline_ms, uint64_t id);
  // Expires every entry now (shutdown).
  void expire_all();
  size_t size() const;

 private:
  void run();
  void expire_due();

  Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::pair<int64_t, uint64_t>, std::weak_ptr<Expirable>> entries_;  // guarded by mu_
  uint64_t next_id_ = 0;   // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace cairn
