// Replaying a workflow task without a server: the workflow function, the run's history up to
// the current WorkflowTaskStarted, and out come the commands the worker would send — or the
// reason the task fails (non-determinism, a bug in workflow code). For tests of workflow code
// against recorded histories and for tools (cairnctl replay). Thread-safe: each call is
// independent.
#pragma once

#include <vector>

#include "cairn/v1/command.pb.h"
#include "cairn/v1/history.pb.h"
#include "cairn/worker.h"

namespace cairn {

struct ReplayResult {
  bool task_failed = false;
  // When task_failed: why, as RespondWorkflowTaskFailed reports it.
  v1::WorkflowTaskFailedCause cause = v1::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED;
  v1::Failure failure;
  // Otherwise: the commands of the current workflow task, in the order the code issued them.
  std::vector<v1::Command> commands;
};

// `info` needs workflow_id and run_id (the seed of ctx.random() and ctx.uuid()); the rest comes
// from the history's WorkflowExecutionStarted event.
ReplayResult replay_workflow_task(const detail::WorkflowFunction& fn, const WorkflowInfo& info,
                                  const std::vector<v1::HistoryEvent>& events);

// The same for a workflow function as register_workflow() takes it.
template <class F>
ReplayResult replay(F&& fn, const WorkflowInfo& info, const std::vector<v1::HistoryEvent>& events) {
  return replay_workflow_task(detail::adapt<WorkflowContext>(std::forward<F>(fn)), info, events);
}

}  // namespace cairn
