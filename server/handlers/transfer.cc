// Transfer tasks: cross-run effects executed after the transition that wrote them committed.
// Never one cross-shard write: the target's transition and the source's follow-up are separate
// commits, each on its own shard, and the task record (in the source's shard) is removed only by
// the last of them. A crash in between leaves the record on disk; recover() runs it again and the
// request id / initiated event id make the redo a no-op where it already happened.
#include "server/handlers/transfer.h"

#include <functional>

#include <spdlog/spdlog.h>

#include "history/schedule_rules.h"
#include "history/transitions_child.h"
#include "proto/schedule_spec.h"
#include "server/handlers/handlers.h"

namespace cairn::handlers {
namespace {

using Record = std::function<Result<bool>(Engine::Scope&)>;

RunKey source_key(const v1::TaskRecord& task) {
  return RunKey{ShardId{task.shard()}, task.namespace_(), task.workflow_id(), RunId{task.run_id()}};
}

// Runs `record` on the source run (may be a no-op) and removes the task in the same write.
Status record_on_source(Engine& e, const v1::TaskRecord& task, const Record& record) {
  return e.run_transition(source_key(task), [&](Engine::Scope& s) -> Status {
    if (record) {
      CAIRN_RETURN_IF_ERROR(record(s).status());
    }
    s.effects.remove_tasks.push_back(task);
    return Status();
  });
}

bool reuse_allowed(v1::WorkflowIdReusePolicy policy, v1::WorkflowExecutionStatus closed) {
  switch (policy) {
    case v1::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE:
      return false;
    case v1::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY:
      return closed != v1::WORKFLOW_EXECUTION_STATUS_COMPLETED &&
             closed != v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW;
    default:
      return true;
  }
}

// The child has its own workflow id (another lock, usually another shard), so its start cannot
// share the parent's write (HistoryStore's multi-run rule is one workflow id per transition).
// The hand-off is this outbox task, written with StartChildWorkflowExecutionInitiated and
// removed only by the parent's ChildWorkflowExecutionStarted / StartChildWorkflowExecutionFailed.
// Crash window: between the child's start and that parent event. The task is then redone after
// restart; the child's current-run pointer carries the task's request id, so the redo finds the
// child it started and records that same run: the same outcome as without the crash. (If the
// child has meanwhile closed and its workflow id been reused by an unrelated start, the pointer
// no longer carries the request id and the redo records START_CHILD failed with
// WORKFLOW_ALREADY_EXISTS, although the child ran; the parent still receives the child's close
// through the child's own CHILD_CLOSED task.)
Status start_child(Engine& e, const v1::TaskRecord& task) {
  const v1::TransferTask& t = task.transfer();
  const int64_t initiated = t.initiated_event_id();
  CAIRN_ASSIGN_OR_RETURN(v1::RunState parent, e.read_state(source_key(task)));
  if (parent.status() != v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
    return record_on_source(e, task, nullptr);  // the parent closed first: no child
  }
  auto failed = [&](v1::StartChildWorkflowExecutionFailedCause cause) {
    return record_on_source(e, task, [&](Engine::Scope& s) {
      return record_start_child_failed(s.ms, initiated, cause, s.env, &s.effects);
    });
  };
  if (!e.check_namespace(t.target_namespace()).ok()) {
    return failed(v1::START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_NAMESPACE_NOT_FOUND);
  }
  WorkflowKey wk = e.workflow_key(t.target_namespace(), t.target_workflow_id());
  std::string child_run;
  bool taken = false;
  {
    auto lock = e.lock_workflow(wk);
    auto current = e.store().load_current(wk);
    if (current.ok()) {
      if (current->start_request_id() == t.request_id()) {
        child_run = current->run_id();  // a redo: the child started before a crash
      } else if (current->status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING ||
                 !reuse_allowed(t.event()
                                    .start_child_workflow_execution_initiated_event_attributes()
                                    .workflow_id_reuse_policy(),
                                current->status())) {
        taken = true;
      }
    } else if (current.status().code() != StatusCode::kNotFound) {
      return current.status();
    }
    if (child_run.empty() && !taken) {
      RunKey key{wk.shard, wk.ns, wk.workflow_id, RunId{e.new_run_id()}};
      CAIRN_RETURN_IF_ERROR(e.create_run(key, [&](Engine::Scope& s) {
        return start_run_from(t.new_run(), key, s.env, s.ms, &s.effects);
      }));
      child_run = key.run_id.value;
      spdlog::debug("started child {} of {}", key.debug_string(), source_key(task).debug_string());
    }
  }
  if (taken) {
    return failed(v1::START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS);
  }
  return record_on_source(e, task, [&](Engine::Scope& s) {
    return record_child_started(s.ms, initiated, child_run, s.env, &s.effects);
  });
}

Status child_closed(Engine& e, const v1::TaskRecord& task) {
  const v1::TransferTask& t = task.transfer();
  RunKey parent{shard_for(t.target_namespace(), t.target_workflow_id(), e.shard_count()),
                t.target_namespace(), t.target_workflow_id(), RunId{t.target_run_id()}};
  Status st = e.run_transition(parent, [&](Engine::Scope& s) -> Status {
    CAIRN_ASSIGN_OR_RETURN(
        bool applied, record_child_closed(s.ms, t.initiated_event_id(), task.run_id(), t.event(),
                                          s.env, &s.effects));
    s.skip_commit = !applied;  // the parent closed, or already knows
    return Status();
  });
  if (!st.ok() && st.code() != StatusCode::kNotFound) {
    return st;
  }
  return record_on_source(e, task, nullptr);
}

// Signal or cancel request to another run; then the outcome on the source.
Status external_request(Engine& e, const v1::TaskRecord& task, bool signal) {
  const v1::TransferTask& t = task.transfer();
  v1::ExternalWorkflowExecutionFailedCause cause =
      v1::EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED;
  if (!e.check_namespace(t.target_namespace()).ok()) {
    cause = v1::EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_NAMESPACE_NOT_FOUND;
  } else {
    auto target = e.resolve(t.target_namespace(), t.target_workflow_id(), t.target_run_id());
    Status st = target.status();
    if (st.ok()) {
      const std::string identity = task.workflow_id();
      st = e.run_transition(*target, [&](Engine::Scope& s) {
        if (signal) {
          const auto& a = t.event().signal_external_workflow_execution_initiated_event_attributes();
          return cairn::signal_workflow(s.ms, a.signal_name(), a.input(), identity, t.request_id(),
                                        s.env, &s.effects);
        }
        const auto& a =
            t.event().request_cancel_external_workflow_execution_initiated_event_attributes();
        return cairn::request_cancel_workflow(s.ms, identity, t.request_id(), a.reason(), s.env,
                                              &s.effects);
      });
    }
    if (st.code() == StatusCode::kNotFound) {
      cause = v1::EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND;
    } else if (!st.ok()) {
      return st;
    }
  }
  return record_on_source(e, task, [&](Engine::Scope& s) {
    return record_external_outcome(s.ms, signal, t.initiated_event_id(), cause, s.env, &s.effects);
  });
}

Status parent_close_policy(Engine& e, const v1::TaskRecord& task) {
  const v1::TransferTask& t = task.transfer();
  auto target = e.resolve(t.target_namespace(), t.target_workflow_id(), t.target_run_id());
  Status st = target.status();
  if (st.ok()) {
    const std::string parent = task.workflow_id() + " (run " + task.run_id() + ")";
    st = e.run_transition(*target, [&](Engine::Scope& s) {
      if (t.parent_close_policy() == v1::PARENT_CLOSE_POLICY_REQUEST_CANCEL) {
        return cairn::request_cancel_workflow(s.ms, parent, t.request_id(),
                                              "parent " + parent + " closed", s.env, &s.effects);
      }
      v1::Payloads none;
      return cairn::terminate_workflow(s.ms,
                                       "parent " + parent +
                                           " closed (parent close policy "
                                           "TERMINATE)",
                                       none, parent, s.env, &s.effects);
    });
  }
  if (!st.ok() && st.code() != StatusCode::kNotFound) {
    return st;  // kNotFound: the child is gone or closed already
  }
  return record_on_source(e, task, nullptr);
}

// CONTINUE_AS_NEW records are no longer written: the engine starts the successor in the write
// that closes the run (Engine::run_multi_locked). This finishes records a data directory of an
// older version still holds. While the closed run is still current, the successor is started
// and the task consumed in one write. Otherwise the old two-write path already lost the race
// it had (a start slipped in between the close and this task): nothing can start the successor
// now without replacing that run, so the task is consumed, and the log says what was lost.
Status continue_as_new(Engine& e, const v1::TaskRecord& task) {
  const v1::TransferTask& t = task.transfer();
  WorkflowKey wk = e.workflow_key(task.namespace_(), task.workflow_id());
  auto lock = e.lock_workflow(wk);
  CAIRN_ASSIGN_OR_RETURN(v1::CurrentRun current, e.store().load_current(wk));
  if (current.run_id() == task.run_id()) {
    RunKey key{wk.shard, wk.ns, wk.workflow_id, RunId{t.target_run_id()}};
    return e.create_run(key, [&](Engine::Scope& s) {
      CAIRN_RETURN_IF_ERROR(start_run_from(t.new_run(), key, s.env, s.ms, &s.effects));
      if (t.has_scheduled_by()) {
        s.ms->set_scheduled_by(t.scheduled_by());
      }
      s.effects.remove_tasks.push_back(task);
      return Status();
    });
  }
  if (current.run_id() != t.target_run_id()) {
    spdlog::error(
        "workflow {}: run {} continued as new under an older version, and run {} "
        "started before its successor {}: the successor is not started",
        task.workflow_id(), task.run_id(), current.run_id(), t.target_run_id());
  }
  return e.run_transition_locked(source_key(task), [&](Engine::Scope& s) {
    s.effects.remove_tasks.push_back(task);
    return Status();
  });
}

// A schedule's action: start its workflow (deduplicated by the request id derived from the
// schedule and the nominal time), then record the run — or why it could not start — on the
// schedule, removing the task.
Status schedule_start(Engine& e, const v1::TaskRecord& task) {
  const v1::TransferTask& t = task.transfer();
  std::string run_id;
  std::string start_error;
  auto started = start_scheduled_workflow(e, t.start_request(), t.scheduled_by());
  if (started.ok()) {
    run_id = *started;
  } else if (started.status().code() == StatusCode::kAlreadyExists ||
             started.status().code() == StatusCode::kInvalidArgument ||
             started.status().code() == StatusCode::kNotFound) {
    start_error = started.status().message();  // recorded on the schedule; it goes on
    spdlog::warn("schedule {}: action {} not started: {}", t.scheduled_by().schedule_id(),
                 t.target_workflow_id(), start_error);
  } else {
    return started.status();  // unavailable: the task stays and runs again
  }
  return record_on_source(e, task, [&](Engine::Scope& s) -> Result<bool> {
    return record_schedule_action_started(s.ms, t.target_workflow_id(), run_id, start_error, s.env,
                                          &s.effects);
  });
}

// A run started by a schedule closed: the schedule records it (and may start a buffered fire).
Status schedule_action_closed(Engine& e, const v1::TaskRecord& task) {
  const v1::TransferTask& t = task.transfer();
  auto entity = e.resolve(t.target_namespace(), t.target_workflow_id(), "");
  if (entity.ok()) {
    Status st = e.run_transition(*entity, [&](Engine::Scope& s) -> Status {
      CAIRN_ASSIGN_OR_RETURN(
          bool applied,
          record_schedule_action_closed(s.ms, task.workflow_id(), task.run_id(), t.closed_status(),
                                        t.close_time_ms(), s.env, &s.effects));
      s.skip_commit = !applied;  // a redo, or the schedule was deleted
      return Status();
    });
    if (!st.ok() && st.code() != StatusCode::kNotFound) {
      return st;
    }
  } else if (entity.status().code() != StatusCode::kNotFound) {
    return entity.status();
  }
  return record_on_source(e, task, nullptr);
}

// CANCEL_OTHER / TERMINATE_OTHER: stop a running action (its close then starts the buffered one).
Status schedule_stop_action(Engine& e, const v1::TaskRecord& task) {
  const v1::TransferTask& t = task.transfer();
  auto target = e.resolve(t.target_namespace(), t.target_workflow_id(), t.target_run_id());
  Status st = target.status();
  if (st.ok()) {
    const std::string who =
        "schedule " + task.workflow_id().substr(std::string(schedule::kEntityPrefix).size());
    st = e.run_transition(*target, [&](Engine::Scope& s) {
      if (t.terminate()) {
        v1::Payloads none;
        return cairn::terminate_workflow(s.ms, who + ": a new action started (TERMINATE_OTHER)",
                                         none, who, s.env, &s.effects);
      }
      return cairn::request_cancel_workflow(s.ms, who, t.request_id(),
                                            who + ": a new action started (CANCEL_OTHER)", s.env,
                                            &s.effects);
    });
  }
  if (!st.ok() && st.code() != StatusCode::kNotFound) {
    return st;  // kNotFound: it closed already
  }
  return record_on_source(e, task, nullptr);
}

}  // namespace

Status execute_transfer(Engine& e, const v1::TaskRecord& task) {
  Status st;
  switch (task.transfer().type()) {
    case v1::TRANSFER_TYPE_START_CHILD:
      st = start_child(e, task);
      break;
    case v1::TRANSFER_TYPE_CHILD_CLOSED:
      st = child_closed(e, task);
      break;
    case v1::TRANSFER_TYPE_SIGNAL_EXTERNAL:
      st = external_request(e, task, /*signal=*/true);
      break;
    case v1::TRANSFER_TYPE_CANCEL_EXTERNAL:
      st = external_request(e, task, /*signal=*/false);
      break;
    case v1::TRANSFER_TYPE_PARENT_CLOSE_POLICY:
      st = parent_close_policy(e, task);
      break;
    case v1::TRANSFER_TYPE_CONTINUE_AS_NEW:
      st = continue_as_new(e, task);
      break;
    case v1::TRANSFER_TYPE_SCHEDULE_START:
      st = schedule_start(e, task);
      break;
    case v1::TRANSFER_TYPE_SCHEDULE_ACTION_CLOSED:
      st = schedule_action_closed(e, task);
      break;
    case v1::TRANSFER_TYPE_SCHEDULE_STOP_ACTION:
      st = schedule_stop_action(e, task);
      break;
    default:
      st = invalid_argument("unknown transfer type " +
                            std::to_string(static_cast<int>(task.transfer().type())));
      break;
  }
  return st;  // the engine retries a failure in process (Engine::retries())
}

}  // namespace cairn::handlers
