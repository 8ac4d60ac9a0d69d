#include "server/engine.h"

#include <algorithm>
#include <iterator>
#include <shared_mutex>

#include <spdlog/spdlog.h>

#include "history/transitions_child.h"
#include "history/visibility.h"
#include "proto/uuid.h"

namespace cairn {
namespace {

constexpr int kScanPage = 1000;
// A sticky queue with no poller parked and none for this long has lost its worker.
constexpr int64_t kStickyWorkerGoneMs = 10'000;
constexpr int64_t kDefaultRetentionMs = 3LL * 24 * 3600 * 1000;

// Cache and watcher key. '\0' cannot appear in a namespace or workflow id, so it is unambiguous.
std::string run_cache_key(const RunKey& key) {
  std::string out;
  out.reserve(key.ns.size() + key.workflow_id.size() + key.run_id.value.size() + 2);
  out.append(key.ns).push_back('\0');
  out.append(key.workflow_id).push_back('\0');
  out.append(key.run_id.value);
  return out;
}

// Whether a committed state is of a closed run.
bool ms_closed(const v1::RunState& state) {
  return state.status() != v1::WORKFLOW_EXECUTION_STATUS_RUNNING;
}

}  // namespace

Engine::Engine(HistoryStore* store, Clock* clock, EngineOptions options)
    : store_(store), clock_(clock), options_(std::move(options)), stripes_(options_.stripes) {
  uint64_t seed = options_.seed;
  if (seed == 0) {
    std::random_device rd;
    seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  rng_.seed(seed);
  timers_ = std::make_unique<TimerQueue>(clock_, [this](const v1::TimerRecord& t) { on_timer(t); });
  pool_ = std::make_unique<ThreadPool>(options_.worker_threads);
  retries_ = std::make_unique<RetryQueue>(clock_, pool_.get(), options_.retries);
}

Engine::~Engine() { stop(); }

Status Engine::start() {
  CAIRN_ASSIGN_OR_RETURN(auto namespaces, store_->list_namespaces());
  {
    std::unique_lock lock(ns_mu_);
    for (auto& ns : namespaces) {
      namespaces_[ns.name()] = ns;
    }
  }
  if (!describe_namespace("default").ok()) {
    v1::NamespaceRecord def;
    def.set_name("default");
    def.set_description("the default namespace");
    def.set_retention_ms(kDefaultRetentionMs);
    def.set_created_time_ms(clock_->now_ms());
    std::lock_guard writer(ns_write_mu_);
    CAIRN_RETURN_IF_ERROR(store_namespace(def));
  }
  retries_->start(options_.timer_thread);
  CAIRN_RETURN_IF_ERROR(recover());
  timers_->start(options_.timer_thread);
  return Status();
}

Status Engine::recover() {
  CAIRN_ASSIGN_OR_RETURN(int64_t max_seq, store_->max_sequence());
  seq_.value_.store(max_seq);
  int64_t tasks = 0;
  int64_t timers = 0;
  int64_t rerouted = 0;
  for (int32_t s = 0; s < store_->shard_count(); ++s) {
    ShardId shard{s};
    int64_t after = -1;
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(auto page, store_->scan_tasks(shard, after, kScanPage));
      for (auto& task : page.tasks) {
        after = task.task_id();
        if (task.kind() == v1::TASK_KIND_TRANSFER) {
          submit_transfer(task);  // a cross-run effect not known to be done: redo (idempotent)
          ++tasks;
          continue;
        }
        if (task.kind() == v1::TASK_KIND_WORKFLOW) {
          reroute_recovered_sticky(&task, &rerouted);
        }
        matcher_.offer(QueueKey{task.namespace_(), task.task_queue(), task.kind()}, task);
        ++tasks;
      }
      if (static_cast<int>(page.tasks.size()) < kScanPage) {
        break;
      }
    }
    int64_t after_time = -1;
    int64_t after_seq = -1;
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(auto page,
                             store_->scan_timers(shard, after_time, after_seq, kScanPage));
      for (auto& timer : page.timers) {
        after_time = timer.fire_time_ms();
        after_seq = timer.timer_seq();
      }
      timers += static_cast<int64_t>(page.timers.size());
      timers_->add_all(page.timers);
      if (static_cast<int>(page.timers.size()) < kScanPage) {
        break;
      }
    }
  }
  spdlog::info(
      "recovered {} pending tasks and {} timers from disk ({} workflow tasks of sticky "
      "queues moved to their normal queue)",
      tasks, timers, rerouted);
  return Status();
}

