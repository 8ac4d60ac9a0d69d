// cairn-deploy-worker: the worker that runs stacks' entity workflows and their provider
// activities on this machine. Logs go to stderr; SIGTERM / SIGINT stop it cleanly (polls end,
// activities in flight finish and report).
//   cairn-deploy-worker --address 127.0.0.1:7233 --namespace default
//       --task-queue cairn-deploy --state-dir /var/lib/cairn-deploy
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>
#include <unistd.h>

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
  // Providers start programs from their resources' own directories: a relative path given here
  // is made absolute now, and a program that is not there is an error before any deploy runs.
  for (auto [flag, path] : {std::pair{"--model-endpoint", &options.local.model_endpoint_binary},
                            std::pair{"--redis-server", &options.local.redis_server_binary},
                            std::pair{"--haproxy", &options.local.haproxy_binary}}) {
    if (path->empty() || path->find('/') == std::string::npos) {
      continue;  // empty: the default; a bare name: found in PATH
    }
    *path = std::filesystem::absolute(*path).lexically_normal().string();
    if (::access(path->c_str(), X_OK) != 0) {
      std::fprintf(stderr, "cairn-deploy-worker: %s %s: no executable there (%s)\n", flag,
                   path->c_str(), std::strerror(errno));
      return 2;
    }
  }
  state_dir = std::filesystem::absolute(state_dir).lexically_normal().string();
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
