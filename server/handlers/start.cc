// Handlers: StartWorkflowExecution and SignalWithStartWorkflowExecution, with the workflow id
// reuse and conflict policies and request-id deduplication.
#include <spdlog/spdlog.h>

#include "proto/schedule_spec.h"
#include "server/handlers/handlers.h"

namespace cairn::handlers {
namespace {

bool closed_successfully(v1::WorkflowExecutionStatus s) {
  return s == v1::WORKFLOW_EXECUTION_STATUS_COMPLETED ||
         s == v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW;
}

struct StartOutcome {
  std::string run_id;
  bool started = false;
};

// What to do about an existing run of the same workflow id. Returns the outcome when the request
// is answered by an existing run, nullopt when a new run must be created; *terminate is set when
// that new run replaces a running one (TERMINATE_EXISTING), which the start then terminates in
// its own write. Changes nothing. REQUIRES: the workflow id's lock is held.
Result<std::optional<StartOutcome>> apply_policies(Engine& e, const WorkflowKey& wk,
                                                   const v1::StartWorkflowExecutionRequest& req,
                                                   bool signal_with_start,
                                                   std::optional<RunKey>* terminate) {
  auto current = e.store().load_current(wk);
  if (!current.ok()) {
    if (current.status().code() == StatusCode::kNotFound) {
      return std::optional<StartOutcome>();
    }
    return current.status();
  }
  const v1::CurrentRun& cur = *current;
  if (!req.request_id().empty() && cur.start_request_id() == req.request_id()) {
    return std::optional<StartOutcome>(StartOutcome{cur.run_id(), true});  // a retried call
  }
  if (cur.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
    if (signal_with_start) {
      return std::optional<StartOutcome>(StartOutcome{cur.run_id(), false});
    }
    switch (req.workflow_id_conflict_policy()) {
      case v1::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING:
        return std::optional<StartOutcome>(StartOutcome{cur.run_id(), false});
      case v1::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING:
        *terminate = RunKey{wk.shard, wk.ns, wk.workflow_id, RunId{cur.run_id()}};
        return std::optional<StartOutcome>();
      default:
        return already_exists("workflow " + wk.workflow_id + " is already running (run " +
                              cur.run_id() +
                              "); pass a conflict policy of USE_EXISTING or TERMINATE_EXISTING to "
                              "reuse or replace it");
    }
  }
  switch (req.workflow_id_reuse_policy()) {
    case v1::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE:
      return already_exists("workflow " + wk.workflow_id + " already ran (run " + cur.run_id() +
                            ") and the reuse policy is REJECT_DUPLICATE");
    case v1::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY:
      if (closed_successfully(cur.status())) {
        return already_exists("workflow " + wk.workflow_id + " completed successfully (run " +
                              cur.run_id() +
                              ") and the reuse policy is ALLOW_DUPLICATE_FAILED_ONLY");
      }
      return std::optional<StartOutcome>();
    default:
      return std::optional<StartOutcome>();
  }
}

Result<StartOutcome> start_impl(Engine& e, const v1::StartWorkflowExecutionRequest& raw,
                                const std::string* signal_name, const v1::Payloads* signal_input,
                                const v1::ScheduledBy* scheduled_by = nullptr) {
  v1::StartWorkflowExecutionRequest req = raw;
  req.set_namespace_(ns_or_default(raw.namespace_()));
  CAIRN_RETURN_IF_ERROR(e.check_namespace(req.namespace_()));
  CAIRN_RETURN_IF_ERROR(validate_start_request(req, e.options().limits));
  if (scheduled_by == nullptr && req.workflow_id().rfind(schedule::kEntityPrefix, 0) == 0) {
    return invalid_argument("workflow_id " + req.workflow_id() + ": the prefix " +
                            schedule::kEntityPrefix +
                            " is reserved for schedules; pick another workflow id");
  }
  CAIRN_RETURN_IF_ERROR(
      check_search_attributes(e, req.namespace_(), req.search_attributes(), /*allow_null=*/false));
  if (signal_name != nullptr) {
    if (signal_name->empty()) {
      return invalid_argument("signal_name is required");
    }
    if (signal_input->ByteSizeLong() > static_cast<size_t>(e.options().limits.max_payload_bytes)) {
      return invalid_argument("signal input is " + std::to_string(signal_input->ByteSizeLong()) +
                              " bytes, over the limit of " +
                              std::to_string(e.options().limits.max_payload_bytes));
    }
  }
  WorkflowKey wk = e.workflow_key(req.namespace_(), req.workflow_id());
  auto lock = e.lock_workflow(wk);
  std::optional<RunKey> terminate;
  CAIRN_ASSIGN_OR_RETURN(auto existing,
                         apply_policies(e, wk, req, signal_name != nullptr, &terminate));
  if (existing.has_value()) {
    if (signal_name != nullptr && !existing->started) {
      RunKey key{wk.shard, wk.ns, wk.workflow_id, RunId{existing->run_id}};
      CAIRN_RETURN_IF_ERROR(e.run_transition_locked(key, [&](Engine::Scope& s) {
        return cairn::signal_workflow(s.ms, *signal_name, *signal_input, req.identity(),
                                      req.request_id(), s.env, &s.effects);
      }));
    }
    return *existing;
  }
  RunKey key{wk.shard, wk.ns, wk.workflow_id, RunId{e.new_run_id()}};
  std::optional<std::string> sig;
  if (signal_name != nullptr) {
    sig = *signal_name;
  }
  std::vector<Engine::RunStep> steps;
  if (terminate) {
    // TERMINATE_EXISTING: the old run's termination and the new run's start are one write
    // (the multi-run rule), so an error answer leaves the old run running.
    steps.push_back(Engine::RunStep{*terminate, /*create=*/false, [&](Engine::Scope& s) {
                                      v1::Payloads none;
                                      return cairn::terminate_workflow(
                                          s.ms, "terminated by a new start (TERMINATE_EXISTING)",
                                          none, req.identity(), s.env, &s.effects);
                                    }});
  }
  steps.push_back(Engine::RunStep{key, /*create=*/true, [&](Engine::Scope& s) {
                                    CAIRN_RETURN_IF_ERROR(cairn::start_workflow(
                                        req, key, sig, signal_input, s.env, s.ms, &s.effects));
                                    if (scheduled_by != nullptr) {
                                      s.ms->set_scheduled_by(*scheduled_by);
                                    }
                                    return Status();
                                  }});
  CAIRN_RETURN_IF_ERROR(e.run_multi_locked(std::move(steps)));
  spdlog::debug("started {} ({})", key.debug_string(), req.workflow_type().name());
  return StartOutcome{key.run_id.value, true};
}

}  // namespace

Status start_workflow(Engine& e, const v1::StartWorkflowExecutionRequest& req,
                      v1::StartWorkflowExecutionResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(auto outcome, start_impl(e, req, nullptr, nullptr));
  resp->set_run_id(outcome.run_id);
  resp->set_started(outcome.started);
  return Status();
}

Result<std::string> start_scheduled_workflow(Engine& e,
                                             const v1::StartWorkflowExecutionRequest& req,
                                             const v1::ScheduledBy& scheduled_by) {
  CAIRN_ASSIGN_OR_RETURN(auto outcome, start_impl(e, req, nullptr, nullptr, &scheduled_by));
  return outcome.run_id;
}

Status signal_with_start(Engine& e, const v1::SignalWithStartWorkflowExecutionRequest& req,
                         v1::SignalWithStartWorkflowExecutionResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(auto outcome,
                         start_impl(e, req.start(), &req.signal_name(), &req.signal_input()));
  resp->set_run_id(outcome.run_id);
  resp->set_started(outcome.started);
  return Status();
}

}  // namespace cairn::handlers
