// The transitions that complete cross-run effects (child workflows, signals and cancel requests
// to other runs, continue-as-new) on the run they land on, and the history size limits. Pure, with
// the contract of transitions.h. Each `record_*` returns false when nothing applies any more (the
// run closed, or the child / request is no longer pending: a redo after a crash) — the caller
// then only removes the transfer task.
#pragma once

#include <cstdint>
#include <string>

#include "history/transitions.h"

namespace cairn {

// A new run whose WorkflowExecutionStarted carries `started` (a child's, or the next run of a
// continue-as-new: parent, first run id, memo and request id already filled): the started event,
// WorkflowTaskScheduled, the run-timeout timer and the current-run pointer. `ms` must be empty.
Status start_run_from(const v1::WorkflowExecutionStartedEventAttributes& started,
                      const RunKey& key, const TransitionEnv& env, MutableState* ms, Effects* out);

// ChildWorkflowExecutionStarted for the child initiated by event `initiated`.
Result<bool> record_child_started(MutableState* ms, int64_t initiated,
                                  const std::string& child_run_id, const TransitionEnv& env,
                                  Effects* out);

// StartChildWorkflowExecutionFailed (the id is taken, or the namespace is unknown).
Result<bool> record_start_child_failed(MutableState* ms, int64_t initiated,
                                       v1::StartChildWorkflowExecutionFailedCause cause,
                                       const TransitionEnv& env, Effects* out);

// ChildWorkflowExecution{Completed,Failed,Canceled,TimedOut,Terminated} from the child's close
// event (preceded by ChildWorkflowExecutionStarted when the start was not recorded yet).
// kInvalidArgument when `close_event` is not a close event.
Result<bool> record_child_closed(MutableState* ms, int64_t initiated,
                                 const std::string& child_run_id,
                                 const v1::HistoryEvent& close_event, const TransitionEnv& env,
                                 Effects* out);

// The outcome of a signal (`signal` true) or cancel request sent to another run:
// ExternalWorkflowExecutionSignaled / ExternalWorkflowExecutionCancelRequested on success,
// SignalExternalWorkflowExecutionFailed / RequestCancelExternalWorkflowExecutionFailed with
// `cause` otherwise (cause UNSPECIFIED means success).
Result<bool> record_external_outcome(MutableState* ms, bool signal, int64_t initiated,
                                     v1::ExternalWorkflowExecutionFailedCause cause,
                                     const TransitionEnv& env, Effects* out);

struct HistoryLimitCheck {
  bool terminated = false;    // the run passed a hard limit and was terminated in `out`
  bool crossed_warning = false;  // this transition took the history past 80% of a limit
  int64_t events = 0;
  int64_t bytes = 0;
};

// Applies Limits::history_max_events / history_max_bytes after a transition's own events are in
// `out`: past a limit an open run is terminated with a reason naming the limit.
Result<HistoryLimitCheck> enforce_history_limits(MutableState* ms, const TransitionEnv& env,
                                                 Effects* out);

}  // namespace cairn
