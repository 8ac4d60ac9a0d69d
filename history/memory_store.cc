// MemoryHistoryStore: the HistoryStore contract on std::map, for fast tests. Thread-safe: one
// mutex serialises every call. Nothing is durable and nothing fails, so the failed state of the
// contract never arises. Keyed by domain tuples rather than by keys.h's byte encoding, so that the
// conformance suite compares two independent implementations.
#include <map>
#include <mutex>
#include <tuple>
#include <utility>

#include "history/history_store.h"
#include "history/keys.h"
#include "history/store_checks.h"
#include "history/visibility.h"

namespace cairn {
namespace {

using RunTuple = std::tuple<int32_t, std::string, std::string, std::string>;
using WorkflowTuple = std::tuple<int32_t, std::string, std::string>;
using EventsKey = std::pair<int32_t, std::string>;  // shard, run id (as in the rocks layout)
using TimerPosition = std::pair<int64_t, int64_t>;  // fire_time_ms, timer_seq

RunTuple run_tuple(const RunKey& k) { return {k.shard.value, k.ns, k.workflow_id, k.run_id.value}; }

WorkflowTuple workflow_tuple(const WorkflowKey& k) { return {k.shard.value, k.ns, k.workflow_id}; }

class MemoryHistoryStore final : public HistoryStore {
 public:
  explicit MemoryHistoryStore(int32_t shard_count) : shard_count_(shard_count) {}

  int32_t shard_count() const override { return shard_count_; }

  Result<v1::RunState> load_run(const RunKey& key) override {
    CAIRN_RETURN_IF_ERROR(check_shard(key.shard, shard_count_, "run " + key.debug_string()));
    std::lock_guard lock(mu_);
    auto it = runs_.find(run_tuple(key));
    if (it == runs_.end()) {
      return not_found("run " + key.debug_string() + " not found");
    }
    return it->second;
  }

  Result<v1::CurrentRun> load_current(const WorkflowKey& key) override {
    std::string name = "workflow " + key.ns + "/" + key.workflow_id;
    CAIRN_RETURN_IF_ERROR(check_shard(key.shard, shard_count_, name));
    std::lock_guard lock(mu_);
    auto it = current_.find(workflow_tuple(key));
    if (it == current_.end()) {
      return not_found(name + " has no current run");
    }
    return it->second;
  }

  Status commit(const Transition& t) override {
    CAIRN_RETURN_IF_ERROR(check_transition(t, shard_count_));
    // One critical section for every run of the transition: readers see all of it or none.
    std::lock_guard lock(mu_);
    const std::vector<RunView> runs = runs_of(t);
    if (!t.delete_run) {
      for (const RunView& run : runs) {
        if (run.events->empty()) {
          continue;
        }
        auto found = events_.find(EventsKey{run.key->shard.value, run.key->run_id.value});
        CAIRN_RETURN_IF_ERROR(check_events_not_stored(
            run,
            found != events_.end() && found->second.count(run.events->front().event_id()) > 0));
      }
    }
    if (t.delete_run) {
      erase_run(t);
    } else {
      for (const RunView& run : runs) {
        put_run(run);
      }
    }
    if (t.current) {
      current_[WorkflowTuple{t.key.shard.value, t.key.ns, t.key.workflow_id}] = *t.current;
    }
    // Removals before additions, matching the order of the RocksDB write batch.
    for (const auto& task : t.remove_tasks) {
      tasks_[task.shard()].erase(task.task_id());
    }
    for (const auto& task : t.add_tasks) {
      tasks_[task.shard()][task.task_id()] = task;
    }
    for (const auto& timer : t.remove_timers) {
      timers_[timer.shard()].erase(TimerPosition{timer.fire_time_ms(), timer.timer_seq()});
    }
    for (const auto& timer : t.add_timers) {
      timers_[timer.shard()][TimerPosition{timer.fire_time_ms(), timer.timer_seq()}] = timer;
    }
    max_sequence_ = std::max(max_sequence_, max_sequence_of(t));
    return Status::ok_status();
  }