void Engine::reroute_recovered_sticky(v1::TaskRecord* task, int64_t* rerouted) {
  // No worker has polled any sticky queue of this process yet, and one that still has the run
  // cached reconnects to its normal queue's pollers too: the task goes where it is taken now,
  // with the full history, not after its sticky schedule-to-start timeout. The record on disk
  // keeps its queue (as in dispatch()); the timeout's fallback then finds the task started.
  RunKey key{ShardId{task->shard()}, task->namespace_(), task->workflow_id(),
             RunId{task->run_id()}};
  auto state = load_cached(key);
  if (!state.ok()) {
    return;  // the run is gone: the poll finds the task stale and drops it
  }
  const std::string& normal = (*state)->task_queue();
  if (!normal.empty() && task->task_queue() != normal) {
    task->set_task_queue(normal);
    ++*rerouted;
  }
}

void Engine::stop() {
  if (stopped_.exchange(true)) {
    return;
  }
  timers_->stop();
  retries_->stop();
  pool_->shutdown();
}

WorkflowKey Engine::workflow_key(const std::string& ns, const std::string& workflow_id) const {
  return WorkflowKey{shard_for(ns, workflow_id, store_->shard_count()), ns, workflow_id};
}

std::unique_lock<std::mutex> Engine::lock_workflow(const WorkflowKey& key) {
  size_t h = std::hash<std::string>()(key.ns) * 31 + std::hash<std::string>()(key.workflow_id);
  return std::unique_lock<std::mutex>(stripes_[h % stripes_.size()]);
}

Status Engine::run_transition(const RunKey& key, const Body& body) {
  auto lock = lock_workflow(WorkflowKey{key.shard, key.ns, key.workflow_id});
  return transition_impl({RunStep{key, /*create=*/false, body}});
}

Status Engine::run_transition_locked(const RunKey& key, const Body& body) {
  return transition_impl({RunStep{key, /*create=*/false, body}});
}

Status Engine::create_run(const RunKey& key, const Body& body) {
  return transition_impl({RunStep{key, /*create=*/true, body}});
}

Status Engine::run_multi_locked(std::vector<RunStep> steps) {
  if (steps.empty()) {
    return invalid_argument("a transition needs at least one run");
  }
  for (const auto& step : steps) {
    const RunKey& first = steps.front().key;
    if (step.key.shard != first.shard || step.key.ns != first.ns ||
        step.key.workflow_id != first.workflow_id) {
      return invalid_argument("run " + step.key.debug_string() + " is not of workflow " + first.ns +
                              "/" + first.workflow_id +
                              ": one transition carries runs of one workflow id only");
    }
  }
  return transition_impl(std::move(steps));
}

struct Engine::Prepared {
  RunKey key;
  bool create = false;
  std::shared_ptr<const v1::RunState> base;  // the committed state; null for a new run
  MutableState ms;
  Scope scope;
  std::string normal_queue;  // the run's own task queue, for sticky dispatch
  bool appended = false;     // the commit appends events to the run
  bool closed = false;       // ... and the run is closed after it
};

void Engine::follow_continue_as_new(Prepared& p, std::vector<RunStep>* steps) {
  auto& tasks = p.scope.effects.add_tasks;
  for (auto it = tasks.begin(); it != tasks.end();) {
    if (it->kind() != v1::TASK_KIND_TRANSFER ||
        it->transfer().type() != v1::TRANSFER_TYPE_CONTINUE_AS_NEW) {
      ++it;
      continue;
    }
    // Same workflow id, hence the same shard and the lock already held: the successor starts in
    // this write, so no start can slip in between the close and the successor (which the
    // transfer task used to allow), and no crash leaves a closed run with no successor.
    v1::TransferTask transfer = it->transfer();
    CAIRN_CHECK(transfer.target_workflow_id() == p.key.workflow_id &&
                transfer.target_namespace() == p.key.ns);
    RunKey next{p.key.shard, p.key.ns, p.key.workflow_id, RunId{transfer.target_run_id()}};
    steps->push_back(RunStep{
        next, /*create=*/true, [transfer = std::move(transfer), next](Scope& s) -> Status {
          CAIRN_RETURN_IF_ERROR(start_run_from(transfer.new_run(), next, s.env, s.ms, &s.effects));
          if (transfer.has_scheduled_by()) {
            s.ms->set_scheduled_by(transfer.scheduled_by());
          }
          return Status();
        }});
    it = tasks.erase(it);
  }
}

