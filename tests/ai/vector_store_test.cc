// HnswVectorStore: recall against exhaustive search, persistence across reopen (checkpoint and
// log replay, a torn log tail), delete, metadata filters, invalid input and concurrency.
#include "cairn/ai/vector_store.h"

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/ai/vector_test_util.h"

namespace cairn::ai {
namespace {

using testing::brute_force;
using testing::ids_of;
using testing::random_items;
using testing::random_vector;
using testing::ScratchDir;

constexpr size_t kDim = 384;

HnswOptions fast_options() {
  HnswOptions o;
  o.sync = false;  // fsync adds nothing to what these tests check (durability is by rename)
  return o;
}

// Random vectors are the hardest case for HNSW (no clusters): a wider graph and search than the
// defaults, which suit text embeddings.
HnswOptions random_data_options() {
  HnswOptions o = fast_options();
  o.m = 24;
  o.ef_construction = 64;
  o.ef_search = 600;
  return o;
}

double recall_at(const VectorStore& store, const std::vector<VectorItem>& items, size_t queries,
                 size_t k, uint64_t seed, const nlohmann::json& filter = {}) {
  std::mt19937_64 rng(seed);
  const size_t kDim = store.dim();
  size_t found = 0;
  size_t wanted = 0;
  for (size_t q = 0; q < queries; ++q) {
    std::vector<float> query = random_vector(rng, kDim);
    auto truth = brute_force(items, query, k, [&](const VectorItem& item) {
      return filter.is_null() || item.metadata.at("parity") == filter.at("parity");
    });
    std::vector<std::string> hits = ids_of(store.search(query, k, filter));
    std::set<std::string> got(hits.begin(), hits.end());
    for (const std::string& id : truth) {
      found += got.count(id);
    }
    wanted += truth.size();
  }
  return static_cast<double>(found) / static_cast<double>(wanted);
}

TEST(VectorStoreTest, RecallAt10AgainstBruteForceOn10kRandomVectors) {
  ScratchDir dir;
  HnswVectorStore store(dir.path(), kDim, random_data_options());
  auto items = random_items(10'000, kDim, /*seed=*/7);
  store.upsert(items);
  ASSERT_EQ(store.size(), 10'000u);
  double recall = recall_at(store, items, /*queries=*/100, /*k=*/10, /*seed=*/11);
  RecordProperty("recall_at_10", std::to_string(recall));
  EXPECT_GE(recall, 0.95) << "recall@10 = " << recall;
}

TEST(VectorStoreTest, HitsAreBestFirstWithCosineScores) {
  ScratchDir dir;
  HnswVectorStore store(dir.path(), 3, fast_options());
  store.upsert({{"x", {1, 0, 0}, {{"axis", "x"}}},
                {"xy", {1, 1, 0}, {}},
                {"y", {0, 5, 0}, {}},
                {"minus-x", {-2, 0, 0}, {}}});
  auto hits = store.search({3, 0, 0}, 10);
  ASSERT_EQ(ids_of(hits), (std::vector<std::string>{"x", "xy", "y", "minus-x"}));
  EXPECT_NEAR(hits[0].score, 1.0, 1e-5);
  EXPECT_NEAR(hits[1].score, std::sqrt(0.5), 1e-5);
  EXPECT_NEAR(hits[2].score, 0.0, 1e-5);
  EXPECT_NEAR(hits[3].score, -1.0, 1e-5);
  EXPECT_EQ(hits[0].metadata, (nlohmann::json{{"axis", "x"}}));
  EXPECT_EQ(store.search({3, 0, 0}, 2).size(), 2u);
}

TEST(VectorStoreTest, UpsertReplacesVectorAndMetadataOfAnExistingId) {
  ScratchDir dir;
  HnswVectorStore store(dir.path(), 2, fast_options());
  store.upsert({{"a", {1, 0}, {{"v", 1}}}, {"b", {0, 1}, {}}});
  store.upsert({{"a", {0, 1}, {{"v", 2}}}});
  EXPECT_EQ(store.size(), 2u);
  auto hits = store.search({0, 1}, 1, {{"v", 2}});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, "a");
  EXPECT_NEAR(hits[0].score, 1.0, 1e-5);
  EXPECT_TRUE(store.search({0, 1}, 5, {{"v", 1}}).empty());
}

TEST(VectorStoreTest, RemovedItemsAreNeverReturnedAndCanComeBack) {
  ScratchDir dir;
  HnswVectorStore store(dir.path(), kDim, fast_options());
  auto items = random_items(500, kDim, 3);
  store.upsert(items);
  std::vector<std::string> gone;
  for (size_t i = 0; i < 500; i += 2) {
    gone.push_back(items[i].id);
  }
  gone.push_back("never-there");
  EXPECT_EQ(store.remove(gone), 250u);
  EXPECT_EQ(store.remove(gone), 0u);
  EXPECT_EQ(store.size(), 250u);
  std::set<std::string> removed(gone.begin(), gone.end());
  for (size_t i = 0; i < 20; ++i) {
    for (const VectorHit& hit : store.search(items[i].vector, 50)) {
      EXPECT_EQ(removed.count(hit.id), 0u) << hit.id << " was removed";
    }
  }
  // The exact vector of a removed item no longer finds it; upserting it again does.
  EXPECT_NE(store.search(items[0].vector, 1)[0].id, items[0].id);
  store.upsert({items[0]});
  EXPECT_EQ(store.size(), 251u);
  EXPECT_EQ(store.search(items[0].vector, 1)[0].id, items[0].id);
}

TEST(VectorStoreTest, ReopenedStoreHasEveryAcknowledgedWrite) {
  ScratchDir dir;
  auto items = random_items(300, kDim, 5);
  std::vector<std::string> before;
  {
    HnswVectorStore store(dir.path(), kDim, fast_options());
    store.upsert(std::vector<VectorItem>(items.begin(), items.begin() + 200));
    store.checkpoint();  // some writes in the checkpoint, the rest only in the log
    store.upsert(std::vector<VectorItem>(items.begin() + 200, items.end()));
    store.remove({items[1].id, items[250].id});
    before = ids_of(store.search(items[7].vector, 10));
  }
  HnswVectorStore reopened(dir.path(), kDim, fast_options());
  EXPECT_EQ(reopened.size(), 298u);
  EXPECT_EQ(ids_of(reopened.search(items[7].vector, 10)), before);
  EXPECT_EQ(reopened.search(items[299].vector, 1)[0].id, items[299].id);
  auto meta = reopened.search(items[42].vector, 1)[0].metadata;
  EXPECT_EQ(meta.at("n"), 42);
  for (const VectorHit& hit : reopened.search(items[1].vector, 20)) {
    EXPECT_NE(hit.id, items[1].id);
  }
}

TEST(VectorStoreTest, CheckpointReplacesTheLogAndOldGenerationFiles) {
  ScratchDir dir;
  HnswOptions o = fast_options();
  o.checkpoint_wal_bytes = 64 * 1024;  // a few hundred 384-d vectors
  HnswVectorStore store(dir.path(), kDim, o);
  uint64_t first = store.generation();
  auto items = random_items(400, kDim, 9);
  for (size_t i = 0; i < items.size(); i += 20) {
    store.upsert(std::vector<VectorItem>(items.begin() + i, items.begin() + i + 20));
  }
  EXPECT_GT(store.generation(), first);
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 4u) << "MANIFEST, index, items and log of one generation";
  HnswVectorStore reopened(dir.path(), kDim, o);
  EXPECT_EQ(reopened.size(), 400u);
  EXPECT_EQ(reopened.search(items[123].vector, 1)[0].id, items[123].id);
}

TEST(VectorStoreTest, TornLogTailIsDroppedOnReopen) {
  ScratchDir dir;
  auto items = random_items(10, 8, 1);
  std::string wal;
  {
    HnswVectorStore store(dir.path(), 8, fast_options());
    store.upsert(items);
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
      if (e.path().filename().string().rfind("wal-", 0) == 0) {
        wal = e.path().string();
      }
    }
  }
  ASSERT_FALSE(wal.empty());
  {
    std::ofstream out(wal, std::ios::app | std::ios::binary);
    out << std::string("\x40\x00\x00\x00garbage", 11);  // a record header cut short by a crash
  }
  auto size_with_tail = std::filesystem::file_size(wal);
  HnswVectorStore reopened(dir.path(), 8, fast_options());
  EXPECT_EQ(reopened.size(), 10u);
  EXPECT_LT(std::filesystem::file_size(wal), size_with_tail) << "the torn tail is cut off";
  reopened.upsert({{"after", items[0].vector, {}}});
  HnswVectorStore again(dir.path(), 8, fast_options());
  EXPECT_EQ(again.size(), 11u);
}

TEST(VectorStoreTest, DamagedCheckpointIsReportedNotLoaded) {
  ScratchDir dir;
  {
    HnswVectorStore store(dir.path(), 8, fast_options());
    store.upsert(random_items(20, 8, 2));
    store.checkpoint();
  }
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    if (e.path().filename().string().rfind("index-", 0) == 0) {
      std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(100);
      f.put('\x7f');
    }
  }
  try {
    HnswVectorStore store(dir.path(), 8, fast_options());
    FAIL() << "a damaged index was loaded";
  } catch (const VectorStoreError& e) {
    EXPECT_EQ(e.type(), "IndexCorrupt");
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
}

TEST(VectorStoreTest, MetadataFilterMatchesExactlyWhatItNames) {
  ScratchDir dir;
  constexpr size_t kDim = 64;
  HnswVectorStore store(dir.path(), kDim, fast_options());
  auto items = random_items(3'000, kDim, 21);
  items[5].metadata["tags"] = {"red", "blue"};
  store.upsert(items);
  std::mt19937_64 rng(4);
  for (int q = 0; q < 10; ++q) {
    auto query = random_vector(rng, kDim);
    // Selective: bucket 3 (a tenth) — exact.
    auto hits = store.search(query, 10, {{"bucket", 3}});
    auto truth = brute_force(items, query, 10,
                             [](const VectorItem& i) { return i.metadata.at("bucket") == 3; });
    EXPECT_EQ(ids_of(hits), truth);
    // Any of several values.
    for (const VectorHit& h : store.search(query, 10, {{"bucket", {1, 2}}})) {
      int b = h.metadata.at("bucket");
      EXPECT_TRUE(b == 1 || b == 2) << h.id;
    }
  }
  auto tagged = store.search(items[9].vector, 10, {{"tags", "blue"}});
  ASSERT_EQ(ids_of(tagged), std::vector<std::string>{items[5].id});
  EXPECT_TRUE(store.search(items[9].vector, 10, {{"bucket", 99}}).empty());
  EXPECT_TRUE(store.search(items[9].vector, 10, {{"missing", 1}}).empty());
}

TEST(VectorStoreTest, UnselectiveFilterKeepsRecallThroughTheGraph) {
  ScratchDir dir;
  constexpr size_t kDim = 64;
  HnswVectorStore store(dir.path(), kDim, fast_options());
  auto items = random_items(5'000, kDim, 31);  // half "even": past the exact-scan threshold
  store.upsert(items);
  nlohmann::json filter = {{"parity", "even"}};
  for (const VectorHit& h : store.search(items[0].vector, 10, filter)) {
    EXPECT_EQ(h.metadata.at("parity"), "even");
  }
  double recall = recall_at(store, items, 30, 10, 17, filter);
  EXPECT_GE(recall, 0.95) << "filtered recall@10 = " << recall;
}

void expect_error(const std::function<void()>& fn, const std::string& type,
                  const std::string& words) {
  try {
    fn();
    ADD_FAILURE() << "no error, expected " << type;
  } catch (const VectorStoreError& e) {
    EXPECT_EQ(e.type(), type) << e.what();
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(VectorStoreTest, InvalidInputIsRefusedAndChangesNothing) {
  ScratchDir dir;
  HnswVectorStore store(dir.path(), 4, fast_options());
  store.upsert({{"ok", {1, 2, 3, 4}, {}}});
  expect_error(
      [&] {
        store.upsert({{"good", {1, 1, 1, 1}, {}}, {"short", {1, 2}, {}}});
      },
      "InvalidVector", "item 1 (id \"short\"): the vector has 2 dimensions, the index has 4");
  expect_error([&] { store.upsert({{"zero", {0, 0, 0, 0}, {}}}); }, "InvalidVector", "zero");
  expect_error([&] { store.upsert({{"nan", {NAN, 0, 0, 1}, {}}}); }, "InvalidVector", "non-finite");
  expect_error([&] { store.upsert({{"", {1, 0, 0, 0}, {}}}); }, "InvalidVector", "id must be");
  expect_error(
      [&] {
        store.upsert({{"m", {1, 0, 0, 0}, nlohmann::json::array()}});
      },
      "InvalidVector", "metadata must be a JSON object");
  EXPECT_EQ(store.size(), 1u) << "a batch with one bad item changes nothing";
  expect_error([&] { store.search({1, 2, 3}, 1); }, "InvalidVector", "3 dimensions");
  expect_error(
      [&] {
        store.search({1, 2, 3, 4}, 1, nlohmann::json::array({1}));
      },
      "InvalidFilter", "filter must be a JSON object");
  expect_error([&] { HnswVectorStore other(dir.path(), 8, fast_options()); }, "InvalidVector",
               "holds vectors of dimension 4, opened with dimension 8");
  try {
    HnswOptions o;
    o.ef_search = 0;
    HnswVectorStore bad(dir.sub("x"), 4, o);
    FAIL() << "ef_search 0 accepted";
  } catch (const OptionsError& e) {
    EXPECT_EQ(e.field(), "ef_search");
  }
}

TEST(VectorStoreTest, SearchesRunWhileWritesGoOn) {
  ScratchDir dir;
  HnswVectorStore store(dir.path(), 64, fast_options());
  auto items = random_items(2'000, 64, 8);
  store.upsert(std::vector<VectorItem>(items.begin(), items.begin() + 1000));
  std::atomic<bool> done{false};
  std::atomic<int> searches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      size_t i = static_cast<size_t>(t);
      while (!done) {
        auto hits = store.search(items[i % 1000].vector, 5);
        if (hits.empty() || hits[0].id != items[i % 1000].id) {
          ADD_FAILURE() << "search for " << items[i % 1000].id << " missed it";
          return;
        }
        ++searches;
        i += 7;
      }
    });
  }
  for (size_t i = 1000; i < 2000; i += 50) {
    store.upsert(std::vector<VectorItem>(items.begin() + i, items.begin() + i + 50));
  }
  done = true;
  for (auto& r : readers) {
    r.join();
  }
  EXPECT_GT(searches.load(), 0);
  EXPECT_EQ(store.size(), 2'000u);
}

}  // namespace
}  // namespace cairn::ai
