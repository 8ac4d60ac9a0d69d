// Private building blocks of the `vector_index` provider: the documents of a source directory,
// the digest of what a build depends on, and the two ways a build runs — through the AI
// batteries' ingestion workflow (a cluster is at hand) or with the same chunker, embedding
// client and store in this process (no cluster: unit tests, a provider used on its own).
// Functions only; each call works on its own files.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/ingest.h"
#include "cairn/deploy/provider.h"

namespace cairn::deploy::vector_index {

// The documents under `source`: every regular file whose path holds no component starting
// with '.', read whole, id = its path relative to `source` ("faq/refunds.md"), metadata
// {"path": id}; sorted by id. Files holding a NUL byte (not text) and files over 4 MiB are
// skipped. Throws ProviderError(kInvalidInputs) when `source` is not a directory.
std::vector<ai::IngestDocument> read_documents(const std::filesystem::path& source);

// A hex digest of everything a build's content depends on: the documents, dim, chunk_chars and
// overlap (not the endpoint's URL, which changes with its port).
std::string build_digest(const std::vector<ai::IngestDocument>& documents, size_t dim,
                         size_t chunk_chars, size_t overlap);

// The base URL the OpenAI client takes for an embedding endpoint: the URL itself when it has a
// path ("http://127.0.0.1:P/tiers/embed/v1"), else with "/v1" added ("http://127.0.0.1:P").
std::string embedding_base_url(const std::string& url);

struct BuildRequest {
  ai::IngestRequest ingest;  // index: the staging index's name in the registry under `root`
  std::filesystem::path root;  // the VectorRegistry root
  size_t dim = 0;
  std::string embedding_url;  // as given in the inputs
};

// Ingests in this process: chunk_documents(), the embedding endpoint called per batch through
// OpenAiClient, each batch upserted into the HnswVectorStore <root>/<index>. The same chunks,
// ids and metadata as the ingestion workflow, without its durability (a crash starts over).
// Returns the store's size. Throws ProviderError (kUnavailable: the endpoint failed;
// kInvalidInputs: its vectors have another dimension).
size_t build_in_process(ProviderContext& ctx, const BuildRequest& request);

// Ingests through the workflow "cairn.ai.ingest" on ctx.client: a worker of this process on its
// own task queue ("cairn-deploy-index.<workflow_id>") runs it, with an AiRuntime whose only
// tier ("embed") is the embedding endpoint and a VectorRegistry rooted at `root`, registered
// for the workflow, "cairn.ai.embed" and the vector activities. The workflow id is given by the
// caller (stable across retries of one build): a retry after a crash starts no second run — it
// continues the one there (conflict policy USE_EXISTING), whose finished batches are not
// embedded again. Returns the store's size. Throws ProviderError (kFailed: the run failed,
// kTimeout).
size_t build_with_workflow(ProviderContext& ctx, const BuildRequest& request,
                           const std::string& workflow_id, std::chrono::milliseconds timeout);

}  // namespace cairn::deploy::vector_index
