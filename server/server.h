// Server: one cairn-server process — the RocksDB store, the engine and the gRPC service —
// started and stopped as a unit. Used by main.cc and by in-process server tests.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "history/history_store.h"
#include "scheduler/clock.h"
#include "server/engine.h"
#include "server/retention.h"
#include "server/service.h"

namespace cairn {

struct ServerOptions {
  std::string data_dir = "./cairn-data";
  std::string listen = "127.0.0.1:7233";  // port 0: pick a free one (see Server::port())
  int32_t shard_count = 16;               // only when the data dir is created
  bool sync = true;                       // WAL fsync per commit; off only for labelled benchmarks
  int64_t retention_sweep_interval_ms = 60'000;  // how often closed runs past retention are deleted
  EngineOptions engine;
};

// Validates options once, at start-up. kInvalidArgument naming the flag.
Status validate_server_options(const ServerOptions& options);

class Server {
 public:
  // Opens the store, recovers queues and timers, and starts serving. `clock` may be null
  // (SystemClock). Errors say what to fix (a locked or unreadable data dir, a busy port).
  static Result<std::unique_ptr<Server>> start(const ServerOptions& options, Clock* clock = nullptr);
  ~Server();

  int port() const { return port_; }
  Engine& engine() { return *engine_; }

  // Graceful: answers waiting polls, stops accepting calls, lets in-flight transitions finish
  // (up to grace_ms), then stops timers and closes the store. Idempotent.
  void shutdown(int64_t grace_ms = 10'000);

 private:
  Server() = default;

  std::unique_ptr<SystemClock> own_clock_;
  Clock* clock_ = nullptr;
  std::unique_ptr<HistoryStore> store_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<WorkflowServiceImpl> service_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<RetentionSweeper> sweeper_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace cairn
