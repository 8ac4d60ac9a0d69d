// Durable ingestion: the workflow "cairn.ai.ingest" chunks documents (deterministically, in
// workflow code), embeds the chunks in batches ("cairn.ai.embed", one activity per batch) and
// upserts each batch ("cairn.ai.vector.upsert"). Every finished batch is in history, so a crash
// of the worker resumes at the first unfinished batch without embedding finished ones again;
// a long ingestion continues as new when the history grows, carrying its progress. Plain
// values and a workflow function; the chunker is pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/types.h"

namespace cairn {
class Worker;
class WorkflowContext;
}  // namespace cairn

namespace cairn::ai {

inline constexpr char kIngestWorkflow[] = "cairn.ai.ingest";
// Query of a running (or finished) ingestion: its IngestProgress.
inline constexpr char kIngestProgressQuery[] = "cairn.ai.ingest.progress";

struct IngestDocument {
  std::string id;  // unique in the request; chunk ids are "<id>#<n>"
  std::string text;
  nlohmann::json metadata = nlohmann::json::object();  // copied into every chunk's metadata
};

// What a run carries to the run it continues as (zero for a new ingestion).
struct IngestProgress {
  size_t next_batch = 0;  // batches before it are embedded and upserted
  size_t total_batches = 0;
  size_t chunks = 0;
  Usage usage;  // of the embedding calls so far
  Micros cost_micros = 0;
  bool operator==(const IngestProgress&) const = default;
};

struct IngestRequest {
  std::string index;  // a VectorRegistry index name (created on first upsert)
  std::vector<IngestDocument> documents;
  size_t chunk_chars = 1000;  // longest chunk in bytes (UTF-8 characters are never split)
  size_t overlap = 150;       // bytes the next chunk repeats from the end of the previous one
  size_t batch_size = 32;     // chunks per embedding call (at most 256: history payload size)
  std::string embed_tier;     // empty: the router config's embedding tier
  int64_t activity_timeout_ms = 60'000;  // start_to_close of each embed / upsert attempt
  int32_t max_attempts = 10;             // per activity; 0: unlimited
  IngestProgress progress;               // set by continue-as-new only
};

struct IngestResult {
  std::string index;
  size_t documents = 0;
  size_t chunks = 0;
  size_t batches = 0;
  size_t index_size = 0;  // items in the index after the last upsert
  Usage usage;
  Micros cost_micros = 0;
  bool operator==(const IngestResult&) const = default;
};

void to_json(nlohmann::json& j, const IngestDocument& v);
void from_json(const nlohmann::json& j, IngestDocument& v);
void to_json(nlohmann::json& j, const IngestProgress& v);
void from_json(const nlohmann::json& j, IngestProgress& v);
void to_json(nlohmann::json& j, const IngestRequest& v);
void from_json(const nlohmann::json& j, IngestRequest& v);
void to_json(nlohmann::json& j, const IngestResult& v);
void from_json(const nlohmann::json& j, IngestResult& v);

// Throws OptionsError naming the field: index empty or not a valid index name, chunk_chars
// below 32, overlap not below chunk_chars / 2, batch_size 0 or above 256, activity_timeout_ms
// not positive, max_attempts negative, a document id empty, over 512 bytes or given twice.
void validate(const IngestRequest& request);

// A piece of a text: [offset, offset + text.size()) of the original.
struct TextChunk {
  size_t offset = 0;
  std::string text;
  bool operator==(const TextChunk&) const = default;
};

// Splits `text` into chunks of at most `chunk_chars` bytes, each ending at the last sentence end
// (". ", "! ", "? ", a line break) in its second half, else at the last space, else at a UTF-8
// character boundary; the next chunk starts `overlap` bytes before the end, moved forward to a
// word start. Chunks are trimmed of surrounding whitespace; empty ones are dropped. The same
// input always gives the same chunks (workflow code relies on it).
// REQUIRES: chunk_chars >= 32, overlap < chunk_chars / 2.
std::vector<TextChunk> chunk_text(std::string_view text, size_t chunk_chars, size_t overlap);

// One chunk of a request as it is upserted: id "<doc id>#<n>", the chunk's text, and metadata =
// the document's metadata plus "doc_id", "chunk" (n), "offset" and "text" (these four names
// override the document's own).
struct IngestChunk {
  std::string id;
  std::string text;
  nlohmann::json metadata;
};
std::vector<IngestChunk> chunk_documents(const IngestRequest& request);

// The workflow function of "cairn.ai.ingest". Throws OptionsError for a bad request (the run
// fails at once), ActivityError when a batch's embedding or upsert finally fails.
IngestResult ingest_workflow(WorkflowContext& ctx, IngestRequest request);

// Registers "cairn.ai.ingest". The worker also needs "cairn.ai.embed" (AiRuntime) and the vector
// activities (register_vector_activities) — on its task queue or on the queues the activities
// are routed to.
void register_ingest_workflow(Worker& worker);

}  // namespace cairn::ai
