// Checkpoints of a vector store directory: the MANIFEST (the commit point), the files it names,
// and the log records written between checkpoints. Used by HnswVectorStore for its own
// directory, for snapshots and for restores. Stateless functions; callers serialise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/vector_store.h"
#include "vector_hnsw_graph.h"

namespace cairn::ai::vector_checkpoint {

// Persisted: the MANIFEST's "format" value. Bump the version on any change of the layout.
inline constexpr char kFormat[] = "cairn.vector.hnsw";
inline constexpr int kVersion = 1;
inline constexpr char kManifest[] = "MANIFEST";

// What a MANIFEST says.
struct Manifest {
  size_t dim = 0;
  uint64_t generation = 0;
  std::string index_file;
  std::string items_file;
  std::string wal_file;
  nlohmann::json raw;
};

// Writes generation `generation` of `graph` into `dir` (index, items, an empty log) and then
// renames a MANIFEST naming them into place. Throws VectorStoreError "StorageError"; the
// previous MANIFEST is then still the one in force.
Manifest write(const std::string& dir, uint64_t generation, size_t dim, const HnswGraph& graph,
               bool sync);

// Reads the MANIFEST of `dir` into `out`; false when there is none. Throws "IndexCorrupt" when
// it is unreadable or of another format.
bool read_manifest(const std::string& dir, Manifest* out);

// Loads the checkpoint `manifest` names (checksums verified: "IndexCorrupt") and replays its
// log. Returns the graph and, through `wal_bytes`, the intact length of the log (a torn tail is
// cut off when `repair`).
std::unique_ptr<HnswGraph> load(const std::string& dir, const Manifest& manifest,
                                const HnswOptions& options, bool repair, uint64_t* wal_bytes);

// Removes files of other generations and temporary files left by a crash (only names this
// store writes: index-*, items-*, wal-*, *.tmp).
void remove_stale(const std::string& dir, const Manifest& manifest);

// Log records. Persisted: CBOR {"op": "upsert", "items": [{"id", "v": bytes, "m"}]} or
// {"op": "remove", "ids": [...]}.
std::string upsert_record(const std::vector<VectorItem>& items);
std::string remove_record(const std::vector<std::string>& ids);
// Applies one record to `graph`; throws "IndexCorrupt" for a record it cannot read.
void apply_record(std::string_view record, size_t dim, HnswGraph& graph);

}  // namespace cairn::ai::vector_checkpoint
