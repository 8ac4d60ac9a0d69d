// ai-worker-vector: a worker process for the vector e2e tests (started and kill -9'd by them).
// Registers the ingestion workflow, the vector activities over a registry in --vector-dir,
// AiRuntime's "cairn.ai.chat" / "cairn.ai.embed" with one embedding tier on --endpoint (a real
// cairn-model-endpoint), and test workflows: "vector-test.search" (the workflow helper
// search()) and "vector-test.backup" (snapshot, delete, search, restore, query).
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cairn/activity.h"
#include "cairn/ai/ingest.h"
#include "cairn/ai/router.h"
#include "cairn/ai/runtime.h"
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

  // One embedding tier on the endpoint, priced per token so ingestion has a cost.
  cairn::ai::TierConfig tier;
  tier.name = "embed";
  tier.model = "cairn-echo";
  tier.endpoints = {{.name = "embed-1", .base_url = endpoint}};
  tier.input_per_million = 20'000;  // $0.02 per 1M tokens
  tier.price_set = true;
  cairn::ai::RouterConfig config;
  config.tiers = {tier};
  config.default_tier = "embed";
  config.embedding_tier = "embed";
  cairn::ai::AiRuntime runtime(config);
  runtime.register_activities(worker);
  cairn::ai::register_vector_activities(worker, registry, &runtime);
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
