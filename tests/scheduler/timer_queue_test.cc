#include "scheduler/timer_queue.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "scheduler/clock.h"
#include "test_util.h"

namespace cairn {
namespace {

using testing::await_until;
using testing::make_timer;
using testing::ObservedClock;

constexpr int64_t kStart = 1'700'000'000'000;

// A TimerQueue on a ManualClock, firing inside advance(), recording the seqs it fired.
class ManualTimerQueueTest : public ::testing::Test {
 protected:
  ManualTimerQueueTest() : clock_(kStart) {}
  void SetUp() override {
    queue_ = std::make_unique<TimerQueue>(&clock_, [this](const v1::TimerRecord& t) {
      fired_.push_back(t.timer_seq());
      fired_at_.push_back(clock_.now_ms());
      if (on_fire_) {
        on_fire_(t);
      }
    });
    queue_->start(/*use_thread=*/false);
  }

  ManualClock clock_;
  std::unique_ptr<TimerQueue> queue_;
  std::vector<int64_t> fired_;
  std::vector<int64_t> fired_at_;
  std::function<void(const v1::TimerRecord&)> on_fire_;
};

TEST_F(ManualTimerQueueTest, EmptyQueue) {
  EXPECT_EQ(queue_->size(), 0u);
  EXPECT_EQ(queue_->next_fire_time_ms(), INT64_MAX);
  clock_.advance(1'000'000);
  EXPECT_TRUE(fired_.empty());
  EXPECT_EQ(queue_->fire_due(), 0);
}

TEST_F(ManualTimerQueueTest, AdvanceFiresDueTimersBeforeReturningInTimeThenSeqOrder) {
  queue_->add(make_timer(5, kStart + 30));
  queue_->add(make_timer(3, kStart + 10));
  queue_->add(make_timer(1, kStart + 10));
  queue_->add(make_timer(2, kStart + 20));
  queue_->add(make_timer(4, kStart + 100));
  EXPECT_EQ(queue_->size(), 5u);
  EXPECT_EQ(queue_->next_fire_time_ms(), kStart + 10);

  clock_.advance(50);
  EXPECT_EQ(fired_, (std::vector<int64_t>{1, 3, 2, 5}));
  EXPECT_EQ(queue_->size(), 1u);
  EXPECT_EQ(queue_->next_fire_time_ms(), kStart + 100);
  for (int64_t at : fired_at_) {
    EXPECT_EQ(at, kStart + 50);
  }
}

TEST_F(ManualTimerQueueTest, NotYetDueTimersDoNotFire) {
  queue_->add(make_timer(1, kStart + 100));
  clock_.advance(99);
  EXPECT_TRUE(fired_.empty());
  EXPECT_EQ(queue_->size(), 1u);
  clock_.advance(1);  // due exactly at its fire time
  EXPECT_EQ(fired_, (std::vector<int64_t>{1}));
  EXPECT_EQ(queue_->size(), 0u);
  EXPECT_EQ(queue_->next_fire_time_ms(), INT64_MAX);
}

TEST_F(ManualTimerQueueTest, TimersAddedDuringAFireFireInTheSameAdvanceWhenDue) {
  queue_->add(make_timer(1, kStart + 10));
  queue_->add(make_timer(2, kStart + 40));
  on_fire_ = [this](const v1::TimerRecord& t) {
    if (t.timer_seq() == 1) {
      queue_->add(make_timer(10, kStart + 20));  // due: fires before seq 2 (earlier time)
      queue_->add(make_timer(11, kStart + 50));  // due at the advanced time: fires last
      queue_->add(make_timer(12, kStart + 51));  // not due
      EXPECT_EQ(queue_->size(), 4u);             // the queue's lock is not held here
    }
    if (t.timer_seq() == 10) {
      queue_->add(make_timer(13, kStart + 5));  // already overdue: fires next
    }
  };
  clock_.advance(50);
  EXPECT_EQ(fired_, (std::vector<int64_t>{1, 10, 13, 2, 11}));
  EXPECT_EQ(queue_->size(), 1u);
  EXPECT_EQ(queue_->next_fire_time_ms(), kStart + 51);
}

TEST_F(ManualTimerQueueTest, OverdueTimersLoadedAtStartUpFireOnFireDue) {
  queue_->add_all(
      {make_timer(7, kStart - 1000), make_timer(6, kStart - 1000), make_timer(8, kStart + 1)});
  EXPECT_EQ(queue_->fire_due(), 2);
  EXPECT_EQ(fired_, (std::vector<int64_t>{6, 7}));
  EXPECT_EQ(queue_->size(), 1u);
}

TEST_F(ManualTimerQueueTest, DuplicateSeqIsQueuedOnce) {
  queue_->add(make_timer(1, kStart + 10));
  queue_->add(make_timer(1, kStart + 10));
  queue_->add_all({make_timer(1, kStart + 10), make_timer(2, kStart + 10)});
  EXPECT_EQ(queue_->size(), 2u);
  clock_.advance(10);
  EXPECT_EQ(fired_, (std::vector<int64_t>{1, 2}));
  // Once fired it may be added again (a timer re-armed under the same seq fires again).
  queue_->add(make_timer(1, kStart + 10));
  EXPECT_EQ(queue_->fire_due(), 1);
}

TEST_F(ManualTimerQueueTest, StopUnhooksFromTheClockAndKeepsPendingTimers) {
  queue_->add(make_timer(1, kStart + 10));
  queue_->stop();
  queue_->stop();  // idempotent
  clock_.advance(10);
  EXPECT_TRUE(fired_.empty());
  EXPECT_EQ(queue_->size(), 1u);
  // Destroyed before the clock: later advances must not reach it.
  queue_.reset();
  clock_.advance(10);
  EXPECT_TRUE(fired_.empty());
}

TEST(TimerQueueManualClockThreadTest, ThreadModeIsWokenByAdvance) {
  ManualClock manual(kStart);
  ObservedClock clock(&manual);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int64_t> fired;  // GUARDED_BY(mu)
  TimerQueue queue(&clock, [&](const v1::TimerRecord& t) {
    std::lock_guard lock(mu);
    fired.push_back(t.timer_seq());
    cv.notify_all();
  });
  queue.add(make_timer(1, kStart + 10));
  queue.start(/*use_thread=*/true);
  // Asleep until kStart + 10 on a clock that does not move by itself: only advance() can wake it.
  ASSERT_TRUE(clock.await_wait(kStart + 10));
  manual.advance(10);
  std::unique_lock lock(mu);
  ASSERT_TRUE(await_until(lock, cv, [&] { return !fired.empty(); }));
  EXPECT_EQ(fired, (std::vector<int64_t>{1}));
}

// ---- SystemClock: the real firing thread --------------------------------------------------

class SystemTimerQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    queue_ = std::make_unique<TimerQueue>(&clock_, [this](const v1::TimerRecord& t) {
      int64_t now = clock_.now_ms();
      std::lock_guard lock(mu_);
      fired_.push_back(t.timer_seq());
      fired_at_.push_back(now);
      cv_.notify_all();
    });
  }
  bool await_fired(size_t n) {
    std::unique_lock lock(mu_);
    return await_until(
        lock, cv_, [&] { return fired_.size() >= n; }, std::chrono::seconds(5));
  }

