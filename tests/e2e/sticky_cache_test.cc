// End to end: the worker's cache of live runs (sticky execution). A cached run gets only the
// new events of each task and its code runs once; a run evicted from the cache is replayed from
// its full history, fetched when the server sent only the new events; both give the same result
// and the same history. A stopping worker hands its cached runs back to the task queue at once.
#include <atomic>
#include <chrono>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class StickyCacheTest : public E2eTest {
 protected:
  Worker& worker(const std::string& queue, size_t cache, std::atomic<int>* code_starts,
                 std::chrono::milliseconds sticky_timeout = 5s) {
    WorkerOptions wo;
    wo.task_queue = queue;
    wo.max_cached_workflows = cache;
    wo.sticky_schedule_to_start_timeout = sticky_timeout;
    workers_.push_back(std::make_unique<Worker>(*client_, wo));
    Worker& w = *workers_.back();
    w.register_activity("step", [](int i) { return i * 10; });
    // Three activities, a side effect, a timer and a signal: one workflow task per step.
    w.register_workflow("agent", [code_starts](WorkflowContext& ctx, std::string name) {
      ++*code_starts;
      int total = ctx.side_effect<int>([] { return 1; });
      for (int i = 1; i <= 3; ++i) {
        total += ctx.activity<int>("step", i, {.start_to_close = 10s}).get();
      }
      ctx.sleep(20ms);
      std::string go = ctx.signal<std::string>("go").wait();
      total += ctx.activity<int>("step", 4, {.start_to_close = 10s}).get();
      return name + ":" + go + ":" + std::to_string(total);
    });
    return w;
  }

  // Waits until the run has finished `n` workflow tasks.
  static bool tasks_completed(WorkflowHandle& h, int n) {
    return await_until(
        [&] { return count(h.history(), v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= n; });
  }

  static int64_t last_task_started(const std::vector<v1::HistoryEvent>& events) {
    int64_t id = 0;
    for (const auto& e : events) {
      if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_STARTED) {
        id = e.event_id();
      }
    }
    return id;
  }

  // What full replays receive: each task's whole history up to its WorkflowTaskStarted.
  static int64_t full_history_events(const std::vector<v1::HistoryEvent>& events) {
    int64_t sum = 0;
    for (const auto& e : events) {
      if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_STARTED) {
        sum += e.event_id();
      }
    }
    return sum;
  }

  // The run to its end: waits at the signal, signals, returns the result.
  std::string run_to_end(const std::string& id, const std::string& queue) {
    auto h = client_->start("agent", start_options(id, queue), std::string("a"));
    EXPECT_TRUE(tasks_completed(h, 5));  // blocked on the signal
    h.signal("go", std::string("now"));
    return h.result<std::string>(30s);
  }
};

TEST_F(StickyCacheTest, CacheHitSendsOnlyNewEventsAndFullReplayGivesTheSameResultAndHistory) {
  std::atomic<int> sticky_starts{0};
  std::atomic<int> plain_starts{0};
  Worker& sticky = worker("cached", 100, &sticky_starts);
  Worker& plain = worker("uncached", 0, &plain_starts);
  sticky.start();
  plain.start();
  EXPECT_FALSE(sticky.sticky_task_queue().empty());
  EXPECT_TRUE(plain.sticky_task_queue().empty());

  std::string cached_result = run_to_end("sticky-a", "cached");
  std::string plain_result = run_to_end("plain-a", "uncached");
  EXPECT_EQ(cached_result, "a:now:101");
  EXPECT_EQ(plain_result, cached_result);

  auto cached_events = client_->handle("sticky-a").history();
  auto plain_events = client_->handle("plain-a").history();
  EXPECT_EQ(event_types(cached_events), event_types(plain_events));
  const int tasks = count(cached_events, v1::EVENT_TYPE_WORKFLOW_TASK_STARTED);

  WorkerStats s = sticky.stats();
  EXPECT_EQ(s.workflow_tasks, tasks);
  EXPECT_EQ(s.full_replays, 1);  // the first task only
  EXPECT_EQ(s.cache_hits, tasks - 1);
  EXPECT_EQ(s.history_fetches, 0);
  // Each task carried only the events after the previous one: the history once, in all.
  EXPECT_EQ(s.events_received, last_task_started(cached_events));
  EXPECT_EQ(sticky_starts, 1);
  EXPECT_EQ(s.cached_runs, 0);  // the closed run left the cache

  WorkerStats p = plain.stats();
  EXPECT_EQ(p.full_replays, tasks);
  EXPECT_EQ(p.cache_hits, 0);
  EXPECT_EQ(p.events_received, full_history_events(plain_events));
  EXPECT_EQ(plain_starts, tasks);
}

TEST_F(StickyCacheTest, EvictedRunIsReplayedFromItsFetchedHistoryWithTheSameResult) {
  std::atomic<int> starts{0};
  Worker& w = worker("tiny", 1, &starts);  // room for one run
  w.start();
  auto first = client_->start("agent", start_options("evict-1", "tiny"), std::string("a"));
  ASSERT_TRUE(tasks_completed(first, 5));
  auto second = client_->start("agent", start_options("evict-2", "tiny"), std::string("a"));
  ASSERT_TRUE(tasks_completed(second, 5));
  EXPECT_GE(w.stats().evictions, 1);  // the second run pushed the first out

  // The server still sends the first run's next task to this worker's sticky queue, with only
  // the new events: the worker fetches the full history and replays it.
  first.signal("go", std::string("now"));
  EXPECT_EQ(first.result<std::string>(30s), "a:now:101");
  second.signal("go", std::string("now"));
  EXPECT_EQ(second.result<std::string>(30s), "a:now:101");
  WorkerStats s = w.stats();
  EXPECT_GE(s.history_fetches, 2);
  EXPECT_GE(s.full_replays, 4);  // each run's first task, and its task after each eviction
  EXPECT_EQ(event_types(first.history()), event_types(second.history()));
}

TEST_F(StickyCacheTest, StoppedWorkerHandsItsCachedRunsBackToTheTaskQueueAtOnce) {
  std::atomic<int> starts{0};
  // A sticky timeout far longer than the wait below: only the worker's reset on stop lets
  // another worker take the run in time.
  Worker& first = worker("handoff", 100, &starts, 60s);
  first.start();
  auto h = client_->start("agent", start_options("handoff-1", "handoff"), std::string("a"));
  ASSERT_TRUE(tasks_completed(h, 5));
  ASSERT_EQ(first.stats().cached_runs, 1);
  first.stop();

  Worker& second = worker("handoff", 100, &starts, 60s);
  second.start();
  h.signal("go", std::string("now"));
  EXPECT_EQ(h.result<std::string>(30s), "a:now:101");
  EXPECT_EQ(second.stats().full_replays, 1);
  EXPECT_EQ(second.stats().history_fetches, 0);
}

}  // namespace
}  // namespace cairn::testing
