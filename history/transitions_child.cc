// Transitions that land cross-run effects: a child's or continued run's start, a child's start
// and close reported to its parent, the outcome of signals and cancel requests to other runs;
// and the history size limits.
#include "history/transitions_child.h"

#include "history/transition_context.h"

namespace cairn {
namespace {

using rules::TransitionContext;

int64_t run_bound_ms(const v1::WorkflowExecutionStartedEventAttributes& a) {
  int64_t run = a.workflow_run_timeout_ms();
  int64_t exec = a.workflow_execution_timeout_ms();
  if (run == 0 || (exec > 0 && exec < run)) {
    return exec;
  }
  return run;
}

const v1::ChildExecutionInfo* pending_child(const MutableState& ms, int64_t initiated) {
  auto it = ms.state().children().find(initiated);
  return it == ms.state().children().end() ? nullptr : &it->second;
}

v1::HistoryEvent child_started_event(TransitionContext& tx, const v1::ChildExecutionInfo& child,
                                     const std::string& child_run_id) {
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED);
  auto* a = e.mutable_child_workflow_execution_started_event_attributes();
  a->set_namespace_(child.namespace_());
  a->set_initiated_event_id(child.initiated_event_id());
  a->mutable_workflow_execution()->set_workflow_id(child.workflow_id());
  a->mutable_workflow_execution()->set_run_id(child_run_id);
  *a->mutable_workflow_type() = child.workflow_type();
  return e;
}

// Fills the attributes every child close event shares.
template <class A>
void fill_child_close(A* a, const v1::ChildExecutionInfo& child, const std::string& run_id) {
  a->set_namespace_(child.namespace_());
  a->mutable_workflow_execution()->set_workflow_id(child.workflow_id());
  a->mutable_workflow_execution()->set_run_id(run_id);
  *a->mutable_workflow_type() = child.workflow_type();
  a->set_initiated_event_id(child.initiated_event_id());
  a->set_started_event_id(child.started_event_id());
}

Result<v1::HistoryEvent> child_close_event(TransitionContext& tx, const v1::ChildExecutionInfo& c,
                                           const std::string& run_id, const v1::HistoryEvent& close) {
  v1::HistoryEvent e;
  switch (close.event_type()) {
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: {
      e = tx.new_event(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED);
      auto* a = e.mutable_child_workflow_execution_completed_event_attributes();
      fill_child_close(a, c, run_id);
      *a->mutable_result() = close.workflow_execution_completed_event_attributes().result();
      break;
    }
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: {
      e = tx.new_event(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED);
      auto* a = e.mutable_child_workflow_execution_failed_event_attributes();
      fill_child_close(a, c, run_id);
      *a->mutable_failure() = close.workflow_execution_failed_event_attributes().failure();
      a->set_retry_state(close.workflow_execution_failed_event_attributes().retry_state());
      break;
    }
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: {
      e = tx.new_event(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED);
      auto* a = e.mutable_child_workflow_execution_canceled_event_attributes();
      fill_child_close(a, c, run_id);
      *a->mutable_details() = close.workflow_execution_canceled_event_attributes().details();
      break;
    }
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: {
      e = tx.new_event(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT);
      auto* a = e.mutable_child_workflow_execution_timed_out_event_attributes();
      fill_child_close(a, c, run_id);
      a->set_retry_state(close.workflow_execution_timed_out_event_attributes().retry_state());
      break;
    }
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: {
      e = tx.new_event(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED);
      auto* a = e.mutable_child_workflow_execution_terminated_event_attributes();
      fill_child_close(a, c, run_id);
      a->set_reason(close.workflow_execution_terminated_event_attributes().reason());
      break;
    }
    default:
      return invalid_argument("run " + tx.run() + ": child " + c.workflow_id() +
                              " reported a close with event type " +
                              v1::EventType_Name(close.event_type()));
  }
  return e;
}

}  // namespace

