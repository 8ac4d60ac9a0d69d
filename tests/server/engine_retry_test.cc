// In-process retries: a timer whose firing fails, a transfer (outbox) task that fails and a task
// start that fails are each redone after a backoff in the same process — not left for a restart
// or dropped — bounded, and counted. The real engine and handlers on the memory store behind a
// store that refuses chosen commits, with a ManualClock (so backoffs pass by advance()).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "history/faulty_store.h"
#include "history/history_store.h"
#include "scheduler/clock.h"
#include "server/engine.h"
#include "server/handlers/handlers.h"
#include "server/handlers/transfer.h"
#include "server/retry_queue.h"

namespace cairn {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kStart = 1'796'644'800'000;  // 2026-12-07T12:00:00Z

// The memory store behind FaultyStore, armed in the shape these tests need: after `pass` more
// commits succeed, the next `fail` answer kUnavailable — writing nothing (a disk that refuses
// writes for a while) or, with after_write, writing durably first (an unknown outcome).
class RefusingStore {
 public:
  // Replaces what an earlier call armed.
  void refuse(int pass, int fail, bool after_write = false) {
    store_.clear();
    first_ = store_.commits() + pass;
    fail_ = fail;
    for (int i = 1; i <= fail; ++i) {
      store_.fail_commit(pass + i, after_write ? FaultyStore::CommitFault::kFailAfterWrite
                                               : FaultyStore::CommitFault::kFailBeforeWrite);
    }
  }
  // Commits refused since refuse().
  int refused() const {
    return static_cast<int>(std::clamp<int64_t>(store_.commits() - first_, 0, fail_));
  }
  FaultyStore* operator->() { return &store_; }
  FaultyStore& operator*() { return store_; }

 private:
  FaultyStore store_{make_memory_store(4)};
  int64_t first_ = 0;
  int64_t fail_ = 0;
};

class NullWaiter final : public PollWaiter {
 public:
  void deliver(v1::TaskRecord) override {}
};

class EngineRetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions options;
    options.timer_thread = false;
    options.worker_threads = 2;
    options.seed = 11;
    options.retries.initial_ms = 100;
    options.retries.maximum_ms = 400;
    options.retries.max_attempts = 4;
    engine_ = std::make_unique<Engine>(&*store_, &clock_, options);
    engine_->set_transfer_executor(handlers::execute_transfer);
    ASSERT_TRUE(engine_->start().ok());
  }
  void TearDown() override {
    settle();
    engine_->stop();
  }
  void settle() { ASSERT_TRUE(engine_->pool().wait_idle(10s)) << "engine pool did not drain"; }
  void advance(int64_t ms) {
    clock_.advance(ms);
    settle();
    settle();
  }

  void create_every_minute(const std::string& id) {
    v1::CreateScheduleRequest req;
    req.set_schedule_id(id);
    v1::Schedule* s = req.mutable_schedule();
    s->mutable_spec()->add_intervals()->set_every_ms(kMinute);
    s->mutable_action()->mutable_workflow_type()->set_name("job");
    s->mutable_action()->set_task_queue("jobs");
    v1::CreateScheduleResponse resp;
    ASSERT_TRUE(handlers::create_schedule(*engine_, req, &resp).ok());
    settle();
  }
  // Workflow ids of the runs a schedule started.
  std::vector<std::string> started(const std::string& prefix) {
    std::vector<std::string> out;
    auto keys = store_->list_runs_for_testing();
    EXPECT_TRUE(keys.ok());
    for (const RunKey& k : *keys) {
      if (k.workflow_id.rfind(prefix, 0) == 0) {
        out.push_back(k.workflow_id);
      }
    }
    return out;
  }
  int64_t action_count(const std::string& id) {
    v1::DescribeScheduleRequest req;
    req.set_schedule_id(id);
    v1::DescribeScheduleResponse resp;
    EXPECT_TRUE(handlers::describe_schedule(*engine_, req, &resp).ok());
    return resp.info().action_count();
  }

  RefusingStore store_;
  ManualClock clock_{kStart};
  std::unique_ptr<Engine> engine_;
};

