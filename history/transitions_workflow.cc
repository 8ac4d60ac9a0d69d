// Transitions of the run as a whole: start (and signal-with-start), signal, cancel request,
// terminate; and the task token encoding.
#include <algorithm>

#include "history/retry_policy.h"
#include "history/transition_context.h"
#include "history/transitions.h"

namespace cairn {
namespace {

using rules::check_id;
using rules::check_payload_size;
using rules::TransitionContext;

Status check_timeout(int64_t value_ms, const char* field) {
  if (value_ms < 0) {
    return invalid_argument(std::string(field) + " must not be negative (got " +
                            std::to_string(value_ms) + ")");
  }
  return Status();
}

Status closed_error(const MutableState& ms) {
  return not_found("run " + ms.run_name() + ": workflow execution already completed (status " +
                   v1::WorkflowExecutionStatus_Name(ms.state().status()) + ")");
}

// min of the run and execution timeouts, ignoring unset (0) ones; 0 when neither is set.
int64_t run_bound_ms(const v1::StartWorkflowExecutionRequest& r) {
  int64_t run = r.workflow_run_timeout_ms();
  int64_t exec = r.workflow_execution_timeout_ms();
  if (run == 0 || (exec > 0 && exec < run)) {
    return exec;
  }
  return run;
}

}  // namespace

Status validate_start_request(const v1::StartWorkflowExecutionRequest& request,
                              const Limits& limits) {
  CAIRN_RETURN_IF_ERROR(check_id(request.namespace_(), limits, "namespace", /*required=*/false));
  CAIRN_RETURN_IF_ERROR(check_id(request.workflow_id(), limits, "workflow_id"));
  CAIRN_RETURN_IF_ERROR(check_id(request.workflow_type().name(), limits, "workflow_type.name"));
  CAIRN_RETURN_IF_ERROR(check_id(request.task_queue(), limits, "task_queue"));
  CAIRN_RETURN_IF_ERROR(check_id(request.request_id(), limits, "request_id", /*required=*/false));
  CAIRN_RETURN_IF_ERROR(
      check_timeout(request.workflow_execution_timeout_ms(), "workflow_execution_timeout_ms"));
  CAIRN_RETURN_IF_ERROR(check_timeout(request.workflow_run_timeout_ms(), "workflow_run_timeout_ms"));
  CAIRN_RETURN_IF_ERROR(check_timeout(request.workflow_task_timeout_ms(), "workflow_task_timeout_ms"));
  if (request.workflow_task_timeout_ms() > limits.max_workflow_task_timeout_ms) {
    return invalid_argument("workflow_task_timeout_ms (" +
                            std::to_string(request.workflow_task_timeout_ms()) +
                            ") is over the limit of " +
                            std::to_string(limits.max_workflow_task_timeout_ms));
  }
  if (request.has_retry_policy()) {
    CAIRN_RETURN_IF_ERROR(resolve_retry_policy(request.retry_policy()).status());
  }
  CAIRN_RETURN_IF_ERROR(check_payload_size(request.input(), limits, "input"));
  CAIRN_RETURN_IF_ERROR(rules::check_payload_map(request.memo(), limits, "memo"));
  return rules::check_payload_map(request.search_attributes(), limits, "search_attributes");
}

Status start_workflow(const v1::StartWorkflowExecutionRequest& request, const RunKey& key,
                      const std::optional<std::string>& signal_name,
                      const v1::Payloads* signal_input, const TransitionEnv& env,
                      MutableState* ms, Effects* out) {
  if (ms->state().status() != v1::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED ||
      ms->next_event_id() != 1) {
    return failed_precondition("run " + key.debug_string() + ": start_workflow needs an empty state");
  }
  v1::RunState initial;
  initial.set_namespace_(key.ns);
  initial.set_workflow_id(key.workflow_id);
  initial.set_run_id(key.run_id.value);
  *ms = MutableState(std::move(initial));
  TransitionContext tx(ms, env, out);

  v1::HistoryEvent started = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  auto* a = started.mutable_workflow_execution_started_event_attributes();
  *a->mutable_workflow_type() = request.workflow_type();
  a->set_task_queue(request.task_queue());
  *a->mutable_input() = request.input();
  a->set_workflow_execution_timeout_ms(request.workflow_execution_timeout_ms());
  a->set_workflow_run_timeout_ms(request.workflow_run_timeout_ms());
  // Recorded resolved, so that a rebuild from history needs no configuration.
  a->set_workflow_task_timeout_ms(request.workflow_task_timeout_ms() > 0
                                      ? request.workflow_task_timeout_ms()
                                      : env.limits->default_workflow_task_timeout_ms);
  a->set_identity(request.identity());
  a->set_first_run_id(key.run_id.value);
  a->set_attempt(1);
  if (request.has_retry_policy()) {
    CAIRN_ASSIGN_OR_RETURN(*a->mutable_retry_policy(), resolve_retry_policy(request.retry_policy()));
  }
  *a->mutable_memo() = request.memo();
  *a->mutable_search_attributes() = request.search_attributes();
  a->set_request_id(request.request_id());
  CAIRN_RETURN_IF_ERROR(tx.append(std::move(started)).status());

  if (signal_name.has_value()) {
    v1::HistoryEvent signaled = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
    auto* s = signaled.mutable_workflow_execution_signaled_event_attributes();
    s->set_signal_name(*signal_name);
    if (signal_input != nullptr) {
      *s->mutable_input() = *signal_input;
    }
    s->set_identity(request.identity());
    CAIRN_RETURN_IF_ERROR(tx.append(std::move(signaled)).status());
  }
  CAIRN_RETURN_IF_ERROR(tx.schedule_workflow_task(1, /*immediate=*/true));

  int64_t bound = run_bound_ms(request);
  if (bound > 0) {
    tx.add_timer(v1::TIMER_KIND_WORKFLOW_RUN_TIMEOUT, env.now_ms + bound, 0, 0);
  }
  v1::CurrentRun current;
  current.set_run_id(key.run_id.value);
  current.set_status(v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  current.set_start_request_id(request.request_id());
  out->current = std::move(current);
  return Status();
}

Status signal_workflow(MutableState* ms, const std::string& signal_name, const v1::Payloads& input,
                       const std::string& identity, const std::string& request_id,
                       const TransitionEnv& env, Effects* out) {
  if (!ms->is_open()) {
    return closed_error(*ms);
  }
  CAIRN_RETURN_IF_ERROR(check_id(signal_name, *env.limits, "signal_name"));
  CAIRN_RETURN_IF_ERROR(check_payload_size(input, *env.limits, "signal input"));
  if (ms->seen_request_id(request_id)) {
    return Status();  // a retry of a signal already delivered
  }
  TransitionContext tx(ms, env, out);
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  auto* a = e.mutable_workflow_execution_signaled_event_attributes();
  a->set_signal_name(signal_name);
  *a->mutable_input() = input;
  a->set_identity(identity);
  std::vector<v1::HistoryEvent> events;
  events.push_back(std::move(e));
  CAIRN_RETURN_IF_ERROR(tx.deliver(std::move(events)));
  ms->remember_request_id(request_id, env.limits->max_recent_request_ids);
  return Status();
}

Status request_cancel_workflow(MutableState* ms, const std::string& identity,
                               const std::string& request_id, const std::string& reason,
                               const TransitionEnv& env, Effects* out) {
  if (!ms->is_open()) {
    return closed_error(*ms);
  }
  if (ms->seen_request_id(request_id) || ms->state().cancel_requested()) {
    return Status();  // cancellation is requested once; repeats change nothing
  }
  TransitionContext tx(ms, env, out);
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  auto* a = e.mutable_workflow_execution_cancel_requested_event_attributes();
  a->set_cause(reason);
  a->set_identity(identity);
  std::vector<v1::HistoryEvent> events;
  events.push_back(std::move(e));
  CAIRN_RETURN_IF_ERROR(tx.deliver(std::move(events)));
  ms->remember_request_id(request_id, env.limits->max_recent_request_ids);
  return Status();
}

Status terminate_workflow(MutableState* ms, const std::string& reason, const v1::Payloads& details,
                          const std::string& identity, const TransitionEnv& env, Effects* out) {
  if (!ms->is_open()) {
    return closed_error(*ms);
  }
  CAIRN_RETURN_IF_ERROR(check_payload_size(details, *env.limits, "termination details"));
  TransitionContext tx(ms, env, out);
  // Terminate does not wait for a started workflow task. Events buffered behind it happened
  // before the termination, so they are written first rather than lost.
  CAIRN_RETURN_IF_ERROR(tx.flush_buffered().status());
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
  auto* a = e.mutable_workflow_execution_terminated_event_attributes();
  a->set_reason(reason);
  *a->mutable_details() = details;
  a->set_identity(identity);
  CAIRN_RETURN_IF_ERROR(tx.append(std::move(e)).status());
  tx.mark_closed();
  return Status();
}

std::string encode_task_token(const v1::TaskToken& token) { return token.SerializeAsString(); }

Result<v1::TaskToken> decode_task_token(const std::string& bytes) {
  v1::TaskToken token;
  if (!token.ParseFromString(bytes) || token.kind() == v1::TASK_KIND_UNSPECIFIED) {
    return invalid_argument("malformed task token");
  }
  return token;
}

}  // namespace cairn
