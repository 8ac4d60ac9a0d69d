// The HistoryStore conformance suite: every implementation of the seam runs these same tests,
// parameterised by a factory (memory store; RocksDB store in a fresh temporary directory).
#include <algorithm>
#include <functional>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "history/faulty_store.h"
#include "history/history_store.h"
#include "tests/history/store_test_util.h"

namespace cairn {
namespace {

using store_test::event;
using store_test::run_in_shard;
using store_test::same;
using store_test::task;
using store_test::timer;
using store_test::transition;
using store_test::workflow_of;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr int32_t kShards = 4;

struct StoreFactory {
  std::string name;
  std::function<Result<std::unique_ptr<HistoryStore>>(const std::string& dir, int32_t shards)> open;
};

void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

std::vector<int64_t> ids(const EventPage& page) {
  std::vector<int64_t> out;
  for (const auto& e : page.events) {
    out.push_back(e.event_id());
  }
  return out;
}

std::vector<int64_t> ids(const TaskPage& page) {
  std::vector<int64_t> out;
  for (const auto& t : page.tasks) {
    out.push_back(t.task_id());
  }
  return out;
}

// (fire_time_ms, timer_seq) of each timer.
std::vector<std::pair<int64_t, int64_t>> positions(const TimerPage& page) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& t : page.timers) {
    out.emplace_back(t.fire_time_ms(), t.timer_seq());
  }
  return out;
}

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    auto store = GetParam().open(dir_.sub("store"), kShards);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }

  std::vector<int64_t> read_ids(const RunKey& key, int64_t from, int limit, bool* more) {
    auto page = store_->read_events(key, EventId{from}, limit);
    EXPECT_TRUE(page.ok()) << page.status().to_string();
    *more = page.ok() && page->more;
    return page.ok() ? ids(*page) : std::vector<int64_t>{};
  }

  store_test::TempDir dir_;
  std::unique_ptr<HistoryStore> store_;
  const RunKey run_a_ = run_in_shard(0, kShards, "order", "run-a");
  const RunKey run_b_ = run_in_shard(1, kShards, "order", "run-b");
};

TEST_P(StoreConformanceTest, ShardCountIsTheOneCreatedWith) {
  EXPECT_EQ(store_->shard_count(), kShards);
}

