// Handlers: the workflow-task half of the worker protocol — starting a polled task,
// RespondWorkflowTaskCompleted and RespondWorkflowTaskFailed.
#include <set>
#include <string>
#include <vector>

#include "history/update_rules.h"
#include "server/handlers/handlers.h"

namespace cairn::handlers {
namespace {

constexpr int kHistoryReadPage = 1000;

Result<RunKey> token_key(Engine& e, const v1::TaskToken& token, v1::TaskKind kind) {
  if (token.kind() != kind) {
    return invalid_argument(kind == v1::TASK_KIND_WORKFLOW
                                ? "task token is not a workflow task token"
                                : "task token is not an activity task token");
  }
  return RunKey{shard_for(token.namespace_(), token.workflow_id(), e.shard_count()),
                token.namespace_(), token.workflow_id(), RunId{token.run_id()}};
}

// Eager activity dispatch: the first attempts of the activities the completing worker asked to
// run itself start in this transition (synced with it) instead of going to the task queue, which
// saves the task-queue round trip and a transition per activity.
Status start_eager_activities(Engine::Scope& s, const v1::RespondWorkflowTaskCompletedRequest& req,
                              std::vector<ActivityStart>* starts) {
  std::set<std::string> wanted;
  for (const auto& c : req.commands()) {
    if (c.command_type() == v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK &&
        c.schedule_activity_task_command_attributes().request_eager_execution()) {
      wanted.insert(c.schedule_activity_task_command_attributes().activity_id());
    }
  }
  if (wanted.empty()) {
    return Status();
  }
  std::vector<v1::TaskRecord> eager;
  auto& added = s.effects.add_tasks;
  for (auto it = added.begin(); it != added.end();) {
    const v1::ActivityInfo* info = it->kind() == v1::TASK_KIND_ACTIVITY
                                       ? s.ms->activity(it->scheduled_event_id())
                                       : nullptr;
    // Only on the workflow's own task queue: the worker polls that one.
    if (info != nullptr && wanted.count(info->activity_id()) != 0 &&
        it->task_queue() == s.ms->state().task_queue()) {
      eager.push_back(std::move(*it));
      it = added.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& task : eager) {
    // The task is never written, so there is nothing to take out of the outbox.
    size_t removes = s.effects.remove_tasks.size();
    auto start = cairn::start_activity_task(s.ms, task, req.identity(), s.env, &s.effects);
    s.effects.remove_tasks.resize(removes);
    if (start.ok()) {
      starts->push_back(std::move(start).value());
    } else {
      added.push_back(std::move(task));  // not startable here: the task queue gets it
    }
  }
  return Status();
}

}  // namespace

Status check_poll(Engine& e, const std::string& ns, const std::string& task_queue) {
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns));
  if (task_queue.empty()) {
    return invalid_argument("task_queue is required");
  }
  if (static_cast<int>(task_queue.size()) > e.options().limits.max_id_length) {
    return invalid_argument("task_queue is longer than " +
                            std::to_string(e.options().limits.max_id_length) + " characters");
  }
  return Status();
}

