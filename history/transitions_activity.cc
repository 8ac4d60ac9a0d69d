// The activity half of the worker protocol: an attempt starts (no event), heartbeats (no event),
// and ends completed, failed (retried or final) or canceled. Only the final outcome is written,
// as ActivityTaskStarted + the closing event.
#include "history/activity_rules.h"
#include "history/transition_context.h"
#include "history/transitions.h"

namespace cairn {
namespace {

using rules::TransitionContext;

// The pending activity whose *running* attempt the token names.
Result<v1::ActivityInfo*> running_attempt(MutableState* ms, const v1::TaskToken& token) {
  if (token.kind() != v1::TASK_KIND_ACTIVITY) {
    return invalid_argument("run " + ms->run_name() + ": not an activity task token");
  }
  v1::ActivityInfo* info = ms->mutable_activity(token.scheduled_event_id());
  if (!ms->is_open() || token.run_id() != ms->state().run_id() || info == nullptr ||
      info->attempt() != token.attempt() || info->started_time_ms() == 0) {
    return not_found("run " + ms->run_name() + ": activity task (scheduled " +
                     std::to_string(token.scheduled_event_id()) + ", attempt " +
                     std::to_string(token.attempt()) + ") not found (stale task token)");
  }
  return info;
}

}  // namespace

Result<ActivityStart> start_activity_task(MutableState* ms, const v1::TaskRecord& task,
                                          const std::string& identity, const TransitionEnv& env,
                                          Effects* out) {
  v1::ActivityInfo* info = ms->mutable_activity(task.scheduled_event_id());
  if (task.kind() != v1::TASK_KIND_ACTIVITY || !ms->is_open() ||
      task.run_id() != ms->state().run_id() || info == nullptr ||
      info->attempt() != task.attempt() || info->started_time_ms() != 0 ||
      info->waiting_for_retry()) {
    return not_found("run " + ms->run_name() + ": activity task (scheduled " +
                     std::to_string(task.scheduled_event_id()) + ", attempt " +
                     std::to_string(task.attempt()) + ") not found (stale task)");
  }
  TransitionContext tx(ms, env, out);
  info->set_started_time_ms(env.now_ms);
  info->set_started_identity(identity);
  tx.add_timer(v1::TIMER_KIND_ACTIVITY_START_TO_CLOSE, env.now_ms + info->start_to_close_timeout_ms(),
               info->scheduled_event_id(), info->attempt());
  if (info->heartbeat_timeout_ms() > 0) {
    tx.add_timer(v1::TIMER_KIND_ACTIVITY_HEARTBEAT, env.now_ms + info->heartbeat_timeout_ms(),
                 info->scheduled_event_id(), info->attempt());
  }
  out->remove_tasks.push_back(task);

  ActivityStart start;
  start.token.set_kind(v1::TASK_KIND_ACTIVITY);
  start.token.set_namespace_(ms->state().namespace_());
  start.token.set_workflow_id(ms->state().workflow_id());
  start.token.set_run_id(ms->state().run_id());
  start.token.set_scheduled_event_id(info->scheduled_event_id());
  start.token.set_attempt(info->attempt());
  start.info = *info;
  return start;
}

Result<bool> record_activity_heartbeat(MutableState* ms, const v1::TaskToken& token,
                                       const v1::Payloads& details, const TransitionEnv& env,
                                       Effects* out) {
  CAIRN_ASSIGN_OR_RETURN(v1::ActivityInfo * info, running_attempt(ms, token));
  CAIRN_RETURN_IF_ERROR(rules::check_payload_size(details, *env.limits, "heartbeat details"));
  *info->mutable_heartbeat_details() = details;
  info->set_last_heartbeat_time_ms(env.now_ms);
  return info->cancel_requested();
}

Status complete_activity_task(MutableState* ms, const v1::TaskToken& token,
                              const v1::Payloads& result, const std::string& identity,
                              const TransitionEnv& env, Effects* out) {
  CAIRN_ASSIGN_OR_RETURN(v1::ActivityInfo * info, running_attempt(ms, token));
  CAIRN_RETURN_IF_ERROR(rules::check_payload_size(result, *env.limits, "activity result"));
  TransitionContext tx(ms, env, out);
  std::vector<v1::HistoryEvent> events;
  events.push_back(rules::activity_started_event(tx, *info));
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  auto* a = e.mutable_activity_task_completed_event_attributes();
  *a->mutable_result() = result;
  a->set_scheduled_event_id(info->scheduled_event_id());
  a->set_identity(identity);
  a->set_attempt(info->attempt());
  if (info->has_last_failure()) {
    *a->mutable_last_failure() = info->last_failure();  // why the attempt before this one failed
  }
  events.push_back(std::move(e));
  return tx.deliver(std::move(events));
}

Status fail_activity_task(MutableState* ms, const v1::TaskToken& token, const v1::Failure& failure,
                          const v1::Payloads* last_heartbeat_details, const std::string& identity,
                          const TransitionEnv& env, Effects* out) {
  CAIRN_ASSIGN_OR_RETURN(v1::ActivityInfo * info, running_attempt(ms, token));
  CAIRN_RETURN_IF_ERROR(rules::check_payload_size(failure, *env.limits, "activity failure"));
  if (int64_t delay = failure.application_failure_info().next_retry_delay_ms(); delay < 0) {
    return invalid_argument("run " + ms->run_name() + ": activity " +
                            std::to_string(info->scheduled_event_id()) +
                            ": failure.application_failure_info.next_retry_delay_ms must not be "
                            "negative (got " + std::to_string(delay) + ")");
  }
  if (last_heartbeat_details != nullptr) {
    CAIRN_RETURN_IF_ERROR(
        rules::check_payload_size(*last_heartbeat_details, *env.limits, "last heartbeat details"));
    *info->mutable_heartbeat_details() = *last_heartbeat_details;  // the next attempt resumes here
  }
  TransitionContext tx(ms, env, out);
  return rules::end_failed_attempt(tx, info->scheduled_event_id(), failure, identity);
}

Status cancel_activity_task(MutableState* ms, const v1::TaskToken& token, const v1::Payloads& details,
                            const std::string& identity, const TransitionEnv& env, Effects* out) {
  CAIRN_ASSIGN_OR_RETURN(v1::ActivityInfo * info, running_attempt(ms, token));
  if (!info->cancel_requested()) {
    return failed_precondition("run " + ms->run_name() + ": activity " +
                               std::to_string(info->scheduled_event_id()) +
                               ": cancellation was not requested");
  }
  CAIRN_RETURN_IF_ERROR(rules::check_payload_size(details, *env.limits, "cancellation details"));
  TransitionContext tx(ms, env, out);
  std::vector<v1::HistoryEvent> events;
  events.push_back(rules::activity_started_event(tx, *info));
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED);
  auto* a = e.mutable_activity_task_canceled_event_attributes();
  *a->mutable_details() = details;
  a->set_latest_cancel_requested_event_id(info->cancel_requested_event_id());
  a->set_scheduled_event_id(info->scheduled_event_id());
  a->set_identity(identity);
  events.push_back(std::move(e));
  return tx.deliver(std::move(events));
}

}  // namespace cairn
