// Handlers: the activity half of the worker protocol — starting a polled activity, heartbeats and
// the three ways an attempt ends.
#include "server/handlers/handlers.h"

namespace cairn::handlers {
namespace {

Result<RunKey> activity_key(Engine& e, const v1::TaskToken& token) {
  if (token.kind() != v1::TASK_KIND_ACTIVITY) {
    return invalid_argument("task token is not an activity task token");
  }
  return RunKey{shard_for(token.namespace_(), token.workflow_id(), e.shard_count()),
                token.namespace_(), token.workflow_id(), RunId{token.run_id()}};
}

Status check_payload(Engine& e, const v1::Payloads& p, const char* what) {
  if (p.ByteSizeLong() > static_cast<size_t>(e.options().limits.max_payload_bytes)) {
    return invalid_argument(std::string(what) + " is " + std::to_string(p.ByteSizeLong()) +
                            " bytes, over the limit of " +
                            std::to_string(e.options().limits.max_payload_bytes));
  }
  return Status();
}

}  // namespace

Status start_activity_task(Engine& e, const v1::TaskRecord& task,
                           const v1::PollActivityTaskQueueRequest& req,
                           v1::PollActivityTaskQueueResponse* resp) {
  RunKey key{ShardId{task.shard()}, task.namespace_(), task.workflow_id(), RunId{task.run_id()}};
  ActivityStart start;
  v1::WorkflowType type;
  CAIRN_RETURN_IF_ERROR(e.run_transition(key, [&](Engine::Scope& s) -> Status {
    CAIRN_ASSIGN_OR_RETURN(start, cairn::start_activity_task(s.ms, task, req.identity(), s.env,
                                                             &s.effects));
    // Not waited for (see Durability): a start lost with the machine takes its removal of the
    // task from the outbox with it, so a restart delivers the task again.
    s.durability = Durability::kBuffered;
    type = s.ms->state().workflow_type();
    return Status();
  }));
  fill_activity_task(key, type, start, resp);
  return Status();
}

void fill_activity_task(const RunKey& key, const v1::WorkflowType& type, const ActivityStart& start,
                        v1::PollActivityTaskQueueResponse* resp) {
  const v1::ActivityInfo& a = start.info;
  resp->set_task_token(encode_task_token(start.token));
  resp->set_workflow_namespace(key.ns);
  *resp->mutable_workflow_type() = type;
  resp->mutable_workflow_execution()->set_workflow_id(key.workflow_id);
  resp->mutable_workflow_execution()->set_run_id(key.run_id.value);
  *resp->mutable_activity_type() = a.activity_type();
  resp->set_activity_id(a.activity_id());
  *resp->mutable_input() = a.input();
  *resp->mutable_heartbeat_details() = a.heartbeat_details();
  resp->set_scheduled_time_ms(a.scheduled_time_ms());
  resp->set_current_attempt_scheduled_time_ms(a.current_attempt_scheduled_time_ms());
  resp->set_started_time_ms(a.started_time_ms());
  resp->set_attempt(a.attempt());
  resp->set_schedule_to_close_timeout_ms(a.schedule_to_close_timeout_ms());
  resp->set_start_to_close_timeout_ms(a.start_to_close_timeout_ms());
  resp->set_heartbeat_timeout_ms(a.heartbeat_timeout_ms());
  *resp->mutable_retry_policy() = a.retry_policy();
}

Status record_activity_heartbeat(Engine& e, const v1::RecordActivityTaskHeartbeatRequest& req,
                                 v1::RecordActivityTaskHeartbeatResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(v1::TaskToken token, decode_task_token(req.task_token()));
  CAIRN_ASSIGN_OR_RETURN(RunKey key, activity_key(e, token));
  CAIRN_RETURN_IF_ERROR(check_payload(e, req.details(), "heartbeat details"));
  bool cancel = false;
  CAIRN_RETURN_IF_ERROR(e.run_transition(key, [&](Engine::Scope& s) -> Status {
    CAIRN_ASSIGN_OR_RETURN(cancel, cairn::record_activity_heartbeat(s.ms, token, req.details(),
                                                                    s.env, &s.effects));
    return Status();
  }));
  resp->set_cancel_requested(cancel);
  return Status();
}

Status respond_activity_completed(Engine& e, const v1::RespondActivityTaskCompletedRequest& req,
                                  v1::RespondActivityTaskCompletedResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(v1::TaskToken token, decode_task_token(req.task_token()));
  CAIRN_ASSIGN_OR_RETURN(RunKey key, activity_key(e, token));
  CAIRN_RETURN_IF_ERROR(check_payload(e, req.result(), "activity result"));
  return e.run_transition(key, [&](Engine::Scope& s) {
    return cairn::complete_activity_task(s.ms, token, req.result(), req.identity(), s.env,
                                         &s.effects);
  });
}

Status respond_activity_failed(Engine& e, const v1::RespondActivityTaskFailedRequest& req,
                               v1::RespondActivityTaskFailedResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(v1::TaskToken token, decode_task_token(req.task_token()));
  CAIRN_ASSIGN_OR_RETURN(RunKey key, activity_key(e, token));
  if (req.failure().ByteSizeLong() > static_cast<size_t>(e.options().limits.max_payload_bytes)) {
    return invalid_argument("activity failure is over the payload size limit");
  }
  const v1::Payloads* details =
      req.has_last_heartbeat_details() ? &req.last_heartbeat_details() : nullptr;
  return e.run_transition(key, [&](Engine::Scope& s) {
    return cairn::fail_activity_task(s.ms, token, req.failure(), details, req.identity(), s.env,
                                     &s.effects);
  });
}

Status respond_activity_canceled(Engine& e, const v1::RespondActivityTaskCanceledRequest& req,
                                 v1::RespondActivityTaskCanceledResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(v1::TaskToken token, decode_task_token(req.task_token()));
  CAIRN_ASSIGN_OR_RETURN(RunKey key, activity_key(e, token));
  CAIRN_RETURN_IF_ERROR(check_payload(e, req.details(), "cancellation details"));
  return e.run_transition(key, [&](Engine::Scope& s) {
    return cairn::cancel_activity_task(s.ms, token, req.details(), req.identity(), s.env,
                                       &s.effects);
  });
}

}  // namespace cairn::handlers
