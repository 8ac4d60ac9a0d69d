#include "history/store_checks.h"

#include <algorithm>
#include <string>

namespace cairn {
namespace {

std::string run_name(const Transition& t) { return "run " + t.key.debug_string(); }

Status check_task(const Transition& t, const v1::TaskRecord& task) {
  if (task.task_id() < 1) {
    return invalid_argument(run_name(t) + ": task_id " + std::to_string(task.task_id()) +
                            " is not >= 1");
  }
  if (task.shard() != t.key.shard.value) {
    return invalid_argument(run_name(t) + ": task " + std::to_string(task.task_id()) +
                            " is in shard " + std::to_string(task.shard()) +
                            ", not the run's shard " + std::to_string(t.key.shard.value));
  }
  return Status::ok_status();
}

Status check_timer(const Transition& t, const v1::TimerRecord& timer) {
  if (timer.timer_seq() < 1 || timer.fire_time_ms() < 0) {
    return invalid_argument(run_name(t) + ": timer " + std::to_string(timer.timer_seq()) +
                            " needs timer_seq >= 1 and fire_time_ms >= 0 (has " +
                            std::to_string(timer.fire_time_ms()) + ")");
  }
  if (timer.shard() != t.key.shard.value) {
    return invalid_argument(run_name(t) + ": timer " + std::to_string(timer.timer_seq()) +
                            " is in shard " + std::to_string(timer.shard()) +
                            ", not the run's shard " + std::to_string(t.key.shard.value));
  }
  return Status::ok_status();
}

Status check_events(const RunKey& key, const v1::RunState& state,
                    const std::vector<v1::HistoryEvent>& events) {
  const std::string name = "run " + key.debug_string();
  for (size_t i = 0; i < events.size(); ++i) {
    int64_t id = events[i].event_id();
    int64_t expected = i == 0 ? std::max<int64_t>(id, 1) : events[i - 1].event_id() + 1;
    if (id != expected) {
      return invalid_argument(name + ": event ids are not consecutive from 1 (event " +
                              std::to_string(id) + " at position " + std::to_string(i) + ")");
    }
  }
  if (!events.empty() && state.next_event_id() != events.back().event_id() + 1) {
    return invalid_argument(
        name + ": state.next_event_id " + std::to_string(state.next_event_id()) +
        " is not one past the last event " + std::to_string(events.back().event_id()));
  }
  return Status::ok_status();
}

// Another run of the transition: same workflow id (hence shard), a run id of its own.
Status check_other_run(const Transition& t, const RunWrite& run, size_t index) {
  const RunKey& k = run.key;
  if (k.shard != t.key.shard || k.ns != t.key.ns || k.workflow_id != t.key.workflow_id) {
    return invalid_argument(run_name(t) + ": other run " + std::to_string(index) + " (" +
                            k.debug_string() + ", shard " + std::to_string(k.shard.value) +
                            ") is not of the same workflow id and shard: a transition carries "
                            "runs of one workflow id only");
  }
  if (k.run_id == t.key.run_id) {
    return invalid_argument(run_name(t) + ": other run " + std::to_string(index) +
                            " repeats the run id");
  }
  for (size_t j = 0; j < index; ++j) {
    if (t.other_runs[j].key.run_id == k.run_id) {
      return invalid_argument(run_name(t) + ": other run " + std::to_string(index) +
                              " repeats the run id of other run " + std::to_string(j));
    }
  }
  return check_events(k, run.state, run.events);
}

}  // namespace

std::vector<RunView> runs_of(const Transition& t) {
  std::vector<RunView> out;
  out.reserve(1 + t.other_runs.size());
  out.push_back(RunView{&t.key, &t.state, &t.events, t.update_visibility});
  for (const auto& run : t.other_runs) {
    out.push_back(RunView{&run.key, &run.state, &run.events, run.update_visibility});
  }
  return out;
}

Status check_shard(ShardId shard, int32_t shard_count, std::string_view what) {
  if (shard.value < 0 || shard.value >= shard_count) {
    return invalid_argument(std::string(what) + ": shard " + std::to_string(shard.value) +
                            " is outside [0, " + std::to_string(shard_count) + ")");
  }
  return Status::ok_status();
}

Status check_transition(const Transition& t, int32_t shard_count) {
  CAIRN_RETURN_IF_ERROR(check_shard(t.key.shard, shard_count, run_name(t)));
  CAIRN_RETURN_IF_ERROR(check_events(t.key, t.state, t.events));
  for (size_t i = 0; i < t.other_runs.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(check_other_run(t, t.other_runs[i], i));
  }
  if (t.delete_run) {
    if (!t.events.empty() || !t.other_runs.empty()) {
      return invalid_argument(run_name(t) + ": a delete carries no events and no other runs");
    }
    if (t.state.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
      return failed_precondition(run_name(t) + " is still open: only a closed run is deleted");
    }
  }
  for (const auto* tasks : {&t.add_tasks, &t.remove_tasks}) {
    for (const auto& task : *tasks) {
      CAIRN_RETURN_IF_ERROR(check_task(t, task));
    }
  }
  for (const auto* timers : {&t.add_timers, &t.remove_timers}) {
    for (const auto& timer : *timers) {
      CAIRN_RETURN_IF_ERROR(check_timer(t, timer));
    }
  }
  return Status::ok_status();
}

Status check_limit(int limit, std::string_view what) {
  if (limit < 1) {
    return invalid_argument(std::string(what) + ": limit " + std::to_string(limit) +
                            " is not >= 1");
  }
  return Status::ok_status();
}

int64_t max_sequence_of(const Transition& t) {
  int64_t max = 0;
  for (const auto& task : t.add_tasks) {
    max = std::max(max, task.task_id());
  }
  for (const auto& timer : t.add_timers) {
    max = std::max(max, timer.timer_seq());
  }
  return max;
}

Status check_events_not_stored(const RunView& run, bool stored) {
  if (!stored) {
    return Status::ok_status();
  }
  return aborted("run " + run.key->debug_string() + ": event " +
                 std::to_string(run.events->front().event_id()) +
                 " is already stored (the transition was written before, or raced another " +
                 "writer of the run); nothing written: reload the run and decide again");
}

}  // namespace cairn
