// cairn-server: the durable workflow server. Flags: data dir, listen address, shards, log level.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <pthread.h>

#include "server/server.h"

int main(int argc, char** argv) {
  cairn::ServerOptions options;
  std::string log_level = "info";
  std::string port_file;
  int64_t cache_runs = static_cast<int64_t>(options.engine.state_cache_runs);
  CLI::App app{"cairn-server: durable workflow runtime for AI agents (event-sourced, RocksDB)"};
  app.add_option("--data-dir", options.data_dir, "data directory (created if missing)")
      ->capture_default_str();
  app.add_option("--listen", options.listen, "gRPC listen address host:port (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--shards", options.shard_count,
                 "shard count, fixed when the data directory is created")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  app.add_option("--threads", options.engine.worker_threads, "transition threads")
      ->capture_default_str();
  app.add_option("--cache-runs", cache_runs, "mutable states kept in memory")->capture_default_str();
  app.add_option("--max-payload-bytes", options.engine.limits.max_payload_bytes,
                 "largest accepted payload")
      ->capture_default_str();
  auto& limits = options.engine.limits;
  app.add_option("--history-suggest-events", limits.history_suggest_events,
                 "suggest continue-as-new to workflows past this many history events")
      ->capture_default_str();
  app.add_option("--history-suggest-bytes", limits.history_suggest_bytes,
                 "suggest continue-as-new to workflows past this history size")
      ->capture_default_str();
  app.add_option("--history-max-events", limits.history_max_events,
                 "terminate a run whose history passes this many events")
      ->capture_default_str();
  app.add_option("--history-max-bytes", limits.history_max_bytes,
                 "terminate a run whose history passes this size")
      ->capture_default_str();
  app.add_option("--max-pending-children", limits.max_pending_children,
                 "child workflows a run may have pending at once")
      ->capture_default_str();
  app.add_option("--max-pending-signals", limits.max_pending_signals,
                 "signals to other workflows a run may have pending at once")
      ->capture_default_str();
  app.add_flag("--hold-transfers-for-testing", options.engine.hold_transfers_for_testing,
               "crash tests only: write cross-run transfer tasks but never execute them");
  app.add_option("--retention-sweep-interval-ms", options.retention_sweep_interval_ms,
                 "how often closed runs past their namespace's retention are deleted")
      ->capture_default_str();
  app.add_option("--port-file", port_file, "write the bound port to this file once serving");
  app.add_flag("!--no-sync", options.sync,
               "do not fsync commits (benchmarks only: acknowledged work can be lost)");
  CLI11_PARSE(app, argc, argv);
  options.engine.state_cache_runs = static_cast<size_t>(std::max<int64_t>(cache_runs, 1));

  auto level = spdlog::level::from_str(log_level);
  if (level == spdlog::level::off && log_level != "off") {
    std::fprintf(stderr, "cairn-server: unknown --log-level %s (use trace, debug, info, warn, error)\n",
                 log_level.c_str());
    return 2;
  }
  spdlog::set_level(level);

  // SIGTERM/SIGINT are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = cairn::Server::start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "cairn-server: %s\n", server.status().to_string().c_str());
    return 1;
  }
  spdlog::info("cairn-server serving on port {} (data dir {}, {} shards{})", (*server)->port(),
               options.data_dir, (*server)->engine().shard_count(),
               options.sync ? "" : ", fsync OFF");
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << (*server)->port() << "\n";
    }
    std::rename(tmp.c_str(), port_file.c_str());
  }
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down gracefully", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->shutdown();
  spdlog::info("cairn-server stopped");
  return 0;
}
