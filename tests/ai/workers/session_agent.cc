// ai-worker-session_agent: a worker process for the agent crash test. It serves workflow
// "test.agent.crash" (a tool-calling agent over one tier, every call reserved in a shared
// budget) and the tool "lookup_order", which records each attempt in --gate-dir and then waits
// until the file <gate-dir>/open exists, so the test can kill -9 the worker while a tool call
// is in flight (mid-conversation) and resume with another worker process.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "cairn/ai/agent.h"
#include "cairn/ai/budget.h"
#include "cairn/ai/claim_check.h"
#include "cairn/ai/runtime.h"
#include "cairn/ai/session.h"
#include "cairn/client.h"
#include "cairn/worker.h"

namespace {

using namespace cairn;
using namespace cairn::ai;

struct AgentInput {
  std::string question;
  std::string budget_scope;
};

void from_json(const nlohmann::json& j, AgentInput& v) {
  v.question = j.value("question", "");
  v.budget_scope = j.value("budget_scope", "");
}

ToolSpec lookup_order_spec() {
  ToolSpec spec;
  spec.name = "lookup_order";
  spec.description = "Look up the shipping status of an order by its order id.";
  spec.parameters = {{"type", "object"},
                     {"properties", {{"order_id", {{"type", "string"}}}}},
                     {"required", {"order_id"}}};
  return spec;
}

AgentResult agent_workflow(WorkflowContext& ctx, const AgentInput& input) {
  SessionOptions so;
  so.budget_scope = input.budget_scope;
  so.chat_activity.retry.initial_interval = std::chrono::milliseconds(100);
  Session session(ctx, so);
  AgentOptions ao;
  ao.tools.push_back(lookup_order_spec());
  ao.route.tier = "standard";
  // A lost tool attempt (its worker killed) is noticed by the missing heartbeats.
  ao.tool_activity.heartbeat = std::chrono::seconds(2);
  ao.tool_activity.retry.initial_interval = std::chrono::milliseconds(100);
  std::vector<Message> conversation = {
      {.role = "system", .content = "You answer questions about orders. Use the tools."},
      {.role = "user", .content = input.question}};
  return run_agent(session, std::move(conversation), ao);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"worker for the session agent crash test"};
  std::string address = "127.0.0.1:7233";
  std::string task_queue = "ai-session-agent";
  std::string endpoint_url;
  std::string blob_dir;
  std::string gate_dir;
  app.add_option("--address", address);
  app.add_option("--task-queue", task_queue);
  app.add_option("--endpoint-url", endpoint_url)->required();
  app.add_option("--blob-dir", blob_dir)->required();
  app.add_option("--gate-dir", gate_dir)->required();
  CLI11_PARSE(app, argc, argv);

  RouterConfig config;
  TierConfig tier;
  tier.name = "standard";
  tier.model = "cairn-echo";
  tier.price_set = true;
  tier.input_per_million = 3'000'000;
  tier.output_per_million = 15'000'000;
  tier.max_output_tokens = 256;
  EndpointConfig endpoint;
  endpoint.name = "standard-1";
  endpoint.base_url = endpoint_url;
  endpoint.model = "cairn-echo";
  tier.endpoints.push_back(endpoint);
  config.tiers.push_back(tier);
  config.default_tier = "standard";

  AiRuntime runtime(config);
  runtime.set_blob_store(std::make_shared<FileBlobStore>(blob_dir));

  ClientOptions co;
  co.address = address;
  Client client(co);
  WorkerOptions wo;
  wo.task_queue = task_queue;
  Worker worker(client, wo);
  register_all(worker, client, runtime);
  worker.register_workflow("test.agent.crash", agent_workflow);
  register_tool(
      worker, lookup_order_spec(), [gate_dir](ActivityContext& actx, const nlohmann::json& args) {
        std::ofstream(gate_dir + "/attempt-" + std::to_string(actx.info().attempt)) << ::getpid();
        while (!std::filesystem::exists(gate_dir + "/open")) {
          actx.heartbeat();
          std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the gate file
        }
        return "Order " + args.value("order_id", std::string("?")) +
               " shipped on December 3 by courier and arrives on December 9.";
      });
  worker.run_until_signal();
  return 0;
}
