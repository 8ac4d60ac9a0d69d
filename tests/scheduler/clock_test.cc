#include "scheduler/clock.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace cairn {
namespace {

using testing::await_until;

// How long a waiter that must stay blocked is watched for returning early. A correct waiter never
// returns by itself, so this only bounds how long the test looks for the bug; it never stands in
// for synchronisation (that is `checks`, below).
constexpr std::chrono::milliseconds kStillBlocked{100};

// Runs clock->wait_until(deadline_ms) on its own thread, with a stop condition the test sets.
class Waiter {
 public:
  Waiter(Clock* clock, int64_t deadline_ms)
      : thread_([this, clock, deadline_ms] {
          std::unique_lock lock(mu_);
          clock->wait_until(lock, wake_, deadline_ms, [this] {
            ++checks_;
            seen_.notify_all();
            return stop_;
          });
          returned_ = true;
          stopped_at_return_ = stop_;
          seen_.notify_all();
        }) {}
  ~Waiter() { stop_and_join(); }

  // True when wait_until() returned while stop() was still false.
  bool returns_by_itself() {
    std::unique_lock lock(mu_);
    return await_until(lock, seen_, [&] { return returned_; }) && !stopped_at_return_;
  }
  // True when wait_until() has checked stop() and is still blocked kStillBlocked later. The
  // waiter holds mu_ from its first check until it blocks (releasing mu_) or returns (setting
  // returned_), so once this thread holds mu_ after a check, returned_ tells the two apart.
  bool stays_blocked() {
    std::unique_lock lock(mu_);
    if (!await_until(lock, seen_, [&] { return checks_ > 0; })) {
      return false;
    }
    return !await_until(lock, seen_, [&] { return returned_; }, kStillBlocked);
  }
  // Sets stop, wakes the waiter and joins it. True when it returned because of stop.
  bool stop_and_join() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
      thread_.join();
    }
    std::lock_guard lock(mu_);
    return returned_ && stopped_at_return_;
  }

 private:
  std::mutex mu_;
  std::condition_variable wake_;  // the clock's `wake`
  std::condition_variable seen_;  // the test's: a check or the return happened
  bool stop_ = false;               // GUARDED_BY(mu_)
  int checks_ = 0;                  // GUARDED_BY(mu_)
  bool returned_ = false;           // GUARDED_BY(mu_)
  bool stopped_at_return_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;              // last: starts once the members above exist
};

TEST(ManualClockTest, StartsWhereToldAndMovesOnlyOnAdvance) {
  ManualClock clock(1000);
  EXPECT_EQ(clock.now_ms(), 1000);
  clock.advance(250);
  EXPECT_EQ(clock.now_ms(), 1250);
  clock.advance(0);
  EXPECT_EQ(clock.now_ms(), 1250);
}

TEST(ManualClockTest, AdvanceRunsListenersBeforeReturningOutsideItsLock) {
  ManualClock clock(0);
  std::vector<int64_t> seen;
  // Reading now_ms() inside a listener would deadlock if advance() held its lock while calling.
  clock.on_advance([&] { seen.push_back(clock.now_ms()); });
  clock.on_advance([&] { seen.push_back(-clock.now_ms()); });
  clock.advance(10);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], 10);
  EXPECT_EQ(seen[1], -10);
  clock.advance(5);
  EXPECT_EQ(seen.size(), 4u);
}

TEST(ManualClockTest, ListenerMayAdvanceAndRegisterAgain) {
  ManualClock clock(0);
  int nested = 0;
  clock.on_advance([&] {
    if (nested++ == 0) {
      clock.on_advance([] {});
      clock.advance(1);
    }
  });
  clock.advance(1);
  EXPECT_EQ(clock.now_ms(), 2);
  EXPECT_EQ(nested, 2);
}

TEST(ManualClockTest, WaitUntilReturnsOnStopNotOnRealTime) {
  // A deadline 1 ms after the epoch is long past in real time, but not on this clock.
  ManualClock clock(0);
  Waiter waiter(&clock, 1);
  EXPECT_TRUE(waiter.stays_blocked());
  EXPECT_TRUE(waiter.stop_and_join());
  EXPECT_EQ(clock.now_ms(), 0);
}

