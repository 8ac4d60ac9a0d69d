// Child workflows and signals / cancel requests to other runs in the replayer: the commands the
// code issues, how they match their *Initiated events on replay, and the events that resolve
// their futures (by initiated event id).
#include "cairn/child_workflow.h"
#include "options_check.h"
#include "proto/event_refs.h"
#include "replayer.h"

namespace cairn::detail {

struct Replayer::ExternalRecord {
  enum class Kind { kChild, kSignal, kCancel };
  Kind kind = Kind::kChild;
  std::string workflow_type;
  std::string workflow_id;
  std::string run_id;
  std::shared_ptr<FutureState> started;  // children only
  std::shared_ptr<FutureState> result;
  std::shared_ptr<ScopeState> scope;  // children: the scope they were started in
  bool cancel_requested = false;      // children: by their scope (or the workflow's cancel)
};

namespace {

v1::ParentClosePolicy to_proto(ParentClosePolicy p) {
  switch (p) {
    case ParentClosePolicy::kAbandon: return v1::PARENT_CLOSE_POLICY_ABANDON;
    case ParentClosePolicy::kRequestCancel: return v1::PARENT_CLOSE_POLICY_REQUEST_CANCEL;
    default: return v1::PARENT_CLOSE_POLICY_TERMINATE;
  }
}

v1::WorkflowIdReusePolicy to_proto(WorkflowIdReusePolicy p) {
  switch (p) {
    case WorkflowIdReusePolicy::kAllowDuplicateFailedOnly:
      return v1::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY;
    case WorkflowIdReusePolicy::kRejectDuplicate:
      return v1::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE;
    default:
      return v1::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE;
  }
}

void resolve(FutureState& s, v1::Payloads value) {
  if (!s.ready) {
    s.ready = true;
    s.value = std::move(value);
  }
}

void reject(FutureState& s, std::exception_ptr error) {
  if (!s.ready) {
    s.ready = true;
    s.error = std::move(error);
  }
}
}  // namespace

bool is_external_command_event(v1::EventType type) {
  return type == v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED ||
         type == v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED ||
         type == v1::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED;
}

bool matches_external(const v1::HistoryEvent& e, const v1::Command& c) {
  switch (e.event_type()) {
    case v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: {
      if (c.command_type() != v1::COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION) {
        return false;
      }
      const auto& ea = e.start_child_workflow_execution_initiated_event_attributes();
      const auto& ca = c.start_child_workflow_execution_command_attributes();
      return ea.workflow_id() == ca.workflow_id() &&
             ea.workflow_type().name() == ca.workflow_type().name();
    }
    case v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: {
      if (c.command_type() != v1::COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION) {
        return false;
      }
      const auto& ea = e.signal_external_workflow_execution_initiated_event_attributes();
      const auto& ca = c.signal_external_workflow_execution_command_attributes();
      return ea.workflow_execution().workflow_id() == ca.execution().workflow_id() &&
             ea.signal_name() == ca.signal_name();
    }
    case v1::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
      return c.command_type() == v1::COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION &&
             e.request_cancel_external_workflow_execution_initiated_event_attributes()
                     .workflow_execution()
                     .workflow_id() ==
                 c.request_cancel_external_workflow_execution_command_attributes().workflow_id();
    default:
      return false;
  }
}

ChildStart Replayer::start_child(const std::string& type, v1::Payloads input,
                                 const ChildWorkflowOptions& o) {
  check_child_options(type, o);
  auto record = std::make_shared<ExternalRecord>();
  record->kind = ExternalRecord::Kind::kChild;
  record->workflow_type = type;
  record->workflow_id = o.id.empty() ? info_.run_id + "-child-" + std::to_string(++seq_) : o.id;
  record->started = std::make_shared<FutureState>();
  record->result = std::make_shared<FutureState>();
  record->result->what = "child workflow " + type + " (" + record->workflow_id + ")";
  record->started->what = "start of " + record->result->what;
  record->scope = scope_;
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION);
  auto* a = c.mutable_start_child_workflow_execution_command_attributes();
  a->set_namespace_(o.namespace_);
  a->set_workflow_id(record->workflow_id);
  a->mutable_workflow_type()->set_name(type);
  a->set_task_queue(o.task_queue);
  *a->mutable_input() = std::move(input);
  a->set_workflow_execution_timeout_ms(o.execution_timeout.count());
  a->set_workflow_run_timeout_ms(o.run_timeout.count());
  a->set_workflow_task_timeout_ms(o.task_timeout.count());
  a->set_parent_close_policy(to_proto(o.parent_close_policy));
  a->set_workflow_id_reuse_policy(to_proto(o.id_reuse_policy));
  a->mutable_memo()->insert(o.memo.begin(), o.memo.end());
  a->mutable_search_attributes()->insert(o.search_attributes.begin(), o.search_attributes.end());
  if (o.retry) {
    *a->mutable_retry_policy() = cairn::to_proto(*o.retry);
  }
  ChildStart start{record->workflow_id, record->started, record->result};
  issue_external(std::move(c), std::move(record));
  return start;
}

