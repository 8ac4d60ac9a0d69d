// Readable names and one-line summaries of history events and commands, for timelines, logs
// and non-determinism messages. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "cairn/v1/command.pb.h"
#include "cairn/v1/history.pb.h"

namespace cairn {

// "ActivityTaskScheduled" for EVENT_TYPE_ACTIVITY_TASK_SCHEDULED.
std::string event_type_name(v1::EventType type);
// "ScheduleActivityTask" for COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK.
std::string command_type_name(v1::CommandType type);

// The identifying attributes of an event, e.g. "activity_type=fetch, activity_id=1"; empty when
// the event has none worth showing.
std::string event_detail(const v1::HistoryEvent& event);
// The same for a command, with the same attribute names as its event.
std::string command_detail(const v1::Command& command);

// "ActivityTaskScheduled(activity_type=fetch, activity_id=1)".
std::string describe_event(const v1::HistoryEvent& event);
std::string describe_command(const v1::Command& command);

// A run's history as text, one event a line: id, milliseconds since the first event, type and
// detail, under a "History (N events):" heading. Empty for no events.
std::string history_timeline(const std::vector<v1::HistoryEvent>& events);

}  // namespace cairn
