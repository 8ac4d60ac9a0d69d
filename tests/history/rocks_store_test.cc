// RocksDB-only behaviour of the history store: durability across close and reopen, the shard
// count and format fixed at creation, the persisted sequence mark, and the failed state after a
// write error (injected through a file system that fails write-ahead-log writes on demand).
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include "history/history_store.h"
#include "history/keys.h"
#include "history/rocks_store_env.h"
#include "tests/history/store_test_util.h"

namespace cairn {
namespace {

using store_test::run_in_shard;
using store_test::same;
using store_test::task;
using store_test::timer;
using store_test::transition;
using store_test::workflow_of;
using ::testing::HasSubstr;

// Fails appends and syncs of *.log (write-ahead log) files while *fail is set, and only the
// syncs while *fail_sync is set.
struct WalFaults {
  std::atomic<bool> fail{false};
  std::atomic<bool> fail_sync{false};
};

class FaultyWalFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWalFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<WalFaults> faults)
      : FSWritableFileOwnerWrapper(std::move(file)), faults_(std::move(faults)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    return faults_->fail ? injected() : FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    return faults_->fail ? injected()
                         : FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return syncs_fail() ? injected() : FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return syncs_fail() ? injected() : FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  bool syncs_fail() const { return faults_->fail || faults_->fail_sync; }
  static rocksdb::IOStatus injected() { return rocksdb::IOStatus::IOError("injected WAL fault"); }
  std::shared_ptr<WalFaults> faults_;
};

class FaultyFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultyFileSystem(std::shared_ptr<WalFaults> faults)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), faults_(std::move(faults)) {}
  const char* Name() const override { return "CairnFaultyFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok() && name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0) {
      *result = std::make_unique<FaultyWalFile>(std::move(*result), faults_);
    }
    return s;
  }

 private:
  std::shared_ptr<WalFaults> faults_;
};

class RocksStoreTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<HistoryStore>> open(int32_t shard_count = 4) {
    RocksStoreOptions options;
    options.path = path_;
    options.shard_count = shard_count;
    options.block_cache_bytes = 8 << 20;
    return open_rocks_store(options);
  }

  std::unique_ptr<HistoryStore> must_open(int32_t shard_count = 4) {
    auto store = open(shard_count);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // A store whose write-ahead log fails as `faults` says.
  std::unique_ptr<HistoryStore> open_faulty(std::shared_ptr<WalFaults> faults) {
    env_ = rocksdb::NewCompositeEnv(std::make_shared<FaultyFileSystem>(std::move(faults)));
    RocksStoreOptions options;
    options.path = path_;
    options.shard_count = 4;
    auto opened = open_rocks_store_on_env(options, env_);
    EXPECT_TRUE(opened.ok()) << opened.status().to_string();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  store_test::TempDir dir_;
  const std::string path_ = dir_.sub("data");
  std::shared_ptr<rocksdb::Env> env_;  // outlives the stores opened on it
  const RunKey run_ = run_in_shard(1, 4, "order", "run-1");
};

TEST_F(RocksStoreTest, ReopenFindsEverything) {
  Transition start = transition(run_, 1, 3);
  start.current.emplace();
  start.current->set_run_id(run_.run_id.value);
  start.add_tasks = {task(run_, 1), task(run_, 2)};
  start.add_timers = {timer(run_, 5000, 3), timer(run_, 256, 4)};
  Transition next = transition(run_, 4, 2);
  next.remove_tasks = {task(run_, 1)};
  next.remove_timers = {timer(run_, 256, 4)};
  v1::NamespaceRecord ns;
  ns.set_name("default");
  ns.set_retention_ms(86400000);
  {
    auto store = must_open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->commit(start).ok());
    ASSERT_TRUE(store->commit(next).ok());
    ASSERT_TRUE(store->put_namespace(ns).ok());
  }
  auto store = must_open();
  ASSERT_NE(store, nullptr);
  auto state = store->load_run(run_);
  ASSERT_TRUE(state.ok()) << state.status().to_string();
  EXPECT_TRUE(same(*state, next.state));
  auto current = store->load_current(workflow_of(run_));
  ASSERT_TRUE(current.ok());
  EXPECT_TRUE(same(*current, *start.current));
  auto events = store->read_events(run_, EventId{1}, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->events.size(), 5u);
  EXPECT_EQ(events->events.back().event_id(), 5);
  auto tasks = store->scan_tasks(run_.shard, -1, 10);
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->tasks.size(), 1u);
  EXPECT_TRUE(same(tasks->tasks[0], task(run_, 2)));
  auto timers = store->scan_timers(run_.shard, -1, -1, 10);
  ASSERT_TRUE(timers.ok());
  ASSERT_EQ(timers->timers.size(), 1u);
  EXPECT_TRUE(same(timers->timers[0], timer(run_, 5000, 3)));
  auto got = store->get_namespace("default");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(same(*got, ns));
  auto runs = store->list_runs_for_testing();
  ASSERT_TRUE(runs.ok());
  EXPECT_THAT(*runs, ::testing::ElementsAre(run_));
}