Status start_workflow_task(Engine& e, const v1::TaskRecord& task,
                           const v1::PollWorkflowTaskQueueRequest& req,
                           v1::PollWorkflowTaskQueueResponse* resp) {
  if (task.kind() == v1::TASK_KIND_QUERY) {
    return start_query_task(e, task, req, resp);
  }
  RunKey key{ShardId{task.shard()}, task.namespace_(), task.workflow_id(), RunId{task.run_id()}};
  v1::TaskToken token;
  v1::RunState after;
  bool sticky = false;
  Status st = e.run_transition(key, [&](Engine::Scope& s) -> Status {
    sticky = task.task_queue() != s.ms->state().task_queue();
    CAIRN_ASSIGN_OR_RETURN(token, cairn::start_workflow_task(s.ms, task, req.identity(), "", s.env,
                                                             &s.effects));
    // Not waited for (see Durability): a start lost with the machine takes its removal of the
    // task from the outbox with it, so a restart delivers the task again.
    s.durability = Durability::kBuffered;
    resp->clear_updates();
    cairn::deliver_updates(s.ms, token.started_event_id(), resp->mutable_updates());
    const v1::RunState& rs = s.ms->state();
    after.set_last_completed_workflow_task_started_event_id(
        rs.last_completed_workflow_task_started_event_id());
    *after.mutable_workflow_type() = rs.workflow_type();
    *after.mutable_workflow_task() = rs.workflow_task();
    return Status();
  });
  CAIRN_RETURN_IF_ERROR(st);
  // Up to and including WorkflowTaskStarted: everything, or for a sticky worker (which has the
  // run cached as of its last completed task) only what came after that task started.
  int64_t from = 1;
  if (sticky && after.last_completed_workflow_task_started_event_id() > 0) {
    from = after.last_completed_workflow_task_started_event_id() + 1;
  }
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(auto page, e.store().read_events(key, EventId{from}, kHistoryReadPage));
    for (auto& ev : page.events) {
      from = ev.event_id() + 1;
      if (ev.event_id() > token.started_event_id()) {
        break;
      }
      *resp->mutable_history()->add_events() = std::move(ev);
    }
    if (!page.more || from > token.started_event_id()) {
      break;
    }
  }
  resp->set_task_token(encode_task_token(token));
  resp->mutable_workflow_execution()->set_workflow_id(key.workflow_id);
  resp->mutable_workflow_execution()->set_run_id(key.run_id.value);
  *resp->mutable_workflow_type() = after.workflow_type();
  resp->set_previous_started_event_id(after.last_completed_workflow_task_started_event_id());
  resp->set_started_event_id(token.started_event_id());
  resp->set_attempt(after.workflow_task().attempt());
  resp->set_scheduled_time_ms(after.workflow_task().scheduled_time_ms());
  resp->set_started_time_ms(after.workflow_task().started_time_ms());
  return Status();
}

// Search attributes in commands must be registered in the namespace and fit their types; the
// pure command rules cannot see the namespace, so the check is made here, before the transition.
static Status check_command_search_attributes(
    Engine& e, const std::string& ns,
    const google::protobuf::RepeatedPtrField<v1::Command>& commands) {
  for (int i = 0; i < commands.size(); ++i) {
    const v1::Command& c = commands[i];
    Status st;
    switch (c.command_type()) {
      case v1::COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        st = check_search_attributes(
            e, ns, c.upsert_workflow_search_attributes_command_attributes().search_attributes(),
            /*allow_null=*/true);
        break;
      case v1::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
        st = check_search_attributes(
            e, ns, c.continue_as_new_workflow_execution_command_attributes().search_attributes(),
            /*allow_null=*/false);
        break;
      case v1::COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: {
        const auto& a = c.start_child_workflow_execution_command_attributes();
        st = check_search_attributes(e, a.namespace_().empty() ? ns : a.namespace_(),
                                     a.search_attributes(), /*allow_null=*/false);
        break;
      }
      default:
        break;
    }
    if (!st.ok()) {
      return Status(st.code(), "command " + std::to_string(i) + ": " + st.message());
    }
  }
  return Status();
}

namespace {

// Bounds the message of a rejection recorded in history (it quotes the worker's input).
constexpr size_t kMaxRejectionMessage = 4096;

// The commands of the completion, applied to the scope's copy of the run: stickiness, update
// rejections, the commands, the delivered updates, eager activity starts.
Status apply_completion(Engine& e, Engine::Scope& s, const v1::TaskToken& token,
                        const v1::RespondWorkflowTaskCompletedRequest& req,
                        std::vector<ActivityStart>* eager) {
  if (req.has_sticky_attributes()) {
    CAIRN_RETURN_IF_ERROR(cairn::set_sticky_queue(
        s.ms, req.sticky_attributes().worker_task_queue(),
        req.sticky_attributes().schedule_to_start_timeout_ms(), e.options().limits));
  }
  CAIRN_RETURN_IF_ERROR(cairn::reject_updates(s.ms, req.update_rejections()));
  CAIRN_RETURN_IF_ERROR(cairn::complete_workflow_task(s.ms, token, req.commands(), req.identity(),
                                                      s.env, &s.effects));
  CAIRN_RETURN_IF_ERROR(
      cairn::finish_update_delivery(s.ms, token.started_event_id(), s.env, &s.effects));
  return start_eager_activities(s, req, eager);
}

// Whether the rules refused what the worker sent (a bad command attribute, retry policy,
// payload size, sticky attributes or update rejection; a pending-entity limit) rather than the
// token: a stale task is kNotFound and stays an error.
bool refuses_commands(const Status& st) {
  return st.code() == StatusCode::kInvalidArgument ||
         st.code() == StatusCode::kResourceExhausted;
}

// The Failure recorded for refused commands: the rules' message without the run prefix (the
// event is in that run's history), bounded.
v1::Failure rejection_failure(const RunKey& key, const Status& refused) {
  std::string message = refused.message();
  const std::string prefix =
      "run " + key.ns + "/" + key.workflow_id + "/" + key.run_id.value + ": ";
  if (message.compare(0, prefix.size(), prefix) == 0) {
    message.erase(0, prefix.size());
  }
  if (message.size() > kMaxRejectionMessage) {
    message.resize(kMaxRejectionMessage);
    message += "...";
  }
  v1::Failure failure;
  failure.set_message(std::move(message));
  failure.set_source("Server");
  return failure;
}

}  // namespace