Status Engine::transition_impl(std::vector<RunStep> steps) {
  const int64_t now_ms = clock_->now_ms();
  std::vector<std::unique_ptr<Prepared>> runs;
  // Bodies first, each on its own copy: an error in any of them leaves every cache entry and
  // the store untouched. `steps` grows while we walk it (continue-as-new successors).
  for (size_t i = 0; i < steps.size(); ++i) {
    auto p = std::make_unique<Prepared>();
    p->key = steps[i].key;
    p->create = steps[i].create;
    if (!p->create) {
      CAIRN_ASSIGN_OR_RETURN(p->base, load_cached(p->key));
      p->ms = MutableState(*p->base);
    }
    Scope& scope = p->scope;
    scope.ms = &p->ms;
    scope.env.now_ms = now_ms;
    scope.env.seq = &seq_;
    scope.env.limits = &options_.limits;
    scope.env.shard = p->key.shard.value;
    CAIRN_RETURN_IF_ERROR(steps[i].body(scope));
    if (!scope.skip_commit && !scope.delete_run && p->ms.is_open()) {
      CAIRN_ASSIGN_OR_RETURN(HistoryLimitCheck limits,
                             enforce_history_limits(&p->ms, scope.env, &scope.effects));
      if (limits.terminated) {
        spdlog::warn("run {}: terminated: history of {} events / {} bytes is over the limit",
                     p->key.debug_string(), limits.events, limits.bytes);
      } else if (limits.crossed_warning) {
        spdlog::warn(
            "run {}: history has {} events / {} bytes, over 80% of the limit ({} events "
            "/ {} bytes); the run will be terminated past it: continue as new",
            p->key.debug_string(), limits.events, limits.bytes, options_.limits.history_max_events,
            options_.limits.history_max_bytes);
      }
    }
    if (!scope.skip_commit && !scope.delete_run) {
      follow_continue_as_new(*p, &steps);
    }
    runs.push_back(std::move(p));
  }

  std::vector<Prepared*> written;
  for (auto& p : runs) {
    if (!p->scope.skip_commit) {
      written.push_back(p.get());
      continue;
    }
    if (!p->scope.effects.remove_timers.empty()) {
      Status st = store_->forget_timers(p->scope.effects.remove_timers);
      if (!st.ok()) {
        spdlog::warn("run {}: could not forget stale timers: {}", p->key.debug_string(),
                     st.to_string());
      }
    }
  }
  if (written.empty()) {
    return Status();
  }

  // One Transition for every run written: the first is the main run, the others ride along.
  Transition t;
  bool any_synced = false;
  for (size_t i = 0; i < written.size(); ++i) {
    Prepared& p = *written[i];
    Effects& fx = p.scope.effects;
    if (p.scope.delete_run && written.size() > 1) {
      return internal_error("run " + p.key.debug_string() +
                            ": a delete cannot share a transition with other runs");
    }
    v1::RunState state = std::move(p.ms).release();
    std::vector<v1::HistoryEvent> events = std::move(fx.events);
    bool update_visibility = false;
    if (!p.scope.delete_run) {
      state.set_db_version(state.db_version() + 1);
      // Visibility follows what listing shows: the start, the close (both replace the
      // current-run pointer), upserted search attributes and a change in why workflow tasks
      // fail; other steps leave the record as it is.
      update_visibility =
          p.create || fx.current.has_value() || state.has_schedule() ||
          std::any_of(events.begin(), events.end(),
                      [](const v1::HistoryEvent& e) {
                        return e.event_type() == v1::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES;
                      }) ||
          (p.base != nullptr && task_failure_visibility_changed(*p.base, state));
    }
    p.appended = !events.empty();
    p.closed = p.appended && ms_closed(state);
    p.normal_queue = state.task_queue();
    if (fx.current) {
      t.current = fx.current;  // the last run to set the pointer owns it (the new run)
    }
    t.add_tasks.insert(t.add_tasks.end(), fx.add_tasks.begin(), fx.add_tasks.end());
    t.remove_tasks.insert(t.remove_tasks.end(), fx.remove_tasks.begin(), fx.remove_tasks.end());
    t.add_timers.insert(t.add_timers.end(), fx.add_timers.begin(), fx.add_timers.end());
    t.remove_timers.insert(t.remove_timers.end(), fx.remove_timers.begin(), fx.remove_timers.end());
    any_synced = any_synced || p.scope.durability == Durability::kSynced;
    if (i == 0) {
      t.key = p.key;
      t.state = std::move(state);
      t.events = std::move(events);
      t.update_visibility = update_visibility;
      t.delete_run = p.scope.delete_run;
    } else {
      t.other_runs.push_back(
          RunWrite{p.key, std::move(state), std::move(events), update_visibility});
    }
    fx.events.clear();
  }
  // The strictest durability any run asked for.
  t.durability = any_synced ? Durability::kSynced : Durability::kBuffered;
  // Durability: nothing is cached, dispatched or acknowledged before the write is synced.
  if (Status committed = store_->commit(t); !committed.ok()) {
    // The write may have landed anyway (an unknown outcome): the next transition of each run
    // reads the store instead of building on the state from before it.
    {
      std::lock_guard cache_lock(cache_mu_);
      for (const Prepared* p : written) {
        if (auto it = cache_.find(run_cache_key(p->key)); it != cache_.end()) {
          lru_.erase(it->second.lru);
          cache_.erase(it);
        }
      }
    }
    // An unknown outcome: what the write would have added to the outbox and the timer queue
    // may be on disk. Whatever is there is handed out now (not only at the next restart).
    if (committed.code() == StatusCode::kUnavailable &&
        (!t.add_tasks.empty() || !t.add_timers.empty())) {
      adopt_unknown_outcome(t.add_tasks, t.add_timers, 1);
    }
    return committed;
  }

  finish_run(*written[0], std::move(t.state), t.delete_run);
  for (size_t i = 1; i < written.size(); ++i) {
    finish_run(*written[i], std::move(t.other_runs[i - 1].state), /*deleted=*/false);
  }
  return Status();
}

