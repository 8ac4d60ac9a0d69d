// run_worker_main(): flag parsing, --replay FILE, and the worker run until SIGINT/SIGTERM.
// Hand-rolled flags: the SDK library stays free of CLI11's compile cost.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cairn/main.h"

namespace cairn::detail {
namespace {

struct Flags {
  std::optional<std::string> address;
  std::optional<std::string> ns;
  std::optional<std::string> task_queue;
  std::optional<std::string> replay;
  bool help = false;
};

std::string usage(const std::string& program, const WorkerMainOptions& o) {
  return "usage: " + program +
         " [--address HOST:PORT] [--namespace NS] [--task-queue QUEUE] [--replay FILE]\n"
         "  --address     cairn-server address (default " + o.client.address + ")\n"
         "  --namespace   namespace (default " + o.client.ns + ")\n"
         "  --task-queue  task queue to poll" +
         (o.worker.task_queue.empty() ? std::string(" (required)")
                                      : " (default " + o.worker.task_queue + ")") +
         "\n"
         "  --replay      replay a history JSON file against the registered workflows and exit:\n"
         "                0 OK, 3 non-determinism, 2 bad input, 1 other failure\n";
}

// Parses `--flag value` and `--flag=value`. Returns an error message, empty on success.
std::string parse(int argc, char** argv, Flags* flags) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--help" || arg == "-h") {
      flags->help = true;
      continue;
    }
    std::optional<std::string> value;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    std::optional<std::string>* target = arg == "--address"      ? &flags->address
                                         : arg == "--namespace"  ? &flags->ns
                                         : arg == "--task-queue" ? &flags->task_queue
                                         : arg == "--replay"     ? &flags->replay
                                                                 : nullptr;
    if (target == nullptr) {
      return "unknown argument " + arg;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        return arg + " needs a value";
      }
      value = args[++i];
    }
    *target = *value;
  }
  return "";
}

int replay_file(const std::string& program, const std::string& path,
                const WorkerMainOptions& options,
                const std::function<void(Replayer&)>& register_replayer) {
  if (!register_replayer) {
    std::cerr << program
              << ": --replay needs workflows registered for replay (a registration function "
                 "that also takes cairn::Replayer&)\n";
    return kExitBadInput;
  }
  ReplayerOptions ro;
  ro.ns = options.client.ns;
  ro.codecs = options.client.codecs;
  Replayer replayer(ro);
  register_replayer(replayer);
  ReplayVerdict v = replayer.replay_file(path);
  std::string run = v.workflow_id.empty()
                        ? path
                        : "workflow " + v.workflow_id + " (run " + v.run_id + ", type " +
                              v.workflow_type + ") from " + path;
  switch (v.kind) {
    case ReplayVerdict::Kind::kOk:
      std::cout << v.message << " (" << run << ")" << std::endl;
      return kExitOk;
    case ReplayVerdict::Kind::kNonDeterminism:
      std::cout << v.message << "\n  in " << run << std::endl;
      return kExitNonDeterminism;
    case ReplayVerdict::Kind::kBadInput:
      std::cout << v.message << std::endl;
      return kExitBadInput;
    case ReplayVerdict::Kind::kFailed:
      break;
  }
  std::cout << v.message << "\n  in " << run << std::endl;
  return kExitFailure;
}

}  // namespace

int run_worker_main(int argc, char** argv, WorkerMainOptions options,
                    const std::function<void(Worker&)>& register_worker,
                    const std::function<void(Replayer&)>& register_replayer) {
  std::string program = !options.program.empty() ? options.program
                        : argc > 0               ? std::string(argv[0])
                                                 : "worker";
  Flags flags;
  if (std::string error = parse(argc, argv, &flags); !error.empty()) {
    std::cerr << program << ": " << error << "\n" << usage(program, options);
    return kExitBadInput;
  }
  if (flags.help) {
    std::cout << usage(program, options);
    return kExitOk;
  }
  if (flags.address) {
    options.client.address = *flags.address;
  }
  if (flags.ns) {
    options.client.ns = *flags.ns;
  }
  if (flags.task_queue) {
    options.worker.task_queue = *flags.task_queue;
  }
  if (flags.replay) {
    return replay_file(program, *flags.replay, options, register_replayer);
  }
  if (options.worker.task_queue.empty()) {
    std::cerr << program << ": --task-queue is required\n" << usage(program, options);
    return kExitBadInput;
  }
  try {
    Client client(options.client);
    Worker worker(client, options.worker);
    register_worker(worker);
    std::cout << program << ": polling task queue " << options.worker.task_queue << " on "
              << options.client.address << " (Ctrl-C to stop)" << std::endl;
    worker.run_until_signal();
    std::cout << program << ": stopped" << std::endl;
    return kExitOk;
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace cairn::detail
