// ai-worker-vector: a worker process for the vector e2e tests (started and kill -9'd by them).
// Registers the ingestion workflow, the vector activities over a registry in --vector-dir, the
// embedding activity "cairn.ai.embed" against --endpoint (a real cairn-model-endpoint), and
// "vector-test.search": the workflow helper search() as a workflow, so tests can search.
//
// The embedding activity here is a plain POST to <endpoint>/embeddings: the product's client
// and runtime (cairn/ai/runtime.h) register the real "cairn.ai.embed" with routing, pricing and
// error classification; this worker only needs an embedding call over loopback.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <string>

#include "cairn/activity.h"
#include "cairn/ai/ingest.h"
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

// "http://127.0.0.1:PORT/v1" → host:port client and the path prefix "/v1".
cairn::ai::EmbedResult embed(const std::string& base_url, const cairn::ai::EmbedAttempt& attempt) {
  std::string rest = base_url.substr(base_url.find("//") + 2);
  std::string host_port = rest.substr(0, rest.find('/'));
  std::string prefix = rest.substr(host_port.size());
  httplib::Client http("http://" + host_port);
  http.set_read_timeout(std::chrono::seconds(30));
  json body = {{"input", attempt.request.input}};
  if (!attempt.request.model.empty()) {
    body["model"] = attempt.request.model;
  }
  auto started = std::chrono::steady_clock::now();
  auto res = http.Post((prefix + "/embeddings").c_str(), body.dump(), "application/json");
  if (!res) {
    throw cairn::ApplicationError("embedding endpoint unreachable", "NetworkError");
  }
  if (res->status != 200) {
    throw cairn::ApplicationError("embedding endpoint answered " + std::to_string(res->status) +
                                      ": " + res->body,
                                  res->status >= 500 ? "ServerError" : "InvalidRequest",
                                  /*non_retryable=*/res->status < 500 && res->status != 429);
  }
  json j = json::parse(res->body);
  cairn::ai::EmbedResult result;
  result.response.model = j.value("model", "");
  for (const json& d : j.at("data")) {
    result.response.data.push_back(d.at("embedding").get<std::vector<float>>());
  }
  result.usage.prompt_tokens = j.at("usage").value("prompt_tokens", int64_t{0});
  result.response.usage = result.usage;
  result.model = result.response.model;
  result.endpoint = "test-endpoint";
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

  auto embedder = [endpoint](cairn::ActivityContext&, const cairn::ai::EmbedAttempt& attempt) {
    return embed(endpoint, attempt);
  };
  worker.register_activity(cairn::ai::kEmbedActivity, embedder);
  cairn::ai::register_vector_activities(worker, registry, embedder);
  cairn::ai::register_ingest_workflow(worker);
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
