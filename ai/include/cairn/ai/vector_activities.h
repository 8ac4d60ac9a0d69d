// The vector activities — "cairn.ai.vector.upsert", ".search", ".delete", ".snapshot",
// ".restore" and ".query" (embed a text, then search) — over a worker's VectorRegistry, their
// recorded inputs and results, and the workflow helper search(ctx, index, text, k): the
// embedding and the search as two activities, so both are in history and replay calls nothing.
// The registry and the embedder given to register_vector_activities must outlive the worker.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/types.h"
#include "cairn/ai/vector_store.h"
#include "cairn/options.h"

namespace cairn {
class ActivityContext;
class Worker;
class WorkflowContext;
}  // namespace cairn

namespace cairn::ai {

// Activity type names.
inline constexpr char kVectorUpsertActivity[] = "cairn.ai.vector.upsert";
inline constexpr char kVectorSearchActivity[] = "cairn.ai.vector.search";
inline constexpr char kVectorDeleteActivity[] = "cairn.ai.vector.delete";
inline constexpr char kVectorSnapshotActivity[] = "cairn.ai.vector.snapshot";
inline constexpr char kVectorRestoreActivity[] = "cairn.ai.vector.restore";
inline constexpr char kVectorQueryActivity[] = "cairn.ai.vector.query";

// Upserts into index `index`, created on first use with the dimension of the first vector.
// Idempotent: a retried upsert writes the same items again.
struct VectorUpsertRequest {
  std::string index;
  std::vector<VectorItem> items;
};
struct VectorUpsertResult {
  size_t upserted = 0;
  size_t size = 0;  // the index's item count afterwards
};

struct VectorSearchRequest {
  std::string index;
  std::vector<float> vector;
  size_t k = 10;
  nlohmann::json filter;  // see VectorStore::search
};

struct VectorDeleteRequest {
  std::string index;
  std::vector<std::string> ids;
};
struct VectorDeleteResult {
  size_t removed = 0;
  size_t size = 0;
};

// `path`: absolute, or relative to <registry root>/.snapshots. A snapshot activity retried
// after its first attempt wrote the snapshot (and the worker died before reporting) finds it
// there and succeeds.
struct VectorSnapshotRequest {
  std::string index;
  std::string path;
};
struct VectorSnapshotResult {
  std::string path;  // as resolved
  size_t size = 0;   // items in the snapshot
};
struct VectorRestoreRequest {
  std::string index;
  std::string path;
};
struct VectorRestoreResult {
  size_t size = 0;
};

// Embeds `text` through the embedder (the runtime's embedding tier, or `tier`), then searches.
struct VectorQueryRequest {
  std::string index;
  std::string text;
  size_t k = 10;
  nlohmann::json filter;
  std::string tier;
};

void to_json(nlohmann::json& j, const VectorUpsertRequest& v);
void from_json(const nlohmann::json& j, VectorUpsertRequest& v);
void to_json(nlohmann::json& j, const VectorUpsertResult& v);
void from_json(const nlohmann::json& j, VectorUpsertResult& v);
void to_json(nlohmann::json& j, const VectorSearchRequest& v);
void from_json(const nlohmann::json& j, VectorSearchRequest& v);
void to_json(nlohmann::json& j, const VectorDeleteRequest& v);
void from_json(const nlohmann::json& j, VectorDeleteRequest& v);
void to_json(nlohmann::json& j, const VectorDeleteResult& v);
void from_json(const nlohmann::json& j, VectorDeleteResult& v);
void to_json(nlohmann::json& j, const VectorSnapshotRequest& v);
void from_json(const nlohmann::json& j, VectorSnapshotRequest& v);
void to_json(nlohmann::json& j, const VectorSnapshotResult& v);
void from_json(const nlohmann::json& j, VectorSnapshotResult& v);
void to_json(nlohmann::json& j, const VectorRestoreRequest& v);
void from_json(const nlohmann::json& j, VectorRestoreRequest& v);
void to_json(nlohmann::json& j, const VectorRestoreResult& v);
void from_json(const nlohmann::json& j, VectorRestoreResult& v);
void to_json(nlohmann::json& j, const VectorQueryRequest& v);
void from_json(const nlohmann::json& j, VectorQueryRequest& v);

// How the query activity embeds a text: the embedding activity's function (AiRuntime's
// "cairn.ai.embed"), called inside the query activity.
using Embedder = std::function<EmbedResult(ActivityContext&, const EmbedAttempt&)>;

// Registers the upsert, search, delete, snapshot and restore activities over `registry`, and the
// query activity when `embed` is set. Store errors reach the workflow as ApplicationErrors of
// the VectorStoreError types (non-retryable but for "StorageError").
void register_vector_activities(Worker& worker, VectorRegistry& registry, Embedder embed = {});

// Options of the workflow helper search().
struct VectorSearchOptions {
  nlohmann::json filter;   // see VectorStore::search
  std::string embed_tier;  // empty: the router config's embedding tier
  // Both activities (embed, then search). Default: start_to_close 60 s, 5 attempts from 1 s.
  ActivityOptions activity = {.start_to_close = std::chrono::seconds(60),
                              .retry = {.initial_interval = std::chrono::seconds(1),
                                        .backoff_coefficient = 2.0,
                                        .maximum_attempts = 5}};
};

// Workflow code: the k chunks of `index` nearest to `text`, best first — "cairn.ai.embed" for
// the text, then "cairn.ai.vector.search". Throws ActivityError when either fails (its cause
// names the type, e.g. "IndexNotFound").
std::vector<VectorHit> search(WorkflowContext& ctx, const std::string& index,
                              const std::string& text, size_t k,
                              const VectorSearchOptions& options = {});

}  // namespace cairn::ai
