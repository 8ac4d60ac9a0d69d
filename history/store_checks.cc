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

}  // namespace

Status check_shard(ShardId shard, int32_t shard_count, std::string_view what) {
  if (shard.value < 0 || shard.value >= shard_count) {
    return invalid_argument(std::string(what) + ": shard " + std::to_string(shard.value) +
                            " is outside [0, " + std::to_string(shard_count) + ")");
  }
  return Status::ok_status();
}

Status check_transition(const Transition& t, int32_t shard_count) {
  CAIRN_RETURN_IF_ERROR(check_shard(t.key.shard, shard_count, run_name(t)));
  for (size_t i = 0; i < t.events.size(); ++i) {
    int64_t id = t.events[i].event_id();
    int64_t expected = i == 0 ? std::max<int64_t>(id, 1) : t.events[i - 1].event_id() + 1;
    if (id != expected) {
      return invalid_argument(run_name(t) + ": event ids are not consecutive from 1 (event " +
                              std::to_string(id) + " at position " + std::to_string(i) + ")");
    }
  }
  if (!t.events.empty() && t.state.next_event_id() != t.events.back().event_id() + 1) {
    return invalid_argument(
        run_name(t) + ": state.next_event_id " + std::to_string(t.state.next_event_id()) +
        " is not one past the last event " + std::to_string(t.events.back().event_id()));
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

Status check_events_not_stored(const Transition& t, bool stored) {
  if (!stored) {
    return Status::ok_status();
  }
  return aborted(run_name(t) + ": event " + std::to_string(t.events.front().event_id()) +
                 " is already stored (the transition was written before, or raced another " +
                 "writer of the run); nothing written: reload the run and decide again");
}

}  // namespace cairn
