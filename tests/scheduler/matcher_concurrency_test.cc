// Many threads offering, polling, cancelling and removing at once: every task is delivered
// exactly once, whether it reaches a poller through the backlog or through a waiter.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "scheduler/matcher.h"
#include "test_util.h"

namespace cairn {
namespace {

using testing::await_until;
using testing::make_task;

constexpr int kTasks = 10'000;
constexpr int kOfferers = 8;
constexpr int kPollers = 8;
const QueueKey kQueue{"default", "busy", v1::TASK_KIND_WORKFLOW};

struct Shared {
  explicit Shared() : seen(kTasks + 1) {}
  void record(const v1::TaskRecord& task) {
    int64_t id = task.task_id();
    if (id < 1 || id > kTasks) {
      bad_ids.fetch_add(1);
      return;
    }
    seen[id].fetch_add(1);
    if (total.fetch_add(1) + 1 == kTasks) {
      std::lock_guard lock(mu);
      cv.notify_all();
    }
  }

  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;  // GUARDED_BY(mu)
  std::vector<std::atomic<int>> seen;
  std::atomic<int> total{0};
  std::atomic<int> bad_ids{0};
  std::atomic<int> timeouts{0};
};

class SharedWaiter : public PollWaiter {
 public:
  explicit SharedWaiter(Shared* s) : s_(s) {}
  void deliver(v1::TaskRecord task) override {
    {
      std::lock_guard lock(s_->mu);
      task_ = std::move(task);
    }
    s_->cv.notify_all();
  }
  // REQUIRES: s_->mu held.
  std::optional<v1::TaskRecord>& task() { return task_; }

 private:
  Shared* s_;
  std::optional<v1::TaskRecord> task_;  // GUARDED_BY(s_->mu)
};

// Polls until told to stop. Every fifth registered poll is cancelled at once, as if its deadline
// passed, racing any offer that is about to claim it.
void poller(Matcher& m, Shared& s) {
  int polls = 0;
  for (;;) {
    auto w = std::make_shared<SharedWaiter>(&s);
    if (auto t = m.poll(kQueue, w, ++polls)) {
      s.record(*t);
      continue;
    }
    if (polls % 5 == 0 && w->try_claim()) {
      m.remove(kQueue, w.get());
      std::lock_guard lock(s.mu);
      if (s.stop) {
        return;
      }
      continue;
    }
    std::unique_lock lock(s.mu);
    if (!await_until(lock, s.cv, [&] { return w->task().has_value() || s.stop; })) {
      s.timeouts.fetch_add(1);
      return;
    }
    if (!w->task().has_value()) {
      lock.unlock();
      if (w->try_claim()) {
        m.remove(kQueue, w.get());
        return;
      }
      // An offer claimed it first: its delivery is on the way.
      lock.lock();
      if (!await_until(lock, s.cv, [&] { return w->task().has_value(); })) {
        s.timeouts.fetch_add(1);
        return;
      }
    }
    v1::TaskRecord task = std::move(*w->task());
    lock.unlock();
    s.record(task);
  }
}

TEST(MatcherConcurrencyTest, EveryTaskIsDeliveredExactlyOnce) {
  Matcher m;
  Shared s;
  std::vector<std::thread> threads;
  for (int i = 0; i < kPollers; ++i) {
    threads.emplace_back([&] { poller(m, s); });
  }
  for (int i = 0; i < kOfferers; ++i) {
    threads.emplace_back([&, i] {
      for (int id = 1 + i; id <= kTasks; id += kOfferers) {
        m.offer(kQueue, make_task(id));
      }
    });
  }

  bool all_delivered;
  {
    std::unique_lock lock(s.mu);
    all_delivered = await_until(lock, s.cv, [&] { return s.total.load() >= kTasks; });
    s.stop = true;
  }
  s.cv.notify_all();
  for (auto& t : threads) {
    t.join();
  }

  ASSERT_TRUE(all_delivered) << "delivered " << s.total.load() << " of " << kTasks;
  EXPECT_EQ(s.total.load(), kTasks);
  EXPECT_EQ(s.bad_ids.load(), 0);
  EXPECT_EQ(s.timeouts.load(), 0);
  int missing = 0;
  int doubled = 0;
  for (int id = 1; id <= kTasks; ++id) {
    missing += s.seen[id].load() == 0;
    doubled += s.seen[id].load() > 1;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(doubled, 0);
  QueueStats stats = m.stats(kQueue);
  EXPECT_EQ(stats.backlog, 0);
  EXPECT_EQ(stats.pollers, 0);
}

class CountingWaiter : public PollWaiter {
 public:
  void deliver(v1::TaskRecord task) override { deliveries.fetch_add(1); }
  std::atomic<int> deliveries{0};
};

// A poll cancelled (deadline, disconnect) at the same instant as an offer: exactly one side wins.
// Either the cancellation wins and the task waits in the backlog, or the offer wins and the
// waiter gets it — never both, never neither.
TEST(MatcherConcurrencyTest, CancellationRacingAnOfferLosesNoTask) {
  Matcher m;
  constexpr int kRounds = 3000;
  constexpr int kMaxSpin = 1000;
  int bad_rounds = 0;
  int cancel_wins = 0;
  for (int r = 1; r <= kRounds; ++r) {
    auto w = std::make_shared<CountingWaiter>();
    ASSERT_FALSE(m.poll(kQueue, w, r).has_value());
    std::atomic<int> ready{0};
    bool cancel_won = false;
    std::thread canceller([&] {
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      // A varying head start for the offer, so that both sides win in some rounds.
      std::atomic<int> spin{0};
      for (int i = (r * 7919) % kMaxSpin; i > 0; --i) {
        spin.fetch_add(1, std::memory_order_relaxed);
      }
      if (w->try_claim()) {
        cancel_won = true;
        m.remove(kQueue, w.get());
      }
    });
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    m.offer(kQueue, make_task(r));
    canceller.join();

    int64_t backlog = m.stats(kQueue).backlog;
    int delivered = w->deliveries.load();
    bool ok = cancel_won ? (delivered == 0 && backlog == 1) : (delivered == 1 && backlog == 0);
    if (cancel_won) {
      ++cancel_wins;
      auto t = m.poll(kQueue, std::make_shared<CountingWaiter>(), r);
      ok = ok && t.has_value() && t->task_id() == r;
    }
    bad_rounds += ok ? 0 : 1;
  }
  RecordProperty("cancel_wins", cancel_wins);
  EXPECT_EQ(bad_rounds, 0) << "cancellation won " << cancel_wins << " of " << kRounds;
  EXPECT_EQ(m.stats(kQueue).backlog, 0);
  EXPECT_EQ(m.stats(kQueue).pollers, 0);
}

}  // namespace
}  // namespace cairn
