#include "scheduler/matcher.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace cairn {
namespace {

using testing::await_until;
using testing::make_task;

const QueueKey kQueue{"default", "q", v1::TASK_KIND_ACTIVITY};

// Records what it was given. Single-threaded tests only.
class RecordingWaiter : public PollWaiter {
 public:
  void deliver(v1::TaskRecord task) override { tasks.push_back(task.task_id()); }
  std::vector<int64_t> tasks;
};

TEST(QueueKeyTest, DebugString) {
  EXPECT_EQ((QueueKey{"ns", "orders", v1::TASK_KIND_WORKFLOW}).debug_string(),
            "ns/orders (workflow)");
  EXPECT_EQ(kQueue.debug_string(), "default/q (activity)");
}

TEST(MatcherTest, OfferThenPollReturnsTheTask) {
  Matcher m;
  m.offer(kQueue, make_task(7));
  EXPECT_EQ(m.stats(kQueue).backlog, 1);
  auto w = std::make_shared<RecordingWaiter>();
  auto got = m.poll(kQueue, w, 1234);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->task_id(), 7);
  EXPECT_TRUE(w->tasks.empty());
  EXPECT_FALSE(w->claimed());
  QueueStats s = m.stats(kQueue);
  EXPECT_EQ(s.backlog, 0);
  EXPECT_EQ(s.pollers, 0);  // answered at once, not registered
  EXPECT_EQ(s.last_poll_time_ms, 1234);
}

TEST(MatcherTest, PollThenOfferDeliversToTheWaiter) {
  Matcher m;
  auto w = std::make_shared<RecordingWaiter>();
  EXPECT_FALSE(m.poll(kQueue, w, 1).has_value());
  EXPECT_EQ(m.stats(kQueue).pollers, 1);
  m.offer(kQueue, make_task(9));
  EXPECT_EQ(w->tasks, (std::vector<int64_t>{9}));
  EXPECT_TRUE(w->claimed());
  QueueStats s = m.stats(kQueue);
  EXPECT_EQ(s.pollers, 0);
  EXPECT_EQ(s.backlog, 0);
}

TEST(MatcherTest, WaitersAreServedOldestFirst) {
  Matcher m;
  std::vector<std::shared_ptr<RecordingWaiter>> ws;
  for (int i = 0; i < 3; ++i) {
    ws.push_back(std::make_shared<RecordingWaiter>());
    ASSERT_FALSE(m.poll(kQueue, ws.back(), i).has_value());
  }
  m.offer(kQueue, make_task(1));
  m.offer(kQueue, make_task(2));
  m.offer(kQueue, make_task(3));
  EXPECT_EQ(ws[0]->tasks, (std::vector<int64_t>{1}));
  EXPECT_EQ(ws[1]->tasks, (std::vector<int64_t>{2}));
  EXPECT_EQ(ws[2]->tasks, (std::vector<int64_t>{3}));
}

TEST(MatcherTest, BacklogIsFifo) {
  Matcher m;
  for (int64_t id : {5, 3, 8}) {
    m.offer(kQueue, make_task(id));
  }
  std::vector<int64_t> got;
  for (int i = 0; i < 3; ++i) {
    auto t = m.poll(kQueue, std::make_shared<RecordingWaiter>(), 0);
    ASSERT_TRUE(t.has_value());
    got.push_back(t->task_id());
  }
  EXPECT_EQ(got, (std::vector<int64_t>{5, 3, 8}));
  EXPECT_EQ(m.stats(kQueue).backlog, 0);
}

TEST(MatcherTest, ClaimedWaiterIsSkippedAndTheNextGetsTheTask) {
  Matcher m;
  auto cancelled = std::make_shared<RecordingWaiter>();
  auto next = std::make_shared<RecordingWaiter>();
  ASSERT_FALSE(m.poll(kQueue, cancelled, 0).has_value());
  ASSERT_FALSE(m.poll(kQueue, next, 0).has_value());
  ASSERT_TRUE(cancelled->try_claim());  // its deadline passed; remove() not called yet
  EXPECT_EQ(m.stats(kQueue).pollers, 1);
  m.offer(kQueue, make_task(4));
  EXPECT_TRUE(cancelled->tasks.empty());
  EXPECT_EQ(next->tasks, (std::vector<int64_t>{4}));
}

TEST(MatcherTest, RemovedWaiterGetsNothingAndTaskGoesToBacklog) {
  Matcher m;
  auto w = std::make_shared<RecordingWaiter>();
  ASSERT_FALSE(m.poll(kQueue, w, 0).has_value());
  ASSERT_TRUE(w->try_claim());
  m.remove(kQueue, w.get());
  m.remove(kQueue, w.get());                                          // harmless twice
  m.remove(QueueKey{"other", "q", v1::TASK_KIND_ACTIVITY}, w.get());  // unknown queue
  EXPECT_EQ(m.stats(kQueue).pollers, 0);
  m.offer(kQueue, make_task(1));
  EXPECT_TRUE(w->tasks.empty());
  EXPECT_EQ(m.stats(kQueue).backlog, 1);
}

