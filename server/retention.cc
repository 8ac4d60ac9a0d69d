#include "server/retention.h"

#include <spdlog/spdlog.h>

namespace cairn {
namespace {
constexpr int kBatch = 256;
}  // namespace

RetentionSweeper::RetentionSweeper(Engine* engine, int64_t interval_ms)
    : engine_(engine), interval_ms_(interval_ms) {}

RetentionSweeper::~RetentionSweeper() { stop(); }

void RetentionSweeper::start() { thread_ = std::thread([this] { loop(); }); }

void RetentionSweeper::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void RetentionSweeper::loop() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stopping_; })) {
    lock.unlock();
    auto deleted = sweep_once();
    if (!deleted.ok()) {
      spdlog::warn("retention: {}; the next pass tries again", deleted.status().to_string());
    } else if (*deleted > 0) {
      spdlog::info("retention: deleted {} closed run(s) past their namespace's retention",
                   *deleted);
    }
    lock.lock();
  }
}

Result<int64_t> RetentionSweeper::sweep_once() {
  int64_t deleted = 0;
  for (const v1::NamespaceRecord& ns : engine_->list_namespaces()) {
    if (ns.retention_ms() <= 0) {
      continue;
    }
    const int64_t cutoff = engine_->clock().now_ms() - ns.retention_ms();
    VisibilityScan scan;
    scan.ns = ns.name();
    scan.index = VisibilityIndex::kCloseTime;
    scan.descending = false;  // oldest close first
    scan.limit = kBatch;
    bool done = false;
    while (!done) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) {
          return deleted;
        }
      }
      CAIRN_ASSIGN_OR_RETURN(VisibilityPage page, engine_->store().scan_visibility(scan));
      for (size_t i = 0; i < page.records.size(); ++i) {
        const v1::VisibilityRecord& r = page.records[i];
        if (r.close_time_ms() >= cutoff) {
          done = true;
          break;
        }
        RunKey key{ShardId{r.shard()}, r.namespace_(), r.workflow_id(), RunId{r.run_id()}};
        Status st = engine_->delete_closed_run(key);
        if (st.ok()) {
          ++deleted;
        } else if (st.code() != StatusCode::kNotFound) {
          return Status(st.code(), "delete " + key.debug_string() + ": " + st.message());
        }
        scan.after = page.cursors[i];
      }
      done = done || !page.more;
    }
  }
  return deleted;
}

}  // namespace cairn
