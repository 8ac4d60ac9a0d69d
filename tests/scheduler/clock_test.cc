#include "scheduler/clock.h"

#include <atomic>
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
  ManualClock clock(0);
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;  // GUARDED_BY(mu)
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    std::unique_lock lock(mu);
    clock.wait_until(lock, cv, 1, [&] { return stop; });
    returned = true;
  });
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  cv.notify_all();
  waiter.join();
  EXPECT_TRUE(returned.load());
}

TEST(ManualClockTest, WaitUntilPastDeadlineReturnsAtOnce) {
  ManualClock clock(100);
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lock(mu);
  clock.wait_until(lock, cv, 100, [] { return false; });
  SUCCEED();
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
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;  // GUARDED_BY(mu)
  std::thread waiter([&] {
    std::unique_lock lock(mu);
    clock.wait_until(lock, cv, INT64_MAX, [&] { return stop; });
    EXPECT_TRUE(stop);
  });
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  cv.notify_all();
  waiter.join();
}

TEST(SystemClockTest, WaitUntilPastOrExtremeDeadlinesDoNotOverflow) {
  SystemClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lock(mu);
  clock.wait_until(lock, cv, INT64_MIN, [] { return false; });
  clock.wait_until(lock, cv, 0, [] { return false; });
  clock.wait_until(lock, cv, INT64_MAX - 1, [] { return true; });
  SUCCEED();
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
