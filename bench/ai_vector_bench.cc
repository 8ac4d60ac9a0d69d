// The vector store's costs on 10,000 random 384-dimension vectors (the recall test's data):
// building the index (one upsert of all vectors), a top-10 query, a filtered query, and an
// upsert of one 32-vector batch with its fsynced log record. Reported, never asserted.
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <unistd.h>

#include "cairn/ai/vector_store.h"

namespace {

using cairn::ai::HnswOptions;
using cairn::ai::HnswVectorStore;
using cairn::ai::VectorItem;

constexpr size_t kDim = 384;
constexpr size_t kCount = 10'000;

std::vector<VectorItem> items(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<VectorItem> out;
  for (size_t i = 0; i < n; ++i) {
    std::vector<float> v(kDim);
    for (float& x : v) {
      x = normal(rng);
    }
    out.push_back({"v" + std::to_string(i), std::move(v), {{"bucket", i % 10}}});
  }
  return out;
}

std::string fresh_dir() {
  static int n = 0;
  std::string dir =
      (std::filesystem::temp_directory_path() /
       ("cairn-vector-bench-" + std::to_string(::getpid()) + "-" + std::to_string(n++)))
          .string();
  std::filesystem::remove_all(dir);
  return dir;
}

// Args: m, ef_construction, ef_search.
HnswOptions options(const benchmark::State& state, bool sync = false) {
  HnswOptions o;
  o.m = static_cast<size_t>(state.range(0));
  o.ef_construction = static_cast<size_t>(state.range(1));
  o.ef_search = static_cast<size_t>(state.range(2));
  o.sync = sync;
  return o;
}

void BM_Build10k(benchmark::State& state) {
  auto data = items(kCount, 7);
  for (auto _ : state) {
    std::string dir = fresh_dir();
    HnswVectorStore store(dir, kDim, options(state));
    store.upsert(data);
    benchmark::DoNotOptimize(store.size());
    state.PauseTiming();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_Build10k)->Args({16, 200, 128})->Args({24, 64, 600})->Unit(benchmark::kMillisecond);

void BM_Query10k(benchmark::State& state) {
  std::string dir = fresh_dir();
  HnswVectorStore store(dir, kDim, options(state));
  store.upsert(items(kCount, 7));
  auto queries = items(100, 11);
  size_t q = 0;
  nlohmann::json filter;
  if (state.range(3) != 0) {
    filter = {{"bucket", 3}};
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(store.search(queries[q++ % queries.size()].vector, 10, filter));
  }
  std::filesystem::remove_all(dir);
}
// Args: m, ef_construction, ef_search, filtered (a tenth of the items).
BENCHMARK(BM_Query10k)
    ->Args({16, 200, 128, 0})
    ->Args({24, 64, 600, 0})
    ->Args({24, 64, 600, 1})
    ->Unit(benchmark::kMicrosecond);

void BM_DurableUpsertBatch32(benchmark::State& state) {
  std::string dir = fresh_dir();
  HnswVectorStore store(dir, kDim, options(state, /*sync=*/true));
  store.upsert(items(kCount, 7));
  auto batch = items(32, 13);
  for (auto _ : state) {
    store.upsert(batch);  // the same ids: replaced in place, so the index does not grow
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_DurableUpsertBatch32)->Args({16, 200, 128})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
