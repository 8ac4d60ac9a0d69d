// Engine: runs every state change of every run as one transition — load (cached), validate and
// mutate a copy through the history rules, commit in one synced write, then dispatch the tasks,
// timers and history notifications it created. Owns the task-queue matcher, the timer queue and
// the run-state cache. Thread-safe; one per server process.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "history/history_store.h"
#include "history/transitions.h"
#include "scheduler/clock.h"
#include "scheduler/matcher.h"
#include "scheduler/timer_queue.h"
#include "server/query_registry.h"
#include "server/retry_queue.h"
#include "server/thread_pool.h"

namespace cairn {

struct EngineOptions {
  Limits limits;
  size_t state_cache_runs = 100'000;  // cached mutable states (LRU)
  int worker_threads = 16;            // blocking transitions run here
  int64_t max_poll_ms = 60'000;       // a long-poll is answered empty after this
  uint64_t seed = 0;                  // run-id generator seed; 0: random
  bool timer_thread = true;           // false with a ManualClock: timers fire inside advance()
  int32_t stripes = 1024;             // per-workflow-id lock stripes
  // Crash tests: transfer tasks are written but never executed by this process (a restart
  // without the flag runs them from disk).
  bool hold_transfers_for_testing = false;
  // In-process retries of a transfer task, a timer's firing or a task start that failed.
  RetryQueueOptions retries;
};

// A party waiting for new events of one run (GetWorkflowExecutionHistory long-poll).
class HistoryWatcher {
 public:
  virtual ~HistoryWatcher() = default;
  bool try_claim() { return !claimed_.exchange(true); }
  // Called after a commit appended events to the watched run (for close_only(), a commit that
  // closed it), outside engine locks.
  virtual void notify() = 0;
  // A watcher that waits only for the close event (how a client waits for a result) is not
  // woken by every step of the run.
  virtual bool close_only() const { return false; }

 private:
  std::atomic<bool> claimed_{false};
};

class Engine {
 public:
  Engine(HistoryStore* store, Clock* clock, EngineOptions options);
  ~Engine();

  // Loads namespaces (creating `default`), seeds id allocation, rebuilds the task queues and the
  // timer queue from disk and starts firing timers. Errors name what could not be read.
  Status start();
  // Stops firing timers and finishes queued work. Idempotent.
  void stop();

  // What a transition body sees and fills.
  struct Scope {
    MutableState* ms = nullptr;
    TransitionEnv env;
    Effects effects;
    bool skip_commit = false;  // the body found nothing to write
    // kBuffered only for records recovery does not need (a task's start): see Durability.
    Durability durability = Durability::kSynced;
    // The body asks for the (closed) run to be deleted for good: Transition::delete_run.
    bool delete_run = false;
  };
  using Body = std::function<Status(Scope&)>;

  // One run of a multi-run transition: `body` runs on a copy of the run `key` (create: on an
  // empty state, for a new run).
  struct RunStep {
    RunKey key;
    bool create = false;
    Body body;
  };

  // The single write path for an existing run: lock, load, run `body` on a copy, commit, cache,
  // dispatch. kNotFound when the run does not exist. On error nothing is written.
  Status run_transition(const RunKey& key, const Body& body);

  // Holds the per-workflow-id lock: run_transition_locked() and create_run() require it.
  std::unique_lock<std::mutex> lock_workflow(const WorkflowKey& key);
  Status run_transition_locked(const RunKey& key, const Body& body);
  // Creates a new run: `body` fills an empty state. REQUIRES: lock_workflow(key) held.
  Status create_run(const RunKey& key, const Body& body);
  // Several runs of one workflow id in one write (HistoryStore's multi-run rule): each step's
  // body runs in order on its own copy, and all of them commit together or none does. The
  // current-run pointer is the last one a step set (so "close the old run, start the new one"
  // leaves the new one current). On any body's error, or a failed commit, nothing is written or
  // cached, and that error is answered. kInvalidArgument when the steps are not all of one
  // workflow id. REQUIRES: lock_workflow() of that workflow id held.
  //
  // Every transition, single-run or not, also starts the successor of a run that continues as
  // new in the same write: the close and the start are one decision.
  Status run_multi_locked(std::vector<RunStep> steps);

  // The run's state as of the last commit (a copy). kNotFound when absent.
  Result<v1::RunState> read_state(const RunKey& key);
  // Resolves an execution to a run key; an empty run id means the current run. kNotFound names
  // the workflow id.
  Result<RunKey> resolve(const std::string& ns, const std::string& workflow_id,
                         const std::string& run_id);
  WorkflowKey workflow_key(const std::string& ns, const std::string& workflow_id) const;

  // Namespaces. kNotFound with a hint when unknown.
  Status check_namespace(const std::string& ns);
  Status register_namespace(const v1::NamespaceRecord& record);  // kAlreadyExists
  Result<v1::NamespaceRecord> describe_namespace(const std::string& ns);
  std::vector<v1::NamespaceRecord> list_namespaces();
  // Changes a namespace's record: `edit` works on a copy, which is stored (synced) and replaces
  // the registry entry only when edit returns OK. kNotFound when unknown.
  // Namespace writes are serialised among themselves; reads (check_namespace() on every RPC)
  // never wait for their sync: the registry is swapped only after the durable write.
  Status update_namespace(const std::string& ns,
                          const std::function<Status(v1::NamespaceRecord*)>& edit);

  // Deletes a closed run with its history and visibility (retention), as a transition through
  // the same committer as every other write (Transition::delete_run). kFailedPrecondition while
  // it is open, kNotFound when gone already; on an error nothing is deleted.
  Status delete_closed_run(const RunKey& key);

