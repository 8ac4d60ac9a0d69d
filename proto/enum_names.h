// Names of the protocol's enum values as people read them ("ScheduleActivityTask",
// "BadCommand"), shared by the server's messages, the SDK's history timeline and cairnctl.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "cairn/v1/history.pb.h"

namespace cairn {

// `enum_name` without `prefix` (when it starts with it), in CamelCase:
// ("COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK", "COMMAND_TYPE_") → "ScheduleActivityTask".
std::string enum_camel_case(std::string_view enum_name, std::string_view prefix);

// The short name of a workflow-task failure, as the visibility record's task_failure and the
// TaskFailure filter attribute carry it: "TimedOut" for a timeout, else the cause's name
// ("BadCommand", "NonDeterministicError", "WorkerUnhandledFailure", "UnhandledCommand",
// "ResetWorkflow", "BadSearchAttributes"); "Unspecified" when the worker gave no cause.
std::string task_failure_name(const v1::WorkflowTaskFailureInfo& failure);

}  // namespace cairn
