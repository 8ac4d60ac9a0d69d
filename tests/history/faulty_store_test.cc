// Storage faults injected by FaultyStore over each store: every fault leaves the old state or the
// new one, never a mix, and the answer says which (OK: new; kUnavailable: either, unknown;
// kAborted on a retry: the first try had landed).
#include "history/faulty_store.h"

#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "history/history_store.h"
#include "tests/history/store_test_util.h"

namespace cairn {
namespace {

using store_test::run_in_shard;
using store_test::same;
using store_test::task;
using store_test::timer;
using store_test::transition;
using store_test::workflow_of;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using CommitFault = FaultyStore::CommitFault;

constexpr int32_t kShards = 4;

struct Backend {
  std::string name;
  bool durable;  // reopening the directory finds what was committed
};

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

class FaultyStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { open(); }

  void open() {
    std::unique_ptr<HistoryStore> inner;
    if (GetParam().durable) {
      faulty_ = nullptr;
      store_.reset();  // the directory's lock is released before the next open
      RocksStoreOptions options;
      options.path = dir_.sub("data");
      options.shard_count = kShards;
      options.block_cache_bytes = 8 << 20;
      auto opened = open_rocks_store(options);
      ASSERT_TRUE(opened.ok()) << opened.status().to_string();
      inner = std::move(opened).value();
    } else {
      inner = make_memory_store(kShards);
    }
    auto faulty = std::make_unique<FaultyStore>(std::move(inner));
    faulty_ = faulty.get();
    store_ = std::move(faulty);
  }

  // The first transition of the run: two events, a task and a timer.
  Transition first() const {
    Transition t = transition(run_, 1, 2);
    t.add_tasks = {task(run_, 1)};
    t.add_timers = {timer(run_, 100, 2)};
    t.current.emplace();
    t.current->set_run_id(run_.run_id.value);
    return t;
  }
  // The second: consumes the task and the timer, adds a task, appends two events.
  Transition second() const {
    Transition t = transition(run_, 3, 2);
    t.remove_tasks = {task(run_, 1)};
    t.add_tasks = {task(run_, 3)};
    t.remove_timers = {timer(run_, 100, 2)};
    return t;
  }

  // Everything of the run is as after `t` (its state, its events last, the tasks and timers).
  void expect_state_of(const Transition& t, const std::vector<int64_t>& tasks, size_t timers) {
    auto state = store_->load_run(run_);
    ASSERT_TRUE(state.ok()) << state.status().to_string();
    EXPECT_TRUE(same(*state, t.state));
    auto events = store_->read_events(run_, EventId{1}, 100);
    ASSERT_TRUE(events.ok());
    ASSERT_EQ(events->events.size(), static_cast<size_t>(t.events.back().event_id()));
    for (size_t i = 0; i < events->events.size(); ++i) {
      EXPECT_EQ(events->events[i].event_id(), static_cast<int64_t>(i) + 1);
    }
    auto page = store_->scan_tasks(run_.shard, -1, 100);
    ASSERT_TRUE(page.ok());
    std::vector<int64_t> ids;
    for (const auto& r : page->tasks) {
      ids.push_back(r.task_id());
    }
    EXPECT_EQ(ids, tasks);
    auto timer_page = store_->scan_timers(run_.shard, -1, -1, 100);
    ASSERT_TRUE(timer_page.ok());
    EXPECT_EQ(timer_page->timers.size(), timers);
  }

  store_test::TempDir dir_;
  std::unique_ptr<HistoryStore> store_;
  FaultyStore* faulty_ = nullptr;
  const RunKey run_ = run_in_shard(1, kShards, "order", "run-1");
};

TEST_P(FaultyStoreTest, OnlyTheNthCommitFails) {
  faulty_->fail_commit(2, CommitFault::kFailBeforeWrite);
  ASSERT_TRUE(store_->commit(first()).ok());
  Status failed = store_->commit(second());
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable);
  EXPECT_THAT(failed.message(), HasSubstr(run_.run_id.value));
  EXPECT_TRUE(store_->commit(second()).ok());  // the third commit: a retry that lands
  EXPECT_EQ(faulty_->commits(), 3);
  expect_state_of(second(), {3}, 0);
}

