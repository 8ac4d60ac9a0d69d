// HnswVectorStore: an HnswGraph behind a reader-writer lock, made durable by a write-ahead log
// and checkpoints (vector_checkpoint.h). Writes hold the lock exclusively from the log append
// to the in-memory change, so the log order is the apply order and a reopen replays exactly what
// was acknowledged; searches share the lock.
#include <cstdio>
#include <filesystem>
#include <shared_mutex>

#include <pthread.h>

#include "cairn/ai/vector_store.h"
#include "cairn/errors.h"
#include "vector_checkpoint.h"
#include "vector_files.h"
#include "vector_hnsw_graph.h"

namespace cairn::ai {

namespace files = vector_files;
namespace checkpoint = vector_checkpoint;

void validate(const HnswOptions& o) {
  auto bad = [](const std::string& field, const std::string& rule, size_t got) {
    throw OptionsError(
        "vector store options: " + field + " " + rule + " (got " + std::to_string(got) + ")",
        field);
  };
  if (o.m < 2 || o.m > 256) {
    bad("m", "must be 2 to 256", o.m);
  }
  if (o.ef_construction == 0) {
    bad("ef_construction", "must be positive", 0);
  }
  if (o.ef_search == 0) {
    bad("ef_search", "must be positive", 0);
  }
  if (o.initial_capacity == 0) {
    bad("initial_capacity", "must be positive", 0);
  }
  if (o.insert_threads == 0 || o.insert_threads > 64) {
    bad("insert_threads", "must be 1 to 64", o.insert_threads);
  }
  if (o.checkpoint_wal_bytes < 4096) {
    bad("checkpoint_wal_bytes", "must be at least 4096", o.checkpoint_wal_bytes);
  }
}

// A reader-writer lock that lets a waiting writer in before new readers (std::shared_mutex on
// glibc prefers readers: a steady stream of searches would starve upserts).
class RwLock {
 public:
  RwLock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~RwLock() { pthread_rwlock_destroy(&lock_); }
  RwLock(const RwLock&) = delete;
  RwLock& operator=(const RwLock&) = delete;
  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

class HnswIndex {
 public:
  HnswIndex(const std::string& dir, size_t dim, const HnswOptions& options)
      : dir_(dir), dim_(dim), options_(options) {
    files::make_dirs(dir_);
    checkpoint::Manifest manifest;
    if (checkpoint::read_manifest(dir_, &manifest)) {
      if (manifest.dim != dim_) {
        throw VectorStoreError("vector store " + dir_ + " holds vectors of dimension " +
                                   std::to_string(manifest.dim) + ", opened with dimension " +
                                   std::to_string(dim_),
                               "InvalidVector");
      }
      uint64_t wal_bytes = 0;
      graph_ = checkpoint::load(dir_, manifest, options_, /*repair=*/true, &wal_bytes);
      generation_ = manifest.generation;
      checkpoint::remove_stale(dir_, manifest);
      wal_.open(dir_ + "/" + manifest.wal_file);
    } else {
      graph_ = std::make_unique<HnswGraph>(dim_, options_);
      install_checkpoint(1);
    }
  }

  void upsert(const std::vector<VectorItem>& items) {
    if (items.empty()) {
      return;
    }
    std::vector<VectorItem> normal = normalised_items(items, dim_);
    std::unique_lock lock(mu_);
    wal_.append(checkpoint::upsert_record(normal), options_.sync);
    graph_->upsert(normal);
    maybe_checkpoint();
  }

  size_t remove(const std::vector<std::string>& ids) {
    std::unique_lock lock(mu_);
    std::vector<std::string> present;  // only these are logged: unknown ids change nothing
    for (const std::string& id : ids) {
      if (graph_->contains(id)) {
        present.push_back(id);
      }
    }
    if (present.empty()) {
      return 0;
    }
    wal_.append(checkpoint::remove_record(present), options_.sync);
    size_t removed = graph_->remove(present);
    maybe_checkpoint();
    return removed;
  }

  std::vector<VectorHit> search(const std::vector<float>& query, size_t k,
                                const nlohmann::json& filter) const {
    check_filter(filter);
    std::vector<float> q = normalised_query(query, dim_);
    std::shared_lock lock(mu_);
    return graph_->search(q, k, filter);
  }

  void snapshot(const std::string& path) const {
    if (files::exists(path)) {
      throw VectorStoreError(
          "vector snapshot " + path + " already exists: choose a new path or remove it first",
          "SnapshotExists");
    }
    std::string partial = path + ".partial";
    files::remove_all(partial);
    try {
      // Shared: searches go on, writers wait, so the copy is one consistent state.
      std::shared_lock lock(mu_);
      checkpoint::write(partial, 1, dim_, *graph_, options_.sync);
    } catch (...) {
      files::remove_all(partial);
      throw;
    }
    if (::rename(partial.c_str(), path.c_str()) != 0) {
      files::remove_all(partial);
      throw VectorStoreError("vector snapshot: cannot rename " + partial + " to " + path,
                             "StorageError");
    }
    if (options_.sync) {
      std::string parent = std::filesystem::path(path).parent_path().string();
      files::sync_path(parent.empty() ? "." : parent);
    }
  }