Status start_run_from(const v1::WorkflowExecutionStartedEventAttributes& started,
                      const RunKey& key, const TransitionEnv& env, MutableState* ms, Effects* out) {
  if (ms->state().status() != v1::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED ||
      ms->next_event_id() != 1) {
    return failed_precondition("run " + key.debug_string() + ": start_run_from needs an empty state");
  }
  v1::RunState initial;
  initial.set_namespace_(key.ns);
  initial.set_workflow_id(key.workflow_id);
  initial.set_run_id(key.run_id.value);
  *ms = MutableState(std::move(initial));
  TransitionContext tx(ms, env, out);
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  *e.mutable_workflow_execution_started_event_attributes() = started;
  auto* a = e.mutable_workflow_execution_started_event_attributes();
  if (a->first_run_id().empty()) {
    a->set_first_run_id(key.run_id.value);
  }
  if (a->workflow_task_timeout_ms() <= 0) {
    a->set_workflow_task_timeout_ms(env.limits->default_workflow_task_timeout_ms);
  }
  const v1::WorkflowExecutionStartedEventAttributes attrs = *a;
  CAIRN_RETURN_IF_ERROR(tx.append(std::move(e)).status());
  CAIRN_RETURN_IF_ERROR(tx.schedule_workflow_task(1, /*immediate=*/true));
  int64_t bound = run_bound_ms(attrs);
  if (bound > 0) {
    tx.add_timer(v1::TIMER_KIND_WORKFLOW_RUN_TIMEOUT, env.now_ms + bound, 0, 0);
  }
  v1::CurrentRun current;
  current.set_run_id(key.run_id.value);
  current.set_status(v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  current.set_start_request_id(attrs.request_id());
  out->current = std::move(current);
  return Status();
}

Result<bool> record_child_started(MutableState* ms, int64_t initiated,
                                  const std::string& child_run_id, const TransitionEnv& env,
                                  Effects* out) {
  const v1::ChildExecutionInfo* child = ms->is_open() ? pending_child(*ms, initiated) : nullptr;
  if (child == nullptr || !child->run_id().empty()) {
    return false;
  }
  TransitionContext tx(ms, env, out);
  std::vector<v1::HistoryEvent> events;
  events.push_back(child_started_event(tx, *child, child_run_id));
  CAIRN_RETURN_IF_ERROR(tx.deliver(std::move(events)));
  return true;
}

Result<bool> record_start_child_failed(MutableState* ms, int64_t initiated,
                                       v1::StartChildWorkflowExecutionFailedCause cause,
                                       const TransitionEnv& env, Effects* out) {
  const v1::ChildExecutionInfo* child = ms->is_open() ? pending_child(*ms, initiated) : nullptr;
  if (child == nullptr || !child->run_id().empty()) {
    return false;
  }
  TransitionContext tx(ms, env, out);
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED);
  auto* a = e.mutable_start_child_workflow_execution_failed_event_attributes();
  a->set_namespace_(child->namespace_());
  a->set_workflow_id(child->workflow_id());
  *a->mutable_workflow_type() = child->workflow_type();
  a->set_cause(cause);
  a->set_initiated_event_id(initiated);
  std::vector<v1::HistoryEvent> events;
  events.push_back(std::move(e));
  CAIRN_RETURN_IF_ERROR(tx.deliver(std::move(events)));
  return true;
}

Result<bool> record_child_closed(MutableState* ms, int64_t initiated,
                                 const std::string& child_run_id,
                                 const v1::HistoryEvent& close_event, const TransitionEnv& env,
                                 Effects* out) {
  const v1::ChildExecutionInfo* found = ms->is_open() ? pending_child(*ms, initiated) : nullptr;
  if (found == nullptr) {
    return false;
  }
  const v1::ChildExecutionInfo child = *found;
  TransitionContext tx(ms, env, out);
  std::vector<v1::HistoryEvent> events;
  // The child's start may not be recorded yet (a crash between its start and the report).
  std::string run_id = child.run_id();
  if (run_id.empty()) {
    events.push_back(child_started_event(tx, child, child_run_id));
    run_id = child_run_id;
  }
  CAIRN_ASSIGN_OR_RETURN(v1::HistoryEvent closed, child_close_event(tx, child, run_id, close_event));
  events.push_back(std::move(closed));
  CAIRN_RETURN_IF_ERROR(tx.deliver(std::move(events)));
  return true;
}

