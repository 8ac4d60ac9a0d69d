// Workflow updates on the server: the rules that admit an update request, deliver it with a
// workflow task, record the worker's rejections, and turn the accept / complete commands into
// WorkflowExecutionUpdateAccepted / WorkflowExecutionUpdateCompleted. Pure, like transitions.h.
//
// Life of an update: admitted (durable, in RunState.updates, no event) → delivered with the next
// workflow task → accepted by the worker's validator (event 41) or rejected (no event) → completed
// by its handler, possibly several tasks later (event 43). A rejection is kept in the state so that
// a repeated update id gets the same answer.
#pragma once

#include <string>

#include "cairn/v1/service.pb.h"
#include "history/transition_context.h"
#include "history/transitions.h"

namespace cairn {

// Updates admitted or accepted but not completed, per run; more is kResourceExhausted.
inline constexpr int kMaxOpenUpdatesPerRun = 100;

// Admits update `update_id` (name, input) on an open run: the request joins RunState.updates
// and a workflow task is scheduled when none is pending (one that is started will be followed
// by another). Returns false (nothing to write) when the id is already known: the caller waits
// for that update's outcome. kNotFound when the run is closed; kInvalidArgument for a missing
// or over-long id or name, an oversize input; kResourceExhausted past kMaxOpenUpdatesPerRun.
Result<bool> admit_update(MutableState* ms, const std::string& update_id, const std::string& name,
                          const v1::Payloads& input, const TransitionEnv& env, Effects* out);

// The workflow task that started as `started_event_id` carries every admitted update: each is
// marked delivered with that task and added to `requests`. No events.
void deliver_updates(MutableState* ms, int64_t started_event_id,
                     google::protobuf::RepeatedPtrField<v1::WorkflowUpdateRequest>* requests);

// RespondWorkflowTaskCompleted's rejections: each named update must be admitted; it becomes
// REJECTED with the failure (no event). kInvalidArgument for an unknown or not admitted id.
Status reject_updates(MutableState* ms,
                      const google::protobuf::RepeatedPtrField<v1::WorkflowUpdateRejection>& rejections);

// After complete_workflow_task() for the task that started as `started_event_id`: updates it
// carried that the worker neither accepted nor rejected are rejected ("not handled"); updates
// admitted while it ran get a new workflow task. A no-op when the task did not complete (it
// failed as UNHANDLED_COMMAND: the updates are delivered again) or the run closed.
Status finish_update_delivery(MutableState* ms, int64_t started_event_id, const TransitionEnv& env,
                              Effects* out);

namespace rules {

// COMMAND_TYPE_ACCEPT_WORKFLOW_UPDATE → WorkflowExecutionUpdateAccepted. kInvalidArgument naming
// the command when the update is not admitted.
Status accept_update(TransitionContext& tx, const v1::AcceptWorkflowUpdateCommandAttributes& c,
                     const std::string& where, int64_t completed_event_id);
// COMMAND_TYPE_COMPLETE_WORKFLOW_UPDATE → WorkflowExecutionUpdateCompleted. kInvalidArgument when
// the update is not accepted, or for an oversize result or failure.
Status complete_update(TransitionContext& tx, const v1::CompleteWorkflowUpdateCommandAttributes& c,
                       const std::string& where, int64_t completed_event_id);

}  // namespace rules
}  // namespace cairn
