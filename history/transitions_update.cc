// Workflow updates: admission, delivery with a workflow task, rejection, and the accept / complete
// commands (see update_rules.h).
#include "history/update_rules.h"

namespace cairn {

using rules::TransitionContext;

Result<bool> admit_update(MutableState* ms, const std::string& update_id, const std::string& name,
                          const v1::Payloads& input, const TransitionEnv& env, Effects* out) {
  const Limits& limits = *env.limits;
  CAIRN_RETURN_IF_ERROR(rules::check_id(update_id, limits, "update_id"));
  CAIRN_RETURN_IF_ERROR(rules::check_id(name, limits, "update name"));
  CAIRN_RETURN_IF_ERROR(rules::check_payload_size(input, limits, "update input"));
  if (ms->state().updates().contains(update_id)) {
    return false;  // a repeated request: the first one's outcome answers it
  }
  if (!ms->is_open()) {
    return not_found("run " + ms->run_name() + " is closed: update " + update_id +
                     " cannot be admitted");
  }
  int open_updates = 0;
  for (const auto& [id, u] : ms->state().updates()) {
    open_updates += (u.state() == v1::UPDATE_STATE_ADMITTED ||
                     u.state() == v1::UPDATE_STATE_ACCEPTED) ? 1 : 0;
  }
  if (open_updates >= kMaxOpenUpdatesPerRun) {
    return resource_exhausted("run " + ms->run_name() + " already has " +
                              std::to_string(open_updates) + " updates in progress (limit " +
                              std::to_string(kMaxOpenUpdatesPerRun) + ")");
  }
  v1::UpdateInfo& u = (*ms->mutable_updates())[update_id];
  u.set_update_id(update_id);
  u.set_name(name);
  *u.mutable_input() = input;
  u.set_state(v1::UPDATE_STATE_ADMITTED);
  u.set_admitted_time_ms(env.now_ms);
  if (!ms->has_workflow_task()) {
    TransitionContext tx(ms, env, out);
    CAIRN_RETURN_IF_ERROR(tx.schedule_workflow_task(1, /*immediate=*/true));
  }
  // A scheduled task carries it when it starts; a started one is followed by a new task
  // (finish_update_delivery).
  return true;
}

void deliver_updates(MutableState* ms, int64_t started_event_id,
                     google::protobuf::RepeatedPtrField<v1::WorkflowUpdateRequest>* requests) {
  // In admission order would be nicer; the map is ordered by id, which is deterministic enough:
  // the worker records the order it accepted them in history.
  for (auto& [id, u] : *ms->mutable_updates()) {
    if (u.state() != v1::UPDATE_STATE_ADMITTED) {
      continue;
    }
    u.set_delivered_started_event_id(started_event_id);
    v1::WorkflowUpdateRequest* r = requests->Add();
    r->set_update_id(id);
    r->set_name(u.name());
    *r->mutable_input() = u.input();
  }
}

Status reject_updates(
    MutableState* ms,
    const google::protobuf::RepeatedPtrField<v1::WorkflowUpdateRejection>& rejections) {
  auto* updates = ms->mutable_updates();
  for (int i = 0; i < rejections.size(); ++i) {
    const v1::WorkflowUpdateRejection& r = rejections[i];
    auto it = updates->find(r.update_id());
    if (it == updates->end() || it->second.state() != v1::UPDATE_STATE_ADMITTED) {
      return invalid_argument("run " + ms->run_name() + ": update_rejections[" +
                              std::to_string(i) + "]: update \"" + r.update_id() +
                              "\" is not waiting for the workflow");
    }
  }
  for (const v1::WorkflowUpdateRejection& r : rejections) {
    v1::UpdateInfo& u = updates->at(r.update_id());
    u.set_state(v1::UPDATE_STATE_REJECTED);
    *u.mutable_failure() = r.failure();
    u.clear_input();  // only the outcome is needed from now on
  }
  return Status();
}

Status finish_update_delivery(MutableState* ms, int64_t started_event_id, const TransitionEnv& env,
                              Effects* out) {
  bool completed = false;
  for (const v1::HistoryEvent& e : out->events) {
    completed |= e.event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED;
  }
  if (!completed || !ms->is_open()) {
    return Status();
  }
  bool undelivered = false;
  for (auto& [id, u] : *ms->mutable_updates()) {
    if (u.state() != v1::UPDATE_STATE_ADMITTED) {
      continue;
    }
    if (u.delivered_started_event_id() == started_event_id) {
      // A worker that does not know updates (or lost this one): tell the caller, do not loop.
      u.set_state(v1::UPDATE_STATE_REJECTED);
      u.mutable_failure()->set_message("update " + id + " (" + u.name() +
                                       ") was not handled by the workflow task");
      u.mutable_failure()->set_source("Server");
      u.clear_input();
    } else {
      undelivered = true;
    }
  }
  if (undelivered && !ms->has_workflow_task()) {
    TransitionContext tx(ms, env, out);
    return tx.schedule_workflow_task(1, /*immediate=*/true);
  }
  return Status();
}

namespace rules {

Status accept_update(TransitionContext& tx, const v1::AcceptWorkflowUpdateCommandAttributes& c,
                     const std::string& where, int64_t completed_event_id) {
  auto it = tx.state().updates().find(c.update_id());
  if (it == tx.state().updates().end() || it->second.state() != v1::UPDATE_STATE_ADMITTED) {
    return invalid_argument(where + ": update " + c.update_id() + " is not waiting for the workflow");
  }
  const v1::UpdateInfo& u = it->second;
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
  auto* a = e.mutable_workflow_execution_update_accepted_event_attributes();
  a->set_update_id(u.update_id());
  a->set_name(u.name());
  *a->mutable_input() = u.input();
  a->set_accepted_request_sequencing_event_id(u.delivered_started_event_id());
  a->set_workflow_task_completed_event_id(completed_event_id);
  return tx.append(std::move(e)).status();
}

Status complete_update(TransitionContext& tx, const v1::CompleteWorkflowUpdateCommandAttributes& c,
                       const std::string& where, int64_t completed_event_id) {
  auto it = tx.state().updates().find(c.update_id());
  if (it == tx.state().updates().end() || it->second.state() != v1::UPDATE_STATE_ACCEPTED) {
    return invalid_argument(where + ": update " + c.update_id() + " is not accepted");
  }
  CAIRN_RETURN_IF_ERROR(with_context(check_payload_size(c.result(), tx.limits(), "result"), where));
  CAIRN_RETURN_IF_ERROR(with_context(check_payload_size(c.failure(), tx.limits(), "failure"), where));
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED);
  auto* a = e.mutable_workflow_execution_update_completed_event_attributes();
  a->set_update_id(c.update_id());
  a->set_accepted_event_id(it->second.accepted_event_id());
  if (c.has_failure()) {
    *a->mutable_failure() = c.failure();
  } else {
    *a->mutable_result() = c.result();
  }
  a->set_workflow_task_completed_event_id(completed_event_id);
  return tx.append(std::move(e)).status();
}

}  // namespace rules
}  // namespace cairn