void Engine::finish_run(Prepared& p, v1::RunState state, bool deleted) {
  const std::string cache_key = run_cache_key(p.key);
  if (deleted) {
    std::lock_guard cache_lock(cache_mu_);
    auto it = cache_.find(cache_key);
    if (it != cache_.end()) {
      lru_.erase(it->second.lru);
      cache_.erase(it);
    }
    return;
  }
  cache_put(cache_key, std::make_shared<const v1::RunState>(std::move(state)));

  // Dispatch only after commit: a task handed to a worker is always on disk first.
  for (auto& task : p.scope.effects.add_tasks) {
    if (task.kind() == v1::TASK_KIND_TRANSFER) {
      submit_transfer(task);
      continue;
    }
    QueueKey queue{task.namespace_(), task.task_queue(), task.kind()};
    if (task.kind() == v1::TASK_KIND_WORKFLOW && task.task_queue() != p.normal_queue &&
        sticky_worker_gone(queue, p.scope.env.now_ms)) {
      // Nobody polls the sticky queue (the worker is gone, or this server restarted since it
      // last polled): the normal queue gets the task now, with the full history, instead of
      // after the sticky schedule-to-start timeout. The record on disk keeps its queue; the
      // timeout's fallback finds the task started and does nothing.
      task.set_task_queue(p.normal_queue);
      queue.name = p.normal_queue;
    }
    matcher_.offer(queue, task);
  }
  if (!p.scope.effects.add_timers.empty()) {
    timers_->add_all(p.scope.effects.add_timers);
  }
  if (p.appended) {
    std::vector<std::shared_ptr<HistoryWatcher>> to_notify;
    {
      std::lock_guard lock(watch_mu_);
      auto it = watchers_.find(cache_key);
      if (it != watchers_.end()) {
        auto& waiting = it->second;
        const bool closed = p.closed;
        auto keep = std::partition(waiting.begin(), waiting.end(),
                                   [&](const auto& w) { return w->close_only() && !closed; });
        to_notify.assign(std::make_move_iterator(keep), std::make_move_iterator(waiting.end()));
        waiting.erase(keep, waiting.end());
        if (waiting.empty()) {
          watchers_.erase(it);
        }
      }
    }
    for (auto& w : to_notify) {
      w->notify();
    }
  }
}