Status respond_workflow_task_completed(Engine& e, const v1::RespondWorkflowTaskCompletedRequest& req,
                                       v1::RespondWorkflowTaskCompletedResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(v1::TaskToken token, decode_task_token(req.task_token()));
  CAIRN_ASSIGN_OR_RETURN(RunKey key, token_key(e, token, v1::TASK_KIND_WORKFLOW));
  Status refused = check_command_search_attributes(e, key.ns, req.commands());
  v1::WorkflowTaskFailedCause cause = v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES;
  // Held across both transitions below, so that nothing happens to the run between a refused
  // completion and the failure recorded in its place.
  auto lock = e.lock_workflow(WorkflowKey{key.shard, key.ns, key.workflow_id});
  if (refused.ok()) {
    cause = v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND;
    std::vector<ActivityStart> eager;
    v1::WorkflowType type;
    Status st = e.run_transition_locked(key, [&](Engine::Scope& s) {
      eager.clear();
      Status applied = apply_completion(e, s, token, req, &eager);
      refused = refuses_commands(applied) ? applied : Status();
      type = s.ms->state().workflow_type();
      return applied;
    });
    if (st.ok()) {
      for (const auto& start : eager) {
        fill_activity_task(key, type, start, resp->add_activity_tasks());
      }
      return Status();
    }
    if (refused.ok()) {
      return st;  // a stale token, a store error: nothing changed
    }
  }
  // As Temporal does: the refused commands change nothing (their transition was discarded), the
  // task fails in history for the operator to see and is retried with backoff, and the worker is
  // told why in an OK answer (an error answer never changes anything).
  v1::Failure failure = rejection_failure(key, refused);
  CAIRN_RETURN_IF_ERROR(e.run_transition_locked(key, [&](Engine::Scope& s) {
    return cairn::fail_workflow_task(s.ms, token, cause, failure, req.identity(), s.env,
                                     &s.effects);
  }));
  resp->set_rejected_cause(cause);
  *resp->mutable_rejection() = std::move(failure);
  return Status();
}

Status reset_sticky_task_queue(Engine& e, const v1::ResetStickyTaskQueueRequest& req,
                               v1::ResetStickyTaskQueueResponse* resp) {
  std::string ns = ns_or_default(req.namespace_());
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns));
  CAIRN_ASSIGN_OR_RETURN(RunKey key, e.resolve(ns, req.execution().workflow_id(),
                                               req.execution().run_id()));
  return e.run_transition(key, [&](Engine::Scope& s) -> Status {
    CAIRN_ASSIGN_OR_RETURN(bool changed, cairn::reset_sticky_queue(s.ms, s.env, &s.effects));
    s.skip_commit = !changed;
    return Status();
  });
}

Status respond_workflow_task_failed(Engine& e, const v1::RespondWorkflowTaskFailedRequest& req,
                                    v1::RespondWorkflowTaskFailedResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(v1::TaskToken token, decode_task_token(req.task_token()));
  CAIRN_ASSIGN_OR_RETURN(RunKey key, token_key(e, token, v1::TASK_KIND_WORKFLOW));
  return e.run_transition(key, [&](Engine::Scope& s) {
    return cairn::fail_workflow_task(s.ms, token, req.cause(), req.failure(), req.identity(), s.env,
                                     &s.effects);
  });
}

}  // namespace cairn::handlers
