// Internal to history/: the command rules for child workflows, signals and cancel requests to
// other runs and continue-as-new, and what a closing run owes other runs (its parent, its
// children). Pure; works on the transition's TransitionContext. Every cross-run effect becomes a
// TASK_KIND_TRANSFER record written in the same transition (the outbox); the server executes it
// after commit (server/handlers/transfer.cc).
#pragma once

#include <string>

#include "cairn/v1/command.pb.h"
#include "history/transition_context.h"

namespace cairn::rules {

// The queue name carried by transfer task records (they never reach a task queue).
inline constexpr char kTransferQueue[] = "__transfer";

// StartChildWorkflowExecutionInitiated + a START_CHILD transfer task. kInvalidArgument naming
// the command for bad ids, timeouts, retry policy or oversize input; kResourceExhausted past
// Limits::max_pending_children.
Status start_child_command(TransitionContext& tx,
                           const v1::StartChildWorkflowExecutionCommandAttributes& c,
                           const std::string& where, int64_t completed_event_id);

// SignalExternalWorkflowExecutionInitiated + a SIGNAL_EXTERNAL transfer task. kResourceExhausted
// past Limits::max_pending_signals.
Status signal_external_command(TransitionContext& tx,
                               const v1::SignalExternalWorkflowExecutionCommandAttributes& c,
                               const std::string& where, int64_t completed_event_id);

// RequestCancelExternalWorkflowExecutionInitiated + a CANCEL_EXTERNAL transfer task.
// kResourceExhausted past Limits::max_pending_cancels.
Status cancel_external_command(TransitionContext& tx,
                               const v1::RequestCancelExternalWorkflowExecutionCommandAttributes& c,
                               const std::string& where, int64_t completed_event_id);

// WorkflowExecutionContinuedAsNew (closing the run) + a CONTINUE_AS_NEW transfer task that
// starts the next run of the same workflow id with a fresh history. The new run id is derived
// from this run's id and the event id, so a redo names the same run.
Status continue_as_new_command(TransitionContext& tx,
                               const v1::ContinueAsNewWorkflowExecutionCommandAttributes& c,
                               const std::string& where, int64_t completed_event_id);

// Called by TransitionContext::mark_closed() after the close event was appended: a CHILD_CLOSED
// transfer to the parent (unless the run continued as new: the parent follows the chain), a
// PARENT_CLOSE_POLICY transfer for each pending child whose policy is not ABANDON, and the
// pending child / external request entries dropped.
void on_run_closed(TransitionContext& tx);

// Whether a workflow task starting now should carry suggest_continue_as_new.
bool suggest_continue_as_new(const v1::RunState& state, const Limits& limits);

// A run id derived from `run_id` and `salt`, formatted as a version-4 UUID.
std::string derived_run_id(const std::string& run_id, int64_t salt);

}  // namespace cairn::rules
