// The vector activities over a VectorRegistry, their JSON form, and the workflow search helper.
#include "cairn/ai/vector_activities.h"

#include <filesystem>

#include "cairn/activity.h"
#include "cairn/worker.h"
#include "cairn/workflow.h"
#include "vector_checkpoint.h"

namespace cairn::ai {

using nlohmann::json;

void to_json(json& j, const VectorUpsertRequest& v) {
  j = json{{"index", v.index}, {"items", v.items}};
}
void from_json(const json& j, VectorUpsertRequest& v) {
  j.at("index").get_to(v.index);
  v.items = j.value("items", std::vector<VectorItem>{});
}
void to_json(json& j, const VectorUpsertResult& v) {
  j = json{{"upserted", v.upserted}, {"size", v.size}};
}
void from_json(const json& j, VectorUpsertResult& v) {
  v.upserted = j.value("upserted", size_t{0});
  v.size = j.value("size", size_t{0});
}
void to_json(json& j, const VectorSearchRequest& v) {
  j = json{{"index", v.index}, {"vector", v.vector}, {"k", v.k}};
  if (!v.filter.is_null()) {
    j["filter"] = v.filter;
  }
}
void from_json(const json& j, VectorSearchRequest& v) {
  j.at("index").get_to(v.index);
  j.at("vector").get_to(v.vector);
  v.k = j.value("k", size_t{10});
  v.filter = j.value("filter", json());
}
void to_json(json& j, const VectorDeleteRequest& v) {
  j = json{{"index", v.index}, {"ids", v.ids}};
}
void from_json(const json& j, VectorDeleteRequest& v) {
  j.at("index").get_to(v.index);
  v.ids = j.value("ids", std::vector<std::string>{});
}
void to_json(json& j, const VectorDeleteResult& v) {
  j = json{{"removed", v.removed}, {"size", v.size}};
}
void from_json(const json& j, VectorDeleteResult& v) {
  v.removed = j.value("removed", size_t{0});
  v.size = j.value("size", size_t{0});
}
void to_json(json& j, const VectorSnapshotRequest& v) {
  j = json{{"index", v.index}, {"path", v.path}};
}
void from_json(const json& j, VectorSnapshotRequest& v) {
  j.at("index").get_to(v.index);
  j.at("path").get_to(v.path);
}
void to_json(json& j, const VectorSnapshotResult& v) {
  j = json{{"path", v.path}, {"size", v.size}};
}
void from_json(const json& j, VectorSnapshotResult& v) {
  v.path = j.value("path", "");
  v.size = j.value("size", size_t{0});
}
void to_json(json& j, const VectorRestoreRequest& v) {
  j = json{{"index", v.index}, {"path", v.path}};
}
void from_json(const json& j, VectorRestoreRequest& v) {
  j.at("index").get_to(v.index);
  j.at("path").get_to(v.path);
}
void to_json(json& j, const VectorRestoreResult& v) { j = json{{"size", v.size}}; }
void from_json(const json& j, VectorRestoreResult& v) { v.size = j.value("size", size_t{0}); }
void to_json(json& j, const VectorQueryRequest& v) {
  j = json{{"index", v.index}, {"text", v.text}, {"k", v.k}};
  if (!v.filter.is_null()) {
    j["filter"] = v.filter;
  }
  if (!v.tier.empty()) {
    j["tier"] = v.tier;
  }
}
void from_json(const json& j, VectorQueryRequest& v) {
  j.at("index").get_to(v.index);
  j.at("text").get_to(v.text);
  v.k = j.value("k", size_t{10});
  v.filter = j.value("filter", json());
  v.tier = j.value("tier", "");
}

namespace {

std::string resolve_snapshot_path(const VectorRegistry& registry, const std::string& path) {
  if (path.empty()) {
    throw VectorStoreError("vector snapshot path must not be empty", "SnapshotInvalid");
  }
  if (std::filesystem::path(path).is_absolute()) {
    return path;
  }
  std::string dir = registry.root() + "/.snapshots";
  std::filesystem::create_directories(dir);
  return dir + "/" + path;
}

std::vector<VectorHit> query(VectorRegistry& registry, const Embedder& embed, ActivityContext& ctx,
                             const VectorQueryRequest& req) {
  auto store = registry.get(req.index);  // before embedding: an unknown index costs nothing
  EmbedAttempt attempt;
  attempt.request.input = {req.text};
  attempt.tier = req.tier;
  EmbedResult result = embed(ctx, attempt);
  if (result.response.data.size() != 1) {
    throw ApplicationError("embedding of the query returned " +
                               std::to_string(result.response.data.size()) + " vectors for 1 input",
                           "EmbeddingMismatch", /*non_retryable=*/true);
  }
  return store->search(result.response.data[0], req.k, req.filter);
}

}  // namespace

void register_vector_activities(Worker& worker, VectorRegistry& registry, Embedder embed) {
  VectorRegistry* reg = &registry;
  worker.register_activity(kVectorUpsertActivity, [reg](const VectorUpsertRequest& req) {
    std::shared_ptr<VectorStore> store;
    if (req.items.empty()) {
      return VectorUpsertResult{0, reg->get(req.index)->size()};
    }
    store = reg->open(req.index, req.items.front().vector.size());
    store->upsert(req.items);
    return VectorUpsertResult{req.items.size(), store->size()};
  });
  worker.register_activity(kVectorSearchActivity, [reg](const VectorSearchRequest& req) {
    return reg->get(req.index)->search(req.vector, req.k, req.filter);
  });
  worker.register_activity(kVectorDeleteActivity, [reg](const VectorDeleteRequest& req) {
    auto store = reg->get(req.index);
    size_t removed = store->remove(req.ids);
    return VectorDeleteResult{removed, store->size()};
  });
  worker.register_activity(
      kVectorSnapshotActivity, [reg](ActivityContext& ctx, const VectorSnapshotRequest& req) {
        auto store = reg->get(req.index);
        std::string path = resolve_snapshot_path(*reg, req.path);
        try {
          store->snapshot(path);
        } catch (const VectorStoreError& e) {
          // A retry after an attempt that wrote the snapshot and died before reporting it.
          vector_checkpoint::Manifest manifest;
          if (e.type() != "SnapshotExists" || ctx.info().attempt <= 1 ||
              !vector_checkpoint::read_manifest(path, &manifest)) {
            throw;
          }
          return VectorSnapshotResult{path, manifest.raw.value("count", size_t{0})};
        }
        vector_checkpoint::Manifest manifest;
        vector_checkpoint::read_manifest(path, &manifest);
        return VectorSnapshotResult{path, manifest.raw.value("count", size_t{0})};
      });
  worker.register_activity(kVectorRestoreActivity, [reg](const VectorRestoreRequest& req) {
    std::string path = resolve_snapshot_path(*reg, req.path);
    vector_checkpoint::Manifest manifest;
    // Restoring into an index that does not exist yet creates it with the snapshot's dimension.
    std::shared_ptr<VectorStore> store;
    if (vector_checkpoint::read_manifest(path, &manifest)) {
      store = reg->open(req.index, manifest.dim);
    } else {
      store = reg->get(req.index);
    }
    store->restore(path);
    return VectorRestoreResult{store->size()};
  });
  if (embed) {
    worker.register_activity(kVectorQueryActivity,
                             [reg, embed](ActivityContext& ctx, const VectorQueryRequest& req) {
                               return query(*reg, embed, ctx, req);
                             });
  }
}

std::vector<VectorHit> search(WorkflowContext& ctx, const std::string& index,
                              const std::string& text, size_t k,
                              const VectorSearchOptions& options) {
  EmbedAttempt attempt;
  attempt.request.input = {text};
  attempt.tier = options.embed_tier;
  EmbedResult embedded = ctx.activity<EmbedResult>(kEmbedActivity, attempt, options.activity).get();
  if (embedded.response.data.size() != 1) {
    throw ApplicationError("embedding of the search text returned " +
                               std::to_string(embedded.response.data.size()) +
                               " vectors for 1 input",
                           "EmbeddingMismatch", /*non_retryable=*/true);
  }
  VectorSearchRequest req{index, std::move(embedded.response.data[0]), k, options.filter};
  return ctx.activity<std::vector<VectorHit>>(kVectorSearchActivity, req, options.activity).get();
}

}  // namespace cairn::ai
