// Names and summaries of events and commands (see cairn/history.h).
#include "cairn/history.h"

#include <cstdio>

#include "proto/enum_names.h"

namespace cairn {
namespace {

std::string activity(const std::string& type, const std::string& id) {
  return "activity_type=" + type + ", activity_id=" + id;
}

}  // namespace

std::string event_type_name(v1::EventType type) {
  const std::string& name = v1::EventType_Name(type);
  return name.empty() ? "EventType" + std::to_string(static_cast<int>(type))
                      : enum_camel_case(name, "EVENT_TYPE_");
}

std::string command_type_name(v1::CommandType type) {
  const std::string& name = v1::CommandType_Name(type);
  return name.empty() ? "CommandType" + std::to_string(static_cast<int>(type))
                      : enum_camel_case(name, "COMMAND_TYPE_");
}

std::string event_detail(const v1::HistoryEvent& e) {
  switch (e.event_type()) {
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: {
      const auto& a = e.workflow_execution_started_event_attributes();
      return "workflow_type=" + a.workflow_type().name() + ", task_queue=" + a.task_queue();
    }
    case v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
      const auto& a = e.activity_task_scheduled_event_attributes();
      return activity(a.activity_type().name(), a.activity_id());
    }
    case v1::EVENT_TYPE_ACTIVITY_TASK_STARTED: {
      const auto& a = e.activity_task_started_event_attributes();
      return "scheduled_event_id=" + std::to_string(a.scheduled_event_id()) +
             ", attempt=" + std::to_string(a.attempt());
    }
    case v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      return "scheduled_event_id=" +
             std::to_string(e.activity_task_completed_event_attributes().scheduled_event_id());
    case v1::EVENT_TYPE_ACTIVITY_TASK_FAILED: {
      const auto& a = e.activity_task_failed_event_attributes();
      return "scheduled_event_id=" + std::to_string(a.scheduled_event_id()) +
             ", failure=" + a.failure().message();
    }
    case v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      return "scheduled_event_id=" +
             std::to_string(e.activity_task_timed_out_event_attributes().scheduled_event_id());
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
      return "scheduled_event_id=" +
             std::to_string(
                 e.activity_task_cancel_requested_event_attributes().scheduled_event_id());
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
      return "scheduled_event_id=" +
             std::to_string(e.activity_task_canceled_event_attributes().scheduled_event_id());
    case v1::EVENT_TYPE_TIMER_STARTED: {
      const auto& a = e.timer_started_event_attributes();
      return "timer_id=" + a.timer_id() +
             ", start_to_fire_timeout_ms=" + std::to_string(a.start_to_fire_timeout_ms());
    }
    case v1::EVENT_TYPE_TIMER_FIRED:
      return "timer_id=" + e.timer_fired_event_attributes().timer_id();
    case v1::EVENT_TYPE_TIMER_CANCELED:
      return "timer_id=" + e.timer_canceled_event_attributes().timer_id();
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
      return "signal_name=" + e.workflow_execution_signaled_event_attributes().signal_name();
    case v1::EVENT_TYPE_MARKER_RECORDED:
      return "marker_name=" + e.marker_recorded_event_attributes().marker_name();
    case v1::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
      std::string names;
      for (const auto& [name, value] :
           e.upsert_workflow_search_attributes_event_attributes().search_attributes()) {
        names += (names.empty() ? "" : ",") + name;
      }
      return "search_attributes=" + names;
    }
    case v1::EVENT_TYPE_WORKFLOW_TASK_FAILED: {
      const auto& a = e.workflow_task_failed_event_attributes();
      return "cause=" + v1::WorkflowTaskFailedCause_Name(a.cause()) +
             ", failure=" + a.failure().message();
    }
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
      return "failure=" + e.workflow_execution_failed_event_attributes().failure().message();
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
      return "reason=" + e.workflow_execution_terminated_event_attributes().reason();
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      return "cause=" + e.workflow_execution_cancel_requested_event_attributes().cause();
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return "new_execution_run_id=" +
             e.workflow_execution_continued_as_new_event_attributes().new_execution_run_id();
    default:
      return "";
  }
}

std::string command_detail(const v1::Command& c) {
  switch (c.command_type()) {
    case v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
      const auto& a = c.schedule_activity_task_command_attributes();
      return activity(a.activity_type().name(), a.activity_id());
    }
    case v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
      return "scheduled_event_id=" +
             std::to_string(
                 c.request_cancel_activity_task_command_attributes().scheduled_event_id());
    case v1::COMMAND_TYPE_START_TIMER: {
      const auto& a = c.start_timer_command_attributes();
      return "timer_id=" + a.timer_id() +
             ", start_to_fire_timeout_ms=" + std::to_string(a.start_to_fire_timeout_ms());
    }
    case v1::COMMAND_TYPE_CANCEL_TIMER:
      return "timer_id=" + c.cancel_timer_command_attributes().timer_id();
    case v1::COMMAND_TYPE_RECORD_MARKER:
      return "marker_name=" + c.record_marker_command_attributes().marker_name();
    case v1::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
      return "failure=" + c.fail_workflow_execution_command_attributes().failure().message();
    default:
      return "";
  }
}

std::string describe_event(const v1::HistoryEvent& event) {
  return event_type_name(event.event_type()) + "(" + event_detail(event) + ")";
}

std::string describe_command(const v1::Command& command) {
  return command_type_name(command.command_type()) + "(" + command_detail(command) + ")";
}

std::string history_timeline(const std::vector<v1::HistoryEvent>& events) {
  if (events.empty()) {
    return "";
  }
  std::string out = "History (" + std::to_string(events.size()) + " events):\n";
  const int64_t t0 = events.front().event_time_ms();
  for (const auto& e : events) {
    char prefix[64];
    std::snprintf(prefix, sizeof(prefix), "%4lld  +%6lldms  ",
                  static_cast<long long>(e.event_id()),
                  static_cast<long long>(e.event_time_ms() - t0));
    out += prefix + event_type_name(e.event_type());
    std::string detail = event_detail(e);
    if (!detail.empty()) {
      out += "  " + detail;
    }
    out += "\n";
  }
  return out;
}

}  // namespace cairn