Result<bool> record_external_outcome(MutableState* ms, bool signal, int64_t initiated,
                                     v1::ExternalWorkflowExecutionFailedCause cause,
                                     const TransitionEnv& env, Effects* out) {
  const auto& pending = signal ? ms->state().pending_signals() : ms->state().pending_cancels();
  auto it = pending.find(initiated);
  if (!ms->is_open() || it == pending.end()) {
    return false;
  }
  const v1::ExternalRequestInfo info = it->second;
  TransitionContext tx(ms, env, out);
  v1::WorkflowExecution target;
  target.set_workflow_id(info.workflow_id());
  target.set_run_id(info.run_id());
  v1::HistoryEvent e;
  bool failed = cause != v1::EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED;
  if (signal && !failed) {
    e = tx.new_event(v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED);
    auto* a = e.mutable_external_workflow_execution_signaled_event_attributes();
    a->set_initiated_event_id(initiated);
    a->set_namespace_(info.namespace_());
    *a->mutable_workflow_execution() = target;
  } else if (signal) {
    e = tx.new_event(v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
    auto* a = e.mutable_signal_external_workflow_execution_failed_event_attributes();
    a->set_cause(cause);
    a->set_namespace_(info.namespace_());
    *a->mutable_workflow_execution() = target;
    a->set_initiated_event_id(initiated);
  } else if (!failed) {
    e = tx.new_event(v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
    auto* a = e.mutable_external_workflow_execution_cancel_requested_event_attributes();
    a->set_initiated_event_id(initiated);
    a->set_namespace_(info.namespace_());
    *a->mutable_workflow_execution() = target;
  } else {
    e = tx.new_event(v1::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
    auto* a = e.mutable_request_cancel_external_workflow_execution_failed_event_attributes();
    a->set_cause(cause);
    a->set_namespace_(info.namespace_());
    *a->mutable_workflow_execution() = target;
    a->set_initiated_event_id(initiated);
  }
  std::vector<v1::HistoryEvent> events;
  events.push_back(std::move(e));
  CAIRN_RETURN_IF_ERROR(tx.deliver(std::move(events)));
  return true;
}

Result<HistoryLimitCheck> enforce_history_limits(MutableState* ms, const TransitionEnv& env,
                                                 Effects* out) {
  HistoryLimitCheck check;
  const Limits& l = *env.limits;
  check.events = ms->next_event_id() - 1;
  check.bytes = ms->state().history_size_bytes();
  if (!ms->is_open()) {
    return check;
  }
  int64_t before_events = check.events - static_cast<int64_t>(out->events.size());
  int64_t added_bytes = 0;
  for (const auto& e : out->events) {
    added_bytes += static_cast<int64_t>(e.ByteSizeLong());
  }
  int64_t before_bytes = check.bytes - added_bytes;
  auto crossed = [](int64_t before, int64_t after, int64_t limit) {
    int64_t warn = limit - limit / 5;
    return limit > 0 && before < warn && after >= warn;
  };
  check.crossed_warning = crossed(before_events, check.events, l.history_max_events) ||
                          crossed(before_bytes, check.bytes, l.history_max_bytes);
  std::string reason;
  if (l.history_max_events > 0 && check.events > l.history_max_events) {
    reason = "history has " + std::to_string(check.events) + " events, over the limit of " +
             std::to_string(l.history_max_events);
  } else if (l.history_max_bytes > 0 && check.bytes > l.history_max_bytes) {
    reason = "history is " + std::to_string(check.bytes) + " bytes, over the limit of " +
             std::to_string(l.history_max_bytes);
  }
  if (reason.empty()) {
    return check;
  }
  v1::Payloads none;
  CAIRN_RETURN_IF_ERROR(terminate_workflow(
      ms, reason + " (continue as new before the limit: the server suggests it past " +
              std::to_string(l.history_suggest_events) + " events)",
      none, "cairn-server", env, out));
  check.terminated = true;
  return check;
}

}  // namespace cairn