  // Visibility keys use keys.h's encoding: the cursor is the key of the last record returned,
  // and byte order is what defines the index order.
  Result<VisibilityPage> scan_visibility(const VisibilityScan& scan) override {
    CAIRN_RETURN_IF_ERROR(check_limit(scan.limit, "scan_visibility"));
    const std::string prefix = keys::visibility_prefix(visibility_index_byte(scan.index), scan.ns);
    if (!scan.after.empty() && scan.after.compare(0, prefix.size(), prefix) != 0) {
      return invalid_argument("scan_visibility: the cursor is not from a listing of namespace " +
                              scan.ns);
    }
    auto in_prefix = [&](const std::string& key) {
      return key.compare(0, prefix.size(), prefix) == 0;
    };
    std::lock_guard lock(mu_);
    VisibilityPage page;
    auto take = [&](const std::string& key, const v1::VisibilityRecord& vis) {
      if (static_cast<int>(page.records.size()) == scan.limit) {
        page.more = true;
        return false;
      }
      page.records.push_back(vis);
      page.cursors.push_back(key);
      return true;
    };
    if (scan.descending) {
      auto it = scan.after.empty() ? visibility_.lower_bound(keys::prefix_end(prefix))
                                   : visibility_.lower_bound(scan.after);
      while (it != visibility_.begin()) {
        --it;
        if (!in_prefix(it->first)) {
          break;
        }
        if (!take(it->first, it->second)) {
          break;
        }
      }
    } else {
      auto it = scan.after.empty() ? visibility_.lower_bound(prefix)
                                   : visibility_.upper_bound(scan.after);
      for (; it != visibility_.end() && in_prefix(it->first); ++it) {
        if (!take(it->first, it->second)) {
          break;
        }
      }
    }
    return page;
  }

  Result<EventPage> read_events(const RunKey& key, EventId from, int limit) override {
    std::string name = "run " + key.debug_string();
    CAIRN_RETURN_IF_ERROR(check_shard(key.shard, shard_count_, name));
    CAIRN_RETURN_IF_ERROR(check_limit(limit, name + ": read_events"));
    std::lock_guard lock(mu_);
    EventPage page;
    auto run = events_.find(EventsKey{key.shard.value, key.run_id.value});
    if (run == events_.end()) {
      return page;
    }
    for (auto it = run->second.lower_bound(from.value); it != run->second.end(); ++it) {
      if (static_cast<int>(page.events.size()) == limit) {
        page.more = true;
        break;
      }
      page.events.push_back(it->second);
    }
    return page;
  }

  Result<TaskPage> scan_tasks(ShardId shard, int64_t after_task_id, int limit) override {
    CAIRN_RETURN_IF_ERROR(check_shard(shard, shard_count_, "scan_tasks"));
    CAIRN_RETURN_IF_ERROR(check_limit(limit, "scan_tasks"));
    std::lock_guard lock(mu_);
    TaskPage page;
    const auto& tasks = tasks_[shard.value];
    for (auto it = tasks.upper_bound(after_task_id);
         it != tasks.end() && static_cast<int>(page.tasks.size()) < limit; ++it) {
      page.tasks.push_back(it->second);
    }
    return page;
  }

  Result<TimerPage> scan_timers(ShardId shard, int64_t after_fire_time_ms, int64_t after_timer_seq,
                                int limit) override {
    CAIRN_RETURN_IF_ERROR(check_shard(shard, shard_count_, "scan_timers"));
    CAIRN_RETURN_IF_ERROR(check_limit(limit, "scan_timers"));
    std::lock_guard lock(mu_);
    TimerPage page;
    const auto& timers = timers_[shard.value];
    for (auto it = timers.upper_bound(TimerPosition{after_fire_time_ms, after_timer_seq});
         it != timers.end() && static_cast<int>(page.timers.size()) < limit; ++it) {
      page.timers.push_back(it->second);
    }
    return page;
  }

  Result<int64_t> max_sequence() override {
    std::lock_guard lock(mu_);
    return max_sequence_;
  }

  Status forget_timers(const std::vector<v1::TimerRecord>& timers) override {
    for (const auto& timer : timers) {
      CAIRN_RETURN_IF_ERROR(check_shard(ShardId{timer.shard()}, shard_count_, "forget_timers"));
    }
    std::lock_guard lock(mu_);
    for (const auto& timer : timers) {
      timers_[timer.shard()].erase(TimerPosition{timer.fire_time_ms(), timer.timer_seq()});
    }
    return Status::ok_status();
  }

  Status put_namespace(const v1::NamespaceRecord& ns) override {
    if (ns.name().empty()) {
      return invalid_argument("put_namespace: the namespace name is empty");
    }
    std::lock_guard lock(mu_);
    namespaces_[ns.name()] = ns;
    return Status::ok_status();
  }

