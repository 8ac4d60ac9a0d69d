// The ingestion workflow "cairn.ai.ingest" and the JSON form of its request and result.
#include "cairn/ai/ingest.h"
#include "cairn/ai/vector_activities.h"
#include "cairn/worker.h"
#include "cairn/workflow.h"

namespace cairn::ai {

using nlohmann::json;

void to_json(json& j, const IngestDocument& v) {
  j = json{{"id", v.id}, {"text", v.text}};
  if (!v.metadata.is_null() && !v.metadata.empty()) {
    j["metadata"] = v.metadata;
  }
}
void from_json(const json& j, IngestDocument& v) {
  j.at("id").get_to(v.id);
  j.at("text").get_to(v.text);
  v.metadata = j.value("metadata", json::object());
}
void to_json(json& j, const IngestProgress& v) {
  j = json{{"next_batch", v.next_batch},
           {"total_batches", v.total_batches},
           {"chunks", v.chunks},
           {"usage", v.usage},
           {"cost_micros", v.cost_micros}};
}
void from_json(const json& j, IngestProgress& v) {
  v = IngestProgress();
  v.next_batch = j.value("next_batch", size_t{0});
  v.total_batches = j.value("total_batches", size_t{0});
  v.chunks = j.value("chunks", size_t{0});
  v.usage = j.value("usage", Usage{});
  v.cost_micros = j.value("cost_micros", Micros{0});
}
void to_json(json& j, const IngestRequest& v) {
  j = json{{"index", v.index},
           {"documents", v.documents},
           {"chunk_chars", v.chunk_chars},
           {"overlap", v.overlap},
           {"batch_size", v.batch_size},
           {"activity_timeout_ms", v.activity_timeout_ms},
           {"max_attempts", v.max_attempts}};
  if (!v.embed_tier.empty()) {
    j["embed_tier"] = v.embed_tier;
  }
  if (v.progress != IngestProgress()) {
    j["progress"] = v.progress;
  }
}
void from_json(const json& j, IngestRequest& v) {
  v = IngestRequest();
  j.at("index").get_to(v.index);
  v.documents = j.value("documents", std::vector<IngestDocument>{});
  v.chunk_chars = j.value("chunk_chars", v.chunk_chars);
  v.overlap = j.value("overlap", v.overlap);
  v.batch_size = j.value("batch_size", v.batch_size);
  v.embed_tier = j.value("embed_tier", "");
  v.activity_timeout_ms = j.value("activity_timeout_ms", v.activity_timeout_ms);
  v.max_attempts = j.value("max_attempts", v.max_attempts);
  v.progress = j.value("progress", IngestProgress{});
}
void to_json(json& j, const IngestResult& v) {
  j = json{{"index", v.index},
           {"documents", v.documents},
           {"chunks", v.chunks},
           {"batches", v.batches},
           {"index_size", v.index_size},
           {"usage", v.usage},
           {"cost_micros", v.cost_micros}};
}
void from_json(const json& j, IngestResult& v) {
  v = IngestResult();
  v.index = j.value("index", "");
  v.documents = j.value("documents", size_t{0});
  v.chunks = j.value("chunks", size_t{0});
  v.batches = j.value("batches", size_t{0});
  v.index_size = j.value("index_size", size_t{0});
  v.usage = j.value("usage", Usage{});
  v.cost_micros = j.value("cost_micros", Micros{0});
}

IngestResult ingest_workflow(WorkflowContext& ctx, IngestRequest request) {
  validate(request);
  // Deterministic from the request: every replay and every continued run cuts the same chunks.
  std::vector<IngestChunk> chunks = chunk_documents(request);
  IngestProgress progress = request.progress;
  progress.chunks = chunks.size();
  progress.total_batches = (chunks.size() + request.batch_size - 1) / request.batch_size;
  ctx.set_query_handler(kIngestProgressQuery, [&progress]() { return progress; });

  ActivityOptions options{.start_to_close = std::chrono::milliseconds(request.activity_timeout_ms),
                          .retry = {.initial_interval = std::chrono::seconds(1),
                                    .backoff_coefficient = 2.0,
                                    .maximum_interval = std::chrono::seconds(30),
                                    .maximum_attempts = request.max_attempts}};
  size_t first = progress.next_batch;
  size_t index_size = 0;
  for (size_t b = first; b < progress.total_batches; ++b) {
    if (b > first && ctx.info().continue_as_new_suggested) {
      request.progress = progress;  // done batches are not embedded again by the new run
      ctx.continue_as_new(request);
    }
    size_t begin = b * request.batch_size;
    size_t end = std::min(chunks.size(), begin + request.batch_size);
    EmbedAttempt attempt;
    attempt.tier = request.embed_tier;
    for (size_t i = begin; i < end; ++i) {
      attempt.request.input.push_back(chunks[i].text);
    }
    EmbedResult embedded = ctx.activity<EmbedResult>(kEmbedActivity, attempt, options).get();
    if (embedded.response.data.size() != end - begin) {
      throw ApplicationError("ingest batch " + std::to_string(b) + ": the embedding returned " +
                                 std::to_string(embedded.response.data.size()) + " vectors for " +
                                 std::to_string(end - begin) + " chunks",
                             "EmbeddingMismatch", /*non_retryable=*/true);
    }
    VectorUpsertRequest upsert{request.index, {}};
    for (size_t i = begin; i < end; ++i) {
      upsert.items.push_back(VectorItem{chunks[i].id, std::move(embedded.response.data[i - begin]),
                                        std::move(chunks[i].metadata)});
    }
    VectorUpsertResult stored =
        ctx.activity<VectorUpsertResult>(kVectorUpsertActivity, upsert, options).get();
    index_size = stored.size;
    progress.usage += embedded.usage;
    progress.cost_micros += embedded.cost_micros;
    progress.next_batch = b + 1;
  }
  IngestResult result;
  result.index = request.index;
  result.documents = request.documents.size();
  result.chunks = chunks.size();
  result.batches = progress.total_batches;
  result.index_size = index_size;
  result.usage = progress.usage;
  result.cost_micros = progress.cost_micros;
  return result;
}

void register_ingest_workflow(Worker& worker) {
  worker.register_workflow(kIngestWorkflow, &ingest_workflow);
}

}  // namespace cairn::ai
