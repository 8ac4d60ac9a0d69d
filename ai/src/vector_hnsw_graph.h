// HnswGraph: the in-memory content of one HnswVectorStore — hnswlib's graph over normalised
// vectors (inner product = cosine) plus, by hnswlib label, each item's id, metadata and removed
// mark. No locks and no durability of its own: HnswIndex (vector_hnsw_index.h) serialises access
// and owns the files. The only translation unit that includes hnswlib.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/vector_store.h"

namespace hnswlib {
template <typename dist_t>
class HierarchicalNSW;
class InnerProductSpace;
}  // namespace hnswlib

namespace cairn::ai {

// Checks `items` against `dim` and returns them with unit-length vectors. Throws
// VectorStoreError "InvalidVector" naming the item (by position and id).
std::vector<VectorItem> normalised_items(const std::vector<VectorItem>& items, size_t dim);
// The unit-length form of a query vector; throws "InvalidVector".
std::vector<float> normalised_query(const std::vector<float>& query, size_t dim);
// Throws "InvalidFilter" unless `filter` is null or an object.
void check_filter(const nlohmann::json& filter);
// Whether `metadata` matches `filter` (see VectorStore::search).
bool filter_matches(const nlohmann::json& filter, const nlohmann::json& metadata);

class HnswGraph {
 public:
  // An empty graph.
  HnswGraph(size_t dim, const HnswOptions& options);
  // The graph saved at `index_path` (saveIndex) with its items (items_blob()). Throws
  // VectorStoreError "IndexCorrupt" when they do not agree or hnswlib refuses the file.
  HnswGraph(size_t dim, const HnswOptions& options, const std::string& index_path,
            const std::string& items_blob);
  ~HnswGraph();

  // REQUIRES: items from normalised_items().
  void upsert(const std::vector<VectorItem>& items);
  size_t remove(const std::vector<std::string>& ids);
  // REQUIRES: query from normalised_query(), filter checked.
  std::vector<VectorHit> search(const std::vector<float>& query, size_t k,
                                const nlohmann::json& filter) const;

  // Writes hnswlib's file (not synced); throws StorageError when it came out short. Persisted
  // format: hnswlib 0.6's saveIndex.
  void save_index(const std::string& path) const;
  // The items by label as CBOR. Persisted format: {"slots": [{"id", "m"} | {"id", "x": true}]}.
  std::string items_blob() const;

  // Whether `id` is present (not removed).
  bool contains(const std::string& id) const;
  size_t size() const { return live_; }
  size_t labels() const { return slots_.size(); }
  size_t capacity() const;
  size_t m() const;
  size_t ef_construction() const;

 private:
  struct Slot {
    std::string id;
    nlohmann::json metadata;
    bool removed = false;
  };

  void reserve(size_t labels);
  std::vector<VectorHit> exact_search(const float* query, size_t k, const nlohmann::json& filter,
                                      size_t matches) const;

  size_t dim_;
  HnswOptions options_;
  std::unique_ptr<hnswlib::InnerProductSpace> space_;  // outlives graph_ (declared first)
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph_;
  std::vector<Slot> slots_;                         // by hnswlib label
  std::unordered_map<std::string, size_t> labels_;  // id → label (removed ones too: reused)
  size_t live_ = 0;
};

}  // namespace cairn::ai