TEST_F(RocksStoreTest, ShardCountIsFixedAtCreation) {
  {
    auto store = must_open(8);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->shard_count(), 8);
  }
  auto store = must_open(3);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->shard_count(), 8);
  // Shard 5 exists only under the stored count.
  EXPECT_TRUE(store->scan_tasks(ShardId{5}, -1, 1).ok());
}

TEST_F(RocksStoreTest, CreationRejectsANonPositiveShardCount) {
  auto store = open(0);
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), HasSubstr(path_));
}

TEST_F(RocksStoreTest, MaxSequenceSurvivesReopenAfterTheHighRecordsAreRemoved) {
  {
    auto store = must_open();
    ASSERT_NE(store, nullptr);
    Transition add = transition(run_, 1, 1);
    add.add_tasks = {task(run_, 100)};
    add.add_timers = {timer(run_, 10, 200)};
    ASSERT_TRUE(store->commit(add).ok());
    Transition remove = transition(run_, 2, 1);
    remove.remove_tasks = {task(run_, 100)};
    remove.add_tasks = {task(run_, 150)};
    ASSERT_TRUE(store->commit(remove).ok());
    ASSERT_TRUE(store->forget_timers({timer(run_, 10, 200)}).ok());
  }
  {
    auto store = must_open();
    ASSERT_NE(store, nullptr);
    auto max = store->max_sequence();
    ASSERT_TRUE(max.ok());
    EXPECT_EQ(*max, 200);
    Transition higher = transition(run_, 3, 1);
    higher.add_timers = {timer(run_, 20, 201)};
    ASSERT_TRUE(store->commit(higher).ok());
  }
  auto store = must_open();
  ASSERT_NE(store, nullptr);
  auto max = store->max_sequence();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 201);
}

TEST_F(RocksStoreTest, RejectsAnUnknownFormatVersion) {
  { ASSERT_NE(must_open(), nullptr); }
  {
    // Rewrite StoreMeta as a future build would, bypassing the store.
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path_, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names) {
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path_, descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    auto meta = std::find(names.begin(), names.end(), std::string(keys::kMetaFamily));
    ASSERT_NE(meta, names.end());
    v1::StoreMeta future;
    future.set_shard_count(4);
    future.set_format_version(2);
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[meta - names.begin()],
                        std::string(keys::kStoreMetaKey), future.SerializeAsString())
                    .ok());
    for (auto* handle : handles) {
      EXPECT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    }
    EXPECT_TRUE(db->Close().ok());
  }
  auto store = open();
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), HasSubstr("format_version 2"));
  EXPECT_THAT(store.status().message(), HasSubstr(path_));
}

TEST_F(RocksStoreTest, ASecondOpenOfAnOpenDirectoryFailsAndNamesThePath) {
  auto first = must_open();
  ASSERT_NE(first, nullptr);
  auto second = open();
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr(path_));
}

TEST_F(RocksStoreTest, AFailedWriteFailsTheStoreForLaterWritesButNotReads) {
  auto faults = std::make_shared<WalFaults>();
  auto store = open_faulty(faults);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->commit(transition(run_, 1, 1)).ok());

  faults->fail = true;
  Transition lost = transition(run_, 2, 1);
  lost.add_tasks = {task(run_, 7)};
  Status first = store->commit(lost);
  EXPECT_FALSE(first.ok());
  EXPECT_THAT(first.message(), HasSubstr(run_.run_id.value));
  faults->fail = false;  // the disk "recovers"; the store must not trust it

  Status later = store->commit(transition(run_, 2, 1));
  EXPECT_EQ(later.code(), StatusCode::kUnavailable);
  EXPECT_THAT(later.message(), HasSubstr("store failed after a write error"));
  EXPECT_THAT(later.message(), HasSubstr("restart the server"));
  v1::NamespaceRecord ns;
  ns.set_name("default");
  EXPECT_EQ(store->put_namespace(ns).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->forget_timers({timer(run_, 1, 1)}).code(), StatusCode::kUnavailable);
  auto max = store->max_sequence();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 0);  // the failed commit's sequence was never acknowledged

  auto state = store->load_run(run_);
  ASSERT_TRUE(state.ok()) << state.status().to_string();
  auto events = store->read_events(run_, EventId{1}, 10);
  ASSERT_TRUE(events.ok());
  EXPECT_FALSE(events->events.empty());
}

