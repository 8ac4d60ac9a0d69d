#include "history/faulty_store.h"

#include <algorithm>
#include <string>
#include <utility>

namespace cairn {

FaultyStore::FaultyStore(std::unique_ptr<HistoryStore> inner) : inner_(std::move(inner)) {}

void FaultyStore::fail_commit(int64_t nth, CommitFault fault) {
  std::lock_guard lock(mu_);
  armed_.push_back(Armed{commits_ + nth, fault});
}

void FaultyStore::set_before_commit(std::function<void(const Transition&)> hook) {
  std::lock_guard lock(mu_);
  before_commit_ = std::move(hook);
}

void FaultyStore::fail_reads(bool fail) {
  std::lock_guard lock(mu_);
  fail_reads_ = fail;
}

void FaultyStore::clear() {
  std::lock_guard lock(mu_);
  armed_.clear();
  before_commit_ = nullptr;
  fail_reads_ = false;
}

int64_t FaultyStore::commits() const {
  std::lock_guard lock(mu_);
  return commits_;
}

Status FaultyStore::commit(const Transition& t) {
  std::optional<CommitFault> fault;
  std::function<void(const Transition&)> hook;
  {
    std::lock_guard lock(mu_);
    const int64_t n = ++commits_;
    auto it = std::find_if(armed_.begin(), armed_.end(),
                           [n](const Armed& a) { return a.at_commit == n; });
    if (it != armed_.end()) {
      fault = it->fault;
      armed_.erase(it);
    }
    hook = before_commit_;
  }
  // The hook runs unlocked: a test may hold one commit while others (and reads) go on.
  if (hook) {
    hook(t);
  }
  const std::string what = "run " + t.key.debug_string();
  if (fault == CommitFault::kFailBeforeWrite) {
    return unavailable(what + ": injected commit fault (nothing written)");
  }
  Status status = inner_->commit(t);
  if (status.ok() && fault == CommitFault::kFailAfterWrite) {
    return unavailable(what + ": injected commit fault after the write (outcome unknown)");
  }
  return status;
}

Status FaultyStore::read_fault(const char* what) const {
  std::lock_guard lock(mu_);
  if (fail_reads_) {
    return unavailable(std::string(what) + ": injected read fault");
  }
  return Status::ok_status();
}

Result<v1::RunState> FaultyStore::load_run(const RunKey& key) {
  CAIRN_RETURN_IF_ERROR(read_fault("load_run"));
  return inner_->load_run(key);
}

Result<v1::CurrentRun> FaultyStore::load_current(const WorkflowKey& key) {
  CAIRN_RETURN_IF_ERROR(read_fault("load_current"));
  return inner_->load_current(key);
}

Result<EventPage> FaultyStore::read_events(const RunKey& key, EventId from, int limit) {
  CAIRN_RETURN_IF_ERROR(read_fault("read_events"));
  return inner_->read_events(key, from, limit);
}

Result<TaskPage> FaultyStore::scan_tasks(ShardId shard, int64_t after_task_id, int limit) {
  CAIRN_RETURN_IF_ERROR(read_fault("scan_tasks"));
  return inner_->scan_tasks(shard, after_task_id, limit);
}

Result<TimerPage> FaultyStore::scan_timers(ShardId shard, int64_t after_fire_time_ms,
                                           int64_t after_timer_seq, int limit) {
  CAIRN_RETURN_IF_ERROR(read_fault("scan_timers"));
  return inner_->scan_timers(shard, after_fire_time_ms, after_timer_seq, limit);
}

Result<v1::NamespaceRecord> FaultyStore::get_namespace(const std::string& name) {
  CAIRN_RETURN_IF_ERROR(read_fault("get_namespace"));
  return inner_->get_namespace(name);
}

Result<std::vector<v1::NamespaceRecord>> FaultyStore::list_namespaces() {
  CAIRN_RETURN_IF_ERROR(read_fault("list_namespaces"));
  return inner_->list_namespaces();
}

Result<VisibilityPage> FaultyStore::scan_visibility(const VisibilityScan& scan) {
  CAIRN_RETURN_IF_ERROR(read_fault("scan_visibility"));
  return inner_->scan_visibility(scan);
}

}  // namespace cairn
