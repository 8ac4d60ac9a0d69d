// hello: `hello worker` runs the hello.greet worker until SIGINT/SIGTERM (or, with --replay
// FILE, replays an exported history against the workflow code); `hello run` starts a greeting,
// sends the punctuation signal, waits for the result and prints the run's history as a
// timeline; `hello export` writes a run's history in the history JSON export format.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "cairn/client.h"
#include "cairn/history.h"
#include "cairn/history_json.h"
#include "cairn/main.h"
#include "cairn/worker.h"
#include "greet.h"

namespace {

using namespace std::chrono_literals;

// `hello worker [--address A] [--task-queue Q] [--replay FILE]`: the SDK's standard worker main.
int run_worker(int argc, char** argv) {
  cairn::WorkerMainOptions options;
  options.program = "hello worker";
  options.worker.task_queue = hello::kTaskQueue;
  return cairn::run_worker_main(
      argc, argv, [](auto& registry) { hello::register_all(registry); }, options);
}

int export_history(const std::string& address, const std::string& id, const std::string& run_id,
                   const std::string& out) {
  cairn::Client client({.address = address});
  cairn::WorkflowHistory h;
  h.workflow_id = id;
  h.run_id = run_id.empty()
                 ? client.handle(id).describe().workflow_execution_info().execution().run_id()
                 : run_id;
  h.events = client.handle(id, h.run_id).history();
  cairn::save_history_json(out, h);
  std::cout << "Exported " << h.events.size() << " events of workflow " << id << " (run "
            << h.run_id << ") to " << out << std::endl;
  return 0;
}

int run_greeting(const std::string& address, const std::string& task_queue,
                 const std::string& name, const std::string& punctuation, const std::string& id,
                 int timeout_s) {
  cairn::Client client({.address = address});
  if (!client.wait_until_ready(10s)) {
    std::cerr << "hello: cairn-server at " << address << " is not answering\n";
    return 1;
  }
  cairn::StartWorkflowOptions opts;
  opts.id = id.empty() ? "hello-" + std::to_string(std::chrono::system_clock::now()
                                                        .time_since_epoch()
                                                        .count())
                       : id;
  opts.task_queue = task_queue;
  auto handle = client.start(hello::kWorkflow, opts, name);
  std::cout << "Started workflow " << handle.workflow_id() << " (run " << handle.run_id() << ")"
            << std::endl;
  if (!punctuation.empty()) {
    handle.signal(hello::kPunctuationSignal, punctuation);
  }
  std::string result = handle.result<std::string>(std::chrono::seconds(timeout_s));
  std::cout << "Result: " << result << "\n";
  std::cout << cairn::history_timeline(handle.history());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "worker") {
    return run_worker(argc - 1, argv + 1);  // its own flags: see cairn/main.h
  }
  CLI::App app{"hello: the Cairn hello-world workflow"};
  app.require_subcommand(1);
  std::string address = "127.0.0.1:7233";
  std::string task_queue = hello::kTaskQueue;

  // Parsed by run_worker_main() (see above); listed here for --help.
  app.add_subcommand("worker",
                     "run the hello worker until SIGINT/SIGTERM, or --replay FILE "
                     "(see hello worker --help)");

  std::string name = "World";
  std::string punctuation;
  std::string id;
  int timeout_s = 60;
  auto* run = app.add_subcommand("run", "start hello.greet, wait for its result, print history");
  run->add_option("--address", address, "cairn-server address")->capture_default_str();
  run->add_option("--task-queue", task_queue, "task queue of the workers")->capture_default_str();
  run->add_option("--name", name, "who to greet")->capture_default_str();
  run->add_option("--punctuation", punctuation, "sent as the punctuation signal");
  run->add_option("--id", id, "workflow id (default: generated)");
  run->add_option("--timeout", timeout_s, "seconds to wait for the result")->capture_default_str();

  std::string run_id;
  std::string out;
  auto* exp = app.add_subcommand("export", "write a run's history as history JSON");
  exp->add_option("--address", address, "cairn-server address")->capture_default_str();
  exp->add_option("--id", id, "workflow id")->required();
  exp->add_option("--run-id", run_id, "run id (default: the current run)");
  exp->add_option("--out", out, "output file")->required();

  CLI11_PARSE(app, argc, argv);
  try {
    if (exp->parsed()) {
      return export_history(address, id, run_id, out);
    }
    return run_greeting(address, task_queue, name, punctuation, id, timeout_s);
  } catch (const cairn::Error& e) {
    std::cerr << "hello: " << e.what() << "\n";
    return 1;
  }
}
