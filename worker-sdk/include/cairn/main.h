// run_worker_main(): the standard main() of a worker binary. It parses
//   --address HOST:PORT  --namespace NS  --task-queue QUEUE  --replay FILE  --help
// and either replays FILE (history JSON export format, cairn/history_json.h) against the
// registered workflows and prints the verdict, or runs a Worker until SIGINT/SIGTERM.
// Exit codes: 0 OK (replay OK, or the worker stopped cleanly); 1 other failure (replay failed
// for another reason, or the worker could not run); 2 bad input (bad flags, unreadable or
// malformed history, unregistered workflow type); 3 non-determinism.
#pragma once

#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "cairn/client.h"
#include "cairn/replayer.h"
#include "cairn/worker.h"

namespace cairn {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitNonDeterminism = 3;

struct WorkerMainOptions {
  std::string program;   // name in messages and usage; empty: argv[0]
  ClientOptions client;  // defaults; --address and --namespace override; codecs apply to both modes
  WorkerOptions worker;  // defaults; --task-queue overrides worker.task_queue
};

namespace detail {

int run_worker_main(int argc, char** argv, WorkerMainOptions options,
                    const std::function<void(Worker&)>& register_worker,
                    const std::function<void(Replayer&)>& register_replayer);

}  // namespace detail

// `register_fn` fills a Worker, and for --replay a Replayer: write it generic
// ([](auto& r) { r.register_workflow(...); r.register_activity(...); }) or overload it for
// both. A function that only takes Worker& still runs workers; --replay then exits 2.
template <class F>
int run_worker_main(int argc, char** argv, F&& register_fn, WorkerMainOptions options = {}) {
  std::function<void(Replayer&)> for_replay;
  if constexpr (std::is_invocable_v<F&, Replayer&>) {
    for_replay = [&register_fn](Replayer& r) { register_fn(r); };
  }
  return detail::run_worker_main(
      argc, argv, std::move(options), [&register_fn](Worker& w) { register_fn(w); }, for_replay);
}

}  // namespace cairn
