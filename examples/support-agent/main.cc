// support-agent: a customer-support agent on Cairn's AI batteries (README.md).
//   support-agent worker  — runs the worker: the ticket workflow, the model calls (router, cache,
//                           budgets), the knowledge-base index, the invoice tool, approvals
//   support-agent ingest  — indexes the knowledge base (the durable ingestion workflow)
//   support-agent tickets — answers a batch of tickets and prints what each cost
//   support-agent totals  — sums the summaries of several passes
// scripts/demo.sh runs all of it against freshly started servers.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cairn/ai/approval.h"
#include "cairn/ai/budget.h"
#include "cairn/ai/cache.h"
#include "cairn/ai/claim_check.h"
#include "cairn/ai/cost.h"
#include "cairn/ai/ingest.h"
#include "cairn/ai/metrics.h"
#include "cairn/ai/router.h"
#include "cairn/ai/runtime.h"
#include "cairn/ai/session.h"
#include "cairn/ai/vector_activities.h"
#include "cairn/ai/vector_store.h"
#include "cairn/client.h"
#include "cairn/worker.h"
#include "summary.h"
#include "ticket.h"

namespace {

using namespace std::chrono_literals;
namespace ai = cairn::ai;

struct Common {
  std::string address = "127.0.0.1:7233";
  std::string router_config;
  std::string redis;  // host:port; empty: no response cache
  // `cairnctl stack status --stack support-agent -o json` saved to a file (or just its
  // "outputs" member): the router config and the Redis address come from the stack's outputs.
  std::string stack_outputs;
};

void add_common(CLI::App* cmd, Common& c) {
  cmd->add_option("--address", c.address, "cairn-server address")->envname("CAIRN_ADDRESS");
  cmd->add_option("--router-config", c.router_config,
                  "router config (YAML): tiers, endpoints, prices (ai/docs/router.md)");
  cmd->add_option("--redis", c.redis, "redis-server HOST:PORT for the response cache");
  cmd->add_option("--stack-outputs", c.stack_outputs,
                  "the stack's outputs (`cairnctl stack status --stack support-agent -o json` "
                  "saved to a file): router config from router.router_config, Redis from "
                  "cache.host / cache.port; instead of --router-config and --redis");
}

// The router config: --router-config's file, or the stack's router output (YAML text, or the
// path of a file holding it).
ai::RouterConfig router_config_of(const Common& c) {
  if (!c.router_config.empty()) {
    return ai::load_router_config(c.router_config);
  }
  if (c.stack_outputs.empty()) {
    throw std::runtime_error(
        "--router-config (see examples/support-agent/router.yaml) or --stack-outputs is "
        "required");
  }
  std::ifstream in(c.stack_outputs);
  if (!in) {
    throw std::runtime_error("cannot read " + c.stack_outputs + " (--stack-outputs)");
  }
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  const nlohmann::json outputs = doc.is_object() && doc.contains("outputs") ? doc["outputs"] : doc;
  if (!outputs.is_object() || !outputs.contains("router") ||
      !outputs["router"].value("router_config", nlohmann::json()).is_string()) {
    throw std::runtime_error(c.stack_outputs +
                             " (--stack-outputs) has no router.router_config output: is the "
                             "stack applied? (cairnctl stack status --stack support-agent)");
  }
  const std::string text = outputs["router"]["router_config"].get<std::string>();
  std::error_code ec;
  if (text.find('\n') == std::string::npos && std::filesystem::is_regular_file(text, ec)) {
    return ai::load_router_config(text);
  }
  return ai::parse_router_config(text, "stack output router.router_config");
}

// --redis, or HOST:PORT from the stack's cache outputs (host + port, or a redis:// url); empty
// when neither names one.
std::string redis_of(const Common& c) {
  if (!c.redis.empty() || c.stack_outputs.empty()) {
    return c.redis;
  }
  std::ifstream in(c.stack_outputs);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  const nlohmann::json outputs = doc.is_object() && doc.contains("outputs") ? doc["outputs"] : doc;
  if (!outputs.is_object() || !outputs.contains("cache") || !outputs["cache"].is_object()) {
    return "";
  }
  const nlohmann::json& cache = outputs["cache"];
  if (cache.contains("host") && cache.contains("port")) {
    return cache["host"].get<std::string>() + ":" + std::to_string(cache["port"].get<int>());
  }
  std::string url = cache.value("url", "");
  if (url.rfind("redis://", 0) == 0) {
    url = url.substr(8);
    return url.substr(0, url.find('/'));
  }
  return "";
}

// Where the vector indexes live: --index-dir; else, with --stack-outputs, the registry the
// stack's `kb` vector_index resource built (kb.registry_root; the agent searches index "kb");
// else ./support-index.
std::string index_dir_of(const Common& c, const std::string& index_dir) {
  if (!index_dir.empty() || c.stack_outputs.empty()) {
    return index_dir.empty() ? "./support-index" : index_dir;
  }
  std::ifstream in(c.stack_outputs);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  const nlohmann::json outputs = doc.is_object() && doc.contains("outputs") ? doc["outputs"] : doc;
  if (!outputs.is_object() || !outputs.contains("kb") ||
      !outputs["kb"].value("registry_root", nlohmann::json()).is_string()) {
    throw std::runtime_error(c.stack_outputs +
                             " (--stack-outputs) has no kb.registry_root output: is the stack "
                             "applied? Or pass --index-dir and run `support-agent ingest`");
  }
  return outputs["kb"]["registry_root"].get<std::string>();
}

cairn::Client connect(const Common& c) {
  cairn::Client client({.address = c.address});
  if (!client.wait_until_ready(10s)) {
    throw std::runtime_error("cairn-server at " + c.address +
                             " is not answering: start it, or pass --address");
  }
  return client;
}

// The shared setup every command needs before work starts: search attributes and the budget.
void prepare_namespace(cairn::Client& client) {
  ai::register_cost_search_attributes(client);
  ai::register_approval_search_attributes(client);
  ai::ensure_budget(client, support::kBudgetScope, support::kBudgetMicros,
                    {.task_queue = support::kTaskQueue});
}

int run_worker(const Common& c, const std::string& index_dir, const std::string& blob_dir,
               const std::string& invoices, const std::string& metrics_address) {
  ai::RouterConfig router = router_config_of(c);
  const std::string redis = redis_of(c);
  cairn::Client client = connect(c);
  auto runtime = std::make_unique<ai::AiRuntime>(std::move(router));
  auto metrics = std::make_shared<ai::AiMetrics>();
  runtime->set_metrics(metrics);
  if (!metrics_address.empty()) {
    metrics->expose(metrics_address);
    std::cout << "metrics on http://" << metrics_address << "/metrics" << std::endl;
  }
  if (!redis.empty()) {
    ai::CacheOptions cache;
    auto colon = redis.rfind(':');
    cache.host = redis.substr(0, colon);
    cache.port = std::stoi(redis.substr(colon + 1));
    runtime->set_cache(std::make_shared<ai::ResponseCache>(cache));
  }
  runtime->set_blob_store(std::make_shared<ai::FileBlobStore>(blob_dir));
  ai::VectorRegistry indexes(index_dir_of(c, index_dir));

  cairn::Worker worker(client, {.task_queue = support::kTaskQueue});
  // Every AI activity and workflow: chat, embed, route, blobs, budgets, approvals, ingestion,
  // the vector activities over `indexes`.
  ai::register_all(worker, client, *runtime, indexes);
  support::register_invoice_tool(worker, invoices);
  worker.register_workflow(support::kTicketWorkflow, support::answer_ticket);
  std::cout << "support-agent worker polling task queue " << support::kTaskQueue << " on "
            << c.address << std::endl;
  worker.run_until_signal();
  return 0;
}

int run_ingest(const Common& c, const std::string& kb_dir) {
  cairn::Client client = connect(c);
  prepare_namespace(client);
  ai::IngestRequest request;
  request.index = support::kIndex;
  request.chunk_chars = 400;
  request.overlap = 0;
  request.batch_size = 8;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(kb_dir)) {
    if (entry.path().extension() == ".md") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    request.documents.push_back(
        {.id = path.stem().string(), .text = text, .metadata = {{"file", path.filename()}}});
  }
  if (request.documents.empty()) {
    throw std::runtime_error("no .md files in " + kb_dir + " (--kb-dir)");
  }
  // One ingestion per knowledge-base version: a second start with the same id is refused while
  // it runs and finds the finished run afterwards.
  auto handle = client.start(ai::kIngestWorkflow,
                             {.id = "support-kb-ingest", .task_queue = support::kTaskQueue},
                             request);
  auto result = handle.result<ai::IngestResult>(5min);
  std::cout << "   indexed " << result.documents << " documents as " << result.chunks
            << " chunks in " << result.batches << " embedding batches (index \"" << result.index
            << "\": " << result.index_size << " vectors)" << std::endl;
  return 0;
}