TEST_P(FaultyStoreTest, AFailureBeforeTheWriteLeavesTheOldStateAndARetryLands) {
  ASSERT_TRUE(store_->commit(first()).ok());
  faulty_->fail_commit(1, CommitFault::kFailBeforeWrite);
  EXPECT_EQ(store_->commit(second()).code(), StatusCode::kUnavailable);
  expect_state_of(first(), {1}, 1);
  if (GetParam().durable) {
    open();
    expect_state_of(first(), {1}, 1);
  }
  ASSERT_TRUE(store_->commit(second()).ok());
  expect_state_of(second(), {3}, 0);
}

TEST_P(FaultyStoreTest, AFailureAfterTheWriteLeavesTheNewStateAndARetryIsRefused) {
  ASSERT_TRUE(store_->commit(first()).ok());
  faulty_->fail_commit(1, CommitFault::kFailAfterWrite);
  Status unknown = store_->commit(second());
  EXPECT_EQ(unknown.code(), StatusCode::kUnavailable);
  EXPECT_THAT(unknown.message(), HasSubstr("outcome unknown"));
  expect_state_of(second(), {3}, 0);  // all of it, though the caller was told UNAVAILABLE
  if (GetParam().durable) {
    open();  // durable too: a restart finds it
    expect_state_of(second(), {3}, 0);
  }
  // The caller retries the same transition: the store sees that its events are there and
  // refuses, writing nothing (a changed retry would have duplicated task 4 otherwise).
  Transition retry = second();
  retry.add_tasks.push_back(task(run_, 4));
  Status refused = store_->commit(retry);
  EXPECT_EQ(refused.code(), StatusCode::kAborted) << refused.to_string();
  EXPECT_THAT(refused.message(), HasSubstr("event 3 is already stored"));
  expect_state_of(second(), {3}, 0);
  EXPECT_EQ(store_->commit(second()).code(), StatusCode::kAborted);
}

TEST_P(FaultyStoreTest, AFailedFirstCommitOfARunLeavesNoRun) {
  faulty_->fail_commit(1, CommitFault::kFailBeforeWrite);
  EXPECT_EQ(store_->commit(first()).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->load_run(run_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->load_current(workflow_of(run_)).status().code(), StatusCode::kNotFound);
  auto tasks = store_->scan_tasks(run_.shard, -1, 10);
  ASSERT_TRUE(tasks.ok());
  EXPECT_TRUE(tasks->tasks.empty());
  auto runs = store_->list_runs_for_testing();
  ASSERT_TRUE(runs.ok());
  EXPECT_TRUE(runs->empty());
}

TEST_P(FaultyStoreTest, ReadersSeeTheOldStateWhileACommitIsHeldThenTheNewOne) {
  ASSERT_TRUE(store_->commit(first()).ok());
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  faulty_->set_before_commit([&](const Transition&) {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  auto committed = std::async(std::launch::async, [&] { return store_->commit(second()); });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  // The commit is "on the disk": reads answer and see none of it.
  expect_state_of(first(), {1}, 1);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_TRUE(committed.get().ok());
  expect_state_of(second(), {3}, 0);
  faulty_->clear();
}

TEST_P(FaultyStoreTest, FailingReadsAnswerUnavailableAndChangeNothing) {
  ASSERT_TRUE(store_->commit(first()).ok());
  faulty_->fail_reads(true);
  EXPECT_EQ(store_->load_run(run_).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->load_current(workflow_of(run_)).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->read_events(run_, EventId{1}, 10).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->scan_tasks(run_.shard, -1, 10).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->scan_timers(run_.shard, -1, -1, 10).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->get_namespace("default").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->list_namespaces().status().code(), StatusCode::kUnavailable);
  VisibilityScan scan;
  scan.ns = "default";
  EXPECT_EQ(store_->scan_visibility(scan).status().code(), StatusCode::kUnavailable);
  faulty_->fail_reads(false);
  expect_state_of(first(), {1}, 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, FaultyStoreTest,
                         ::testing::Values(Backend{"memory", false}, Backend{"rocksdb", true}),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace cairn
