// Snapshot and restore of an HnswVectorStore, and the VectorRegistry of a worker.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "cairn/ai/vector_store.h"
#include "tests/ai/vector_test_util.h"

namespace cairn::ai {
namespace {

using testing::ids_of;
using testing::random_items;
using testing::ScratchDir;

constexpr size_t kDim = 32;

HnswOptions fast_options() {
  HnswOptions o;
  o.sync = false;
  return o;
}

std::string error_type(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const VectorStoreError& e) {
    return e.type();
  }
  return "";
}

TEST(VectorSnapshotTest, RestoreBringsBackExactlyTheSnapshottedContent) {
  ScratchDir dir;
  auto items = random_items(400, kDim, 1);
  HnswVectorStore store(dir.sub("live"), kDim, fast_options());
  store.upsert(std::vector<VectorItem>(items.begin(), items.begin() + 300));
  store.remove({items[0].id});
  auto before = ids_of(store.search(items[10].vector, 10));
  store.snapshot(dir.sub("snap"));

  // Changes after the snapshot: more items, a removal, a replaced one.
  store.upsert(std::vector<VectorItem>(items.begin() + 300, items.end()));
  store.remove({items[10].id});
  store.upsert({{items[20].id, items[21].vector, {{"changed", true}}}});
  ASSERT_EQ(store.size(), 398u);

  store.restore(dir.sub("snap"));
  EXPECT_EQ(store.size(), 299u);
  EXPECT_EQ(ids_of(store.search(items[10].vector, 10)), before);
  EXPECT_EQ(store.search(items[20].vector, 1)[0].metadata.at("n"), 20);
  EXPECT_TRUE(store.search(items[350].vector, 5, {{"n", 350}}).empty());

  // The restore is durable: a reopen sees the restored content, and the snapshot is untouched.
  uint64_t generation = store.generation();
  {
    HnswVectorStore reopened(dir.sub("live"), kDim, fast_options());
    EXPECT_EQ(reopened.size(), 299u);
    EXPECT_EQ(reopened.generation(), generation);
  }
  HnswVectorStore snapshot_itself(dir.sub("snap"), kDim, fast_options());
  EXPECT_EQ(snapshot_itself.size(), 299u);
}

TEST(VectorSnapshotTest, SnapshotRefusesAnExistingPathAndLeavesNoPartialCopy) {
  ScratchDir dir;
  HnswVectorStore store(dir.sub("live"), kDim, fast_options());
  store.upsert(random_items(10, kDim, 2));
  store.snapshot(dir.sub("snap"));
  EXPECT_EQ(error_type([&] { store.snapshot(dir.sub("snap")); }), "SnapshotExists");
  { std::ofstream(dir.sub("a-file")) << "not a directory"; }
  EXPECT_EQ(error_type([&] { store.snapshot(dir.sub("a-file/snap")); }), "StorageError");
  EXPECT_FALSE(std::filesystem::exists(dir.sub("a-file/snap.partial")));
  EXPECT_FALSE(std::filesystem::exists(dir.sub("snap.partial")));
}

TEST(VectorSnapshotTest, RestoreFromABadSnapshotChangesNothing) {
  ScratchDir dir;
  HnswVectorStore store(dir.sub("live"), kDim, fast_options());
  auto items = random_items(50, kDim, 3);
  store.upsert(items);
  EXPECT_EQ(error_type([&] { store.restore(dir.sub("nothing-here")); }), "SnapshotInvalid");

  HnswVectorStore other(dir.sub("other"), kDim * 2, fast_options());
  other.upsert(random_items(5, kDim * 2, 4));
  other.snapshot(dir.sub("wide"));
  EXPECT_EQ(error_type([&] { store.restore(dir.sub("wide")); }), "SnapshotInvalid");

  store.snapshot(dir.sub("damaged"));
  for (const auto& e : std::filesystem::directory_iterator(dir.sub("damaged"))) {
    if (e.path().filename().string().rfind("items-", 0) == 0) {
      std::filesystem::resize_file(e.path(), 3);
    }
  }
  EXPECT_EQ(error_type([&] { store.restore(dir.sub("damaged")); }), "SnapshotInvalid");
  EXPECT_EQ(store.size(), 50u);
  EXPECT_EQ(store.search(items[7].vector, 1)[0].id, items[7].id);
}

TEST(VectorSnapshotTest, SearchesGoOnDuringSnapshotAndRestore) {
  ScratchDir dir;
  HnswVectorStore store(dir.sub("live"), kDim, fast_options());
  auto items = random_items(2'000, kDim, 5);
  store.upsert(items);
  store.snapshot(dir.sub("snap"));
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!done) {
      auto hits = store.search(items[3].vector, 3);
      bad += (hits.empty() || hits[0].id != items[3].id) ? 1 : 0;
    }
  });
  for (int i = 0; i < 3; ++i) {
    store.restore(dir.sub("snap"));
  }
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0) << "a search saw a half-restored store";
  EXPECT_EQ(store.size(), 2'000u);
}

TEST(VectorRegistryTest, OpensCreatesAndReopensIndexesByName) {
  ScratchDir dir;
  auto items = random_items(20, kDim, 6);
  {
    VectorRegistry registry(dir.path(), fast_options());
    EXPECT_EQ(error_type([&] { registry.get("kb"); }), "IndexNotFound");
    auto kb = registry.open("kb", kDim);
    kb->upsert(items);
    EXPECT_EQ(registry.open("kb", kDim).get(), kb.get()) << "one store per name";
    EXPECT_EQ(error_type([&] { registry.open("kb", kDim + 1); }), "InvalidVector");
    registry.open("faq", 8);
    EXPECT_EQ(registry.names(), (std::vector<std::string>{"faq", "kb"}));
  }
  VectorRegistry restarted(dir.path(), fast_options());
  EXPECT_EQ(restarted.names(), (std::vector<std::string>{"faq", "kb"}));
  auto kb = restarted.get("kb");
  EXPECT_EQ(kb->dim(), kDim);
  EXPECT_EQ(kb->size(), 20u);
  for (const std::string& bad :
       std::vector<std::string>{"", "../x", ".snapshots", "a/b", std::string(129, 'a')}) {
    EXPECT_EQ(error_type([&] { restarted.open(bad, kDim); }), "InvalidIndexName") << bad;
  }
}

}  // namespace
}  // namespace cairn::ai