TEST(MatcherTest, DuplicateTaskIdIgnoredWhileQueued) {
  Matcher m;
  m.offer(kQueue, make_task(1));
  m.offer(kQueue, make_task(1));
  m.offer(kQueue, make_task(2));
  EXPECT_EQ(m.stats(kQueue).backlog, 2);
  auto t = m.poll(kQueue, std::make_shared<RecordingWaiter>(), 0);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->task_id(), 1);
  // No longer queued: offering it again (a retry after a failed start) queues it again.
  m.offer(kQueue, make_task(1));
  EXPECT_EQ(m.stats(kQueue).backlog, 2);
}

TEST(MatcherTest, QueuesAreIsolatedByNamespaceNameAndKind) {
  Matcher m;
  const QueueKey other_ns{"other", "q", v1::TASK_KIND_ACTIVITY};
  const QueueKey other_name{"default", "q2", v1::TASK_KIND_ACTIVITY};
  const QueueKey other_kind{"default", "q", v1::TASK_KIND_WORKFLOW};
  auto w_ns = std::make_shared<RecordingWaiter>();
  auto w_name = std::make_shared<RecordingWaiter>();
  auto w_kind = std::make_shared<RecordingWaiter>();
  ASSERT_FALSE(m.poll(other_ns, w_ns, 0).has_value());
  ASSERT_FALSE(m.poll(other_name, w_name, 0).has_value());
  ASSERT_FALSE(m.poll(other_kind, w_kind, 0).has_value());

  m.offer(kQueue, make_task(1));
  EXPECT_TRUE(w_ns->tasks.empty());
  EXPECT_TRUE(w_name->tasks.empty());
  EXPECT_TRUE(w_kind->tasks.empty());
  EXPECT_EQ(m.stats(kQueue).backlog, 1);
  EXPECT_EQ(m.stats(other_kind).backlog, 0);
  EXPECT_EQ(m.stats(other_kind).pollers, 1);

  // The same task id in another queue is a different task.
  m.offer(other_kind, make_task(1));
  EXPECT_EQ(w_kind->tasks, (std::vector<int64_t>{1}));
  EXPECT_EQ(m.stats(kQueue).backlog, 1);
}

TEST(MatcherTest, StatsOfAnUnknownQueueAreZero) {
  Matcher m;
  QueueStats s = m.stats(kQueue);
  EXPECT_EQ(s.backlog, 0);
  EXPECT_EQ(s.pollers, 0);
  EXPECT_EQ(s.last_poll_time_ms, 0);
}

TEST(MatcherTest, DrainWaitersClaimsEveryLiveWaiterAcrossQueues) {
  Matcher m;
  const QueueKey q2{"default", "q", v1::TASK_KIND_WORKFLOW};
  auto a = std::make_shared<RecordingWaiter>();
  auto b = std::make_shared<RecordingWaiter>();
  auto c = std::make_shared<RecordingWaiter>();
  auto gone = std::make_shared<RecordingWaiter>();
  ASSERT_FALSE(m.poll(kQueue, a, 0).has_value());
  ASSERT_FALSE(m.poll(kQueue, gone, 0).has_value());
  ASSERT_FALSE(m.poll(kQueue, b, 0).has_value());
  ASSERT_FALSE(m.poll(q2, c, 0).has_value());
  ASSERT_TRUE(gone->try_claim());

  auto drained = m.drain_waiters();
  EXPECT_EQ(drained.size(), 3u);
  for (auto* w : {a.get(), b.get(), c.get()}) {
    EXPECT_TRUE(w->claimed());
    bool found = false;
    for (auto& d : drained) {
      found = found || d.get() == w;
    }
    EXPECT_TRUE(found);
  }
  EXPECT_EQ(m.stats(kQueue).pollers, 0);
  m.offer(kQueue, make_task(1));  // nobody left to take it
  EXPECT_TRUE(a->tasks.empty());
  EXPECT_TRUE(b->tasks.empty());
  EXPECT_EQ(m.stats(kQueue).backlog, 1);
}

// deliver() runs after the matcher's lock is released: a waiter that calls back into the
// matcher (as the server's does when a stale task makes it poll again) must not deadlock.
class ReentrantWaiter : public PollWaiter {
 public:
  explicit ReentrantWaiter(Matcher* m) : m_(m) {}
  void deliver(v1::TaskRecord task) override {
    stats_seen = m_->stats(kQueue);
    repoll = m_->poll(kQueue, std::make_shared<RecordingWaiter>(), 0);
  }
  QueueStats stats_seen;
  std::optional<v1::TaskRecord> repoll;

 private:
  Matcher* m_;
};

TEST(MatcherTest, DeliverRunsOutsideTheMatcherLock) {
  Matcher m;
  auto w = std::make_shared<ReentrantWaiter>(&m);
  ASSERT_FALSE(m.poll(kQueue, w, 0).has_value());
  m.offer(kQueue, make_task(1));
  EXPECT_EQ(w->stats_seen.pollers, 0);
  EXPECT_FALSE(w->repoll.has_value());
  EXPECT_EQ(m.stats(kQueue).pollers, 1);  // the re-poll registered
}

}  // namespace
}  // namespace cairn
