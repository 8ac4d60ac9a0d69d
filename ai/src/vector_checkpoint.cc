#include "vector_checkpoint.h"

#include <cstring>
#include <filesystem>

#include "vector_files.h"

namespace cairn::ai::vector_checkpoint {
namespace {

using nlohmann::json;
namespace files = vector_files;

json file_entry(const std::string& dir, const std::string& name, bool sync) {
  std::string path = dir + "/" + name;
  if (sync) {
    files::sync_path(path);
  }
  std::string data = files::read_file(path);
  return json{{"file", name}, {"bytes", data.size()}, {"fnv64", files::hex64(files::fnv64(data))}};
}

// The content of a file the manifest names, checked against its recorded size and checksum.
std::string verified(const std::string& dir, const json& entry) {
  std::string name = entry.at("file").get<std::string>();
  std::string path = dir + "/" + name;
  if (!files::exists(path)) {
    throw VectorStoreError("vector store " + dir + ": " + name + " named by MANIFEST is missing",
                           "IndexCorrupt");
  }
  std::string data = files::read_file(path);
  if (data.size() != entry.at("bytes").get<size_t>() ||
      files::hex64(files::fnv64(data)) != entry.at("fnv64").get<std::string>()) {
    throw VectorStoreError("vector store " + dir + ": " + name +
                               " does not match its checksum in MANIFEST (damaged file)",
                           "IndexCorrupt");
  }
  return data;
}

std::string gen_name(const char* prefix, uint64_t generation, const char* ext) {
  return std::string(prefix) + "-" + std::to_string(generation) + ext;
}

}  // namespace

Manifest write(const std::string& dir, uint64_t generation, size_t dim, const HnswGraph& graph,
               bool sync) {
  files::make_dirs(dir);
  Manifest m;
  m.dim = dim;
  m.generation = generation;
  m.index_file = gen_name("index", generation, ".hnsw");
  m.items_file = gen_name("items", generation, ".cbor");
  m.wal_file = gen_name("wal", generation, ".log");
  graph.save_index(dir + "/" + m.index_file);
  files::write_file(dir + "/" + m.items_file, graph.items_blob(), sync);
  files::write_file(dir + "/" + m.wal_file, "", sync);
  json manifest = {{"format", kFormat},
                   {"version", kVersion},
                   {"dim", dim},
                   {"metric", "cosine"},
                   {"m", graph.m()},
                   {"ef_construction", graph.ef_construction()},
                   {"generation", generation},
                   {"count", graph.size()},
                   {"labels", graph.labels()},
                   {"index", file_entry(dir, m.index_file, sync)},
                   {"items", file_entry(dir, m.items_file, false)},
                   {"wal", m.wal_file}};
  if (sync) {
    files::sync_path(dir);  // the new files' names are durable before the manifest names them
  }
  files::replace_file(dir, kManifest, manifest.dump(2) + "\n", sync);
  m.raw = std::move(manifest);
  return m;
}

bool read_manifest(const std::string& dir, Manifest* out) {
  std::string path = dir + "/" + kManifest;
  if (!files::exists(path)) {
    return false;
  }
  try {
    json j = json::parse(files::read_file(path));
    if (j.at("format") != kFormat || j.at("version") != kVersion) {
      throw VectorStoreError("vector store " + dir + ": MANIFEST is of format " +
                                 j.at("format").dump() + " version " + j.at("version").dump() +
                                 ", expected " + kFormat + " version " + std::to_string(kVersion),
                             "IndexCorrupt");
    }
    out->dim = j.at("dim").get<size_t>();
    out->generation = j.at("generation").get<uint64_t>();
    out->index_file = j.at("index").at("file").get<std::string>();
    out->items_file = j.at("items").at("file").get<std::string>();
    out->wal_file = j.at("wal").get<std::string>();
    out->raw = std::move(j);
  } catch (const json::exception& e) {
    throw VectorStoreError("vector store " + dir + ": MANIFEST is unreadable: " + e.what(),
                           "IndexCorrupt");
  }
  return true;
}

std::unique_ptr<HnswGraph> load(const std::string& dir, const Manifest& manifest,
                                const HnswOptions& options, bool repair, uint64_t* wal_bytes) {
  std::string items;
  try {
    verified(dir, manifest.raw.at("index"));
    items = verified(dir, manifest.raw.at("items"));
  } catch (const json::exception& e) {
    throw VectorStoreError("vector store " + dir + ": MANIFEST is unreadable: " + e.what(),
                           "IndexCorrupt");
  }
  auto graph =
      std::make_unique<HnswGraph>(manifest.dim, options, dir + "/" + manifest.index_file, items);
  std::string wal = dir + "/" + manifest.wal_file;
  uint64_t intact = files::read_wal(
      wal, [&](std::string_view record) { apply_record(record, manifest.dim, *graph); });
  if (repair && files::exists(wal) && std::filesystem::file_size(wal) != intact) {
    files::truncate_file(wal, intact);
  }
  if (wal_bytes != nullptr) {
    *wal_bytes = intact;
  }
  return graph;
}

void remove_stale(const std::string& dir, const Manifest& manifest) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    bool ours = name.rfind("index-", 0) == 0 || name.rfind("items-", 0) == 0 ||
                name.rfind("wal-", 0) == 0 ||
                (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0);
    bool live =
        name == manifest.index_file || name == manifest.items_file || name == manifest.wal_file;
    if (ours && !live) {
      files::remove_all(entry.path().string());
    }
  }
}

std::string upsert_record(const std::vector<VectorItem>& items) {
  json list = json::array();
  for (const VectorItem& item : items) {
    std::vector<uint8_t> bytes(item.vector.size() * sizeof(float));
    std::memcpy(bytes.data(), item.vector.data(), bytes.size());
    list.push_back({{"id", item.id}, {"v", json::binary(std::move(bytes))}, {"m", item.metadata}});
  }
  std::vector<uint8_t> cbor = json::to_cbor(json{{"op", "upsert"}, {"items", std::move(list)}});
  return std::string(cbor.begin(), cbor.end());
}

std::string remove_record(const std::vector<std::string>& ids) {
  std::vector<uint8_t> cbor = json::to_cbor(json{{"op", "remove"}, {"ids", ids}});
  return std::string(cbor.begin(), cbor.end());
}

void apply_record(std::string_view record, size_t dim, HnswGraph& graph) {
  try {
    json j = json::from_cbor(record.begin(), record.end());
    const std::string& op = j.at("op").get_ref<const std::string&>();
    if (op == "remove") {
      graph.remove(j.at("ids").get<std::vector<std::string>>());
      return;
    }
    if (op != "upsert") {
      throw VectorStoreError("vector store log: unknown record \"" + op + "\"", "IndexCorrupt");
    }
    std::vector<VectorItem> items;
    for (const json& e : j.at("items")) {
      const auto& bytes = e.at("v").get_binary();
      if (bytes.size() != dim * sizeof(float)) {
        throw VectorStoreError("vector store log: a vector of the wrong size", "IndexCorrupt");
      }
      VectorItem item;
      item.id = e.at("id").get<std::string>();
      item.vector.resize(dim);
      std::memcpy(item.vector.data(), bytes.data(), bytes.size());
      item.metadata = e.at("m");
      items.push_back(std::move(item));
    }
    graph.upsert(items);
  } catch (const json::exception& e) {
    throw VectorStoreError("vector store log: unreadable record: " + std::string(e.what()),
                           "IndexCorrupt");
  }
}

}  // namespace cairn::ai::vector_checkpoint
