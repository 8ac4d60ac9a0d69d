#include "server/deadline_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "scheduler/clock.h"

namespace cairn {
namespace {

struct Counter final : Expirable {
  void expire() override { ++expired; }
  std::atomic<int> expired{0};
};

TEST(DeadlineQueueTest, ExpiresEntriesWhenTheirDeadlinePasses) {
  ManualClock clock(1000);
  DeadlineQueue q(&clock);
  q.start(/*use_thread=*/false);
  auto a = std::make_shared<Counter>();
  auto b = std::make_shared<Counter>();
  q.add(1500, a);
  q.add(3000, b);
  clock.advance(499);
  EXPECT_EQ(a->expired, 0);
  clock.advance(1);
  EXPECT_EQ(a->expired, 1);
  EXPECT_EQ(b->expired, 0);
  EXPECT_EQ(q.size(), 1u);
  clock.advance(5000);
  EXPECT_EQ(b->expired, 1);
  EXPECT_EQ(q.size(), 0u);
}

TEST(DeadlineQueueTest, RemovedAndDeadEntriesDoNotExpire) {
  ManualClock clock(0);
  DeadlineQueue q(&clock);
  q.start(false);
  auto a = std::make_shared<Counter>();
  uint64_t id = q.add(10, a);
  q.remove(10, id);
  {
    auto gone = std::make_shared<Counter>();
    q.add(10, gone);
  }  // owner released: the weak entry is skipped
  clock.advance(100);
  EXPECT_EQ(a->expired, 0);
  EXPECT_EQ(q.size(), 0u);
}

TEST(DeadlineQueueTest, ExpireAllAnswersEverythingAtShutdown) {
  ManualClock clock(0);
  DeadlineQueue q(&clock);
  q.start(false);
  auto a = std::make_shared<Counter>();
  auto b = std::make_shared<Counter>();
  q.add(1'000'000, a);
  q.add(2'000'000, b);
  q.expire_all();
  EXPECT_EQ(a->expired, 1);
  EXPECT_EQ(b->expired, 1);
  EXPECT_EQ(q.size(), 0u);
}

TEST(DeadlineQueueTest, ThreadedQueueExpiresOnRealTime) {
  SystemClock clock;
  DeadlineQueue q(&clock);
  q.start(true);
  auto a = std::make_shared<Counter>();
  int64_t deadline = clock.now_ms() + 30;
  q.add(deadline, a);
  int64_t give_up = clock.now_ms() + 10'000;
  while (a->expired == 0 && clock.now_ms() < give_up) {
    std::this_thread::yield();
  }
  EXPECT_EQ(a->expired, 1);
  EXPECT_GE(clock.now_ms(), deadline);
  q.stop();
}

}  // namespace
}  // namespace cairn
