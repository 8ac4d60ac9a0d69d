#include "server/deadline_queue.h"

#include <vector>

namespace cairn {

DeadlineQueue::DeadlineQueue(Clock* clock) : clock_(clock) {}

DeadlineQueue::~DeadlineQueue() { stop(); }

void DeadlineQueue::start(bool use_thread) {
  if (use_thread) {
    thread_ = std::thread([this] { run(); });
  } else {
    clock_->on_advance([this] { expire_due(); });
  }
}

void DeadlineQueue::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

uint64_t DeadlineQueue::add(int64_t deadline_ms, std::weak_ptr<Expirable> entry) {
  uint64_t id;
  bool earliest;
  {
    std::lock_guard lock(mu_);
    id = ++next_id_;
    entries_.emplace(std::make_pair(deadline_ms, id), std::move(entry));
    earliest = entries_.begin()->first.second == id;
  }
  if (earliest) {
    wake_.notify_all();
  }
  return id;
}

void DeadlineQueue::remove(int64_t deadline_ms, uint64_t id) {
  std::lock_guard lock(mu_);
  entries_.erase(std::make_pair(deadline_ms, id));
}

size_t DeadlineQueue::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void DeadlineQueue::expire_all() {
  std::map<std::pair<int64_t, uint64_t>, std::weak_ptr<Expirable>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(entries_);
  }
  for (auto& [key, weak] : all) {
    if (auto e = weak.lock()) {
      e->expire();
    }
  }
}

void DeadlineQueue::expire_due() {
  std::vector<std::weak_ptr<Expirable>> due;
  {
    std::lock_guard lock(mu_);
    int64_t now = clock_->now_ms();
    while (!entries_.empty() && entries_.begin()->first.first <= now) {
      due.push_back(std::move(entries_.begin()->second));
      entries_.erase(entries_.begin());
    }
  }
  for (auto& weak : due) {
    if (auto e = weak.lock()) {
      e->expire();
    }
  }
}

void DeadlineQueue::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    int64_t next = entries_.empty() ? INT64_MAX : entries_.begin()->first.first;
    uint64_t seen = next_id_;
    if (next > clock_->now_ms()) {
      clock_->wait_until(lock, wake_, next,
                         [&] { return stopping_ || next_id_ != seen; });
      continue;
    }
    lock.unlock();
    expire_due();
    lock.lock();
  }
}

}  // namespace cairn
