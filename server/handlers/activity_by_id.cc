// Handlers: async activity completion by id. An activity that returned "pending" is finished by
// (namespace, workflow id, run id, activity id) from any client: the id resolves to the running
// attempt's task token, and the same rules as for a token apply.
#include "server/handlers/handlers.h"

namespace cairn::handlers {
namespace {

// Resolves the request to its run and the token of the activity's current attempt, inside the
// transition that will use it (so the attempt cannot move on in between).
Result<v1::TaskToken> token_for(const MutableState& ms, const std::string& activity_id) {
  for (const auto& [scheduled, info] : ms.state().activities()) {
    if (info.activity_id() != activity_id) {
      continue;
    }
    v1::TaskToken token;
    token.set_kind(v1::TASK_KIND_ACTIVITY);
    token.set_namespace_(ms.state().namespace_());
    token.set_workflow_id(ms.state().workflow_id());
    token.set_run_id(ms.state().run_id());
    token.set_scheduled_event_id(scheduled);
    token.set_attempt(info.attempt());
    return token;
  }
  return not_found("run " + ms.run_name() + ": activity " + activity_id + " is not pending");
}

template <class Req>
Result<RunKey> resolve_run(Engine& e, const Req& req) {
  std::string ns = ns_or_default(req.namespace_());
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns));
  if (req.activity_id().empty()) {
    return invalid_argument("activity_id is required");
  }
  return e.resolve(ns, req.workflow_id(), req.run_id());
}

Status check_size(Engine& e, const google::protobuf::Message& m, const char* what) {
  if (m.ByteSizeLong() > static_cast<size_t>(e.options().limits.max_payload_bytes)) {
    return invalid_argument(std::string(what) + " is over the payload size limit");
  }
  return Status();
}

}  // namespace

Status record_activity_heartbeat_by_id(Engine& e, const v1::RecordActivityTaskHeartbeatByIdRequest& req,
                                       v1::RecordActivityTaskHeartbeatByIdResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(RunKey key, resolve_run(e, req));
  CAIRN_RETURN_IF_ERROR(check_size(e, req.details(), "heartbeat details"));
  bool cancel = false;
  CAIRN_RETURN_IF_ERROR(e.run_transition(key, [&](Engine::Scope& s) -> Status {
    CAIRN_ASSIGN_OR_RETURN(v1::TaskToken token, token_for(*s.ms, req.activity_id()));
    CAIRN_ASSIGN_OR_RETURN(cancel, cairn::record_activity_heartbeat(s.ms, token, req.details(),
                                                                    s.env, &s.effects));
    return Status();
  }));
  resp->set_cancel_requested(cancel);
  return Status();
}

Status respond_activity_completed_by_id(Engine& e,
                                        const v1::RespondActivityTaskCompletedByIdRequest& req,
                                        v1::RespondActivityTaskCompletedByIdResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(RunKey key, resolve_run(e, req));
  CAIRN_RETURN_IF_ERROR(check_size(e, req.result(), "activity result"));
  return e.run_transition(key, [&](Engine::Scope& s) -> Status {
    CAIRN_ASSIGN_OR_RETURN(v1::TaskToken token, token_for(*s.ms, req.activity_id()));
    return cairn::complete_activity_task(s.ms, token, req.result(), req.identity(), s.env,
                                         &s.effects);
  });
}

Status respond_activity_failed_by_id(Engine& e, const v1::RespondActivityTaskFailedByIdRequest& req,
                                     v1::RespondActivityTaskFailedByIdResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(RunKey key, resolve_run(e, req));
  CAIRN_RETURN_IF_ERROR(check_size(e, req.failure(), "activity failure"));
  const v1::Payloads* details =
      req.has_last_heartbeat_details() ? &req.last_heartbeat_details() : nullptr;
  return e.run_transition(key, [&](Engine::Scope& s) -> Status {
    CAIRN_ASSIGN_OR_RETURN(v1::TaskToken token, token_for(*s.ms, req.activity_id()));
    return cairn::fail_activity_task(s.ms, token, req.failure(), details, req.identity(), s.env,
                                     &s.effects);
  });
}

Status respond_activity_canceled_by_id(Engine& e,
                                       const v1::RespondActivityTaskCanceledByIdRequest& req,
                                       v1::RespondActivityTaskCanceledByIdResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(RunKey key, resolve_run(e, req));
  CAIRN_RETURN_IF_ERROR(check_size(e, req.details(), "cancellation details"));
  return e.run_transition(key, [&](Engine::Scope& s) -> Status {
    CAIRN_ASSIGN_OR_RETURN(v1::TaskToken token, token_for(*s.ms, req.activity_id()));
    return cairn::cancel_activity_task(s.ms, token, req.details(), req.identity(), s.env,
                                       &s.effects);
  });
}

}  // namespace cairn::handlers
