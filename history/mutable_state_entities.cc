// MutableState::apply() for activity and timer events: which events create, change and remove
// the pending ActivityInfo / TimerInfo entries. Validate first, then mutate.
#include "history/mutable_state_apply.h"

#include <string_view>
#include <utility>

#include "proto/event_refs.h"

namespace cairn::state_apply {
namespace {

bool open(const v1::RunState& s) { return s.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING; }

void apply_activity_scheduled(v1::RunState& s, const v1::HistoryEvent& e) {
  const auto& a = e.activity_task_scheduled_event_attributes();
  v1::ActivityInfo& info = (*s.mutable_activities())[e.event_id()];
  info.set_scheduled_event_id(e.event_id());
  info.set_activity_id(a.activity_id());
  *info.mutable_activity_type() = a.activity_type();
  info.set_task_queue(a.task_queue());
  *info.mutable_input() = a.input();
  info.set_schedule_to_close_timeout_ms(a.schedule_to_close_timeout_ms());
  info.set_schedule_to_start_timeout_ms(a.schedule_to_start_timeout_ms());
  info.set_start_to_close_timeout_ms(a.start_to_close_timeout_ms());
  info.set_heartbeat_timeout_ms(a.heartbeat_timeout_ms());
  *info.mutable_retry_policy() = a.retry_policy();
  info.set_attempt(1);
  info.set_scheduled_time_ms(e.event_time_ms());
  info.set_current_attempt_scheduled_time_ms(e.event_time_ms());
}
// The timer id and started event id a TimerFired / TimerCanceled event refers to.
std::pair<std::string, int64_t> timer_reference(const v1::HistoryEvent& e) {
  if (e.event_type() == v1::EVENT_TYPE_TIMER_FIRED) {
    const auto& a = e.timer_fired_event_attributes();
    return {a.timer_id(), a.started_event_id()};
  }
  const auto& a = e.timer_canceled_event_attributes();
  return {a.timer_id(), a.started_event_id()};
}

}  // namespace

std::string event_type_name(v1::EventType type) {
  std::string name = v1::EventType_Name(type);
  constexpr std::string_view kPrefix = "EVENT_TYPE_";
  if (name.compare(0, kPrefix.size(), kPrefix) == 0) {
    name.erase(0, kPrefix.size());
  }
  return name.empty() ? std::to_string(static_cast<int>(type)) : name;
}

std::string describe_event(const v1::HistoryEvent& event) {
  std::string type = event_type_name(event.event_type());
  if (event.event_id() == 0) {
    return "buffered event (" + type + ")";
  }
  return "event " + std::to_string(event.event_id()) + " (" + type + ")";
}

Status event_error(const std::string& run, const v1::HistoryEvent& event, const std::string& what) {
  return invalid_argument("run " + run + ": " + describe_event(event) + ": " + what);
}

bool is_activity_event(v1::EventType type) {
  switch (type) {
    case v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
    case v1::EVENT_TYPE_ACTIVITY_TASK_STARTED:
    case v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
    case v1::EVENT_TYPE_ACTIVITY_TASK_FAILED:
    case v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
      return true;
    default:
      return false;
  }
}

bool is_timer_event(v1::EventType type) {
  return type == v1::EVENT_TYPE_TIMER_STARTED || type == v1::EVENT_TYPE_TIMER_FIRED ||
         type == v1::EVENT_TYPE_TIMER_CANCELED;
}

Status apply_activity_event(v1::RunState& s, const v1::HistoryEvent& e, const std::string& run) {
  if (!open(s)) {
    return event_error(run, e, "the run is not open");
  }
  if (e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
    if (s.activities().count(e.event_id()) != 0) {
      return event_error(run, e, "an activity with this scheduled event id is already pending");
    }
    apply_activity_scheduled(s, e);
    return Status();
  }
  int64_t scheduled = scheduled_event_id_of(e);
  auto it = s.mutable_activities()->find(scheduled);
  if (it == s.mutable_activities()->end()) {
    return event_error(run, e, "activity " + std::to_string(scheduled) + " is not pending");
  }
  switch (e.event_type()) {
    case v1::EVENT_TYPE_ACTIVITY_TASK_STARTED:
      return Status();  // written together with the closing event that follows it
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
      it->second.set_cancel_requested(true);
      it->second.set_cancel_requested_event_id(e.event_id());
      return Status();
    default:  // Completed, Failed, TimedOut, Canceled: the activity is done.
      s.mutable_activities()->erase(it);
      return Status();
  }
}

Status apply_timer_event(v1::RunState& s, const v1::HistoryEvent& e, const std::string& run) {
  if (!open(s)) {
    return event_error(run, e, "the run is not open");
  }
  if (e.event_type() == v1::EVENT_TYPE_TIMER_STARTED) {
    const auto& a = e.timer_started_event_attributes();
    if (s.timers().count(a.timer_id()) != 0) {
      return event_error(run, e, "timer " + a.timer_id() + " is already pending");
    }
    v1::TimerInfo& info = (*s.mutable_timers())[a.timer_id()];
    info.set_timer_id(a.timer_id());
    info.set_started_event_id(e.event_id());
    info.set_fire_time_ms(e.event_time_ms() + a.start_to_fire_timeout_ms());
    return Status();
  }
  auto [timer_id, started] = timer_reference(e);
  auto it = s.mutable_timers()->find(timer_id);
  if (it == s.mutable_timers()->end()) {
    return event_error(run, e, "timer " + timer_id + " is not pending");
  }
  if (started != 0 && it->second.started_event_id() != started) {
    return event_error(run, e, "timer " + timer_id + " was started by event " +
                                   std::to_string(it->second.started_event_id()) + ", not " +
                                   std::to_string(started));
  }
  s.mutable_timers()->erase(it);
  return Status();
}

}  // namespace cairn::state_apply