  SystemClock real_;
  ObservedClock clock_{&real_};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int64_t> fired_;     // GUARDED_BY(mu_)
  std::vector<int64_t> fired_at_;  // GUARDED_BY(mu_)
  std::unique_ptr<TimerQueue> queue_;
};

TEST_F(SystemTimerQueueTest, FiresATimerAtItsTimeNotBefore) {
  queue_->start();
  ASSERT_TRUE(clock_.await_wait(INT64_MAX));  // asleep with no deadline: add() must wake it
  int64_t fire_time = clock_.now_ms() + 50;
  queue_->add(make_timer(1, fire_time));
  ASSERT_TRUE(await_fired(1));
  std::lock_guard lock(mu_);
  EXPECT_EQ(fired_, (std::vector<int64_t>{1}));
  EXPECT_GE(fired_at_[0], fire_time);
  EXPECT_EQ(queue_->size(), 0u);
}

TEST_F(SystemTimerQueueTest, AnEarlierTimerAddedLaterWakesTheThread) {
  int64_t now = clock_.now_ms();
  queue_->add(make_timer(1, now + 3'600'000));
  queue_->start();
  // Asleep until the one-hour timer: without a re-plan the new one would not fire within 5 s.
  ASSERT_TRUE(clock_.await_wait(now + 3'600'000));
  int64_t fire_time = clock_.now_ms() + 50;
  queue_->add(make_timer(2, fire_time));
  ASSERT_TRUE(await_fired(1));
  std::lock_guard lock(mu_);
  EXPECT_EQ(fired_, (std::vector<int64_t>{2}));
  EXPECT_GE(fired_at_[0], fire_time);
  EXPECT_EQ(queue_->size(), 1u);
}

TEST_F(SystemTimerQueueTest, OverdueTimersFireInOrderOnStart) {
  int64_t now = clock_.now_ms();
  queue_->add_all({make_timer(3, now - 10), make_timer(1, now - 20), make_timer(2, now - 10)});
  queue_->start();
  ASSERT_TRUE(await_fired(3));
  std::lock_guard lock(mu_);
  EXPECT_EQ(fired_, (std::vector<int64_t>{1, 2, 3}));
}

TEST_F(SystemTimerQueueTest, StopWithPendingTimersReturnsPromptly) {
  int64_t now = clock_.now_ms();
  queue_->add(make_timer(1, now + 3'600'000));
  queue_->start();
  queue_->add(make_timer(2, now + 7'200'000));
  ASSERT_TRUE(clock_.await_wait(now + 3'600'000));  // stop() must interrupt a long wait
  int64_t before = clock_.now_ms();
  queue_->stop();
  int64_t took = clock_.now_ms() - before;
  EXPECT_LT(took, 2000);
  EXPECT_EQ(queue_->size(), 2u);
  std::lock_guard lock(mu_);
  EXPECT_TRUE(fired_.empty());
}

TEST_F(SystemTimerQueueTest, DestructorStopsAnIdleThread) {
  queue_->start();
  ASSERT_TRUE(clock_.await_wait(INT64_MAX));
  int64_t before = clock_.now_ms();
  queue_.reset();
  EXPECT_LT(clock_.now_ms() - before, 2000);
}

}  // namespace
}  // namespace cairn
