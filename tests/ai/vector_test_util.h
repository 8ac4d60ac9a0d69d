// Helpers of the vector store unit tests: temp directories, seeded random vectors, exact search.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <stdlib.h>

#include "cairn/ai/vector_store.h"

namespace cairn::ai::testing {

// A fresh directory, removed with everything in it when the object goes.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cairn-vector-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::vector<float> random_vector(std::mt19937_64& rng, size_t dim) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(dim);
  for (float& x : v) {
    x = normal(rng);
  }
  return v;
}

inline std::vector<VectorItem> random_items(size_t n, size_t dim, uint64_t seed,
                                            const std::string& prefix = "v") {
  std::mt19937_64 rng(seed);
  std::vector<VectorItem> items;
  items.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    items.push_back(
        VectorItem{prefix + std::to_string(i),
                   random_vector(rng, dim),
                   {{"n", i}, {"parity", i % 2 == 0 ? "even" : "odd"}, {"bucket", i % 10}}});
  }
  return items;
}

inline double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

// The ids of the k items most similar to `query` (exhaustive), best first.
template <class Pred>
std::vector<std::string> brute_force(const std::vector<VectorItem>& items,
                                     const std::vector<float>& query, size_t k, Pred keep) {
  std::vector<std::pair<double, std::string>> scored;
  for (const VectorItem& item : items) {
    if (keep(item)) {
      scored.emplace_back(cosine(item.vector, query), item.id);
    }
  }
  size_t n = std::min(k, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + n, scored.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(scored[i].second);
  }
  return out;
}

inline std::vector<std::string> ids_of(const std::vector<VectorHit>& hits) {
  std::vector<std::string> out;
  for (const VectorHit& h : hits) {
    out.push_back(h.id);
  }
  return out;
}

}  // namespace cairn::ai::testing
