// Vector search: the VectorStore seam (upsert / top-k search with metadata filters / delete /
// snapshot / restore), its default implementation HnswVectorStore (hnswlib, cosine similarity,
// persisted to a directory: checkpoint files named by a manifest plus a write-ahead log), and
// VectorRegistry, the worker's map of index names to stores. Stores are thread-safe: searches
// run concurrently, writes are exclusive. A registry owns its stores; the worker owns the
// registry and must keep it alive while its activities run (cairn/ai/vector_activities.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/errors.h"

namespace cairn::ai {

// One vector with its id and metadata (any JSON object; it is returned with every hit and may be
// filtered on).
struct VectorItem {
  std::string id;
  std::vector<float> vector;
  nlohmann::json metadata = nlohmann::json::object();
  bool operator==(const VectorItem&) const = default;
};

// A search result: the item's id, its cosine similarity to the query (1: same direction, -1:
// opposite) and its metadata.
struct VectorHit {
  std::string id;
  float score = 0;
  nlohmann::json metadata = nlohmann::json::object();
  bool operator==(const VectorHit&) const = default;
};

void to_json(nlohmann::json& j, const VectorItem& v);
void from_json(const nlohmann::json& j, VectorItem& v);
void to_json(nlohmann::json& j, const VectorHit& v);
void from_json(const nlohmann::json& j, VectorHit& v);

// What a store throws. An ApplicationError, so an activity that lets it escape reports its type:
//   "InvalidVector"   wrong dimension, a zero / non-finite vector, an empty or overlong id
//   "InvalidFilter"   a filter that is not an object of field → value / [values]
//   "IndexNotFound"   VectorRegistry::get of an index that was never opened or created
//   "InvalidIndexName" a registry index name outside [A-Za-z0-9._-]{1,128} or starting with '.'
//   "SnapshotInvalid" restore from a path that holds no readable snapshot of the same dimension
//   "SnapshotExists"  snapshot to a path that already exists
//   "IndexCorrupt"    the store's own files fail their checksums on open
//   "StorageError"    a file could not be written or synced (retryable: the disk may recover)
// Every type but StorageError is non-retryable: the same input fails the same way again.
class VectorStoreError : public cairn::ApplicationError {
 public:
  VectorStoreError(const std::string& message, const std::string& type)
      : ApplicationError(message, type, /*non_retryable=*/type != "StorageError") {}
};

// The seam. Every method is thread-safe; a write (upsert, remove, restore) is durable when it
// returns, and a crash at any instant leaves the store as it was before or after that write.
class VectorStore {
 public:
  virtual ~VectorStore() = default;

  // Inserts the items, replacing vector and metadata of ids already present. Vectors are
  // normalised (cosine). All or nothing: an invalid item (see VectorStoreError) throws before
  // anything changes. An id given twice in one call: the last one wins.
  virtual void upsert(const std::vector<VectorItem>& items) = 0;

  // The k items most similar to `query`, best first (ties by id). `filter` null or {}: any
  // item; else an object whose every field must match the item's metadata: a scalar value by
  // equality, an array by "any of" (`{"lang": "en", "doc_id": ["a", "b"]}`); a metadata value
  // that is an array matches when it contains the wanted value (tags). Fewer than k hits
  // when fewer items match. Throws VectorStoreError ("InvalidVector", "InvalidFilter").
  virtual std::vector<VectorHit> search(const std::vector<float>& query, size_t k,
                                        const nlohmann::json& filter = {}) const = 0;

  // Removes the items with these ids; returns how many were present. Unknown ids are ignored.
  virtual size_t remove(const std::vector<std::string>& ids) = 0;

  // Writes a consistent copy of the whole store to directory `path` (created, with missing
  // parents; it must not exist yet), taken while writes wait and searches go on; the copy appears
  // at `path` complete or not at all (written beside it as `path`.partial, then renamed). Throws
  // VectorStoreError "SnapshotExists", or "StorageError" when it cannot be written.
  virtual void snapshot(const std::string& path) const = 0;

  // Replaces the whole content by the snapshot at `path` (durably; searches see the old or the
  // new content, never a mix). Throws VectorStoreError ("SnapshotInvalid") when `path` holds no
  // snapshot of the same dimension: the store is then unchanged.
  virtual void restore(const std::string& path) = 0;

