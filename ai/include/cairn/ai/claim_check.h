// Claim check: payloads too large for history are stored outside it, content-addressed, and
// history holds only their reference "blob:sha256:<64 hex digits>". A BlobStore is shared by the
// worker's activities (the chat activity resolves references before calling a model and stores
// large answers; tools store large results); workflow code reaches it only through the
// "cairn.ai.blob.put" / "cairn.ai.blob.get" activities. Implementations are thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "cairn/ai/types.h"
#include "cairn/errors.h"

namespace cairn {
class Worker;
class WorkflowContext;
}  // namespace cairn

namespace cairn::ai {

// The prefix of every reference a BlobStore returns.
inline constexpr char kBlobRefPrefix[] = "blob:sha256:";

// Default size above which a message's content travels by reference (RouterConfig has the
// worker's own threshold, blob_threshold_bytes).
inline constexpr size_t kDefaultBlobThresholdBytes = 16384;

// A blob that is not in the store (deleted, or stored on another machine). Type "BlobNotFound",
// non-retryable: the same reference fails the same way on every attempt.
class BlobNotFound : public cairn::ApplicationError {
 public:
  explicit BlobNotFound(const std::string& message)
      : ApplicationError(message, "BlobNotFound", /*non_retryable=*/true) {}
};

// A reference that is not "blob:sha256:<64 lowercase hex digits>". Type "InvalidBlobRef",
// non-retryable.
class InvalidBlobRef : public cairn::ApplicationError {
 public:
  explicit InvalidBlobRef(const std::string& message)
      : ApplicationError(message, "InvalidBlobRef", /*non_retryable=*/true) {}
};

// The store failed (I/O error, disk full, a stored blob whose content no longer matches its
// hash). Type "BlobStoreError", retryable: a retry may find the disk writable again.
class BlobStoreError : public cairn::ApplicationError {
 public:
  explicit BlobStoreError(const std::string& message)
      : ApplicationError(message, "BlobStoreError", /*non_retryable=*/false) {}
};

// Content-addressed storage of large payloads. put() of the same bytes always returns the same
// reference, so a retried or replayed put stores nothing new.
class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Stores `data` (idempotent) and returns its reference, "blob:sha256:<hex of SHA-256(data)>".
  // Durable when it returns. Throws BlobStoreError when it cannot be stored.
  virtual std::string put(std::string_view data) = 0;

  // The bytes stored under `ref`. Throws InvalidBlobRef for a malformed reference, BlobNotFound
  // when nothing is stored under it, BlobStoreError when the stored bytes cannot be read or no
  // longer hash to `ref`.
  virtual std::string get(const std::string& ref) = 0;
};

// A BlobStore in a directory: one file per blob at <dir>/<first 2 hex digits>/<64 hex digits>,
// written to a temporary file, fsynced, then renamed into place (and the directory fsynced), so
// a crash leaves either the whole blob or none. Several processes may share the directory.
// Blobs are never deleted by the store.
class FileBlobStore final : public BlobStore {
 public:
  // Creates `dir` (and its parents) when missing. Throws OptionsError (field "dir") for an
  // empty path, BlobStoreError when the directory cannot be created.
  explicit FileBlobStore(std::string dir);

  std::string put(std::string_view data) override;
  std::string get(const std::string& ref) override;

  const std::string& dir() const { return dir_; }

 private:
  std::string path_of(const std::string& hex) const;

  std::string dir_;
};

// The reference put() returns for `data`, computed without storing it.
std::string blob_ref_for(std::string_view data);

// Whether `ref` is well formed ("blob:sha256:" and 64 lowercase hex digits).
bool is_blob_ref(std::string_view ref);

// Replaces every message's content_ref in `request` by the stored content (content set,
// content_ref cleared), so that the request can be sent to a model. Messages without a reference
// are left as they are. Throws what BlobStore::get throws, naming the message index.
void resolve_refs(BlobStore& store, ChatRequest& request);

// Resolves `message` alone (see resolve_refs).
void resolve_ref(BlobStore& store, Message& message);

// When `message`'s content is longer than `threshold` bytes, stores it and replaces it by its
// reference (content cleared, content_ref set); returns whether it did. A message that already
// has a reference, or a threshold of 0, is left alone. Throws what BlobStore::put throws.
bool offload_large(BlobStore& store, Message& message, size_t threshold);

// offload_large() for every message of `request`; returns how many were offloaded.
size_t offload_large(BlobStore& store, ChatRequest& request, size_t threshold);

// Registers the blob activities on `worker`, over `store` (shared with the worker's other AI
// activities; it must outlive the worker's activity threads, hence the shared_ptr):
//   "cairn.ai.blob.put": std::string data → std::string reference
//   "cairn.ai.blob.get": std::string reference → std::string data
// REQUIRES: before worker.start(); store not null (else OptionsError, field "store").
void register_blob_activities(Worker& worker, std::shared_ptr<BlobStore> store);

// Workflow helpers over the blob activities, run as local activities: the outcome is recorded
// as a marker (put: the reference; get: the content) and replay reads it from there. The worker
// running the workflow must have registered the blob activities. Throw ActivityError whose cause
// is the store's error.
std::string put_blob(WorkflowContext& ctx, const std::string& data);
std::string get_blob(WorkflowContext& ctx, const std::string& ref);

}  // namespace cairn::ai