TEST(RetryQueueTest, BackoffDoublesToTheMaximumAndGivesUpAtTheBound) {
  ManualClock clock(0);
  ThreadPool pool(1);
  RetryQueue q(&clock, &pool, RetryQueueOptions{100, 350, 4});
  q.start(/*use_thread=*/false);
  EXPECT_EQ(q.backoff_ms(1), 100);
  EXPECT_EQ(q.backoff_ms(2), 200);
  EXPECT_EQ(q.backoff_ms(3), 350);
  EXPECT_EQ(q.backoff_ms(10), 350);

  std::vector<int> runs;
  std::function<void(int)> again = [&](int attempt) {
    runs.push_back(attempt);
    q.retry("x", "work", "UNAVAILABLE", attempt, again);
  };
  ASSERT_TRUE(q.retry("x", "work", "UNAVAILABLE", 1, again));
  EXPECT_EQ(q.counts("x").pending, 1);
  clock.advance(99);
  EXPECT_TRUE(runs.empty()) << "ran before its backoff";
  clock.advance(1);
  EXPECT_EQ(runs, (std::vector<int>{2}));
  clock.advance(199);
  EXPECT_EQ(runs.size(), 1u);
  clock.advance(1);
  EXPECT_EQ(runs, (std::vector<int>{2, 3}));
  clock.advance(350);
  EXPECT_EQ(runs, (std::vector<int>{2, 3, 4}));  // attempt 4 failed: the bound, given up
  clock.advance(10'000);
  EXPECT_EQ(runs.size(), 3u);
  RetryQueue::Counts c = q.counts("x");
  EXPECT_EQ(c.retried, 3);
  EXPECT_EQ(c.gave_up, 1);
  EXPECT_EQ(c.pending, 0);
  EXPECT_EQ(q.counts("other").retried, 0);
  EXPECT_EQ(q.counts().retried, 3);
}

TEST(RetryQueueTest, StopDropsWaitingWorkAndRefusesMore) {
  ManualClock clock(0);
  ThreadPool pool(1);
  RetryQueue q(&clock, &pool, RetryQueueOptions{100, 100, 10});
  q.start(false);
  int ran = 0;
  ASSERT_TRUE(q.retry("x", "work", "UNAVAILABLE", 1, [&](int) { ++ran; }));
  q.stop();
  clock.advance(1000);
  EXPECT_EQ(ran, 0);
  EXPECT_FALSE(q.retry("x", "work", "UNAVAILABLE", 1, [&](int) { ++ran; }));
  EXPECT_EQ(q.counts("x").pending, 0);
}

TEST(RetryQueueTest, WithAThreadDueWorkRunsOnThePool) {
  SystemClock clock;
  ThreadPool pool(2);
  RetryQueue q(&clock, &pool, RetryQueueOptions{5, 5, 10});
  q.start(/*use_thread=*/true);
  std::atomic<int> ran{0};
  ASSERT_TRUE(q.retry("x", "work", "UNAVAILABLE", 1, [&](int attempt) { ran = attempt; }));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (ran.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(pool.wait_idle(100ms));
    std::this_thread::yield();
  }
  EXPECT_EQ(ran.load(), 2);
  q.stop();
}

// The schedule's fire timer: its transition is refused twice; the timer fires after the two
// backoffs (100 + 200 ms), once, and the action starts.
TEST_F(EngineRetryTest, ATimerWhoseFiringIsRefusedFiresAfterTheBackoff) {
  create_every_minute("tm");
  store_.refuse(/*pass=*/0, /*fail=*/2);
  advance(kMinute);
  EXPECT_EQ(store_.refused(), 1);
  EXPECT_TRUE(started("tm-").empty());
  advance(99);
  EXPECT_EQ(store_.refused(), 1) << "retried before the backoff";
  advance(1);
  EXPECT_EQ(store_.refused(), 2);
  EXPECT_TRUE(started("tm-").empty());
  advance(200);
  EXPECT_EQ(started("tm-").size(), 1u) << "the timer did not fire after its retries";
  EXPECT_EQ(action_count("tm"), 1);
  EXPECT_EQ(engine_->retries().counts("timer").retried, 2);
  EXPECT_EQ(engine_->retries().counts("timer").pending, 0);
}

// The fire's commit lands but is answered as failed (an unknown outcome): the retry reads the
// run from the store, not the engine's cache from before, so the fire is not applied twice.
TEST_F(EngineRetryTest, ARetryAfterAnUnknownOutcomeDoesNotApplyTheFireTwice) {
  create_every_minute("uo");
  store_.refuse(/*pass=*/0, /*fail=*/1, /*after_write=*/true);
  advance(kMinute);
  EXPECT_EQ(store_.refused(), 1);
  advance(100);
  advance(kMinute - 200);  // short of the next fire
  EXPECT_EQ(action_count("uo"), 1) << "the fire was applied twice";
  // The start it decided was read back from the outbox and carried out in process, once — not
  // left for a restart — and no transfer is left on disk.
  EXPECT_EQ(started("uo-").size(), 1u) << "the landed write's outbox waited for a restart";
  int transfers = 0;
  for (int32_t shard = 0; shard < store_->shard_count(); ++shard) {
    auto page = store_->scan_tasks(ShardId{shard}, 0, 1000);
    ASSERT_TRUE(page.ok());
    for (const auto& t : page->tasks) {
      transfers += t.kind() == v1::TASK_KIND_TRANSFER ? 1 : 0;
    }
  }
  EXPECT_EQ(transfers, 0);
}

// A start whose write lands but is answered as failed: its first workflow task is read back and
// offered to the task queue's pollers now; the client's retry with the same request id gets the
// same run, and no second task.
TEST_F(EngineRetryTest, AStartWhoseWriteLandedHandsOutItsWorkflowTaskAndARetryFindsTheRun) {
  v1::StartWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("lost-answer");
  req.mutable_workflow_type()->set_name("job");
  req.set_task_queue("jobs");
  req.set_request_id("req-1");
  store_.refuse(/*pass=*/0, /*fail=*/1, /*after_write=*/true);
  v1::StartWorkflowExecutionResponse first;
  Status st = handlers::start_workflow(*engine_, req, &first);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.to_string();
  settle();
  const QueueKey queue{"default", "jobs", v1::TASK_KIND_WORKFLOW};
  EXPECT_EQ(engine_->matcher().stats(queue).backlog, 1)
      << "the landed start's workflow task waits for a restart";

  v1::StartWorkflowExecutionResponse again;
  ASSERT_TRUE(handlers::start_workflow(*engine_, req, &again).ok());
  settle();
  EXPECT_EQ(started("lost-answer").size(), 1u);
  EXPECT_EQ(engine_->matcher().stats(queue).backlog, 1) << "a second workflow task";
}

// A signal's write lands but is answered as failed. The run's cached state from before must not
// be built on: the next signal continues the event ids the store has, and the retried first
// signal (same request id) is recognised as done.
TEST_F(EngineRetryTest, ASignalAfterAnUnknownOutcomeKeepsEventIdsContiguous) {
  v1::StartWorkflowExecutionRequest start;
  start.set_namespace_("default");
  start.set_workflow_id("sig");
  start.mutable_workflow_type()->set_name("job");
  start.set_task_queue("jobs");
  start.set_request_id("start-1");
  v1::StartWorkflowExecutionResponse started_run;
  ASSERT_TRUE(handlers::start_workflow(*engine_, start, &started_run).ok());
  auto signal = [&](const std::string& request_id) {
    v1::SignalWorkflowExecutionRequest req;
    req.set_namespace_("default");
    req.mutable_workflow_execution()->set_workflow_id("sig");
    req.set_signal_name("go");
    req.set_request_id(request_id);
    v1::SignalWorkflowExecutionResponse resp;
    return handlers::signal_workflow(*engine_, req, &resp);
  };
  store_.refuse(/*pass=*/0, /*fail=*/1, /*after_write=*/true);
  EXPECT_EQ(signal("s-1").code(), StatusCode::kUnavailable);
  ASSERT_TRUE(signal("s-2").ok()) << "the next signal was refused (built on a stale state?)";
  ASSERT_TRUE(signal("s-1").ok());  // the client's retry of the first

  v1::GetWorkflowExecutionHistoryRequest hreq;
  hreq.set_namespace_("default");
  hreq.mutable_execution()->set_workflow_id("sig");
  v1::GetWorkflowExecutionHistoryResponse hist;
  std::optional<RunKey> wait_on;
  ASSERT_TRUE(handlers::read_history(*engine_, hreq, &hist, &wait_on).ok());
  int signals = 0;
  for (int i = 0; i < hist.history().events_size(); ++i) {
    EXPECT_EQ(hist.history().events(i).event_id(), i + 1) << "event ids are not contiguous";
    signals +=
        hist.history().events(i).event_type() == v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED ? 1 : 0;
  }
  EXPECT_EQ(signals, 2) << "the retried signal was recorded twice, or one was lost";

  v1::VerifyWorkflowExecutionRequest vreq;
  vreq.set_namespace_("default");
  vreq.mutable_execution()->set_workflow_id("sig");
  v1::VerifyWorkflowExecutionResponse vresp;
  ASSERT_TRUE(handlers::verify_workflow(*engine_, vreq, &vresp).ok());
  EXPECT_TRUE(vresp.differences().empty()) << vresp.differences(0);
}

// The fire commits, then the outbox task's start of the workflow is refused: the transfer is
// redone in process after the backoff and starts the action exactly once.
TEST_F(EngineRetryTest, ATransferTaskThatFailsIsRedoneWithoutARestart) {
  create_every_minute("tr");
  store_.refuse(/*pass=*/1, /*fail=*/1);  // the timer's commit passes, the start is refused
  advance(kMinute);
  EXPECT_EQ(store_.refused(), 1);
  EXPECT_TRUE(started("tr-").empty());
  EXPECT_EQ(engine_->retries().counts("transfer").pending, 1);
  advance(100);
  EXPECT_EQ(started("tr-").size(), 1u) << "the transfer waited for a restart";
  EXPECT_EQ(action_count("tr"), 1);
  EXPECT_EQ(engine_->retries().counts("transfer").retried, 1);
  // No transfer is left on disk.
  for (int32_t shard = 0; shard < store_->shard_count(); ++shard) {
    auto page = store_->scan_tasks(ShardId{shard}, 0, 1000);
    ASSERT_TRUE(page.ok());
    for (const auto& t : page->tasks) {
      EXPECT_NE(t.kind(), v1::TASK_KIND_TRANSFER) << t.DebugString();
    }
  }
}

// A store that refuses every write: the transfer is retried up to the bound, then given up in
// memory (counted); it is still on disk for a restart.
TEST_F(EngineRetryTest, RetriesStopAtTheBoundAndTheTaskStaysOnDisk) {
  create_every_minute("gu");
  store_.refuse(/*pass=*/1, /*fail=*/1000);
  advance(kMinute);
  for (int i = 0; i < 10; ++i) {
    advance(400);
  }
  RetryQueue::Counts c = engine_->retries().counts("transfer");
  EXPECT_EQ(c.retried, 3);  // attempts 2, 3, 4 (max_attempts 4)
  EXPECT_EQ(c.gave_up, 1);
  EXPECT_EQ(c.pending, 0);
  EXPECT_EQ(store_.refused(), 4);
  bool on_disk = false;
  for (int32_t shard = 0; shard < store_->shard_count(); ++shard) {
    auto page = store_->scan_tasks(ShardId{shard}, 0, 1000);
    ASSERT_TRUE(page.ok());
    for (const auto& t : page->tasks) {
      on_disk = on_disk || t.kind() == v1::TASK_KIND_TRANSFER;
    }
  }
  EXPECT_TRUE(on_disk);
  store_.refuse(0, 0);
}

// A poller took a workflow task but its start was refused: the task goes back to its queue after
// the backoff (not before), and the next poll starts it.
TEST_F(EngineRetryTest, ATaskWhoseStartFailsReturnsToItsQueueAfterTheBackoff) {
  create_every_minute("ts");
  advance(kMinute);
  ASSERT_EQ(started("ts-").size(), 1u);
  QueueKey queue{"default", "jobs", v1::TASK_KIND_WORKFLOW};
  auto task = engine_->matcher().poll(queue, std::make_shared<NullWaiter>(), clock_.now_ms());
  ASSERT_TRUE(task.has_value());
  v1::PollWorkflowTaskQueueRequest poll;
  poll.set_task_queue("jobs");
  poll.set_identity("test-worker");
  v1::PollWorkflowTaskQueueResponse polled;
  store_.refuse(0, 1);
  Status st = handlers::start_workflow_task(*engine_, *task, poll, &polled);
  ASSERT_EQ(st.code(), StatusCode::kUnavailable) << st.to_string();
  engine_->retry_task_start(queue, *task, st);  // what the poll call does with the failure

  EXPECT_EQ(engine_->matcher().stats(queue).backlog, 0) << "offered again before the backoff";
  advance(99);
  EXPECT_EQ(engine_->matcher().stats(queue).backlog, 0) << "offered again before the backoff";
  advance(1);
  EXPECT_EQ(engine_->matcher().stats(queue).backlog, 1) << "the task was dropped";
  auto again = engine_->matcher().poll(queue, std::make_shared<NullWaiter>(), clock_.now_ms());
  ASSERT_TRUE(again.has_value()) << "the task was dropped";
  EXPECT_EQ(again->task_id(), task->task_id());
  polled.Clear();
  EXPECT_TRUE(handlers::start_workflow_task(*engine_, *again, poll, &polled).ok());
  EXPECT_FALSE(polled.task_token().empty());
  engine_->task_start_succeeded(again->task_id());
  EXPECT_EQ(engine_->retries().counts("task").retried, 1);
}

}  // namespace
}  // namespace cairn