TEST_F(RocksStoreTest, ConcurrentCommitsSharingSyncsAllLandAndSurviveReopen) {
  constexpr int kThreads = 16;
  constexpr int kCommits = 40;
  std::vector<RunKey> runs;
  for (int t = 0; t < kThreads; ++t) {
    runs.push_back(run_in_shard(t % 4, 4, "group", "run-" + std::to_string(t)));
  }
  {
    auto store = must_open();
    ASSERT_NE(store, nullptr);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCommits; ++i) {
          Transition step = transition(runs[t], i + 1, 1);
          step.add_tasks = {task(runs[t], 1 + t * 1000 + i)};
          if (!store->commit(step).ok()) {
            ++failures;
          }
        }
      });
    }
    for (auto& th : threads) {
      th.join();
    }
    EXPECT_EQ(failures.load(), 0);
  }
  auto store = must_open();
  ASSERT_NE(store, nullptr);
  for (int t = 0; t < kThreads; ++t) {
    auto events = store->read_events(runs[t], EventId{1}, 1000);
    ASSERT_TRUE(events.ok());
    ASSERT_EQ(events->events.size(), static_cast<size_t>(kCommits)) << runs[t].debug_string();
    for (int i = 0; i < kCommits; ++i) {
      EXPECT_EQ(events->events[i].event_id(), i + 1);
    }
  }
  size_t tasks = 0;
  for (int shard = 0; shard < 4; ++shard) {
    auto page = store->scan_tasks(ShardId{shard}, -1, 10'000);
    ASSERT_TRUE(page.ok());
    tasks += page->tasks.size();
  }
  EXPECT_EQ(tasks, static_cast<size_t>(kThreads * kCommits));
  auto max = store->max_sequence();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, 1 + (kThreads - 1) * 1000 + kCommits - 1);
}

TEST_F(RocksStoreTest, EveryWriterOfAFailedSharedWriteGetsTheError) {
  auto faults = std::make_shared<WalFaults>();
  auto store = open_faulty(faults);
  ASSERT_NE(store, nullptr);
  faults->fail = true;
  constexpr int kThreads = 8;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RunKey run = run_in_shard(t % 4, 4, "failing", "run-" + std::to_string(t));
      if (store->commit(transition(run, 1, 1)).ok()) {
        ++ok;
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(ok.load(), 0);
  faults->fail = false;
  auto runs = store->list_runs_for_testing();
  ASSERT_TRUE(runs.ok());
  EXPECT_TRUE(runs->empty());  // nothing of a failed write is visible
}

TEST_F(RocksStoreTest, ABufferedCommitDoesNotWaitForTheSyncAndIsReadableAtOnce) {
  auto faults = std::make_shared<WalFaults>();
  auto store = open_faulty(faults);
  ASSERT_NE(store, nullptr);
  // With WAL syncs failing, a buffered commit still succeeds (it never syncs) and is read back;
  // a synced one fails.
  faults->fail_sync = true;
  Transition started = transition(run_, 1, 2);
  started.durability = Durability::kBuffered;
  Status buffered = store->commit(started);
  ASSERT_TRUE(buffered.ok()) << buffered.to_string();
  auto events = store->read_events(run_, EventId{1}, 10);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->events.size(), 2u);
  EXPECT_FALSE(store->commit(transition(run_, 3, 1)).ok());
}

TEST_F(RocksStoreTest, ABufferedCommitSurvivesReopen) {
  {
    auto store = must_open();
    ASSERT_NE(store, nullptr);
    Transition started = transition(run_, 1, 2);
    started.durability = Durability::kBuffered;
    ASSERT_TRUE(store->commit(started).ok());
  }
  auto store = must_open();
  ASSERT_NE(store, nullptr);
  auto events = store->read_events(run_, EventId{1}, 10);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->events.size(), 2u);
}

}  // namespace
}  // namespace cairn