int run_tickets(const Common& c, const std::string& tickets_path, int pass,
                const std::string& summary_path) {
  cairn::Client client = connect(c);
  prepare_namespace(client);
  std::ifstream in(tickets_path);
  if (!in) {
    throw std::runtime_error("cannot read " + tickets_path + " (--tickets)");
  }
  auto tickets = nlohmann::json::parse(in).get<std::vector<support::Ticket>>();
  std::vector<cairn::WorkflowHandle> handles;
  for (const auto& t : tickets) {
    handles.push_back(client.start(
        support::kTicketWorkflow,
        {.id = "ticket-" + t.id + "-pass" + std::to_string(pass), .task_queue = support::kTaskQueue},
        t));
  }
  std::cout << "   started " << handles.size() << " ticket workflows" << std::endl;
  std::vector<support::TicketAnswer> answers;
  for (auto& h : handles) {
    answers.push_back(h.result<support::TicketAnswer>(10min));
  }
  support::PassSummary summary{.pass = pass, .answers = answers,
                               .budget = ai::ledger_state(client, support::kBudgetScope)};
  support::print_pass(std::cout, summary);
  if (!summary_path.empty()) {
    std::ofstream(summary_path) << nlohmann::json(summary).dump(2);
  }
  return 0;
}

int run_totals(const std::vector<std::string>& paths) {
  std::vector<support::PassSummary> passes;
  for (const auto& p : paths) {
    std::ifstream in(p);
    if (!in) {
      throw std::runtime_error("cannot read the summary " + p);
    }
    passes.push_back(nlohmann::json::parse(in).get<support::PassSummary>());
  }
  support::print_totals(std::cout, passes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"support-agent: a customer-support agent on Cairn's AI batteries"};
  app.require_subcommand(1);
  Common common;

  auto* worker = app.add_subcommand("worker", "run the support-agent worker until SIGINT/SIGTERM");
  add_common(worker, common);
  std::string index_dir, blob_dir = "./support-blobs", invoices, metrics;
  worker->add_option("--index-dir", index_dir,
                     "where the vector indexes live (default: the stack's kb index with "
                     "--stack-outputs, else ./support-index)");
  worker->add_option("--blob-dir", blob_dir, "where large payloads are stored (claim check)");
  worker->add_option("--invoices", invoices, "the invoice tool's data (invoices.json)")->required();
  worker->add_option("--metrics", metrics, "serve Prometheus metrics on HOST:PORT");

  auto* ingest = app.add_subcommand("ingest", "index the knowledge base");
  add_common(ingest, common);
  std::string kb_dir;
  ingest->add_option("--kb-dir", kb_dir, "folder of .md documents")->required();

  auto* tickets = app.add_subcommand("tickets", "answer a batch of tickets and print the costs");
  add_common(tickets, common);
  std::string tickets_path, summary_path;
  int pass = 1;
  tickets->add_option("--tickets", tickets_path, "tickets JSON file")->required();
  tickets->add_option("--pass", pass, "pass number (part of the workflow ids)");
  tickets->add_option("--summary", summary_path, "write the pass's summary JSON here");

  auto* totals = app.add_subcommand("totals", "sum the summaries of several passes");
  std::vector<std::string> summaries;
  totals->add_option("--summary", summaries, "summary JSON files")->required();

  CLI11_PARSE(app, argc, argv);
  try {
    if (*worker) return run_worker(common, index_dir, blob_dir, invoices, metrics);
    if (*ingest) return run_ingest(common, kb_dir);
    if (*tickets) return run_tickets(common, tickets_path, pass, summary_path);
    if (*totals) return run_totals(summaries);
  } catch (const std::exception& e) {
    std::cerr << "support-agent: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