  void restore(const std::string& path) {
    checkpoint::Manifest manifest;
    std::unique_ptr<HnswGraph> loaded;
    try {
      if (!checkpoint::read_manifest(path, &manifest)) {
        throw VectorStoreError("no vector snapshot at " + path + " (no MANIFEST)",
                               "SnapshotInvalid");
      }
      if (manifest.dim != dim_) {
        throw VectorStoreError("vector snapshot " + path + " has dimension " +
                                   std::to_string(manifest.dim) + ", the index has " +
                                   std::to_string(dim_),
                               "SnapshotInvalid");
      }
      loaded = checkpoint::load(path, manifest, options_, /*repair=*/false, nullptr);
    } catch (const VectorStoreError& e) {
      if (e.type() == "SnapshotInvalid") {
        throw;
      }
      throw VectorStoreError("vector snapshot " + path + " cannot be restored: " + e.what(),
                             "SnapshotInvalid");
    }
    std::unique_lock lock(mu_);
    std::swap(graph_, loaded);
    try {
      install_checkpoint(generation_ + 1);
    } catch (...) {
      std::swap(graph_, loaded);  // the old manifest is still in force
      throw;
    }
  }

  void checkpoint_now() {
    std::unique_lock lock(mu_);
    install_checkpoint(generation_ + 1);
  }

  size_t size() const {
    std::shared_lock lock(mu_);
    return graph_->size();
  }
  uint64_t generation() const {
    std::shared_lock lock(mu_);
    return generation_;
  }
  size_t dim() const { return dim_; }

 private:
  // REQUIRES: mu_ held exclusively (or construction).
  void maybe_checkpoint() {
    if (wal_.bytes() >= options_.checkpoint_wal_bytes) {
      install_checkpoint(generation_ + 1);
    }
  }

  // Writes the in-memory state as checkpoint `generation` and switches the log to it. The
  // manifest rename inside write() is the commit point: a crash before it reopens the previous
  // checkpoint and log (which hold the same state), a crash after it the new one.
  void install_checkpoint(uint64_t generation) {
    checkpoint::Manifest manifest =
        checkpoint::write(dir_, generation, dim_, *graph_, options_.sync);
    generation_ = generation;
    wal_.open(dir_ + "/" + manifest.wal_file);
    checkpoint::remove_stale(dir_, manifest);
  }

  std::string dir_;
  size_t dim_;
  HnswOptions options_;
  mutable RwLock mu_;
  std::unique_ptr<HnswGraph> graph_;  // GUARDED_BY(mu_)
  uint64_t generation_ = 0;           // GUARDED_BY(mu_)
  files::WalWriter wal_;              // GUARDED_BY(mu_)
};

namespace {
std::unique_ptr<HnswIndex> open_index(const std::string& dir, size_t dim,
                                      const HnswOptions& options) {
  validate(options);
  if (dim == 0) {
    throw OptionsError("vector store " + dir + ": dim must be positive", "dim");
  }
  if (dir.empty()) {
    throw OptionsError("vector store: dir must not be empty", "dir");
  }
  return std::make_unique<HnswIndex>(dir, dim, options);
}
}  // namespace

HnswVectorStore::HnswVectorStore(std::string dir, size_t dim, HnswOptions options)
    : dir_(std::move(dir)), impl_(open_index(dir_, dim, options)) {}
HnswVectorStore::~HnswVectorStore() = default;

void HnswVectorStore::upsert(const std::vector<VectorItem>& items) { impl_->upsert(items); }
std::vector<VectorHit> HnswVectorStore::search(const std::vector<float>& query, size_t k,
                                               const nlohmann::json& filter) const {
  return impl_->search(query, k, filter);
}
size_t HnswVectorStore::remove(const std::vector<std::string>& ids) { return impl_->remove(ids); }
void HnswVectorStore::snapshot(const std::string& path) const { impl_->snapshot(path); }
void HnswVectorStore::restore(const std::string& path) { impl_->restore(path); }
size_t HnswVectorStore::size() const { return impl_->size(); }
size_t HnswVectorStore::dim() const { return impl_->dim(); }
void HnswVectorStore::checkpoint() { impl_->checkpoint_now(); }
uint64_t HnswVectorStore::generation() const { return impl_->generation(); }

}  // namespace cairn::ai