Result<std::shared_ptr<const v1::RunState>> Engine::load_cached(const RunKey& key) {
  std::string ck = run_cache_key(key);
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(ck);
    if (it != cache_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return it->second.state;
    }
  }
  auto loaded = store_->load_run(key);
  if (!loaded.ok()) {
    if (loaded.status().code() == StatusCode::kNotFound) {
      return not_found("workflow execution " + key.workflow_id + " (run " + key.run_id.value +
                       ") not found in namespace " + key.ns);
    }
    return loaded.status();
  }
  auto state = std::make_shared<const v1::RunState>(std::move(loaded).value());
  cache_put(ck, state);
  return state;
}

void Engine::cache_put(const std::string& cache_key, std::shared_ptr<const v1::RunState> state) {
  std::lock_guard lock(cache_mu_);
  auto it = cache_.find(cache_key);
  if (it != cache_.end()) {
    it->second.state = std::move(state);
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return;
  }
  lru_.push_front(cache_key);
  cache_.emplace(cache_key, CacheEntry{std::move(state), lru_.begin()});
  while (cache_.size() > options_.state_cache_runs && !lru_.empty()) {
    cache_.erase(lru_.back());
    lru_.pop_back();
  }
}

Result<v1::RunState> Engine::read_state(const RunKey& key) {
  CAIRN_ASSIGN_OR_RETURN(auto state, load_cached(key));
  return *state;
}

Result<RunKey> Engine::resolve(const std::string& ns, const std::string& workflow_id,
                               const std::string& run_id) {
  if (workflow_id.empty()) {
    return invalid_argument("workflow_id is required");
  }
  WorkflowKey wk = workflow_key(ns, workflow_id);
  if (!run_id.empty()) {
    return RunKey{wk.shard, ns, workflow_id, RunId{run_id}};
  }
  auto current = store_->load_current(wk);
  if (!current.ok()) {
    if (current.status().code() == StatusCode::kNotFound) {
      return not_found("workflow execution " + workflow_id + " not found in namespace " + ns);
    }
    return current.status();
  }
  return RunKey{wk.shard, ns, workflow_id, RunId{current->run_id()}};
}

Status Engine::check_namespace(const std::string& ns) {
  std::shared_lock lock(ns_mu_);
  if (namespaces_.count(ns) == 0) {
    return not_found("namespace " + ns +
                     " not found: register it first (RegisterNamespace) or use \"default\"");
  }
  return Status();
}

Status Engine::store_namespace(const v1::NamespaceRecord& record) {
  // The synced write runs under ns_write_mu_ only: RPCs reading the registry (under ns_mu_)
  // go on meanwhile and see the old record until the new one is durable.
  CAIRN_RETURN_IF_ERROR(store_->put_namespace(record));
  std::unique_lock lock(ns_mu_);
  namespaces_[record.name()] = record;
  return Status();
}

Status Engine::register_namespace(const v1::NamespaceRecord& record) {
  std::lock_guard writer(ns_write_mu_);
  {
    std::shared_lock lock(ns_mu_);
    if (namespaces_.count(record.name()) != 0) {
      return already_exists("namespace " + record.name() + " already exists");
    }
  }
  return store_namespace(record);
}

Result<v1::NamespaceRecord> Engine::describe_namespace(const std::string& ns) {
  std::shared_lock lock(ns_mu_);
  auto it = namespaces_.find(ns);
  if (it == namespaces_.end()) {
    return not_found("namespace " + ns + " not found");
  }
  return it->second;
}

