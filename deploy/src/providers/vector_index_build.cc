// Documents, digests and the two ways of building a vector_index (vector_index_build.h).
#include "providers/vector_index_build.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "cairn/ai/openai.h"
#include "cairn/ai/router.h"
#include "cairn/ai/runtime.h"
#include "cairn/ai/vector_activities.h"
#include "cairn/ai/vector_store.h"
#include "cairn/client.h"
#include "cairn/deploy/spec.h"
#include "cairn/worker.h"

namespace cairn::deploy::vector_index {
namespace {

using nlohmann::json;

constexpr uintmax_t kMaxDocumentBytes = 4u << 20;

bool hidden(const std::filesystem::path& relative) {
  for (const auto& part : relative) {
    std::string s = part.string();
    if (!s.empty() && s[0] == '.') {
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<ai::IngestDocument> read_documents(const std::filesystem::path& source) {
  std::error_code ec;
  if (!std::filesystem::is_directory(source, ec)) {
    throw ProviderError(ProviderErrorKind::kInvalidInputs,
                        "vector_index: source " + source.string() + " is not a directory");
  }
  std::vector<ai::IngestDocument> docs;
  for (auto it = std::filesystem::recursive_directory_iterator(source, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      break;
    }
    std::filesystem::path relative = std::filesystem::relative(it->path(), source, ec);
    if (hidden(relative)) {
      if (it->is_directory()) {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (!it->is_regular_file() || it->file_size() > kMaxDocumentBytes) {
      continue;
    }
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    if (text.find('\0') != std::string::npos) {
      continue;
    }
    ai::IngestDocument doc;
    doc.id = relative.generic_string();
    doc.text = std::move(text);
    doc.metadata = {{"path", doc.id}};
    docs.push_back(std::move(doc));
  }
  if (ec) {
    throw ProviderError(ProviderErrorKind::kFailed,
                        "vector_index: reading " + source.string() + ": " + ec.message());
  }
  std::sort(docs.begin(), docs.end(),
            [](const ai::IngestDocument& a, const ai::IngestDocument& b) { return a.id < b.id; });
  return docs;
}

std::string build_digest(const std::vector<ai::IngestDocument>& documents, size_t dim,
                         size_t chunk_chars, size_t overlap) {
  json j = {{"dim", dim}, {"chunk_chars", chunk_chars}, {"overlap", overlap}, {"documents", json::array()}};
  for (const ai::IngestDocument& d : documents) {
    j["documents"].push_back({{"id", d.id}, {"sha256", sha256_hex(d.text)}});
  }
  return sha256_hex(j.dump());
}

std::string embedding_base_url(const std::string& url) {
  std::string u = url;
  while (!u.empty() && u.back() == '/') {
    u.pop_back();
  }
  size_t scheme = u.find("://");
  size_t path = scheme == std::string::npos ? std::string::npos : u.find('/', scheme + 3);
  return path == std::string::npos ? u + "/v1" : u;
}

size_t build_in_process(ProviderContext& ctx, const BuildRequest& request) {
  std::vector<ai::IngestChunk> chunks = ai::chunk_documents(request.ingest);
  ai::EndpointConfig endpoint;
  endpoint.name = "embed";
  endpoint.base_url = embedding_base_url(request.embedding_url);
  ai::OpenAiClient client(endpoint);
  ai::HnswVectorStore store((request.root / request.ingest.index).string(), request.dim);
  const size_t batch = std::max<size_t>(1, request.ingest.batch_size);
  for (size_t begin = 0; begin < chunks.size(); begin += batch) {
    if (ctx.cancel_requested()) {
      throw ProviderError(ProviderErrorKind::kCanceled, "vector_index: build canceled");
    }
    size_t end = std::min(chunks.size(), begin + batch);
    ai::EmbeddingRequest embed;
    for (size_t i = begin; i < end; ++i) {
      embed.input.push_back(chunks[i].text);
    }
    ai::EmbeddingResponse response;
    try {
      response = client.embed(embed);
    } catch (const ai::LlmError& e) {
      throw ProviderError(ProviderErrorKind::kUnavailable,
                          ctx.redact(std::string("vector_index: embedding failed: ") + e.what()));
    }
    if (response.data.size() != end - begin) {
      throw ProviderError(ProviderErrorKind::kFailed,
                          "vector_index: the endpoint returned " +
                              std::to_string(response.data.size()) + " vectors for " +
                              std::to_string(end - begin) + " chunks");
    }
    std::vector<ai::VectorItem> items;
    for (size_t i = begin; i < end; ++i) {
      if (response.data[i - begin].size() != request.dim) {
        throw ProviderError(ProviderErrorKind::kInvalidInputs,
                            "vector_index: the endpoint's embeddings have dimension " +
                                std::to_string(response.data[i - begin].size()) + ", dim is " +
                                std::to_string(request.dim));
      }
      items.push_back({chunks[i].id, std::move(response.data[i - begin]), chunks[i].metadata});
    }
    store.upsert(items);
    ctx.report({{"chunks_indexed", end}, {"chunks", chunks.size()}});
  }
  return store.size();
}

size_t build_with_workflow(ProviderContext& ctx, const BuildRequest& request,
                           const std::string& workflow_id, std::chrono::milliseconds timeout) {
  // The runtime's only tier is the index's embedding endpoint: the workflow's embed activity
  // calls exactly the endpoint the inputs name.
  ai::RouterConfig config;
  ai::TierConfig tier;
  tier.name = "embed";
  tier.model = "embedding";
  ai::EndpointConfig endpoint;
  endpoint.name = "embed-1";
  endpoint.base_url = embedding_base_url(request.embedding_url);
  endpoint.model = tier.model;
  tier.endpoints.push_back(endpoint);
  tier.price_set = true;  // self-hosted: free per token
  config.tiers.push_back(tier);
  config.default_tier = "embed";
  config.embedding_tier = "embed";
  ai::AiRuntime runtime(config);
  ai::VectorRegistry registry(request.root.string());

  std::string queue = "cairn-deploy-index." + workflow_id;
  WorkerOptions options;
  options.task_queue = queue;
  Worker worker(*ctx.client, options);
  runtime.register_activities(worker);
  ai::register_vector_activities(worker, registry, &runtime);
  ai::register_ingest_workflow(worker);
  worker.start();

  StartWorkflowOptions start;
  start.id = workflow_id;
  start.task_queue = queue;
  start.id_conflict_policy = v1::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING;
  ai::IngestRequest ingest = request.ingest;
  ingest.embed_tier = "embed";
  ai::IngestResult result;
  try {
    WorkflowHandle handle = ctx.client->start(ai::kIngestWorkflow, start, ingest);
    ctx.log(LogLevel::kInfo, "vector_index: ingestion workflow " + workflow_id);
    result = handle.result<ai::IngestResult>(timeout);
  } catch (const TimeoutError& e) {
    worker.stop();
    throw ProviderError(ProviderErrorKind::kTimeout,
                        ctx.redact("vector_index: ingestion " + workflow_id + ": " + e.what()));
  } catch (const Error& e) {
    worker.stop();
    throw ProviderError(ProviderErrorKind::kFailed,
                        ctx.redact("vector_index: ingestion " + workflow_id + ": " + e.what()));
  }
  worker.stop();
  return result.index_size;  // 0 when there was nothing to embed (no store was made)
}

}  // namespace cairn::deploy::vector_index