  // Number of items (not counting removed ones).
  virtual size_t size() const = 0;
  // Dimension of every vector.
  virtual size_t dim() const = 0;
};

// Tuning of an HnswVectorStore. The defaults suit text embeddings (which cluster); random
// vectors are the hardest case: on 10,000 random 384-dimension vectors m = 24,
// ef_construction = 64, ef_search = 600 give recall@10 above 0.95 (tests/ai/vector_store_test.cc,
// bench/ai_vector_bench.cc; see ai/docs/vector.md).
struct HnswOptions {
  size_t m = 16;                   // graph degree (hnswlib M); memory grows with it
  size_t ef_construction = 200;    // build-time candidate list: higher, better graph, slower build
  size_t ef_search = 128;          // query-time candidate list (at least k is used)
  size_t initial_capacity = 1024;  // grown by doubling as items arrive
  uint64_t random_seed = 100;      // hnswlib's level generator seed
  // Threads inserting one large upsert (256+ vectors per thread) into the graph; 1: one thread,
  // and the same upserts then build the same graph.
  size_t insert_threads = 2;
  // The write-ahead log is folded into a new checkpoint once it grows past this size.
  size_t checkpoint_wal_bytes = 32u << 20;
  bool sync = true;  // fsync log appends and checkpoints (off: tests only)
};

// Throws OptionsError (field named, e.g. "ef_search") when `options` cannot work: m below 2 or
// above 256, ef_construction or ef_search 0, initial_capacity 0, insert_threads 0 or above 64,
// checkpoint_wal_bytes below 4096.
void validate(const HnswOptions& options);

class HnswIndex;  // ai/src/vector_hnsw_index.h

// A VectorStore over hnswlib's HierarchicalNSW with an inner-product space on normalised vectors
// (cosine). Directory layout (see ai/docs/vector.md): MANIFEST (JSON: format, dimension, options,
// generation, the checkpoint's files with sizes and checksums), index-<gen>.hnsw (hnswlib's
// saveIndex), items-<gen>.cbor (ids, metadata and removed marks by label), wal-<gen>.log (writes
// since that checkpoint, each record length-prefixed and checksummed). A write appends to the log
// and syncs it before it returns; a checkpoint writes new files beside the old ones, syncs them,
// then renames a new MANIFEST into place, which is the instant it takes effect.
class HnswVectorStore : public VectorStore {
 public:
  // Opens the store in `dir`, creating it (and `dir`) when empty; a store already there is
  // reopened: its checkpoint loaded and its log replayed (a torn last record, never
  // acknowledged, is dropped). Throws OptionsError for bad options or dim 0, VectorStoreError
  // "InvalidVector" when the store on disk has another dimension, "IndexCorrupt" when its files
  // fail their checksums, "StorageError" when the directory cannot be used.
  HnswVectorStore(std::string dir, size_t dim, HnswOptions options = {});
  ~HnswVectorStore() override;
  HnswVectorStore(const HnswVectorStore&) = delete;
  HnswVectorStore& operator=(const HnswVectorStore&) = delete;

  void upsert(const std::vector<VectorItem>& items) override;
  std::vector<VectorHit> search(const std::vector<float>& query, size_t k,
                                const nlohmann::json& filter = {}) const override;
  size_t remove(const std::vector<std::string>& ids) override;
  void snapshot(const std::string& path) const override;
  void restore(const std::string& path) override;
  size_t size() const override;
  size_t dim() const override;

  // Folds the log into a new checkpoint now (also done on its own past checkpoint_wal_bytes).
  void checkpoint();

  const std::string& dir() const { return dir_; }
  // The checkpoint generation in use (grows by one per checkpoint or restore).
  uint64_t generation() const;

 private:
  std::string dir_;
  std::unique_ptr<HnswIndex> impl_;
};

// The worker's indexes by name: each an HnswVectorStore in <root>/<name>. Thread-safe.
class VectorRegistry {
 public:
  // `root` is created when missing. `defaults` apply to every store this registry opens.
  // Throws OptionsError for bad defaults.
  explicit VectorRegistry(std::string root, HnswOptions defaults = {});
  ~VectorRegistry();

  // The store `name`, opened (or created) with dimension `dim` on first use. Throws
  // VectorStoreError "InvalidIndexName", or as HnswVectorStore's constructor (another dimension).
  std::shared_ptr<VectorStore> open(const std::string& name, size_t dim);
  // The store `name`: open already, or present on disk (reopened with its recorded dimension).
  // Throws VectorStoreError "IndexNotFound" / "InvalidIndexName".
  std::shared_ptr<VectorStore> get(const std::string& name);
  // Names of the stores open now or present under root, sorted.
  std::vector<std::string> names() const;

  const std::string& root() const { return root_; }

 private:
  std::string root_;
  HnswOptions defaults_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<VectorStore>> stores_;  // GUARDED_BY(mu_)
};

}  // namespace cairn::ai
