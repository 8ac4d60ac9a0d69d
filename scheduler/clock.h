// Clock: the only source of time in scheduler/ and server/. SystemClock in production;
// ManualClock in tests, whose advance() fires every due timer before returning (so tests never
// sleep). Both are thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace cairn {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the unix epoch.
  virtual int64_t now_ms() const = 0;
  // Blocks until now_ms() >= deadline_ms, `wake` is notified, or `stop()` returns true; always
  // re-checks stop() after waking. REQUIRES: `lock` holds the mutex that guards stop's inputs.
  virtual void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& wake,
                          int64_t deadline_ms, const std::function<bool()>& stop) = 0;
  // Registers a callback run (outside any clock lock) each time a manual clock moves forward.
  // SystemClock never calls it.
  virtual void on_advance(std::function<void()> fn) {}
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& wake,
                  int64_t deadline_ms, const std::function<bool()>& stop) override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000);
  int64_t now_ms() const override;
  // Never waits on time: returns when woken or when stop() is true (time moves only by advance()).
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& wake,
                  int64_t deadline_ms, const std::function<bool()>& stop) override;
  void on_advance(std::function<void()> fn) override;
  // Moves time forward by delta_ms and runs every on_advance callback before returning; the timer
  // queue's callback fires every timer now due, synchronously.
  void advance(int64_t delta_ms);

 private:
  mutable std::mutex mu_;
  int64_t now_ms_;                                // GUARDED_BY(mu_)
  std::vector<std::function<void()>> listeners_;  // GUARDED_BY(mu_)
};

// Clock::on_advance() has no way to unregister, so a listener that captures `this` would dangle
// once its owner is destroyed while the clock lives on (a test that restarts a server on the same
// ManualClock). AdvanceListener is the safe way to listen: after detach() (or its destructor)
// returns, the callback is not running and will never run again. The callback may run on any
// thread that advances the clock; attach() and detach() are for the owner and must not race.
class AdvanceListener {
 public:
  AdvanceListener() = default;
  ~AdvanceListener() { detach(); }
  AdvanceListener(const AdvanceListener&) = delete;
  AdvanceListener& operator=(const AdvanceListener&) = delete;

  // Registers fn with clock->on_advance(). REQUIRES: not attached; clock outlives every advance()
  // call it makes (the registration itself stays in the clock, disarmed, after detach()).
  void attach(Clock* clock, std::function<void()> fn);
  // Disarms the callback and waits for calls running on other threads to finish. Idempotent.
  // Called from inside the callback itself, it does not wait for that (own) call.
  void detach();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cairn