std::shared_ptr<FutureState> Replayer::signal_external(const std::string& workflow_id,
                                                       const std::string& run_id,
                                                       const std::string& name,
                                                       v1::Payloads input) {
  check_external_target("signal_external \"" + name + "\"", workflow_id, run_id, &name);
  auto record = std::make_shared<ExternalRecord>();
  record->kind = ExternalRecord::Kind::kSignal;
  record->workflow_id = workflow_id;
  record->run_id = run_id;
  record->result = std::make_shared<FutureState>();
  record->result->what = "signal " + name + " to workflow " + workflow_id;
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION);
  auto* a = c.mutable_signal_external_workflow_execution_command_attributes();
  a->mutable_execution()->set_workflow_id(workflow_id);
  a->mutable_execution()->set_run_id(run_id);
  a->set_signal_name(name);
  *a->mutable_input() = std::move(input);
  auto state = record->result;
  issue_external(std::move(c), std::move(record));
  return state;
}

std::shared_ptr<FutureState> Replayer::cancel_external(const std::string& workflow_id,
                                                       const std::string& run_id) {
  check_external_target("cancel_external", workflow_id, run_id, nullptr);
  auto record = std::make_shared<ExternalRecord>();
  record->kind = ExternalRecord::Kind::kCancel;
  record->workflow_id = workflow_id;
  record->run_id = run_id;
  record->result = std::make_shared<FutureState>();
  record->result->what = "cancel request to workflow " + workflow_id;
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION);
  auto* a = c.mutable_request_cancel_external_workflow_execution_command_attributes();
  a->set_workflow_id(workflow_id);
  a->set_run_id(run_id);
  auto state = record->result;
  issue_external(std::move(c), std::move(record));
  return state;
}

void Replayer::issue_external(v1::Command command, std::shared_ptr<ExternalRecord> record) {
  PendingCommand p;
  p.command = std::move(command);
  p.external = std::move(record);
  pending_.push_back(std::move(p));
}

void Replayer::cancel_canceled_children() {
  // Children whose start is recorded, in the order they were initiated. The parent's code sees
  // CanceledError at once (as with TRY_CANCEL activities); the child gets a cancel request and
  // ends as its own code decides.
  std::vector<std::shared_ptr<ExternalRecord>> children;
  for (auto& [initiated, record] : externals_) {
    if (record->kind == ExternalRecord::Kind::kChild && !record->result->ready &&
        !record->cancel_requested && record->scope && record->scope->is_canceled()) {
      children.push_back(record);
    }
  }
  for (auto& child : children) {
    child->cancel_requested = true;
    cancel_external(child->workflow_id, child->run_id);
    auto canceled = std::make_exception_ptr(CanceledError(
        "child workflow " + child->workflow_type + " (" + child->workflow_id + ") canceled"));
    reject(*child->started, canceled);
    reject(*child->result, canceled);
  }
}

