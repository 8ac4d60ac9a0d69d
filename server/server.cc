#include "server/server.h"

#include <spdlog/spdlog.h>

#include "server/handlers/transfer.h"

namespace cairn {

Status validate_server_options(const ServerOptions& o) {
  if (o.data_dir.empty()) {
    return invalid_argument("--data-dir must not be empty");
  }
  if (o.shard_count < 1 || o.shard_count > 4096) {
    return invalid_argument("--shards must be between 1 and 4096");
  }
  if (o.listen.find(':') == std::string::npos) {
    return invalid_argument("--listen must be host:port, e.g. 127.0.0.1:7233");
  }
  if (o.engine.worker_threads < 1 || o.engine.worker_threads > 1024) {
    return invalid_argument("--threads must be between 1 and 1024");
  }
  if (o.engine.limits.max_payload_bytes < 1024) {
    return invalid_argument("--max-payload-bytes must be at least 1024");
  }
  if (o.engine.state_cache_runs < 1) {
    return invalid_argument("--cache-runs must be at least 1");
  }
  if (o.retention_sweep_interval_ms < 100) {
    return invalid_argument("--retention-sweep-interval-ms must be at least 100");
  }
  if (o.engine.max_poll_ms < 1000) {
    return invalid_argument("the maximum poll time must be at least 1 s");
  }
  return Status();
}

namespace {

// A store that does not open, or whose records do not read back, because its files are damaged
// (RocksDB found a bad checksum, a torn MANIFEST, a CURRENT naming nothing): the server must not
// serve from it. The message says so, names the directory and what the operator can do.
Status refuse_damaged_store(Status status, const std::string& data_dir) {
  if (status.code() != StatusCode::kDataLoss) {
    return status;
  }
  return data_loss(status.message() + "\nThe data directory " + data_dir +
                   " is damaged, so cairn-server will not start on it. Stop, keep a copy of " +
                   "the directory for analysis, and restore it from the latest backup (or start " +
                   "on a new empty directory); after a restore, `cairnctl admin verify --all` " +
                   "checks every run.");
}

}  // namespace

Result<std::unique_ptr<Server>> Server::start(const ServerOptions& options, Clock* clock) {
  CAIRN_RETURN_IF_ERROR(validate_server_options(options));
  std::unique_ptr<Server> s(new Server());
  if (clock == nullptr) {
    s->own_clock_ = std::make_unique<SystemClock>();
    clock = s->own_clock_.get();
  }
  s->clock_ = clock;
  RocksStoreOptions ro;
  ro.path = options.data_dir;
  ro.shard_count = options.shard_count;
  ro.sync = options.sync;
  auto store = open_rocks_store(ro);
  if (!store.ok()) {
    return refuse_damaged_store(store.status(), options.data_dir);
  }
  s->store_ = std::move(store).value();
  s->engine_ = std::make_unique<Engine>(s->store_.get(), clock, options.engine);
  s->engine_->set_transfer_executor(handlers::execute_transfer);
  CAIRN_RETURN_IF_ERROR(refuse_damaged_store(s->engine_->start(), options.data_dir));
  s->service_ = std::make_unique<WorkflowServiceImpl>(s->engine_.get());
  s->service_->start(options.engine.timer_thread);

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &s->port_);
  builder.RegisterService(s->service_.get());
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(256 << 20);
  s->grpc_ = builder.BuildAndStart();
  if (!s->grpc_ || s->port_ == 0) {
    s->engine_->stop();
    return unavailable("cannot listen on " + options.listen +
                       ": is another cairn-server running there? pick another with --listen");
  }
  s->sweeper_ = std::make_unique<RetentionSweeper>(s->engine_.get(),
                                                   options.retention_sweep_interval_ms);
  s->sweeper_->start();
  return s;
}

namespace {
// How long gRPC may take to send answers already finished when the server shuts down.
constexpr int64_t kFlushMs = 200;
}  // namespace

Server::~Server() { shutdown(); }

void Server::shutdown(int64_t grace_ms) {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  if (sweeper_) {
    sweeper_->stop();
  }
  if (service_) {
    service_->begin_shutdown();  // waiting polls answered empty: workers poll again elsewhere
  }
  if (grpc_) {
    // Every handler runs on the engine's pool, so an idle pool means every accepted request has
    // finished its transition and called Finish(). gRPC's own Shutdown(deadline) would also wait
    // for connected clients to hang up (workers keep their channels open), so it gets only a
    // short deadline to flush the last answers once our own work is done.
    if (engine_ && !engine_->pool().wait_idle(std::chrono::milliseconds(grace_ms))) {
      spdlog::warn("shutdown: requests still running after {} ms; cancelling them", grace_ms);
    }
    // Wall time from the Clock seam: gRPC deadlines are system_clock instants.
    std::chrono::system_clock::time_point deadline{
        std::chrono::milliseconds(clock_->now_ms() + kFlushMs)};
    grpc_->Shutdown(deadline);
    grpc_->Wait();
  }
  if (engine_) {
    engine_->stop();  // finishes queued transitions, stops timers
  }
  grpc_.reset();
  sweeper_.reset();
  service_.reset();
  engine_.reset();
  store_.reset();
}

}  // namespace cairn
