// Helpers for the SDK feature tests (versioning, local activities, combinators, cancellation):
// a replay with local activities registered, and "record then replay" — turning the commands a
// task produced into the events the server would have written for them. Test-only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cairn/replayer.h"
#include "sdk/history_builder.h"
#include "worker-sdk/src/replayer.h"  // cairn_sdk_internal_for_testing

namespace cairn::testing {

inline WorkflowInfo feature_info() {
  WorkflowInfo i;
  i.workflow_id = "wf-1";
  i.run_id = "run-1";
  return i;
}

using LocalActivities = std::map<std::string, detail::ActivityFunction>;

// Replays `events` through `fn` with `activities` available as local activities.
template <class F>
ReplayResult replay_local(F fn, const LocalActivities& activities,
                          const std::vector<v1::HistoryEvent>& events) {
  detail::Replayer r(detail::adapt<WorkflowContext>(std::move(fn)), feature_info());
  r.set_local_activities(&activities);
  return r.replay(events);
}

template <class F>
detail::ActivityFunction local(F fn) {
  return detail::adapt<ActivityContext>(std::move(fn));
}

// Appends WorkflowTaskCompleted and the events for `commands`; returns the scheduled event id of
// each ScheduleActivityTask, by activity id.
inline std::map<std::string, int64_t> record(HistoryBuilder& h,
                                             const std::vector<v1::Command>& commands) {
  std::map<std::string, int64_t> scheduled;
  h.task_completed();
  for (const v1::Command& c : commands) {
    switch (c.command_type()) {
      case v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
        const auto& a = c.schedule_activity_task_command_attributes();
        scheduled[a.activity_id()] = h.activity_scheduled(a.activity_type().name(), a.activity_id());
        break;
      }
      case v1::COMMAND_TYPE_START_TIMER: {
        const auto& a = c.start_timer_command_attributes();
        h.timer_started(a.timer_id(), a.start_to_fire_timeout_ms());
        break;
      }
      case v1::COMMAND_TYPE_CANCEL_TIMER:
        h.timer_canceled(c.cancel_timer_command_attributes().timer_id());
        break;
      case v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
        h.activity_cancel_requested(
            c.request_cancel_activity_task_command_attributes().scheduled_event_id());
        break;
      case v1::COMMAND_TYPE_RECORD_MARKER: {
        const auto& a = c.record_marker_command_attributes();
        auto* m = h.add(v1::EVENT_TYPE_MARKER_RECORDED).mutable_marker_recorded_event_attributes();
        m->set_marker_name(a.marker_name());
        *m->mutable_details() = a.details();
        if (a.has_failure()) {
          *m->mutable_failure() = a.failure();
        }
        break;
      }
      default:
        break;  // closing commands: the tests stop there
    }
  }
  return scheduled;
}

inline std::vector<v1::CommandType> types(const ReplayResult& r) {
  std::vector<v1::CommandType> out;
  for (const auto& c : r.commands) {
    out.push_back(c.command_type());
  }
  return out;
}

template <class T>
T completed_with(const ReplayResult& r) {
  return from_payloads<T>(r.commands.back().complete_workflow_execution_command_attributes().result());
}

}  // namespace cairn::testing
