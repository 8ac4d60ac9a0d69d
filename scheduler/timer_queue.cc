#include "scheduler/timer_queue.h"

#include <tuple>
#include <utility>

namespace cairn {

bool TimerQueue::Later::operator()(const v1::TimerRecord& a, const v1::TimerRecord& b) const {
  // priority_queue keeps the "largest" on top, so "a is later than b" makes it a min-heap.
  return std::make_tuple(a.fire_time_ms(), a.timer_seq()) >
         std::make_tuple(b.fire_time_ms(), b.timer_seq());
}

TimerQueue::TimerQueue(Clock* clock, FireFn fire) : clock_(clock), fire_(std::move(fire)) {}

TimerQueue::~TimerQueue() { stop(); }

void TimerQueue::start(bool use_thread) {
  if (use_thread) {
    // A SystemClock never calls the listener. A ManualClock does: the thread is then woken to
    // re-read the time, since its wait_until() does not move with time.
    advance_listener_.attach(clock_, [this] {
      {
        std::lock_guard lock(mu_);
        ++generation_;
      }
      wake_.notify_all();
    });
    thread_ = std::thread([this] { run(); });
  } else {
    advance_listener_.attach(clock_, [this] { fire_due(); });
  }
}

void TimerQueue::stop() {
  // Detach first: after this no advance() can start a fire_due() on this queue, and one already
  // running on another thread has finished.
  advance_listener_.detach();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void TimerQueue::add(const v1::TimerRecord& timer) { add_all({timer}); }

void TimerQueue::add_all(const std::vector<v1::TimerRecord>& timers) {
  bool earlier = false;
  {
    std::lock_guard lock(mu_);
    for (const auto& timer : timers) {
      if (timer.timer_seq() != 0 && !queued_seqs_.insert(timer.timer_seq()).second) {
        continue;
      }
      if (heap_.empty() || Later()(heap_.top(), timer)) {
        earlier = true;
      }
      heap_.push(timer);
    }
    if (earlier) {
      ++generation_;
    }
  }
  // Only a new earliest timer changes how long the thread has to sleep.
  if (earlier) {
    wake_.notify_all();
  }
}

int TimerQueue::fire_due() { return fire_until(clock_->now_ms(), /*honour_stop=*/false); }

int TimerQueue::fire_until(int64_t now_ms, bool honour_stop) {
  int fired = 0;
  for (;;) {
    v1::TimerRecord timer;
    {
      std::lock_guard lock(mu_);
      if (heap_.empty() || heap_.top().fire_time_ms() > now_ms || (honour_stop && stopping_)) {
        break;
      }
      timer = heap_.top();
      heap_.pop();
      if (timer.timer_seq() != 0) {
        queued_seqs_.erase(timer.timer_seq());
      }
    }
    // Outside the lock: the callback runs a transition that adds timers to this queue. Popping
    // one at a time (rather than a batch) lets a timer it adds that is due sooner than the rest
    // fire in its proper order.
    fire_(timer);
    ++fired;
  }
  return fired;
}

void TimerQueue::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    int64_t next = heap_.empty() ? INT64_MAX : heap_.top().fire_time_ms();
    int64_t now = clock_->now_ms();
    if (next > now) {
      // Woken early when add() brings a new earliest timer (generation_ moves) or on stop().
      uint64_t seen = generation_;
      clock_->wait_until(lock, wake_, next, [&] { return stopping_ || generation_ != seen; });
      continue;
    }
    lock.unlock();
    fire_until(now, /*honour_stop=*/true);
    lock.lock();
  }
}

size_t TimerQueue::size() const {
  std::lock_guard lock(mu_);
  return heap_.size();
}

int64_t TimerQueue::next_fire_time_ms() const {
  std::lock_guard lock(mu_);
  return heap_.empty() ? INT64_MAX : heap_.top().fire_time_ms();
}

}  // namespace cairn