TEST_P(StoreConformanceTest, CommitThenLoadRunRoundTrips) {
  Transition first = transition(run_a_, 1, 2);
  ASSERT_TRUE(store_->commit(first).ok());
  auto loaded = store_->load_run(run_a_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_TRUE(same(*loaded, first.state)) << loaded->DebugString();

  Transition second = transition(run_a_, 3, 1);  // a later transition replaces the state
  ASSERT_TRUE(store_->commit(second).ok());
  loaded = store_->load_run(run_a_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->next_event_id(), 4);
  EXPECT_TRUE(same(*loaded, second.state));
}

TEST_P(StoreConformanceTest, MissingRunAndCurrentAreNotFound) {
  EXPECT_EQ(store_->load_run(run_a_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->load_current(workflow_of(run_a_)).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->commit(transition(run_a_, 1, 1)).ok());  // no current pointer set
  EXPECT_EQ(store_->load_current(workflow_of(run_a_)).status().code(), StatusCode::kNotFound);
  RunKey other_run = run_a_;
  other_run.run_id.value = "run-a2";
  EXPECT_EQ(store_->load_run(other_run).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, CurrentIsSetAndReplacedOnlyWhenTheTransitionCarriesIt) {
  Transition start = transition(run_a_, 1, 1);
  start.current.emplace();
  start.current->set_run_id(run_a_.run_id.value);
  start.current->set_status(v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  ASSERT_TRUE(store_->commit(start).ok());
  ASSERT_TRUE(store_->commit(transition(run_a_, 2, 1)).ok());
  auto current = store_->load_current(workflow_of(run_a_));
  ASSERT_TRUE(current.ok()) << current.status().to_string();
  EXPECT_TRUE(same(*current, *start.current));

  Transition close = transition(run_a_, 3, 1);
  close.current = *start.current;
  close.current->set_status(v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  close.current->set_close_time_ms(77);
  ASSERT_TRUE(store_->commit(close).ok());
  current = store_->load_current(workflow_of(run_a_));
  ASSERT_TRUE(current.ok());
  EXPECT_TRUE(same(*current, *close.current));
}

TEST_P(StoreConformanceTest, EventsAppendAcrossCommitsAndPage) {
  ASSERT_TRUE(store_->commit(transition(run_a_, 1, 3)).ok());
  ASSERT_TRUE(store_->commit(transition(run_a_, 4, 4)).ok());
  bool more = false;
  EXPECT_THAT(read_ids(run_a_, 1, 3, &more), ElementsAre(1, 2, 3));
  EXPECT_TRUE(more);
  EXPECT_THAT(read_ids(run_a_, 4, 3, &more), ElementsAre(4, 5, 6));
  EXPECT_TRUE(more);
  EXPECT_THAT(read_ids(run_a_, 5, 3, &more), ElementsAre(5, 6, 7));  // exactly the rest
  EXPECT_FALSE(more);
  EXPECT_THAT(read_ids(run_a_, 7, 3, &more), ElementsAre(7));
  EXPECT_FALSE(more);
  EXPECT_THAT(read_ids(run_a_, 8, 3, &more), IsEmpty());
  EXPECT_FALSE(more);
  EXPECT_THAT(read_ids(run_a_, 0, 100, &more), ElementsAre(1, 2, 3, 4, 5, 6, 7));
  EXPECT_FALSE(more);
  auto page = store_->read_events(run_a_, EventId{2}, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_TRUE(same(page->events[0], event(2)));
}

TEST_P(StoreConformanceTest, EventsOfRunsWithPrefixRelatedIdsStayApart) {
  RunKey short_id = run_a_;
  RunKey long_id = run_a_;
  long_id.run_id.value = run_a_.run_id.value + "0";  // "run-a" is a prefix of "run-a0"
  ASSERT_TRUE(store_->commit(transition(long_id, 1, 5)).ok());
  ASSERT_TRUE(store_->commit(transition(short_id, 1, 2)).ok());
  bool more = true;
  EXPECT_THAT(read_ids(short_id, 1, 10, &more), ElementsAre(1, 2));
  EXPECT_FALSE(more);
  EXPECT_THAT(read_ids(long_id, 1, 10, &more), ElementsAre(1, 2, 3, 4, 5));
  RunKey unknown = run_a_;
  unknown.run_id.value = "run";
  EXPECT_THAT(read_ids(unknown, 1, 10, &more), IsEmpty());
  EXPECT_FALSE(more);
}

TEST_P(StoreConformanceTest, RejectsInvalidRequestsAndWritesNothing) {
  Transition gap = transition(run_a_, 1, 3);
  gap.events[1].set_event_id(5);
  EXPECT_EQ(store_->commit(gap).code(), StatusCode::kInvalidArgument);
  Transition bad_next = transition(run_a_, 1, 3);
  bad_next.state.set_next_event_id(9);
  EXPECT_EQ(store_->commit(bad_next).code(), StatusCode::kInvalidArgument);
  Transition cross_shard = transition(run_a_, 1, 1);
  cross_shard.add_tasks.push_back(task(run_b_, 1));
  Status status = store_->commit(cross_shard);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(run_a_.run_id.value));
  Transition zero_task = transition(run_a_, 1, 1);
  zero_task.add_tasks.push_back(task(run_a_, 0));
  EXPECT_EQ(store_->commit(zero_task).code(), StatusCode::kInvalidArgument);
  RunKey out_of_range = run_a_;
  out_of_range.shard = ShardId{kShards};
  EXPECT_EQ(store_->commit(transition(out_of_range, 1, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->load_run(out_of_range).status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(store_->load_run(run_a_).status().code(), StatusCode::kNotFound);
  auto max = store_->max_sequence();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 0);
  EXPECT_EQ(store_->read_events(run_a_, EventId{1}, 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->scan_tasks(ShardId{-1}, -1, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->scan_timers(ShardId{kShards}, -1, -1, 10).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ACommitOfEventsAlreadyStoredIsAbortedAndWritesNothing) {
  Transition first = transition(run_a_, 1, 2);
  first.add_tasks = {task(run_a_, 1)};
  ASSERT_TRUE(store_->commit(first).ok());
  // The same transition again (a retry after an unknown outcome), and another one that reuses
  // its event ids with different contents (a writer that decided on a stale state).
  Transition again = first;
  Transition stale = transition(run_a_, 2, 3);
  stale.add_tasks = {task(run_a_, 2)};
  stale.add_timers = {timer(run_a_, 50, 3)};
  stale.current.emplace();
  stale.current->set_run_id(run_a_.run_id.value);
  for (const Transition* t : {&again, &stale}) {
    Status status = store_->commit(*t);
    EXPECT_EQ(status.code(), StatusCode::kAborted) << status.to_string();
    EXPECT_THAT(status.message(), HasSubstr("already stored"));
    EXPECT_THAT(status.message(), HasSubstr(run_a_.run_id.value));
  }
  auto loaded = store_->load_run(run_a_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(same(*loaded, first.state));
  bool more = false;
  EXPECT_THAT(read_ids(run_a_, 1, 10, &more), ElementsAre(1, 2));
  auto events = store_->read_events(run_a_, EventId{2}, 1);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(same(events->events[0], first.events[1]));
  auto tasks = store_->scan_tasks(run_a_.shard, -1, 10);
  ASSERT_TRUE(tasks.ok());
  EXPECT_THAT(ids(*tasks), ElementsAre(1));
  auto timers = store_->scan_timers(run_a_.shard, -1, -1, 10);
  ASSERT_TRUE(timers.ok());
  EXPECT_THAT(timers->timers, IsEmpty());
  EXPECT_EQ(store_->load_current(workflow_of(run_a_)).status().code(), StatusCode::kNotFound);
  auto max = store_->max_sequence();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 1);
  // The next event id is taken as usual.
  EXPECT_TRUE(store_->commit(transition(run_a_, 3, 1)).ok());
}

TEST_P(StoreConformanceTest, TasksAddedThenRemovedByALaterTransition) {
  Transition schedule = transition(run_a_, 1, 1);
  schedule.add_tasks = {task(run_a_, 10), task(run_a_, 11)};
  ASSERT_TRUE(store_->commit(schedule).ok());
  auto page = store_->scan_tasks(run_a_.shard, -1, 10);
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  ASSERT_THAT(ids(*page), ElementsAre(10, 11));
  EXPECT_TRUE(same(page->tasks[0], task(run_a_, 10)));

  Transition consume = transition(run_a_, 2, 1);
  consume.remove_tasks = {task(run_a_, 10)};
  consume.add_tasks = {task(run_a_, 12)};
  ASSERT_TRUE(store_->commit(consume).ok());
  page = store_->scan_tasks(run_a_.shard, -1, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(ids(*page), ElementsAre(11, 12));
}

TEST_P(StoreConformanceTest, ScanTasksPagesWithinOneShard) {
  Transition in_a = transition(run_a_, 1, 1);
  Transition in_b = transition(run_b_, 1, 1);
  for (int64_t id : {1, 3, 255, 256, 70000}) {
    in_a.add_tasks.push_back(task(run_a_, id));
  }
  for (int64_t id : {2, 4, 300}) {
    in_b.add_tasks.push_back(task(run_b_, id));
  }
  ASSERT_TRUE(store_->commit(in_b).ok());
  ASSERT_TRUE(store_->commit(in_a).ok());

  auto page = store_->scan_tasks(run_a_.shard, -1, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(ids(*page), ElementsAre(1, 3));
  page = store_->scan_tasks(run_a_.shard, 3, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(ids(*page), ElementsAre(255, 256));
  page = store_->scan_tasks(run_a_.shard, 256, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(ids(*page), ElementsAre(70000));
  page = store_->scan_tasks(run_a_.shard, 70000, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(ids(*page), IsEmpty());
  page = store_->scan_tasks(run_a_.shard, 2, 10);  // a position between tasks
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(ids(*page), ElementsAre(3, 255, 256, 70000));

  page = store_->scan_tasks(run_b_.shard, 0, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(ids(*page), ElementsAre(2, 4, 300));
  page = store_->scan_tasks(ShardId{2}, -1, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(ids(*page), IsEmpty());
}

TEST_P(StoreConformanceTest, TimersOrderedByFireTimeThenSeqPerShard) {
  const int64_t big = int64_t{1} << 32;
  Transition arm = transition(run_a_, 1, 1);
  arm.add_timers = {timer(run_a_, big, 1), timer(run_a_, 256, 7), timer(run_a_, 255, 9),
                    timer(run_a_, 256, 3), timer(run_a_, 0, 20)};
  Transition other = transition(run_b_, 1, 1);
  other.add_timers = {timer(run_b_, 1, 2), timer(run_b_, 300, 4)};
  ASSERT_TRUE(store_->commit(arm).ok());
  ASSERT_TRUE(store_->commit(other).ok());

  using P = std::pair<int64_t, int64_t>;
  auto page = store_->scan_timers(run_a_.shard, -1, -1, 100);
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  EXPECT_THAT(positions(*page), ElementsAre(P{0, 20}, P{255, 9}, P{256, 3}, P{256, 7}, P{big, 1}));
  EXPECT_TRUE(same(page->timers[0], timer(run_a_, 0, 20)));

  page = store_->scan_timers(run_a_.shard, -1, -1, 2);  // page by the last position returned
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(positions(*page), ElementsAre(P{0, 20}, P{255, 9}));
  page = store_->scan_timers(run_a_.shard, 255, 9, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(positions(*page), ElementsAre(P{256, 3}, P{256, 7}));
  page = store_->scan_timers(run_a_.shard, 256, 7, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(positions(*page), ElementsAre(P{big, 1}));
  page = store_->scan_timers(run_a_.shard, big, 1, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(positions(*page), IsEmpty());
  page = store_->scan_timers(run_a_.shard, 256, 4, 10);  // between two timers of one fire time
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(positions(*page), ElementsAre(P{256, 7}, P{big, 1}));
  page = store_->scan_timers(run_a_.shard, 256, -1, 10);  // every timer at 256 and after
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(positions(*page), ElementsAre(P{256, 3}, P{256, 7}, P{big, 1}));

  page = store_->scan_timers(run_b_.shard, -1, -1, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(positions(*page), ElementsAre(P{1, 2}, P{300, 4}));
}

TEST_P(StoreConformanceTest, TimersRemovedByTransitionOrForgotten) {
  Transition arm = transition(run_a_, 1, 1);
  arm.add_timers = {timer(run_a_, 10, 1), timer(run_a_, 20, 2), timer(run_a_, 30, 3)};
  ASSERT_TRUE(store_->commit(arm).ok());
  Transition fire = transition(run_a_, 2, 1);
  fire.remove_timers = {timer(run_a_, 10, 1)};
  ASSERT_TRUE(store_->commit(fire).ok());
  ASSERT_TRUE(store_->forget_timers({timer(run_a_, 30, 3), timer(run_a_, 99, 99)}).ok());
  using P = std::pair<int64_t, int64_t>;
  auto page = store_->scan_timers(run_a_.shard, -1, -1, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(positions(*page), ElementsAre(P{20, 2}));
}

TEST_P(StoreConformanceTest, MaxSequenceIsTheHighestEverAdded) {
  auto max = store_->max_sequence();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 0);
  Transition add = transition(run_a_, 1, 1);
  add.add_tasks = {task(run_a_, 5)};
  add.add_timers = {timer(run_a_, 1000, 9)};
  ASSERT_TRUE(store_->commit(add).ok());
  max = store_->max_sequence();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 9);

  Transition remove = transition(run_a_, 2, 1);
  remove.remove_tasks = {task(run_a_, 5)};
  remove.remove_timers = {timer(run_a_, 1000, 9)};
  remove.add_tasks = {task(run_a_, 3)};  // lower than the mark: it stays
  ASSERT_TRUE(store_->commit(remove).ok());
  max = store_->max_sequence();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 9);

  Transition higher = transition(run_b_, 1, 1);
  higher.add_tasks = {task(run_b_, 300)};
  ASSERT_TRUE(store_->commit(higher).ok());
  max = store_->max_sequence();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 300);
}

TEST_P(StoreConformanceTest, ConcurrentCommitsKeepTheHighestSequence) {
  constexpr int kThreads = 4;
  constexpr int kCommitsPerThread = 20;
  std::vector<std::thread> threads;
  std::vector<Status> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RunKey key = run_in_shard(t % kShards, kShards, "conc", "run-" + std::to_string(t));
      for (int i = 0; i < kCommitsPerThread; ++i) {
        Transition tr = transition(key, i + 1, 1);
        tr.add_tasks = {task(key, 1 + t + kThreads * i)};  // distinct, interleaved sequences
        Status s = store_->commit(tr);
        if (!s.ok()) {
          failures[t] = s;
          return;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  for (const auto& s : failures) {
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
  auto max = store_->max_sequence();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, kThreads * kCommitsPerThread);
  auto runs = store_->list_runs_for_testing();
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), static_cast<size_t>(kThreads));
}

TEST_P(StoreConformanceTest, NamespacesPutGetList) {
  EXPECT_EQ(store_->get_namespace("default").status().code(), StatusCode::kNotFound);
  auto empty = store_->list_namespaces();
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(*empty, IsEmpty());

  v1::NamespaceRecord ns;
  ns.set_name("default");
  ns.set_retention_ms(1000);
  ASSERT_TRUE(store_->put_namespace(ns).ok());
  v1::NamespaceRecord other;
  other.set_name("agents");
  other.set_description("agent runs");
  ASSERT_TRUE(store_->put_namespace(other).ok());
  ns.set_retention_ms(2000);  // put replaces
  ASSERT_TRUE(store_->put_namespace(ns).ok());

  auto got = store_->get_namespace("default");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_TRUE(same(*got, ns));
  auto all = store_->list_namespaces();
  ASSERT_TRUE(all.ok());
  std::vector<std::string> names;
  for (const auto& n : *all) {
    names.push_back(n.name());
  }
  EXPECT_THAT(names, UnorderedElementsAre("default", "agents"));
  EXPECT_EQ(store_->get_namespace("defaul").status().code(), StatusCode::kNotFound);
  v1::NamespaceRecord unnamed;
  EXPECT_EQ(store_->put_namespace(unnamed).code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ListRunsForTestingSeesEveryRunOfEveryShard) {
  RunKey run_c = run_in_shard(3, kShards, "other", "run-c");
  RunKey run_a_next = run_a_;
  run_a_next.run_id.value = "run-a-continued";
  for (const RunKey& key : {run_a_, run_b_, run_c, run_a_next}) {
    ASSERT_TRUE(store_->commit(transition(key, 1, 1)).ok());
  }
  auto runs = store_->list_runs_for_testing();
  ASSERT_TRUE(runs.ok()) << runs.status().to_string();
  EXPECT_THAT(*runs, UnorderedElementsAre(run_a_, run_b_, run_c, run_a_next));
}

Result<std::unique_ptr<HistoryStore>> open_memory(const std::string&, int32_t shards) {
  return make_memory_store(shards);
}

// A run of namespace `ns` started at `start_ms` (and closed at close_ms when > 0), committed with
// its visibility record; its one event is `event_id` (a later commit of the run passes the next).
Transition visible_run(const std::string& ns, const std::string& workflow_id,
                       const std::string& run_id, int64_t start_ms, int64_t close_ms,
                       int64_t event_id = 1) {
  RunKey key{shard_for(ns, workflow_id, kShards), ns, workflow_id, RunId{run_id}};
  Transition t = transition(key, event_id, 1);
  t.state.set_start_time_ms(start_ms);
  t.state.mutable_workflow_type()->set_name("order");
  t.current.emplace();
  t.current->set_run_id(run_id);
  if (close_ms > 0) {
    t.state.set_status(v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
    t.state.set_close_time_ms(close_ms);
    t.current->set_status(v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  }
  t.update_visibility = true;
  return t;
}

std::vector<std::string> run_ids(const VisibilityPage& page) {
  std::vector<std::string> out;
  for (const auto& r : page.records) {
    out.push_back(r.run_id());
  }
  return out;
}

TEST_P(StoreConformanceTest, VisibilityListsANamespaceByStartTimeBothWaysWithCursors) {
  ASSERT_TRUE(store_->commit(visible_run("default", "w1", "r1", 100, 0)).ok());
  ASSERT_TRUE(store_->commit(visible_run("default", "w2", "r2", 300, 0)).ok());
  ASSERT_TRUE(store_->commit(visible_run("default", "w3", "r3", 200, 0)).ok());
  ASSERT_TRUE(store_->commit(visible_run("other", "w4", "r4", 250, 0)).ok());
  Transition untracked = transition(run_a_, 1, 1);  // no update_visibility: not listed
  ASSERT_TRUE(store_->commit(untracked).ok());

  VisibilityScan scan;
  scan.ns = "default";
  scan.limit = 2;
  auto page = store_->scan_visibility(scan);
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  EXPECT_THAT(run_ids(*page), ElementsAre("r2", "r3"));  // newest first
  EXPECT_TRUE(page->more);
  ASSERT_EQ(page->cursors.size(), 2u);
  scan.after = page->cursors[1];
  page = store_->scan_visibility(scan);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(run_ids(*page), ElementsAre("r1"));
  EXPECT_FALSE(page->more);
  EXPECT_EQ(page->records[0].workflow_type(), "order");
  EXPECT_EQ(page->records[0].memo().at("owner").data(), "team-a");

  scan.after.clear();
  scan.descending = false;
  scan.limit = 10;
  page = store_->scan_visibility(scan);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(run_ids(*page), ElementsAre("r1", "r3", "r2"));

  scan.after = "garbage";
  EXPECT_EQ(store_->scan_visibility(scan).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, VisibilityRecordFollowsTheRunAndCloseIndexHasOnlyClosedRuns) {
  ASSERT_TRUE(store_->commit(visible_run("default", "w1", "r1", 100, 0)).ok());
  ASSERT_TRUE(store_->commit(visible_run("default", "w2", "r2", 200, 0)).ok());
  ASSERT_TRUE(store_->commit(visible_run("default", "w1", "r1", 100, 900, 2)).ok());  // r1 closes
  VisibilityScan scan;
  scan.ns = "default";
  auto page = store_->scan_visibility(scan);
  ASSERT_TRUE(page.ok());
  ASSERT_THAT(run_ids(*page), ElementsAre("r2", "r1"));  // one record per run, updated
  EXPECT_EQ(page->records[1].status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  EXPECT_EQ(page->records[1].close_time_ms(), 900);
  scan.index = VisibilityIndex::kCloseTime;
  page = store_->scan_visibility(scan);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(run_ids(*page), ElementsAre("r1"));
  scan.index = VisibilityIndex::kOpenStartTime;  // r1 left it when it closed
  page = store_->scan_visibility(scan);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(run_ids(*page), ElementsAre("r2"));
}

// A transition deleting the run `stored` wrote (Transition::delete_run).
Transition deletion(const Transition& stored) {
  Transition t;
  t.key = stored.key;
  t.state = stored.state;
  t.delete_run = true;
  return t;
}

TEST_P(StoreConformanceTest, DeleteRunRemovesAClosedRunEverywhereButNotAnOpenOne) {
  Transition open = visible_run("default", "w1", "r1", 100, 0);
  ASSERT_TRUE(store_->commit(open).ok());
  EXPECT_EQ(store_->commit(deletion(open)).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->load_run(open.key).ok());

  Transition closed = visible_run("default", "w1", "r1", 100, 500, 2);
  ASSERT_TRUE(store_->commit(closed).ok());
  // A newer run of the same workflow id keeps its current pointer when the old one goes.
  Transition newer = visible_run("default", "w2", "r2", 600, 700);
  ASSERT_TRUE(store_->commit(newer).ok());
  ASSERT_TRUE(store_->commit(deletion(closed)).ok());
  EXPECT_EQ(store_->load_run(closed.key).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->load_current(workflow_of(closed.key)).status().code(), StatusCode::kNotFound);
  auto events = store_->read_events(closed.key, EventId{1}, 10);
  ASSERT_TRUE(events.ok());
  EXPECT_THAT(events->events, IsEmpty());
  for (auto index : {VisibilityIndex::kStartTime, VisibilityIndex::kCloseTime,
                     VisibilityIndex::kOpenStartTime}) {
    VisibilityScan scan;
    scan.ns = "default";
    scan.index = index;
    auto page = store_->scan_visibility(scan);
    ASSERT_TRUE(page.ok());
    if (index == VisibilityIndex::kOpenStartTime) {
      EXPECT_THAT(run_ids(*page), IsEmpty());  // both runs are closed
    } else {
      EXPECT_THAT(run_ids(*page), ElementsAre("r2"));
    }
  }
  EXPECT_TRUE(store_->load_run(newer.key).ok());
  EXPECT_TRUE(store_->commit(deletion(closed)).ok());  // gone already: a no-op
}

TEST_P(StoreConformanceTest, DeletingAnOldRunKeepsTheCurrentPointerOfTheNewerRun) {
  Transition old_run = visible_run("default", "w1", "r1", 100, 200);
  ASSERT_TRUE(store_->commit(old_run).ok());
  Transition new_run = visible_run("default", "w1", "r2", 300, 0);
  ASSERT_TRUE(store_->commit(new_run).ok());
  ASSERT_TRUE(store_->commit(deletion(old_run)).ok());
  auto current = store_->load_current(workflow_of(new_run.key));
  ASSERT_TRUE(current.ok()) << current.status().to_string();
  EXPECT_EQ(current->run_id(), "r2");
}

TEST_P(StoreConformanceTest, ADeleteCarryingEventsIsRefused) {
  Transition closed = visible_run("default", "w1", "r1", 100, 500);
  ASSERT_TRUE(store_->commit(closed).ok());
  Transition bad = deletion(closed);
  bad.events.push_back(event(2));
  bad.state.set_next_event_id(3);
  EXPECT_EQ(store_->commit(bad).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->load_run(closed.key).ok());
}

// A run of `base`'s workflow id: the same shard, namespace and workflow id, another run id.
RunWrite sibling(const RunKey& base, const std::string& run_id, int64_t first_event, int64_t count,
                 int64_t start_ms) {
  RunKey key = base;
  key.run_id.value = run_id;
  Transition t = transition(key, first_event, count);
  t.state.set_start_time_ms(start_ms);
  return RunWrite{key, t.state, t.events, /*update_visibility=*/true};
}

TEST_P(StoreConformanceTest, MultiRunTransitionWritesEveryRunInOneCommit) {
  // As reset and continue-as-new do: close the old run and start the next in one transition.
  Transition old_run = visible_run("default", "w1", "r1", 100, 0);
  old_run.add_tasks.push_back(task(old_run.key, 5));
  ASSERT_TRUE(store_->commit(old_run).ok());

  Transition close = transition(old_run.key, 2, 2);
  close.state.set_start_time_ms(100);
  close.state.set_status(v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW);
  close.state.set_close_time_ms(400);
  close.update_visibility = true;
  close.remove_tasks.push_back(task(old_run.key, 5));
  close.other_runs.push_back(sibling(old_run.key, "r2", 1, 2, 400));
  close.add_tasks.push_back(task(close.other_runs[0].key, 6));
  close.add_timers.push_back(timer(close.other_runs[0].key, 9000, 7));
  close.current.emplace();
  close.current->set_run_id("r2");
  close.current->set_status(v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  ASSERT_TRUE(store_->commit(close).ok());

  auto first = store_->load_run(old_run.key);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status(), v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW);
  bool more = false;
  EXPECT_THAT(read_ids(old_run.key, 1, 10, &more), ElementsAre(1, 2, 3));
  const RunKey& next = close.other_runs[0].key;
  auto second = store_->load_run(next);
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_TRUE(same(*second, close.other_runs[0].state));
  EXPECT_THAT(read_ids(next, 1, 10, &more), ElementsAre(1, 2));
  auto current = store_->load_current(workflow_of(old_run.key));
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->run_id(), "r2");
  auto tasks = store_->scan_tasks(old_run.key.shard, 0, 10);
  ASSERT_TRUE(tasks.ok());
  EXPECT_THAT(ids(*tasks), ElementsAre(6));
  auto timers = store_->scan_timers(old_run.key.shard, -1, -1, 10);
  ASSERT_TRUE(timers.ok());
  EXPECT_THAT(positions(*timers), ElementsAre(std::make_pair(int64_t{9000}, int64_t{7})));
  VisibilityScan scan;
  scan.ns = "default";
  scan.index = VisibilityIndex::kOpenStartTime;
  auto open = store_->scan_visibility(scan);
  ASSERT_TRUE(open.ok());
  EXPECT_THAT(run_ids(*open), ElementsAre("r2"));
  scan.index = VisibilityIndex::kCloseTime;
  auto closed = store_->scan_visibility(scan);
  ASSERT_TRUE(closed.ok());
  EXPECT_THAT(run_ids(*closed), ElementsAre("r1"));
}

TEST_P(StoreConformanceTest, MultiRunTransitionWithABadSecondRunWritesNothing) {
  Transition old_run = visible_run("default", "w1", "r1", 100, 0);
  ASSERT_TRUE(store_->commit(old_run).ok());
  const auto before = store_->load_run(old_run.key);
  ASSERT_TRUE(before.ok());

  auto attempt = [&](const std::function<void(Transition*)>& spoil) {
    Transition t = transition(old_run.key, 2, 1);
    t.state.set_status(v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
    t.update_visibility = true;
    t.add_tasks.push_back(task(old_run.key, 11));
    t.other_runs.push_back(sibling(old_run.key, "r2", 1, 2, 400));
    t.current.emplace();
    t.current->set_run_id("r2");
    spoil(&t);
    return store_->commit(t);
  };
  // Events of the second run not consecutive.
  EXPECT_EQ(attempt([](Transition* t) { t->other_runs[0].events[1].set_event_id(5); }).code(),
            StatusCode::kInvalidArgument);
  // The second run's state not one past its last event.
  EXPECT_EQ(attempt([](Transition* t) { t->other_runs[0].state.set_next_event_id(9); }).code(),
            StatusCode::kInvalidArgument);
  // Another workflow id (another shard, here), or the same workflow id in another shard.
  EXPECT_EQ(attempt([&](Transition* t) { t->other_runs[0].key = run_b_; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(attempt([](Transition* t) {
              t->other_runs[0].key.shard.value = (t->key.shard.value + 1) % kShards;
            }).code(),
            StatusCode::kInvalidArgument);
  // The main run's id again, or twice the same other run.
  EXPECT_EQ(attempt([](Transition* t) { t->other_runs[0].key.run_id = t->key.run_id; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(attempt([](Transition* t) { t->other_runs.push_back(t->other_runs[0]); }).code(),
            StatusCode::kInvalidArgument);

  auto after = store_->load_run(old_run.key);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(same(*after, *before));
  RunKey second = old_run.key;
  second.run_id.value = "r2";
  EXPECT_EQ(store_->load_run(second).status().code(), StatusCode::kNotFound);
  bool more = false;
  EXPECT_THAT(read_ids(second, 1, 10, &more), IsEmpty());
  EXPECT_THAT(read_ids(old_run.key, 1, 10, &more), ElementsAre(1));
  auto current = store_->load_current(workflow_of(old_run.key));
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->run_id(), "r1");
  auto tasks = store_->scan_tasks(old_run.key.shard, 0, 10);
  ASSERT_TRUE(tasks.ok());
  EXPECT_THAT(ids(*tasks), IsEmpty());
}

// The second run of a multi-run transition already has its first event stored (a retried reset
// whose first write landed): kAborted, and neither run is written.
TEST_P(StoreConformanceTest, MultiRunTransitionWhoseSecondRunIsStoredIsAbortedAndWritesNothing) {
  Transition old_run = visible_run("default", "w1", "r1", 100, 0);
  ASSERT_TRUE(store_->commit(old_run).ok());
  Transition other = transition(sibling(old_run.key, "r2", 1, 1, 50).key, 1, 1);
  ASSERT_TRUE(store_->commit(other).ok());
  const auto before = store_->load_run(old_run.key);
  ASSERT_TRUE(before.ok());

  Transition t = transition(old_run.key, 2, 1);
  t.state.set_status(v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  t.add_tasks.push_back(task(old_run.key, 12));
  t.other_runs.push_back(sibling(old_run.key, "r2", 1, 2, 400));
  Status status = store_->commit(t);
  EXPECT_EQ(status.code(), StatusCode::kAborted) << status.to_string();
  EXPECT_NE(status.to_string().find("r2"), std::string::npos) << status.to_string();

  auto after = store_->load_run(old_run.key);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(same(*after, *before));
  bool more = false;
  EXPECT_THAT(read_ids(old_run.key, 1, 10, &more), ElementsAre(1));
  EXPECT_THAT(read_ids(other.key, 1, 10, &more), ElementsAre(1));
  auto tasks = store_->scan_tasks(old_run.key.shard, 0, 100);
  ASSERT_TRUE(tasks.ok());
  EXPECT_THAT(ids(*tasks), IsEmpty());
}

Result<std::unique_ptr<HistoryStore>> open_rocks(const std::string& dir, int32_t shards) {
  RocksStoreOptions options;
  options.path = dir;
  options.shard_count = shards;
  options.block_cache_bytes = 8 << 20;
  return open_rocks_store(options);
}

// The fault-injecting decorator with no fault armed: it must be invisible.
Result<std::unique_ptr<HistoryStore>> open_faulty_memory(const std::string& dir, int32_t shards) {
  CAIRN_ASSIGN_OR_RETURN(auto inner, open_memory(dir, shards));
  return std::unique_ptr<HistoryStore>(std::make_unique<FaultyStore>(std::move(inner)));
}

Result<std::unique_ptr<HistoryStore>> open_faulty_rocks(const std::string& dir, int32_t shards) {
  CAIRN_ASSIGN_OR_RETURN(auto inner, open_rocks(dir, shards));
  return std::unique_ptr<HistoryStore>(std::make_unique<FaultyStore>(std::move(inner)));
}

INSTANTIATE_TEST_SUITE_P(AllStores, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"memory", open_memory},
                                           StoreFactory{"rocksdb", open_rocks},
                                           StoreFactory{"faulty_memory", open_faulty_memory},
                                           StoreFactory{"faulty_rocksdb", open_faulty_rocks}),
                         [](const ::testing::TestParamInfo<StoreFactory>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace cairn
