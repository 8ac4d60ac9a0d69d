// Internal to history/: what each workflow command turns into (events, tasks, timers), for
// complete_workflow_task(). Pure; works on the transition's TransitionContext.
#pragma once

#include <string>

#include "cairn/v1/command.pb.h"
#include "history/transition_context.h"

namespace cairn::rules {

// What the commands of one workflow task add up to, known before any of them is applied.
struct CommandPlan {
  bool closes = false;  // the last command completes, fails or cancels the run
};

// Checks the list as a whole before anything changes: every command has a known type and its
// attributes, and nothing follows a close command. kInvalidArgument naming the command's
// (0-based) index and type.
Result<CommandPlan> check_commands(const google::protobuf::RepeatedPtrField<v1::Command>& commands,
                                   const std::string& run);

// "command 3 (StartTimer, timer \"t1\")": the index, the type and what the command is about.
std::string describe_command(const v1::Command& command, int index);

// Applies command `index` after WorkflowTaskCompleted `completed_event_id`: its events, tasks and
// timers. Sets *wake_workflow when it wrote an event the workflow has not seen yet (an activity
// canceled before it started), so that a new workflow task is needed. kInvalidArgument naming the
// command for invalid attributes (duplicate or unknown ids, missing timeouts, oversize payloads),
// kResourceExhausted past the pending limits. A close command also marks the run closed.
Status apply_command(TransitionContext& tx, const v1::Command& command, int index,
                     int64_t completed_event_id, bool* wake_workflow);

}  // namespace cairn::rules
