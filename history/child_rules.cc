// Command rules for child workflows, external signals / cancels and continue-as-new, and the
// transfer tasks a closing run owes its parent and children (Temporal semantics).
#include "history/child_rules.h"

#include "history/retry_policy.h"
#include "proto/schedule_spec.h"
#include "proto/uuid.h"

namespace cairn::rules {
namespace {

std::string request_id_for(const v1::RunState& s, int64_t initiated_event_id) {
  return s.run_id() + ":" + std::to_string(initiated_event_id);
}

// Adds a transfer task record to the transition, in the run's own shard.
void add_transfer(TransitionContext& tx, v1::TransferTask transfer) {
  tx.add_task(v1::TASK_KIND_TRANSFER, kTransferQueue, transfer.initiated_event_id(), 0);
  *tx.out().add_tasks.back().mutable_transfer() = std::move(transfer);
}

Status check_timeouts(int64_t execution, int64_t run, int64_t task, const Limits& limits) {
  const std::pair<int64_t, const char*> given[] = {{execution, "workflow_execution_timeout_ms"},
                                                   {run, "workflow_run_timeout_ms"},
                                                   {task, "workflow_task_timeout_ms"}};
  for (const auto& [value, field] : given) {
    if (value < 0) {
      return invalid_argument(std::string(field) + " must not be negative");
    }
  }
  if (task > limits.max_workflow_task_timeout_ms) {
    return invalid_argument("workflow_task_timeout_ms (" + std::to_string(task) +
                            ") is over the limit of " +
                            std::to_string(limits.max_workflow_task_timeout_ms));
  }
  return Status();
}

Status check_pending(int size, int32_t limit, const std::string& where, const char* what) {
  if (size >= limit) {
    return resource_exhausted(where + ": the run already has " + std::to_string(size) + " " +
                              what + " (limit " + std::to_string(limit) + ")");
  }
  return Status();
}

uint64_t fnv1a(const std::string& s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string derived_run_id(const std::string& run_id, int64_t salt) {
  std::string seed = run_id + "#" + std::to_string(salt);
  uint64_t a = fnv1a(seed, 1469598103934665603ull);
  uint64_t b = fnv1a(seed + "/b", a ^ 0x9e3779b97f4a7c15ull);
  return format_uuid_v4(a, b);
}

Status start_child_command(TransitionContext& tx,
                           const v1::StartChildWorkflowExecutionCommandAttributes& c,
                           const std::string& where, int64_t completed_event_id) {
  const Limits& limits = tx.limits();
  CAIRN_RETURN_IF_ERROR(with_context(check_id(c.workflow_id(), limits, "workflow_id"), where));
  CAIRN_RETURN_IF_ERROR(
      with_context(check_id(c.workflow_type().name(), limits, "workflow_type.name"), where));
  CAIRN_RETURN_IF_ERROR(
      with_context(check_id(c.task_queue(), limits, "task_queue", /*required=*/false), where));
  CAIRN_RETURN_IF_ERROR(
      with_context(check_id(c.namespace_(), limits, "namespace", /*required=*/false), where));
  CAIRN_RETURN_IF_ERROR(with_context(check_payload_size(c.input(), limits, "input"), where));
  CAIRN_RETURN_IF_ERROR(with_context(check_payload_map(c.memo(), limits, "memo"), where));
  CAIRN_RETURN_IF_ERROR(with_context(
      check_payload_map(c.search_attributes(), limits, "search_attributes"), where));
  CAIRN_RETURN_IF_ERROR(with_context(
      check_timeouts(c.workflow_execution_timeout_ms(), c.workflow_run_timeout_ms(),
                     c.workflow_task_timeout_ms(), limits),
      where));
  v1::RetryPolicy policy;
  if (c.has_retry_policy()) {
    auto resolved = resolve_retry_policy(c.retry_policy());
    CAIRN_RETURN_IF_ERROR(with_context(resolved.status(), where));
    policy = *resolved;
  }
  CAIRN_RETURN_IF_ERROR(check_pending(tx.state().children_size(), limits.max_pending_children,
                                      where, "pending child workflows"));
  const v1::RunState& s = tx.state();
  const std::string ns = c.namespace_().empty() ? s.namespace_() : c.namespace_();
  const std::string queue = c.task_queue().empty() ? s.task_queue() : c.task_queue();
  v1::ParentClosePolicy close_policy = c.parent_close_policy() == v1::PARENT_CLOSE_POLICY_UNSPECIFIED
                                           ? v1::PARENT_CLOSE_POLICY_TERMINATE
                                           : c.parent_close_policy();
  int64_t task_timeout = c.workflow_task_timeout_ms() > 0 ? c.workflow_task_timeout_ms()
                                                          : limits.default_workflow_task_timeout_ms;

  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED);
  auto* a = e.mutable_start_child_workflow_execution_initiated_event_attributes();
  a->set_namespace_(ns);
  a->set_workflow_id(c.workflow_id());
  *a->mutable_workflow_type() = c.workflow_type();
  a->set_task_queue(queue);
  *a->mutable_input() = c.input();
  a->set_workflow_execution_timeout_ms(c.workflow_execution_timeout_ms());
  a->set_workflow_run_timeout_ms(c.workflow_run_timeout_ms());
  a->set_workflow_task_timeout_ms(task_timeout);
  a->set_parent_close_policy(close_policy);
  a->set_workflow_task_completed_event_id(completed_event_id);
  a->set_workflow_id_reuse_policy(c.workflow_id_reuse_policy());
  if (c.has_retry_policy()) {
    *a->mutable_retry_policy() = policy;
  }
  *a->mutable_memo() = c.memo();
  *a->mutable_search_attributes() = c.search_attributes();
  CAIRN_ASSIGN_OR_RETURN(int64_t id, tx.append(e));

  v1::TransferTask t;
  t.set_type(v1::TRANSFER_TYPE_START_CHILD);
  t.set_target_namespace(ns);
  t.set_target_workflow_id(c.workflow_id());
  t.set_initiated_event_id(id);
  t.set_request_id(request_id_for(tx.state(), id));
  t.set_parent_close_policy(close_policy);
  auto* run = t.mutable_new_run();
  *run->mutable_workflow_type() = c.workflow_type();
  run->set_task_queue(queue);
  *run->mutable_input() = c.input();
  run->set_workflow_execution_timeout_ms(c.workflow_execution_timeout_ms());
  run->set_workflow_run_timeout_ms(c.workflow_run_timeout_ms());
  run->set_workflow_task_timeout_ms(task_timeout);
  run->set_attempt(1);
  if (c.has_retry_policy()) {
    *run->mutable_retry_policy() = policy;
  }
  *run->mutable_memo() = c.memo();
  *run->mutable_search_attributes() = c.search_attributes();
  run->set_request_id(t.request_id());
  run->set_parent_workflow_namespace(s.namespace_());
  run->mutable_parent_workflow_execution()->set_workflow_id(s.workflow_id());
  run->mutable_parent_workflow_execution()->set_run_id(s.run_id());
  run->set_parent_initiated_event_id(id);
  run->set_parent_close_policy(close_policy);
  *t.mutable_event() = std::move(e);
  t.mutable_event()->set_event_id(id);
  add_transfer(tx, std::move(t));
  return Status();
}

Status signal_external_command(TransitionContext& tx,
                               const v1::SignalExternalWorkflowExecutionCommandAttributes& c,
                               const std::string& where, int64_t completed_event_id) {
  const Limits& limits = tx.limits();
  CAIRN_RETURN_IF_ERROR(
      with_context(check_id(c.execution().workflow_id(), limits, "execution.workflow_id"), where));
  CAIRN_RETURN_IF_ERROR(with_context(check_id(c.signal_name(), limits, "signal_name"), where));
  CAIRN_RETURN_IF_ERROR(with_context(check_payload_size(c.input(), limits, "input"), where));
  CAIRN_RETURN_IF_ERROR(check_pending(tx.state().pending_signals_size(),
                                      limits.max_pending_signals, where,
                                      "pending signals to other workflows"));
  const std::string ns = c.namespace_().empty() ? tx.state().namespace_() : c.namespace_();
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED);
  auto* a = e.mutable_signal_external_workflow_execution_initiated_event_attributes();
  a->set_workflow_task_completed_event_id(completed_event_id);
  a->set_namespace_(ns);
  *a->mutable_workflow_execution() = c.execution();
  a->set_signal_name(c.signal_name());
  *a->mutable_input() = c.input();
  a->set_child_workflow_only(c.child_workflow_only());
  CAIRN_ASSIGN_OR_RETURN(int64_t id, tx.append(e));
  v1::TransferTask t;
  t.set_type(v1::TRANSFER_TYPE_SIGNAL_EXTERNAL);
  t.set_target_namespace(ns);
  t.set_target_workflow_id(c.execution().workflow_id());
  t.set_target_run_id(c.execution().run_id());
  t.set_initiated_event_id(id);
  t.set_request_id(request_id_for(tx.state(), id));
  *t.mutable_event() = std::move(e);
  t.mutable_event()->set_event_id(id);
  add_transfer(tx, std::move(t));
  return Status();
}

Status cancel_external_command(TransitionContext& tx,
                               const v1::RequestCancelExternalWorkflowExecutionCommandAttributes& c,
                               const std::string& where, int64_t completed_event_id) {
  const Limits& limits = tx.limits();
  CAIRN_RETURN_IF_ERROR(with_context(check_id(c.workflow_id(), limits, "workflow_id"), where));
  CAIRN_RETURN_IF_ERROR(check_pending(tx.state().pending_cancels_size(),
                                      limits.max_pending_cancels, where,
                                      "pending cancel requests to other workflows"));
  const std::string ns = c.namespace_().empty() ? tx.state().namespace_() : c.namespace_();
  v1::HistoryEvent e =
      tx.new_event(v1::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED);
  auto* a = e.mutable_request_cancel_external_workflow_execution_initiated_event_attributes();
  a->set_workflow_task_completed_event_id(completed_event_id);
  a->set_namespace_(ns);
  a->mutable_workflow_execution()->set_workflow_id(c.workflow_id());
  a->mutable_workflow_execution()->set_run_id(c.run_id());
  a->set_child_workflow_only(c.child_workflow_only());
  a->set_reason(c.reason());
  CAIRN_ASSIGN_OR_RETURN(int64_t id, tx.append(e));
  v1::TransferTask t;
  t.set_type(v1::TRANSFER_TYPE_CANCEL_EXTERNAL);
  t.set_target_namespace(ns);
  t.set_target_workflow_id(c.workflow_id());
  t.set_target_run_id(c.run_id());
  t.set_initiated_event_id(id);
  t.set_request_id(request_id_for(tx.state(), id));
  *t.mutable_event() = std::move(e);
  t.mutable_event()->set_event_id(id);
  add_transfer(tx, std::move(t));
  return Status();
}

Status continue_as_new_command(TransitionContext& tx,
                               const v1::ContinueAsNewWorkflowExecutionCommandAttributes& c,
                               const std::string& where, int64_t completed_event_id) {
  const Limits& limits = tx.limits();
  const v1::RunState& s = tx.state();
  CAIRN_RETURN_IF_ERROR(with_context(
      check_id(c.workflow_type().name(), limits, "workflow_type.name", /*required=*/false), where));
  CAIRN_RETURN_IF_ERROR(
      with_context(check_id(c.task_queue(), limits, "task_queue", /*required=*/false), where));
  CAIRN_RETURN_IF_ERROR(with_context(check_payload_size(c.input(), limits, "input"), where));
  CAIRN_RETURN_IF_ERROR(with_context(check_payload_map(c.memo(), limits, "memo"), where));
  CAIRN_RETURN_IF_ERROR(with_context(
      check_payload_map(c.search_attributes(), limits, "search_attributes"), where));
  CAIRN_RETURN_IF_ERROR(with_context(
      check_timeouts(0, c.workflow_run_timeout_ms(), c.workflow_task_timeout_ms(), limits), where));
  v1::WorkflowType type = s.workflow_type();
  if (!c.workflow_type().name().empty()) {
    type = c.workflow_type();
  }
  const std::string queue = c.task_queue().empty() ? s.task_queue() : c.task_queue();
  int64_t run_timeout =
      c.workflow_run_timeout_ms() > 0 ? c.workflow_run_timeout_ms() : s.workflow_run_timeout_ms();
  int64_t task_timeout = c.workflow_task_timeout_ms() > 0 ? c.workflow_task_timeout_ms()
                                                          : s.workflow_task_timeout_ms();
  // The id of the event about to be appended: the close event.
  const std::string new_run_id = derived_run_id(s.run_id(), tx.ms().next_event_id());

  v1::TransferTask t;
  t.set_type(v1::TRANSFER_TYPE_CONTINUE_AS_NEW);
  t.set_target_namespace(s.namespace_());
  t.set_target_workflow_id(s.workflow_id());
  t.set_target_run_id(new_run_id);
  t.set_request_id(request_id_for(s, tx.ms().next_event_id()));
  auto* run = t.mutable_new_run();
  *run->mutable_workflow_type() = type;
  run->set_task_queue(queue);
  *run->mutable_input() = c.input();
  run->set_workflow_execution_timeout_ms(s.workflow_execution_timeout_ms());
  run->set_workflow_run_timeout_ms(run_timeout);
  run->set_workflow_task_timeout_ms(task_timeout);
  run->set_first_run_id(s.first_run_id().empty() ? s.run_id() : s.first_run_id());
  run->set_continued_from_run_id(s.run_id());
  run->set_attempt(1);
  if (s.has_retry_policy()) {
    *run->mutable_retry_policy() = s.retry_policy();
  }
  *run->mutable_memo() = c.memo().empty() ? s.memo() : c.memo();
  *run->mutable_search_attributes() =
      c.search_attributes().empty() ? s.search_attributes() : c.search_attributes();
  run->set_request_id(t.request_id());
  if (s.has_parent()) {  // the parent keeps following its child through the chain
    run->set_parent_workflow_namespace(s.parent().namespace_());
    run->mutable_parent_workflow_execution()->set_workflow_id(s.parent().workflow_id());
    run->mutable_parent_workflow_execution()->set_run_id(s.parent().run_id());
    run->set_parent_initiated_event_id(s.parent().initiated_event_id());
  }

  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
  auto* a = e.mutable_workflow_execution_continued_as_new_event_attributes();
  a->set_new_execution_run_id(new_run_id);
  *a->mutable_workflow_type() = type;
  a->set_task_queue(queue);
  *a->mutable_input() = c.input();
  a->set_workflow_task_completed_event_id(completed_event_id);
  a->set_workflow_run_timeout_ms(run_timeout);
  a->set_workflow_task_timeout_ms(task_timeout);
  CAIRN_ASSIGN_OR_RETURN(int64_t id, tx.append(std::move(e)));
  t.set_initiated_event_id(id);
  if (s.has_scheduled_by()) {
    *t.mutable_scheduled_by() = s.scheduled_by();  // the next run reports to the schedule
  }
  add_transfer(tx, std::move(t));
  tx.mark_closed();
  return Status();
}

void on_run_closed(TransitionContext& tx) {
  v1::RunState s = tx.state();  // a copy: add_transfer reads the state while we iterate
  for (const auto& [initiated, child] : s.children()) {
    if (child.parent_close_policy() == v1::PARENT_CLOSE_POLICY_ABANDON) {
      continue;
    }
    v1::TransferTask t;
    t.set_type(v1::TRANSFER_TYPE_PARENT_CLOSE_POLICY);
    t.set_target_namespace(child.namespace_());
    t.set_target_workflow_id(child.workflow_id());
    t.set_target_run_id(child.run_id());
    t.set_initiated_event_id(initiated);
    t.set_request_id(request_id_for(s, initiated) + ":close");
    t.set_parent_close_policy(child.parent_close_policy());
    add_transfer(tx, std::move(t));
  }
  if (s.has_parent() && s.status() != v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW &&
      !tx.out().events.empty()) {
    v1::TransferTask t;
    t.set_type(v1::TRANSFER_TYPE_CHILD_CLOSED);
    t.set_target_namespace(s.parent().namespace_());
    t.set_target_workflow_id(s.parent().workflow_id());
    t.set_target_run_id(s.parent().run_id());
    t.set_initiated_event_id(s.parent().initiated_event_id());
    t.set_request_id(s.run_id() + ":closed");
    *t.mutable_event() = tx.out().events.back();  // the close event
    add_transfer(tx, std::move(t));
  }
  if (s.has_scheduled_by() && s.status() != v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW) {
    // The schedule that started this run learns of its close (overlap policies, recent actions).
    v1::TransferTask t;
    t.set_type(v1::TRANSFER_TYPE_SCHEDULE_ACTION_CLOSED);
    t.set_target_namespace(s.scheduled_by().namespace_());
    t.set_target_workflow_id(std::string(schedule::kEntityPrefix) + s.scheduled_by().schedule_id());
    t.set_request_id(s.run_id() + ":schedule-closed");
    *t.mutable_scheduled_by() = s.scheduled_by();
    t.set_closed_status(s.status());
    t.set_close_time_ms(s.close_time_ms());
    add_transfer(tx, std::move(t));
  }
  tx.ms().clear_children_and_requests();
}

bool suggest_continue_as_new(const v1::RunState& state, const Limits& limits) {
  int64_t events = state.next_event_id() > 0 ? state.next_event_id() - 1 : 0;
  return (limits.history_suggest_events > 0 && events >= limits.history_suggest_events) ||
         (limits.history_suggest_bytes > 0 &&
          state.history_size_bytes() >= limits.history_suggest_bytes);
}

}  // namespace cairn::rules
