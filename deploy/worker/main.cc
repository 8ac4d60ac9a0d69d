// cairn-deploy-worker: the worker that runs stacks' entity workflows and their provider
// activities on this machine. Logs go to stderr; SIGTERM / SIGINT stop it cleanly (polls end,
// activities in flight finish and report).
//   cairn-deploy-worker --address 127.0.0.1:7233 --namespace default \
//       --task-queue cairn-deploy --state-dir /var/lib/cairn-deploy
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "cairn/client.h"
#include "cairn/deploy/stack.h"
#include "cairn/worker.h"

int main(int argc, char** argv) {
  CLI::App app{"cairn-deploy-worker: runs stack deploys (cairnctl stack ...) on this machine"};
  std::string address = "127.0.0.1:7233";
  std::string ns = "default";
  std::string task_queue = cairn::deploy::kStackTaskQueue;
  std::string state_dir;
  std::string identity;
  cairn::deploy::StackWorkerOptions options;
  app.add_option("--address", address, "cairn-server address (host:port)");
  app.add_option("--namespace", ns, "namespace");
  app.add_option("--task-queue", task_queue, "task queue the stack requests use");
  app.add_option("--state-dir", state_dir,
                 "where providers keep what they run (<dir>/<stack>/<resource key>/)")
      ->required();
  app.add_option("--identity", identity, "worker identity (default: pid@host)");
  app.add_option("--model-endpoint", options.local.model_endpoint_binary,
                 "cairn-model-endpoint binary (default: $CAIRN_MODEL_ENDPOINT, then PATH)");
  app.add_option("--redis-server", options.local.redis_server_binary,
                 "redis-server binary (default: PATH)");
  app.add_option("--haproxy", options.local.haproxy_binary,
                 "haproxy binary (default: $CAIRN_HAPROXY, then PATH)");
  CLI11_PARSE(app, argc, argv);
  try {
    cairn::ClientOptions co;
    co.address = address;
    co.ns = ns;
    co.identity = identity;
    cairn::Client client(co);
    options.state_dir = state_dir;
    cairn::WorkerOptions wo;
    wo.task_queue = task_queue;
    wo.identity = identity;
    cairn::Worker worker(client, wo);
    cairn::deploy::register_stack_worker(worker, client, options);
    std::fprintf(stderr, "cairn-deploy-worker: polling %s/%s on %s, state in %s\n", ns.c_str(),
                 task_queue.c_str(), address.c_str(), state_dir.c_str());
    std::fflush(stderr);
    worker.run_until_signal();
    std::fprintf(stderr, "cairn-deploy-worker: stopped\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cairn-deploy-worker: %s\n", e.what());
    return 1;
  }
}
