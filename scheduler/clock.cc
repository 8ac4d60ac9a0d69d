// The only file in scheduler/ (and server/) that reads a real clock; .ci/check-layers.sh greps
// for it.
#include "scheduler/clock.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace cairn {
namespace {

// system_clock counts nanoseconds in an int64 on libstdc++, which overflows a little after the
// year 2262. Deadlines at or beyond this (about the year 2255) mean "no deadline" — INT64_MAX is
// what callers pass for an empty queue.
constexpr int64_t kNoDeadlineMs = 9'000'000'000'000'000;

}  // namespace

// ---- SystemClock ----------------------------------------------------------------------------

int64_t SystemClock::now_ms() const {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
}

void SystemClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& wake,
                             int64_t deadline_ms, const std::function<bool()>& stop) {
  if (stop()) {
    return;
  }
  if (deadline_ms >= kNoDeadlineMs) {
    wake.wait(lock, stop);
    return;
  }
  // Also guards the conversion below against overflow for very negative deadlines.
  if (deadline_ms <= now_ms()) {
    return;
  }
  // The deadline is an absolute wall-clock time (timers are persisted as epoch milliseconds), so
  // the wait is on system_clock rather than steady_clock: a wall-clock step moves it too.
  std::chrono::system_clock::time_point deadline{std::chrono::milliseconds(deadline_ms)};
  wake.wait_until(lock, deadline, stop);
}

// ---- ManualClock ----------------------------------------------------------------------------

ManualClock::ManualClock(int64_t start_ms) : now_ms_(start_ms) {}

int64_t ManualClock::now_ms() const {
  std::lock_guard lock(mu_);
  return now_ms_;
}

void ManualClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& wake,
                             int64_t deadline_ms, const std::function<bool()>& stop) {
  // Time moves only in advance(), which does not know `wake`; a waiter on a manual clock is woken
  // by whoever changes its stop condition (an on_advance listener can do that). Lock order is
  // caller's mutex, then mu_ (inside now_ms()); advance() never holds mu_ while calling out.
  wake.wait(lock, [&] { return stop() || now_ms() >= deadline_ms; });
}

void ManualClock::on_advance(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  listeners_.push_back(std::move(fn));
}

void ManualClock::advance(int64_t delta_ms) {
  std::vector<std::function<void()>> listeners;
  {
    std::lock_guard lock(mu_);
    now_ms_ += delta_ms;
    listeners = listeners_;
  }
  // Outside mu_: a listener fires timers whose callbacks read now_ms() and may register
  // listeners or advance the clock again.
  for (auto& fn : listeners) {
    fn();
  }
}

// ---- AdvanceListener ------------------------------------------------------------------------

struct AdvanceListener::State {
  std::mutex mu;
  std::condition_variable idle;
  std::function<void()> fn;              // set before registration, then read-only
  bool armed = false;                    // GUARDED_BY(mu)
  std::vector<std::thread::id> running;  // GUARDED_BY(mu): one entry per call in progress

  void call() {
    std::thread::id self = std::this_thread::get_id();
    {
      std::lock_guard lock(mu);
      if (!armed) {
        return;
      }
      running.push_back(self);
    }
    // Unregisters even when fn throws, or detach() would wait forever.
    struct Done {
      State* s;
      std::thread::id self;
      ~Done() {
        {
          std::lock_guard lock(s->mu);
          s->running.erase(std::find(s->running.begin(), s->running.end(), self));
        }
        s->idle.notify_all();
      }
    } done{this, self};
    fn();
  }
};

void AdvanceListener::attach(Clock* clock, std::function<void()> fn) {
  auto state = std::make_shared<State>();
  state->fn = std::move(fn);
  state->armed = true;
  state_ = state;
  // The clock keeps the state alive (it never forgets a listener); we only disarm it.
  clock->on_advance([state] { state->call(); });
}

void AdvanceListener::detach() {
  if (!state_) {
    return;
  }
  std::thread::id self = std::this_thread::get_id();
  {
    std::unique_lock lock(state_->mu);
    state_->armed = false;
    // Calls on this thread (detach from inside the callback) cannot finish while we wait.
    state_->idle.wait(lock, [&] {
      return std::all_of(state_->running.begin(), state_->running.end(),
                         [&](std::thread::id id) { return id == self; });
    });
  }
  state_.reset();
}

}  // namespace cairn