std::vector<v1::NamespaceRecord> Engine::list_namespaces() {
  std::vector<v1::NamespaceRecord> out;
  {
    std::shared_lock lock(ns_mu_);
    for (auto& [name, rec] : namespaces_) {
      out.push_back(rec);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  return out;
}

Status Engine::update_namespace(const std::string& ns,
                                const std::function<Status(v1::NamespaceRecord*)>& edit) {
  // Writers are serialised, so the copy edited here is still the registry's record when it is
  // swapped in: no lost update between two concurrent edits.
  std::lock_guard writer(ns_write_mu_);
  CAIRN_ASSIGN_OR_RETURN(v1::NamespaceRecord copy, describe_namespace(ns));
  CAIRN_RETURN_IF_ERROR(edit(&copy));
  return store_namespace(copy);
}

Status Engine::delete_closed_run(const RunKey& key) {
  auto lock = lock_workflow(WorkflowKey{key.shard, key.ns, key.workflow_id});
  return transition_impl({RunStep{key, /*create=*/false, [&](Scope& s) -> Status {
                                    if (s.ms->is_open()) {
                                      return failed_precondition("run " + key.debug_string() +
                                                                 " is still open");
                                    }
                                    s.delete_run = true;
                                    return Status();
                                  }}});
}

void Engine::watch(const RunKey& key, std::shared_ptr<HistoryWatcher> watcher) {
  std::lock_guard lock(watch_mu_);
  watchers_[run_cache_key(key)].push_back(std::move(watcher));
}

void Engine::unwatch(const RunKey& key, const HistoryWatcher* watcher) {
  std::lock_guard lock(watch_mu_);
  auto it = watchers_.find(run_cache_key(key));
  if (it == watchers_.end()) {
    return;
  }
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& w) { return w.get() == watcher; }),
          v.end());
  if (v.empty()) {
    watchers_.erase(it);
  }
}

std::string Engine::new_run_id() {
  uint64_t a;
  uint64_t b;
  {
    std::lock_guard lock(rng_mu_);
    a = rng_();
    b = rng_();
  }
  return format_uuid_v4(a, b);
}

void Engine::on_timer(const v1::TimerRecord& timer) {
  if (!options_.timer_thread) {
    fire_timer_retrying(timer, 1);
    return;
  }
  pool_->submit([this, timer] { fire_timer_retrying(timer, 1); });
}

namespace {
// Work that failed with kInvalidArgument can never succeed: retrying it only repeats the error.
bool retryable(const Status& st) { return st.code() != StatusCode::kInvalidArgument; }
}  // namespace

void Engine::fire_timer_retrying(const v1::TimerRecord& timer, int attempt) {
  Status st = fire_timer_now(timer);
  if (st.ok() || !retryable(st) || stopped_.load()) {
    return;
  }
  retries_->retry("timer",
                  "timer " + std::to_string(timer.timer_seq()) + " of run " + timer.namespace_() +
                      "/" + timer.workflow_id() + "/" + timer.run_id(),
                  std::string(status_code_name(st.code())), attempt,
                  [this, timer](int next) { fire_timer_retrying(timer, next); });
}

void Engine::run_transfer_retrying(const v1::TaskRecord& task, int attempt) {
  Status st = transfer_executor_(*this, task);
  if (st.ok() || stopped_.load()) {
    return;
  }
  const std::string what = "transfer task " + std::to_string(task.task_id()) + " (" +
                           v1::TransferType_Name(task.transfer().type()) + ") of run " +
                           task.namespace_() + "/" + task.workflow_id() + "/" + task.run_id();
  if (!retryable(st)) {
    spdlog::error("{} cannot run: {}; it stays on disk", what, st.to_string());
    return;
  }
  retries_->retry("transfer", what, std::string(status_code_name(st.code())), attempt,
                  [this, task](int next) { run_transfer_retrying(task, next); });
}

void Engine::retry_task_start(const QueueKey& queue, const v1::TaskRecord& task,
                              const Status& cause) {
  int attempt;
  {
    std::lock_guard lock(start_failures_mu_);
    attempt = ++start_failures_[task.task_id()];
    any_start_failures_.store(true);
  }
  const std::string what = "start of task " + std::to_string(task.task_id()) + " of run " +
                           task.namespace_() + "/" + task.workflow_id() + "/" + task.run_id() +
                           " on " + queue.debug_string();
  bool scheduled =
      !stopped_.load() && retryable(cause) &&
      retries_->retry("task", what, std::string(status_code_name(cause.code())), attempt,
                      [this, queue, task](int) { matcher_.offer(queue, task); });
  if (!scheduled) {
    if (!retryable(cause)) {
      spdlog::error("{} cannot run: {}; it stays on disk", what, cause.to_string());
    }
    task_start_succeeded(task.task_id());  // forgotten in memory: a restart delivers it again
  }
}

void Engine::task_start_succeeded(int64_t task_id) {
  if (!any_start_failures_.load(std::memory_order_relaxed)) {
    return;
  }
  std::lock_guard lock(start_failures_mu_);
  start_failures_.erase(task_id);
  any_start_failures_.store(!start_failures_.empty());
}

