// ai-worker-client: a worker process for the client's end-to-end tests. It loads a router
// config file, registers AiRuntime's activities ("cairn.ai.chat", "cairn.ai.embed") and the
// workflow "client.chat" (one chat activity with the options given in its input), logs at debug
// level, and runs until SIGTERM. Keys reach it only through the environment or a key file, as
// the config names them.
#include "cairn/client.h"

#include <chrono>
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cairn/ai/router.h"
#include "cairn/ai/runtime.h"
#include "cairn/worker.h"

namespace {

struct ChatCall {
  cairn::ai::ChatAttempt attempt;
  int max_attempts = 3;
  int64_t initial_interval_ms = 50;
  int64_t heartbeat_ms = 0;
  int64_t start_to_close_ms = 30000;
  int64_t schedule_to_close_ms = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ChatCall, attempt, max_attempts,
                                                initial_interval_ms, heartbeat_ms,
                                                start_to_close_ms, schedule_to_close_ms)

cairn::ai::ChatResult chat_workflow(cairn::WorkflowContext& ctx, ChatCall call) {
  cairn::ActivityOptions o;
  o.start_to_close = std::chrono::milliseconds(call.start_to_close_ms);
  o.schedule_to_close = std::chrono::milliseconds(call.schedule_to_close_ms);
  o.heartbeat = std::chrono::milliseconds(call.heartbeat_ms);
  o.retry.maximum_attempts = call.max_attempts;
  o.retry.initial_interval = std::chrono::milliseconds(call.initial_interval_ms);
  o.retry.backoff_coefficient = 1.0;
  return ctx.activity<cairn::ai::ChatResult>(cairn::ai::kChatActivity, call.attempt, o).get();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ai-worker-client: AiRuntime's activities for the client's e2e tests"};
  std::string address = "127.0.0.1:7233";
  std::string task_queue = "ai-client";
  std::string config_path;
  app.add_option("--address", address, "cairn-server address")->capture_default_str();
  app.add_option("--task-queue", task_queue, "task queue")->capture_default_str();
  app.add_option("--config", config_path, "router config (YAML or JSON)")->required();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::debug);  // the most the worker ever logs
  try {
    cairn::ai::AiRuntime runtime(cairn::ai::load_router_config(config_path));
    cairn::ClientOptions co;
    co.address = address;
    cairn::Client client(co);
    cairn::WorkerOptions wo;
    wo.task_queue = task_queue;
    cairn::Worker worker(client, wo);
    runtime.register_activities(worker);
    worker.register_workflow("client.chat", &chat_workflow);
    spdlog::info("ai-worker-client: serving {} on {}", task_queue, address);
    worker.run_until_signal();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ai-worker-client: %s\n", e.what());
    return 1;
  }
  return 0;
}