TEST(ManualClockTest, WaitUntilPastDeadlineReturnsAtOnce) {
  ManualClock clock(100);
  {
    Waiter at_deadline(&clock, 100);
    EXPECT_TRUE(at_deadline.returns_by_itself());
  }
  {
    Waiter past_deadline(&clock, 50);
    EXPECT_TRUE(past_deadline.returns_by_itself());
  }
  EXPECT_EQ(clock.now_ms(), 100);  // returning did not move time
}

TEST(SystemClockTest, NowIsEpochMillisecondsAndDoesNotGoBackwardsMuch) {
  SystemClock clock;
  int64_t a = clock.now_ms();
  int64_t b = clock.now_ms();
  EXPECT_GT(a, 1'600'000'000'000);  // after 2020
  EXPECT_LT(a, 4'100'000'000'000);  // before 2100
  EXPECT_GE(b, a - 1000);
}

TEST(SystemClockTest, WaitUntilTimesOutAtTheDeadline) {
  SystemClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lock(mu);
  int64_t deadline = clock.now_ms() + 30;
  clock.wait_until(lock, cv, deadline, [] { return false; });
  EXPECT_GE(clock.now_ms(), deadline);
}

TEST(SystemClockTest, WaitUntilWithoutDeadlineReturnsOnStop) {
  SystemClock clock;
  Waiter waiter(&clock, INT64_MAX);
  EXPECT_TRUE(waiter.stays_blocked());
  EXPECT_TRUE(waiter.stop_and_join());
}

TEST(SystemClockTest, WaitUntilPastOrExtremeDeadlinesDoNotOverflow) {
  SystemClock clock;
  // Converted to nanoseconds, these would wrap around; they are in the past and return at once.
  for (int64_t deadline : {INT64_MIN, int64_t{0}, int64_t{-1}}) {
    Waiter waiter(&clock, deadline);
    EXPECT_TRUE(waiter.returns_by_itself()) << deadline;
  }
  // Beyond what a system_clock time_point holds: no deadline (a wrapped one would be past).
  for (int64_t deadline : {INT64_MAX - 1, int64_t{9'223'000'000'000'000'000}}) {
    Waiter waiter(&clock, deadline);
    EXPECT_TRUE(waiter.stays_blocked()) << deadline;
    EXPECT_TRUE(waiter.stop_and_join()) << deadline;
  }
}

TEST(AdvanceListenerTest, DetachStopsFurtherCalls) {
  ManualClock clock(0);
  int calls = 0;
  {
    AdvanceListener listener;
    listener.attach(&clock, [&] { ++calls; });
    clock.advance(1);
    EXPECT_EQ(calls, 1);
  }  // destructor detaches
  clock.advance(1);
  EXPECT_EQ(calls, 1);
}

TEST(AdvanceListenerTest, DetachFromInsideTheCallbackDoesNotWaitForItself) {
  ManualClock clock(0);
  AdvanceListener listener;
  int calls = 0;
  listener.attach(&clock, [&] {
    ++calls;
    listener.detach();
  });
  clock.advance(1);
  clock.advance(1);
  EXPECT_EQ(calls, 1);
}

TEST(AdvanceListenerTest, DetachWaitsForACallRunningOnAnotherThread) {
  ManualClock clock(0);
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;   // GUARDED_BY(mu)
  bool release = false;   // GUARDED_BY(mu)
  bool finished = false;  // GUARDED_BY(mu)
  AdvanceListener listener;
  listener.attach(&clock, [&] {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    await_until(lock, cv, [&] { return release; });
    finished = true;
  });
  std::thread advancer([&] { clock.advance(1); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(await_until(lock, cv, [&] { return entered; }));
  }
  std::thread releaser([&] {
    // Released only after detach() has had the chance to start waiting; detach() must still
    // not return before `finished` is set.
    std::lock_guard lock(mu);
    release = true;
    cv.notify_all();
  });
  listener.detach();
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(finished);
  }
  releaser.join();
  advancer.join();
}

}  // namespace
}  // namespace cairn
