// JSON form of the vector types (activity inputs and results) and the VectorRegistry.
#include "cairn/ai/vector_store.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "vector_checkpoint.h"
#include "vector_files.h"

namespace cairn::ai {

using nlohmann::json;

void to_json(json& j, const VectorItem& v) {
  j = json{{"id", v.id}, {"vector", v.vector}};
  if (!v.metadata.is_null() && !v.metadata.empty()) {
    j["metadata"] = v.metadata;
  }
}
void from_json(const json& j, VectorItem& v) {
  v = VectorItem();
  j.at("id").get_to(v.id);
  j.at("vector").get_to(v.vector);
  if (j.contains("metadata")) {
    v.metadata = j.at("metadata");
  }
}
void to_json(json& j, const VectorHit& v) {
  j = json{{"id", v.id}, {"score", v.score}};
  if (!v.metadata.is_null() && !v.metadata.empty()) {
    j["metadata"] = v.metadata;
  }
}
void from_json(const json& j, VectorHit& v) {
  v = VectorHit();
  j.at("id").get_to(v.id);
  j.at("score").get_to(v.score);
  if (j.contains("metadata")) {
    v.metadata = j.at("metadata");
  }
}

namespace {

void check_name(const std::string& name) {
  // No leading '.': <root>/.snapshots is the registry's own.
  bool ok = !name.empty() && name.size() <= 128 && name[0] != '.';
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  }
  if (!ok) {
    throw VectorStoreError(
        "vector index name \"" + name +
            "\" is invalid: use 1 to 128 of A-Z a-z 0-9 . _ -, not starting with "
            "'.'",
        "InvalidIndexName");
  }
}

}  // namespace

VectorRegistry::VectorRegistry(std::string root, HnswOptions defaults)
    : root_(std::move(root)), defaults_(defaults) {
  validate(defaults_);
  if (root_.empty()) {
    throw OptionsError("vector registry: root must not be empty", "root");
  }
  vector_files::make_dirs(root_);
}

VectorRegistry::~VectorRegistry() = default;

std::shared_ptr<VectorStore> VectorRegistry::open(const std::string& name, size_t dim) {
  check_name(name);
  std::lock_guard lock(mu_);
  auto it = stores_.find(name);
  if (it != stores_.end()) {
    if (it->second->dim() != dim) {
      throw VectorStoreError("vector index \"" + name + "\" has dimension " +
                                 std::to_string(it->second->dim()) + ", not " + std::to_string(dim),
                             "InvalidVector");
    }
    return it->second;
  }
  auto store = std::make_shared<HnswVectorStore>(root_ + "/" + name, dim, defaults_);
  stores_.emplace(name, store);
  return store;
}

std::shared_ptr<VectorStore> VectorRegistry::get(const std::string& name) {
  check_name(name);
  std::lock_guard lock(mu_);
  auto it = stores_.find(name);
  if (it != stores_.end()) {
    return it->second;
  }
  vector_checkpoint::Manifest manifest;
  if (!vector_checkpoint::read_manifest(root_ + "/" + name, &manifest)) {
    throw VectorStoreError(
        "vector index \"" + name + "\" does not exist under " + root_ + " (upsert into it first)",
        "IndexNotFound");
  }
  auto store = std::make_shared<HnswVectorStore>(root_ + "/" + name, manifest.dim, defaults_);
  stores_.emplace(name, store);
  return store;
}

std::vector<std::string> VectorRegistry::names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, store] : stores_) {
    out.push_back(name);
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    std::string name = entry.path().filename().string();
    if (stores_.count(name) == 0 &&
        vector_files::exists(entry.path().string() + "/" + vector_checkpoint::kManifest)) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cairn::ai
