// FaultyStore: a HistoryStore decorator that injects storage faults for tests — a commit that
// fails before it writes, one that writes durably and then answers as if it had failed (the
// unknown outcome), a commit held by a hook (slow disk), and failing reads. With no fault set it
// forwards every call unchanged. Thread-safe; owns the store it wraps.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "history/history_store.h"

namespace cairn {

class FaultyStore final : public HistoryStore {
 public:
  enum class CommitFault {
    // kUnavailable without calling the wrapped store: nothing is written.
    kFailBeforeWrite,
    // The wrapped store commits; when that succeeds (the write is durable) the answer is
    // kUnavailable all the same, as when the disk answers but the reply is lost.
    kFailAfterWrite,
  };

  explicit FaultyStore(std::unique_ptr<HistoryStore> inner);

  // The `nth` commit() from now (1: the next one) fails as `fault` says. Several may be armed.
  // REQUIRES: nth >= 1.
  void fail_commit(int64_t nth, CommitFault fault);
  // Called on the committing thread before each commit() is forwarded (or failed); it may block
  // on a latch to stand for a slow disk. Null: none.
  void set_before_commit(std::function<void(const Transition&)> hook);
  // While set, every read (load_run, load_current, read_events, scan_tasks, scan_timers,
  // get_namespace, list_namespaces, scan_visibility) answers kUnavailable.
  void fail_reads(bool fail);
  // Clears every armed fault and the hook.
  void clear();
  // commit() calls seen so far, failed ones included.
  int64_t commits() const;

  int32_t shard_count() const override { return inner_->shard_count(); }
  Result<v1::RunState> load_run(const RunKey& key) override;
  Result<v1::CurrentRun> load_current(const WorkflowKey& key) override;
  Status commit(const Transition& transition) override;
  Result<EventPage> read_events(const RunKey& key, EventId from, int limit) override;
  Result<TaskPage> scan_tasks(ShardId shard, int64_t after_task_id, int limit) override;
  Result<TimerPage> scan_timers(ShardId shard, int64_t after_fire_time_ms, int64_t after_timer_seq,
                                int limit) override;
  Result<int64_t> max_sequence() override { return inner_->max_sequence(); }
  Status forget_timers(const std::vector<v1::TimerRecord>& timers) override {
    return inner_->forget_timers(timers);
  }
  Status put_namespace(const v1::NamespaceRecord& ns) override { return inner_->put_namespace(ns); }
  Result<v1::NamespaceRecord> get_namespace(const std::string& name) override;
  Result<std::vector<v1::NamespaceRecord>> list_namespaces() override;
  Result<VisibilityPage> scan_visibility(const VisibilityScan& scan) override;
  Result<std::vector<RunKey>> list_runs_for_testing() override {
    return inner_->list_runs_for_testing();
  }

 private:
  struct Armed {
    int64_t at_commit;  // the commits() value that fails
    CommitFault fault;
  };

  // kUnavailable while reads fail, else OK.
  Status read_fault(const char* what) const;

  const std::unique_ptr<HistoryStore> inner_;
  mutable std::mutex mu_;
  int64_t commits_ = 0;                                   // guarded by mu_
  std::vector<Armed> armed_;                              // guarded by mu_
  std::function<void(const Transition&)> before_commit_;  // guarded by mu_
  bool fail_reads_ = false;                               // guarded by mu_
};

}  // namespace cairn
