// ai-worker-vector: a worker process for the vector e2e tests (started and kill -9'd by them).
// Registers the ingestion workflow, the vector activities over a registry in --vector-dir, the
// embedding activity "cairn.ai.embed" against --endpoint (a real cairn-model-endpoint), and
// "vector-test.search": the workflow helper search() as a workflow, so tests can search.
//
// The embedding activity here calls the endpoint through OpenAiClient directly; the runtime
// (cairn/ai/runtime.h) registers the product's "cairn.ai.embed" with routing and pricing on top
// of the same client.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cairn/activity.h"
#include "cairn/ai/ingest.h"
#include "cairn/ai/openai.h"
#include "cairn/ai/vector_activities.h"
#include "cairn/ai/vector_store.h"
#include "cairn/client.h"
#include "cairn/errors.h"
#include "cairn/worker.h"
#include "cairn/workflow.h"

namespace {

using nlohmann::json;

struct SearchInput {
  std::string index;
  std::string text;
  size_t k = 5;
  json filter;
};
void from_json(const json& j, SearchInput& v) {
  v.index = j.at("index");
  v.text = j.at("text");
  v.k = j.value("k", size_t{5});
  v.filter = j.value("filter", json());
}
void to_json(json& j, const SearchInput& v) {
  j = json{{"index", v.index}, {"text", v.text}, {"k", v.k}, {"filter", v.filter}};
}

struct BackupInput {
  std::string index;
  std::string path;
  std::vector<std::string> remove;
  std::string text;
};
void from_json(const json& j, BackupInput& v) {
  v.index = j.at("index");
  v.path = j.at("path");
  v.remove = j.at("remove").get<std::vector<std::string>>();
  v.text = j.at("text");
}
void to_json(json& j, const BackupInput& v) {
  j = json{{"index", v.index}, {"path", v.path}, {"remove", v.remove}, {"text", v.text}};
}

// One embeddings call through the product's OpenAI-compatible client.
cairn::ai::EmbedResult embed(cairn::ai::OpenAiClient& client,
                             const cairn::ai::EmbedAttempt& attempt) {
  auto started = std::chrono::steady_clock::now();
  cairn::ai::EmbedResult result;
  result.response = client.embed(attempt.request);
  result.usage = result.response.usage;
  result.model = result.response.model;
  result.endpoint = client.config().name;
  result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("ai-worker-vector");
  std::string server = "127.0.0.1:7233";
  std::string task_queue = "vector";
  std::string vector_dir;
  std::string endpoint;
  app.add_option("--server", server);
  app.add_option("--task-queue", task_queue);
  app.add_option("--vector-dir", vector_dir)->required();
  app.add_option("--endpoint", endpoint, "base URL, e.g. http://127.0.0.1:PORT/v1")->required();
  CLI11_PARSE(app, argc, argv);

  cairn::ClientOptions client_options;
  client_options.address = server;
  cairn::Client client(client_options);
  cairn::ai::VectorRegistry registry(vector_dir);
  cairn::WorkerOptions options;
  options.task_queue = task_queue;
  cairn::Worker worker(client, options);

  cairn::ai::EndpointConfig config;
  config.name = "embeddings";
  config.base_url = endpoint;
  config.model = "cairn-echo";
  auto openai = std::make_shared<cairn::ai::OpenAiClient>(config);
  auto embedder = [openai](cairn::ActivityContext&, const cairn::ai::EmbedAttempt& attempt) {
    return embed(*openai, attempt);
  };
  worker.register_activity(cairn::ai::kEmbedActivity, embedder);
  cairn::ai::register_vector_activities(worker, registry, embedder);
  cairn::ai::register_ingest_workflow(worker);
  // Provisioning's backup pattern: snapshot, change (delete), search, restore.
  worker.register_workflow("vector-test.backup", [](cairn::WorkflowContext& ctx,
                                                    const BackupInput& in) {
    using namespace cairn::ai;
    cairn::ActivityOptions o{.start_to_close = std::chrono::seconds(30)};
    auto snap = ctx.activity<VectorSnapshotResult>(kVectorSnapshotActivity,
                                                   VectorSnapshotRequest{in.index, in.path}, o)
                    .get();
    auto del = ctx.activity<VectorDeleteResult>(kVectorDeleteActivity,
                                                VectorDeleteRequest{in.index, in.remove}, o)
                   .get();
    auto during = search(ctx, in.index, in.text, 3);
    auto restored = ctx.activity<VectorRestoreResult>(kVectorRestoreActivity,
                                                      VectorRestoreRequest{in.index, in.path}, o)
                        .get();
    auto after = ctx.activity<std::vector<VectorHit>>(
                        kVectorQueryActivity, VectorQueryRequest{in.index, in.text, 3, {}, ""}, o)
                     .get();
    return json{{"snapshot", {{"path", snap.path}, {"size", snap.size}}},
                {"removed", del.removed},
                {"size_after_delete", del.size},
                {"hits_during", during},
                {"restored_size", restored.size},
                {"hits_after", after}};
  });
  worker.register_workflow("vector-test.search",
                           [](cairn::WorkflowContext& ctx, const SearchInput& in) {
                             cairn::ai::VectorSearchOptions o;
                             o.filter = in.filter;
                             return cairn::ai::search(ctx, in.index, in.text, in.k, o);
                           });
  std::cout << "ai-worker-vector: polling " << task_queue << " on " << server << std::endl;
  worker.run_until_signal();
  return 0;
}
