// Handlers: workflow updates — admitting a request (one transition) and reading where an update
// stands. The waiting itself (validation query, history watch) is in service_update.cc.
#include "history/update_rules.h"
#include "server/handlers/handlers.h"

namespace cairn::handlers {

Status check_update_request(Engine& e, const v1::UpdateWorkflowExecutionRequest& req) {
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns_or_default(req.namespace_())));
  const Limits& limits = e.options().limits;
  if (req.name().empty()) {
    return invalid_argument("update name is required");
  }
  if (static_cast<int>(req.name().size()) > limits.max_id_length ||
      static_cast<int>(req.update_id().size()) > limits.max_id_length) {
    return invalid_argument("update name or update_id is longer than " +
                            std::to_string(limits.max_id_length) + " characters");
  }
  if (req.input().ByteSizeLong() > static_cast<size_t>(limits.max_payload_bytes)) {
    return invalid_argument("update input is over the payload size limit");
  }
  return Status();
}

Result<bool> admit_update(Engine& e, const RunKey& key, const std::string& update_id,
                          const v1::UpdateWorkflowExecutionRequest& req) {
  bool admitted = false;
  CAIRN_RETURN_IF_ERROR(e.run_transition(key, [&](Engine::Scope& s) -> Status {
    CAIRN_ASSIGN_OR_RETURN(admitted, cairn::admit_update(s.ms, update_id, req.name(), req.input(),
                                                         s.env, &s.effects));
    s.skip_commit = !admitted;
    return Status();
  }));
  return admitted;
}

Result<bool> read_update_outcome(Engine& e, const RunKey& key, const std::string& update_id,
                                 v1::UpdateWaitStage wait_stage,
                                 v1::UpdateWorkflowExecutionResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(v1::RunState state, e.read_state(key));
  resp->set_update_id(update_id);
  resp->set_run_id(key.run_id.value);
  auto it = state.updates().find(update_id);
  if (it == state.updates().end()) {
    if (state.status() != v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
      return failed_precondition("run " + key.debug_string() + " closed before update " +
                                 update_id + " was admitted");
    }
    return false;
  }
  const v1::UpdateInfo& u = it->second;
  switch (u.state()) {
    case v1::UPDATE_STATE_COMPLETED:
      resp->set_stage(v1::UPDATE_WAIT_STAGE_COMPLETED);
      if (u.has_failure()) {
        *resp->mutable_failure() = u.failure();
      } else {
        *resp->mutable_result() = u.result();
      }
      return true;
    case v1::UPDATE_STATE_REJECTED:
      resp->set_stage(v1::UPDATE_WAIT_STAGE_COMPLETED);
      resp->set_rejected(true);
      *resp->mutable_failure() = u.failure();
      return true;
    case v1::UPDATE_STATE_ACCEPTED:
      if (wait_stage == v1::UPDATE_WAIT_STAGE_ACCEPTED) {
        resp->set_stage(v1::UPDATE_WAIT_STAGE_ACCEPTED);
        return true;
      }
      break;
    default:
      break;
  }
  if (state.status() != v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
    return failed_precondition("run " + key.debug_string() + " closed (" +
                               v1::WorkflowExecutionStatus_Name(state.status()) +
                               ") before update " + update_id + " (" + u.name() + ") completed");
  }
  return false;
}

}  // namespace cairn::handlers
