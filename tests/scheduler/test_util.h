// Helpers for the scheduler tests: records and a bounded wait on a condition variable (tests wait
// for an outcome with a generous deadline; they never sleep in place of synchronisation).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "cairn/v1/persistence.pb.h"
#include "scheduler/clock.h"

namespace cairn::testing {

inline constexpr std::chrono::seconds kGenerousDeadline{30};

inline v1::TimerRecord make_timer(int64_t seq, int64_t fire_time_ms) {
  v1::TimerRecord t;
  t.set_timer_seq(seq);
  t.set_fire_time_ms(fire_time_ms);
  t.set_kind(v1::TIMER_KIND_USER_TIMER);
  t.set_workflow_id("wf-" + std::to_string(seq));
  return t;
}

inline v1::TaskRecord make_task(int64_t id) {
  v1::TaskRecord t;
  t.set_task_id(id);
  t.set_kind(v1::TASK_KIND_ACTIVITY);
  t.set_workflow_id("wf-" + std::to_string(id));
  return t;
}

// Waits on cv under lock until pred() holds or the deadline passes; true when pred() holds.
template <typename Pred>
bool await_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, Pred pred,
                 std::chrono::milliseconds deadline = kGenerousDeadline) {
  return cv.wait_for(lock, deadline, pred);
}

// Delegates to another clock and records each wait_until() deadline as it begins, so a test can
// know that a timer thread is asleep (and until when) before it adds a timer.
class ObservedClock final : public Clock {
 public:
  explicit ObservedClock(Clock* inner) : inner_(inner) {}
  int64_t now_ms() const override { return inner_->now_ms(); }
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& wake,
                  int64_t deadline_ms, const std::function<bool()>& stop) override {
    {
      std::lock_guard g(mu_);
      waits_.push_back(deadline_ms);
    }
    cv_.notify_all();
    inner_->wait_until(lock, wake, deadline_ms, stop);
  }
  void on_advance(std::function<void()> fn) override { inner_->on_advance(std::move(fn)); }

  // Waits until some wait_until() call, the n-th or later, had this deadline.
  bool await_wait(int64_t deadline_ms, size_t from = 0) {
    std::unique_lock lock(mu_);
    return await_until(lock, cv_, [&] {
      for (size_t i = from; i < waits_.size(); ++i) {
        if (waits_[i] == deadline_ms) {
          return true;
        }
      }
      return false;
    });
  }
  size_t wait_count() {
    std::lock_guard g(mu_);
    return waits_.size();
  }

 private:
  Clock* inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int64_t> waits_;  // GUARDED_BY(mu_)
};

}  // namespace cairn::testing
