// MutableState::apply() for child workflows and requests to other runs: which events create,
// change and remove the pending ChildExecutionInfo / ExternalRequestInfo entries (keyed by the
// *Initiated event id). Validate first, then mutate.
#include "history/mutable_state_apply.h"

#include "proto/event_refs.h"

namespace cairn::state_apply {
namespace {

using Attrs = v1::HistoryEvent::AttributesCase;

bool open(const v1::RunState& s) { return s.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING; }
Status apply_child(v1::RunState& s, const v1::HistoryEvent& e, const std::string& run) {
  if (e.event_type() == v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) {
    if (s.children().count(e.event_id()) != 0) {
      return event_error(run, e, "a child with this initiated event id is already pending");
    }
    const auto& a = e.start_child_workflow_execution_initiated_event_attributes();
    v1::ChildExecutionInfo& info = (*s.mutable_children())[e.event_id()];
    info.set_initiated_event_id(e.event_id());
    info.set_namespace_(a.namespace_());
    info.set_workflow_id(a.workflow_id());
    *info.mutable_workflow_type() = a.workflow_type();
    info.set_parent_close_policy(a.parent_close_policy());
    return Status();
  }
  int64_t initiated = initiated_event_id_of(e);
  auto it = s.mutable_children()->find(initiated);
  if (it == s.mutable_children()->end()) {
    return event_error(run, e, "child workflow " + std::to_string(initiated) + " is not pending");
  }
  bool started = !it->second.run_id().empty();
  switch (e.event_type()) {
    case v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
      if (started) {
        return event_error(run, e, "child workflow " + std::to_string(initiated) + " has started");
      }
      s.mutable_children()->erase(it);
      return Status();
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
      if (started) {
        return event_error(run, e, "child workflow " + std::to_string(initiated) +
                                       " was already started (run " + it->second.run_id() + ")");
      }
      // 0 for a buffered event (its id is assigned when it is flushed).
      it->second.set_started_event_id(e.event_id());
      it->second.set_run_id(
          e.child_workflow_execution_started_event_attributes().workflow_execution().run_id());
      return Status();
    default:  // the child closed
      s.mutable_children()->erase(it);
      return Status();
  }
}

Status apply_external(v1::RunState& s, const v1::HistoryEvent& e, const std::string& run) {
  bool signal = e.event_type() == v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED ||
                e.event_type() == v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED ||
                e.event_type() == v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED;
  auto* pending = signal ? s.mutable_pending_signals() : s.mutable_pending_cancels();
  const char* what = signal ? "signal" : "cancel request";
  if (e.event_type() == v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED ||
      e.event_type() == v1::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED) {
    if (pending->count(e.event_id()) != 0) {
      return event_error(run, e, std::string("a ") + what + " with this id is already pending");
    }
    const v1::WorkflowExecution& target =
        signal ? e.signal_external_workflow_execution_initiated_event_attributes()
                     .workflow_execution()
               : e.request_cancel_external_workflow_execution_initiated_event_attributes()
                     .workflow_execution();
    v1::ExternalRequestInfo& info = (*pending)[e.event_id()];
    info.set_initiated_event_id(e.event_id());
    info.set_namespace_(signal ? e.signal_external_workflow_execution_initiated_event_attributes()
                                     .namespace_()
                               : e.request_cancel_external_workflow_execution_initiated_event_attributes()
                                     .namespace_());
    info.set_workflow_id(target.workflow_id());
    info.set_run_id(target.run_id());
    return Status();
  }
  int64_t initiated = initiated_event_id_of(e);
  if (pending->erase(initiated) == 0) {
    return event_error(run, e, std::string(what) + " " + std::to_string(initiated) +
                                   " is not pending");
  }
  return Status();
}

}  // namespace

Attrs child_event_attributes(v1::EventType type) {
  switch (type) {
    case v1::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: return Attrs::kRequestCancelExternalWorkflowExecutionInitiatedEventAttributes;
    case v1::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: return Attrs::kRequestCancelExternalWorkflowExecutionFailedEventAttributes;
    case v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED: return Attrs::kExternalWorkflowExecutionCancelRequestedEventAttributes;
    case v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: return Attrs::kStartChildWorkflowExecutionInitiatedEventAttributes;
    case v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: return Attrs::kStartChildWorkflowExecutionFailedEventAttributes;
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: return Attrs::kChildWorkflowExecutionStartedEventAttributes;
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: return Attrs::kChildWorkflowExecutionCompletedEventAttributes;
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: return Attrs::kChildWorkflowExecutionFailedEventAttributes;
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: return Attrs::kChildWorkflowExecutionCanceledEventAttributes;
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: return Attrs::kChildWorkflowExecutionTimedOutEventAttributes;
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: return Attrs::kChildWorkflowExecutionTerminatedEventAttributes;
    case v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: return Attrs::kSignalExternalWorkflowExecutionInitiatedEventAttributes;
    case v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: return Attrs::kSignalExternalWorkflowExecutionFailedEventAttributes;
    case v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: return Attrs::kExternalWorkflowExecutionSignaledEventAttributes;
    default: return Attrs::ATTRIBUTES_NOT_SET;
  }
}

bool is_child_event(v1::EventType type) {
  return child_event_attributes(type) != Attrs::ATTRIBUTES_NOT_SET;
}

bool is_bufferable_child_event(v1::EventType type) {
  return is_child_event(type) &&
         type != v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED &&
         type != v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED &&
         type != v1::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED;
}

Status apply_child_event(v1::RunState& s, const v1::HistoryEvent& e, const std::string& run) {
  if (!open(s)) {
    return event_error(run, e, "the run is not open");
  }
  switch (e.event_type()) {
    case v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
    case v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      return apply_child(s, e, run);
    default:
      return apply_external(s, e, run);
  }
}

void apply_parent(v1::RunState& s, const v1::WorkflowExecutionStartedEventAttributes& a) {
  if (!a.has_parent_workflow_execution()) {
    return;
  }
  v1::ParentInfo* p = s.mutable_parent();
  p->set_namespace_(a.parent_workflow_namespace());
  p->set_workflow_id(a.parent_workflow_execution().workflow_id());
  p->set_run_id(a.parent_workflow_execution().run_id());
  p->set_initiated_event_id(a.parent_initiated_event_id());
}

}  // namespace cairn::state_apply
