// cairnctl's view of a run: `workflow describe` and `trace`, and the text of a failing workflow
// task that describe, stack and list share. Not thread-safe: one command runs per process.
#pragma once

#include <string>

#include "cli/common.h"

namespace cairnctl {

int describe(const Globals& g, const Target& t);
// The run and its children as a tree with pending activities and timers (trace.cc); `follow`
// redraws every second until the root closes (text only).
int trace(const Globals& g, const Target& t, int depth, bool follow);

// "BadCommand" for WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND; "TimedOut" for a timed-out task.
std::string cause_text(const v1::WorkflowTaskFailureInfo& f);
// "BadCommand: <message> (attempt 3, at <time>)": why the run's workflow tasks fail.
std::string task_failure_text(const v1::WorkflowTaskFailureInfo& f);
// "RUNNING", or "RUNNING (task failing: BadCommand)" while its workflow tasks fail.
std::string list_status_text(const v1::WorkflowExecutionInfo& info);
// "5s", "90m", "-" for 0.
std::string timeout_text(int64_t ms);

}  // namespace cairnctl