void Replayer::resolve_external(const v1::HistoryEvent& e) {
  int64_t initiated = initiated_event_id_of(e);
  auto it = initiated == 0 ? externals_.end() : externals_.find(initiated);
  if (it == externals_.end()) {
    return;
  }
  ExternalRecord& r = *it->second;
  const std::string who = "child workflow " + r.workflow_type + " (" + r.workflow_id + ")";
  auto child_error = [&](const std::string& what, v1::WorkflowExecutionStatus status,
                         v1::Failure cause) {
    return std::make_exception_ptr(
        ChildWorkflowError(who + " " + what, r.workflow_type, r.workflow_id, r.run_id, status,
                           std::move(cause)));
  };
  bool done = true;
  switch (e.event_type()) {
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
      r.run_id = e.child_workflow_execution_started_event_attributes().workflow_execution().run_id();
      resolve(*r.started, to_payloads(r.run_id));
      done = false;
      break;
    case v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: {
      v1::Failure f;
      f.set_message("workflow id " + r.workflow_id + " is already in use");
      f.mutable_application_failure_info()->set_type(v1::StartChildWorkflowExecutionFailedCause_Name(
          e.start_child_workflow_execution_failed_event_attributes().cause()));
      auto error = child_error("could not start: " + f.message(),
                               v1::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, f);
      reject(*r.started, error);
      reject(*r.result, error);
      break;
    }
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
      resolve(*r.result, e.child_workflow_execution_completed_event_attributes().result());
      break;
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: {
      const auto& f = e.child_workflow_execution_failed_event_attributes().failure();
      reject(*r.result, child_error("failed: " + f.message(), v1::WORKFLOW_EXECUTION_STATUS_FAILED, f));
      break;
    }
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: {
      v1::Failure f;
      f.set_message("child workflow canceled");
      *f.mutable_canceled_failure_info()->mutable_details() =
          e.child_workflow_execution_canceled_event_attributes().details();
      reject(*r.result, child_error("was canceled", v1::WORKFLOW_EXECUTION_STATUS_CANCELED, f));
      break;
    }
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: {
      v1::Failure f;
      f.set_message("child workflow timed out");
      f.mutable_timeout_failure_info();
      reject(*r.result, child_error("timed out", v1::WORKFLOW_EXECUTION_STATUS_TIMED_OUT, f));
      break;
    }
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: {
      v1::Failure f;
      f.set_message(e.child_workflow_execution_terminated_event_attributes().reason());
      f.mutable_terminated_failure_info();
      reject(*r.result,
             child_error("was terminated: " + f.message(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED, f));
      break;
    }
    case v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:
    case v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      resolve(*r.result, v1::Payloads());
      break;
    default: {  // SignalExternal / RequestCancelExternal failed
      const bool signal = e.event_type() == v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED;
      reject(*r.result, std::make_exception_ptr(ApplicationError(
                            std::string(signal ? "signal to" : "cancel request to") +
                                " workflow " + r.workflow_id + " failed: no such open run",
                            "ExternalWorkflowExecutionNotFound", /*non_retryable=*/true)));
      break;
    }
  }
  if (r.started && done && !r.started->ready) {
    resolve(*r.started, to_payloads(r.run_id));
  }
  if (done) {
    externals_.erase(it);
  }
}

// WorkflowCore defaults: only the replayer runs child workflows.
ChildStart WorkflowCore::start_child(const std::string&, v1::Payloads, const ChildWorkflowOptions&) {
  throw std::logic_error("cairn: child workflows need the replayer's WorkflowCore");
}

std::shared_ptr<FutureState> WorkflowCore::signal_external(const std::string&, const std::string&,
                                                           const std::string&, v1::Payloads) {
  throw std::logic_error("cairn: signal_external needs the replayer's WorkflowCore");
}

std::shared_ptr<FutureState> WorkflowCore::cancel_external(const std::string&, const std::string&) {
  throw std::logic_error("cairn: cancel_external needs the replayer's WorkflowCore");
}

}  // namespace cairn::detail
