// Handlers: SignalWorkflowExecution, RequestCancelWorkflowExecution, TerminateWorkflowExecution.
#include "server/handlers/handlers.h"

namespace cairn::handlers {
namespace {

Result<RunKey> resolve_execution(Engine& e, const std::string& raw_ns,
                                 const v1::WorkflowExecution& exec) {
  std::string ns = ns_or_default(raw_ns);
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns));
  CAIRN_RETURN_IF_ERROR(refuse_schedule_entity(exec.workflow_id()));
  return e.resolve(ns, exec.workflow_id(), exec.run_id());
}

}  // namespace

Status signal_workflow(Engine& e, const v1::SignalWorkflowExecutionRequest& req,
                       v1::SignalWorkflowExecutionResponse* resp) {
  if (req.signal_name().empty()) {
    return invalid_argument("signal_name is required");
  }
  if (req.input().ByteSizeLong() > static_cast<size_t>(e.options().limits.max_payload_bytes)) {
    return invalid_argument("signal input is " + std::to_string(req.input().ByteSizeLong()) +
                            " bytes, over the limit of " +
                            std::to_string(e.options().limits.max_payload_bytes));
  }
  CAIRN_ASSIGN_OR_RETURN(RunKey key, resolve_execution(e, req.namespace_(), req.workflow_execution()));
  return e.run_transition(key, [&](Engine::Scope& s) {
    return cairn::signal_workflow(s.ms, req.signal_name(), req.input(), req.identity(),
                                  req.request_id(), s.env, &s.effects);
  });
}

Status request_cancel_workflow(Engine& e, const v1::RequestCancelWorkflowExecutionRequest& req,
                               v1::RequestCancelWorkflowExecutionResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(RunKey key, resolve_execution(e, req.namespace_(), req.workflow_execution()));
  return e.run_transition(key, [&](Engine::Scope& s) {
    return cairn::request_cancel_workflow(s.ms, req.identity(), req.request_id(), req.reason(),
                                          s.env, &s.effects);
  });
}

Status terminate_workflow(Engine& e, const v1::TerminateWorkflowExecutionRequest& req,
                          v1::TerminateWorkflowExecutionResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(RunKey key, resolve_execution(e, req.namespace_(), req.workflow_execution()));
  return e.run_transition(key, [&](Engine::Scope& s) {
    return cairn::terminate_workflow(s.ms, req.reason(), req.details(), req.identity(), s.env,
                                     &s.effects);
  });
}

}  // namespace cairn::handlers