  Result<v1::NamespaceRecord> get_namespace(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto it = namespaces_.find(name);
    if (it == namespaces_.end()) {
      return not_found("namespace " + name + " not found");
    }
    return it->second;
  }

  Result<std::vector<v1::NamespaceRecord>> list_namespaces() override {
    std::lock_guard lock(mu_);
    std::vector<v1::NamespaceRecord> out;
    for (const auto& [name, ns] : namespaces_) {
      out.push_back(ns);
    }
    return out;
  }

  Result<std::vector<RunKey>> list_runs_for_testing() override {
    std::lock_guard lock(mu_);
    std::vector<RunKey> out;
    for (const auto& [k, state] : runs_) {
      out.push_back(
          RunKey{ShardId{std::get<0>(k)}, std::get<1>(k), std::get<2>(k), RunId{std::get<3>(k)}});
    }
    return out;
  }

 private:
  // REQUIRES: mu_ held.
  void put_run(const RunView& run) {
    const RunKey& key = *run.key;
    const v1::RunState& state = *run.state;
    runs_[run_tuple(key)] = state;
    auto& events = events_[EventsKey{key.shard.value, key.run_id.value}];
    for (const auto& event : *run.events) {
      events[event.event_id()] = event;
    }
    if (run.update_visibility && state.has_schedule()) {
      const std::string vkey = keys::visibility_key(keys::kVisibilitySchedules, state.namespace_(),
                                                    state.start_time_ms(), state.run_id());
      if (state.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
        visibility_[vkey] = visibility_record(state, key.shard);
      } else {
        visibility_.erase(vkey);
      }
    } else if (run.update_visibility) {
      const v1::VisibilityRecord vis = visibility_record(state, key.shard);
      visibility_[keys::visibility_key(keys::kVisibilityByStart, vis.namespace_(),
                                       vis.start_time_ms(), vis.run_id())] = vis;
      const std::string open_key = keys::visibility_key(keys::kVisibilityOpen, vis.namespace_(),
                                                        vis.start_time_ms(), vis.run_id());
      if (vis.close_time_ms() > 0) {
        visibility_[keys::visibility_key(keys::kVisibilityByClose, vis.namespace_(),
                                         vis.close_time_ms(), vis.run_id())] = vis;
        visibility_.erase(open_key);
      } else {
        visibility_[open_key] = vis;
      }
    }
  }

  // Transition::delete_run. REQUIRES: mu_ held.
  void erase_run(const Transition& t) {
    const RunKey& key = t.key;
    const v1::RunState& state = t.state;
    visibility_.erase(keys::visibility_key(keys::kVisibilityByStart, key.ns, state.start_time_ms(),
                                           key.run_id.value));
    visibility_.erase(keys::visibility_key(keys::kVisibilityByClose, key.ns, state.close_time_ms(),
                                           key.run_id.value));
    visibility_.erase(keys::visibility_key(keys::kVisibilityOpen, key.ns, state.start_time_ms(),
                                           key.run_id.value));
    auto current = current_.find(WorkflowTuple{key.shard.value, key.ns, key.workflow_id});
    if (!t.current && current != current_.end() && current->second.run_id() == key.run_id.value) {
      current_.erase(current);
    }
    events_.erase(EventsKey{key.shard.value, key.run_id.value});
    runs_.erase(run_tuple(key));
  }

  const int32_t shard_count_;
  std::mutex mu_;
  // All below guarded by mu_.
  std::map<RunTuple, v1::RunState> runs_;
  std::map<WorkflowTuple, v1::CurrentRun> current_;
  std::map<EventsKey, std::map<int64_t, v1::HistoryEvent>> events_;
  std::map<int32_t, std::map<int64_t, v1::TaskRecord>> tasks_;
  std::map<int32_t, std::map<TimerPosition, v1::TimerRecord>> timers_;
  std::map<std::string, v1::NamespaceRecord> namespaces_;
  std::map<std::string, v1::VisibilityRecord> visibility_;  // by keys.h's visibility key
  int64_t max_sequence_ = 0;
};

}  // namespace

std::unique_ptr<HistoryStore> make_memory_store(int32_t shard_count) {
  CAIRN_CHECK(shard_count >= 1);
  return std::make_unique<MemoryHistoryStore>(shard_count);
}

}  // namespace cairn