  // History long-polls: watch(key, w) then re-read; notify() is called once after a commit that
  // appends events to the run. unwatch() forgets a claimed watcher.
  void watch(const RunKey& key, std::shared_ptr<HistoryWatcher> watcher);
  void unwatch(const RunKey& key, const HistoryWatcher* watcher);

  std::string new_run_id();

  // Transfer tasks (TASK_KIND_TRANSFER: cross-run effects) are handed to this executor on the
  // pool after the transition that wrote them commits, and again after a restart (recover()).
  // It must be idempotent and remove the task record when done. Set before start(). A failure
  // is retried in process (retries()); kInvalidArgument (the task can never run) is not.
  using TransferExecutor = std::function<Status(Engine&, const v1::TaskRecord&)>;
  void set_transfer_executor(TransferExecutor executor) {
    transfer_executor_ = std::move(executor);
  }
  HistoryStore& store() { return *store_; }
  Clock& clock() { return *clock_; }
  Matcher& matcher() { return matcher_; }
  // Queries and update validations waiting for a worker (in memory only).
  QueryRegistry& queries() { return queries_; }
  // The in-process retries of transfers ("transfer"), timers ("timer") and task starts ("task").
  RetryQueue& retries() { return *retries_; }

  // A poller could not start `task` (taken from `queue`'s matcher) for a reason other than the
  // task being stale: the task is offered to the queue again after a backoff, so another poll
  // gets it, until the retries are exhausted (then it waits on disk for a restart).
  void retry_task_start(const QueueKey& queue, const v1::TaskRecord& task, const Status& cause);
  // A poller started `task`: forgets its earlier start failures. Cheap when there were none.
  void task_start_succeeded(int64_t task_id);
  ThreadPool& pool() { return *pool_; }
  const EngineOptions& options() const { return options_; }
  int32_t shard_count() const { return store_->shard_count(); }

  // Test hooks.
  size_t cached_runs_for_testing();
  void drop_cache_for_testing();

 private:
  class Sequence final : public SequenceAllocator {
   public:
    int64_t next() override { return ++value_; }
    std::atomic<int64_t> value_{0};
  };
  struct CacheEntry {
    std::shared_ptr<const v1::RunState> state;
    std::list<std::string>::iterator lru;
  };

  struct Prepared;  // one run of a transition, between its body and the commit
  Status transition_impl(std::vector<RunStep> steps);
  // Adds to `steps` the start of the successor of each continue-as-new in p's effects, and takes
  // the CONTINUE_AS_NEW transfer task out of them (the successor is started in this write).
  void follow_continue_as_new(Prepared& p, std::vector<RunStep>* steps);
  // After the commit: cache, dispatch the tasks and timers, notify history watchers.
  void finish_run(Prepared& p, v1::RunState state, bool deleted);
  // Stores a namespace record durably, then swaps it into the registry. REQUIRES: ns_write_mu_.
  Status store_namespace(const v1::NamespaceRecord& record);
  Result<std::shared_ptr<const v1::RunState>> load_cached(const RunKey& key);
  void cache_put(const std::string& cache_key, std::shared_ptr<const v1::RunState> state);
  void dispatch(const RunKey& key, const Effects& effects);
  // True when no worker polls the sticky queue now, nor did in the last few seconds.
  bool sticky_worker_gone(const QueueKey& sticky, int64_t now_ms) const;
  void on_timer(const v1::TimerRecord& timer);
  Status fire_timer_now(const v1::TimerRecord& timer);
  // Fires `timer`; a failure is retried (attempt counts the tries so far, from 1).
  void fire_timer_retrying(const v1::TimerRecord& timer, int attempt);
  void run_transfer_retrying(const v1::TaskRecord& task, int attempt);
  Status recover();
  // A recovered workflow task of a sticky queue goes to the run's normal queue.
  void reroute_recovered_sticky(v1::TaskRecord* task, int64_t* rerouted);
  void submit_transfer(const v1::TaskRecord& task);
  // After a commit answered kUnavailable (the write may have landed): reads back the tasks and
  // timers it would have added and hands out those on disk (the outbox executed, tasks offered to
  // pollers, timers queued); a failed read is retried (kind "outbox").
  void adopt_unknown_outcome(std::vector<v1::TaskRecord> tasks, std::vector<v1::TimerRecord> timers,
                             int attempt);

  HistoryStore* store_;
  Clock* clock_;
  EngineOptions options_;
  Sequence seq_;
  Matcher matcher_;
  QueryRegistry queries_;
  std::unique_ptr<TimerQueue> timers_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<RetryQueue> retries_;
  std::mutex start_failures_mu_;
  std::unordered_map<int64_t, int> start_failures_;  // task id → failed starts; GUARDED_BY(mu)
  std::atomic<bool> any_start_failures_{false};
  std::vector<std::mutex> stripes_;

  std::mutex cache_mu_;
  std::unordered_map<std::string, CacheEntry> cache_;  // guarded by cache_mu_
  std::list<std::string> lru_;                         // guarded by cache_mu_, front = newest

  // Held by namespace writes, across their sync; no RPC takes it.
  std::mutex ns_write_mu_;
  // Shared by reads (every RPC checks its namespace), exclusive only to swap in a record that
  // is already durable: never held across a sync.
  std::shared_mutex ns_mu_;
  std::unordered_map<std::string, v1::NamespaceRecord> namespaces_;  // guarded by ns_mu_

  std::mutex watch_mu_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<HistoryWatcher>>> watchers_;

  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // guarded by rng_mu_
  std::atomic<bool> stopped_{false};
  TransferExecutor transfer_executor_;
};

}  // namespace cairn