Status Engine::fire_timer_now(const v1::TimerRecord& timer) {
  RunKey key{ShardId{timer.shard()}, timer.namespace_(), timer.workflow_id(),
             RunId{timer.run_id()}};
  Status st = run_transition(key, [&](Scope& s) -> Status {
    CAIRN_ASSIGN_OR_RETURN(bool applied, fire_timer(s.ms, timer, s.env, &s.effects));
    s.skip_commit = !applied;
    return Status();
  });
  if (st.code() == StatusCode::kNotFound) {
    Status forget = store_->forget_timers({timer});
    (void)forget;
    return Status();
  }
  return st;  // a failure is retried and logged by fire_timer_retrying
}

void Engine::adopt_unknown_outcome(std::vector<v1::TaskRecord> tasks,
                                   std::vector<v1::TimerRecord> timers, int attempt) {
  if (stopped_.load()) {
    return;
  }
  // Read back each task and timer by its position: present means the write landed.
  std::vector<v1::TaskRecord> found_tasks;
  std::vector<v1::TimerRecord> found_timers;
  Status st;
  for (const auto& task : tasks) {
    auto page = store_->scan_tasks(ShardId{task.shard()}, task.task_id() - 1, 1);
    if (!page.ok()) {
      st = page.status();
      break;
    }
    if (!page->tasks.empty() && page->tasks.front().task_id() == task.task_id()) {
      found_tasks.push_back(page->tasks.front());
    }
  }
  for (size_t i = 0; st.ok() && i < timers.size(); ++i) {
    const auto& timer = timers[i];
    auto page =
        store_->scan_timers(ShardId{timer.shard()}, timer.fire_time_ms(), timer.timer_seq() - 1, 1);
    if (!page.ok()) {
      st = page.status();
      break;
    }
    if (!page->timers.empty() && page->timers.front().timer_seq() == timer.timer_seq() &&
        page->timers.front().fire_time_ms() == timer.fire_time_ms()) {
      found_timers.push_back(page->timers.front());
    }
  }
  if (!st.ok()) {
    const std::string what = "read-back of " + std::to_string(tasks.size()) + " tasks and " +
                             std::to_string(timers.size()) + " timers of a write with an " +
                             "unknown outcome";
    retries_->retry("outbox", what, std::string(status_code_name(st.code())), attempt,
                    [this, tasks = std::move(tasks), timers = std::move(timers)](int next) {
                      adopt_unknown_outcome(tasks, timers, next);
                    });
    return;
  }
  if (found_tasks.empty() && found_timers.empty()) {
    return;  // the write did not land: nothing to hand out
  }
  spdlog::warn("a write answered as failed had landed: handing out its {} tasks and {} timers now",
               found_tasks.size(), found_timers.size());
  int64_t rerouted = 0;
  for (auto& task : found_tasks) {
    if (task.kind() == v1::TASK_KIND_TRANSFER) {
      submit_transfer(task);
      continue;
    }
    if (task.kind() == v1::TASK_KIND_WORKFLOW) {
      reroute_recovered_sticky(&task, &rerouted);  // the full history, from the normal queue
    }
    matcher_.offer(QueueKey{task.namespace_(), task.task_queue(), task.kind()}, task);
  }
  if (!found_timers.empty()) {
    timers_->add_all(found_timers);
  }
}

void Engine::submit_transfer(const v1::TaskRecord& task) {
  if (!transfer_executor_ || options_.hold_transfers_for_testing) {
    spdlog::debug("transfer task {} left on disk: no executor", task.task_id());
    return;
  }
  pool_->submit([this, task] { run_transfer_retrying(task, 1); });
}

bool Engine::sticky_worker_gone(const QueueKey& sticky, int64_t now_ms) const {
  QueueStats st = matcher_.stats(sticky);
  return st.pollers == 0 && now_ms - st.last_poll_time_ms > kStickyWorkerGoneMs;
}

size_t Engine::cached_runs_for_testing() {
  std::lock_guard lock(cache_mu_);
  return cache_.size();
}

void Engine::drop_cache_for_testing() {
  std::lock_guard lock(cache_mu_);
  cache_.clear();
  lru_.clear();
}

}  // namespace cairn
