// Rules: reset — a new run from a prefix of an old run's history (see reset_run()).
#include "history/transition_context.h"
#include "history/transitions.h"

namespace cairn {
namespace {

using rules::TransitionContext;

// The WorkflowTaskStarted id of the workflow task that `finish` closed.
Result<int64_t> started_of(const v1::HistoryEvent& finish) {
  switch (finish.event_type()) {
    case v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
      return finish.workflow_task_completed_event_attributes().started_event_id();
    case v1::EVENT_TYPE_WORKFLOW_TASK_FAILED:
      return finish.workflow_task_failed_event_attributes().started_event_id();
    case v1::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
      return finish.workflow_task_timed_out_event_attributes().started_event_id();
    default:
      return invalid_argument(
          "event " + std::to_string(finish.event_id()) +
          " is not the end of a workflow task: reset to a WorkflowTaskCompleted, "
          "WorkflowTaskFailed or WorkflowTaskTimedOut event (see `cairnctl workflow show`)");
  }
}

// New tasks and timers for what the prefix left pending: the old run's records belong to it.
void rearm_pending(TransitionContext& tx) {
  std::vector<int64_t> activities;
  for (const auto& [id, info] : tx.state().activities()) {
    activities.push_back(id);
  }
  for (int64_t id : activities) {
    v1::ActivityInfo* info = tx.ms().mutable_activity(id);
    info->set_attempt(1);
    info->set_current_attempt_scheduled_time_ms(tx.now());
    info->clear_started_time_ms();
    info->clear_started_identity();
    info->clear_waiting_for_retry();
    info->clear_next_attempt_time_ms();
    tx.add_task(v1::TASK_KIND_ACTIVITY, info->task_queue(), id, 1);
    if (info->schedule_to_close_timeout_ms() > 0) {
      tx.add_timer(v1::TIMER_KIND_ACTIVITY_SCHEDULE_TO_CLOSE,
                   tx.now() + info->schedule_to_close_timeout_ms(), id, 1);
    }
    if (info->schedule_to_start_timeout_ms() > 0 &&
        (info->schedule_to_close_timeout_ms() == 0 ||
         info->schedule_to_start_timeout_ms() < info->schedule_to_close_timeout_ms())) {
      tx.add_timer(v1::TIMER_KIND_ACTIVITY_SCHEDULE_TO_START,
                   tx.now() + info->schedule_to_start_timeout_ms(), id, 1);
    }
  }
  for (const auto& [timer_id, timer] : tx.state().timers()) {
    tx.add_timer(v1::TIMER_KIND_USER_TIMER, std::max(timer.fire_time_ms(), tx.now()),
                 timer.started_event_id(), 0, timer_id);
  }
  if (tx.state().run_expiration_time_ms() > 0) {
    tx.add_timer(v1::TIMER_KIND_WORKFLOW_RUN_TIMEOUT,
                 std::max(tx.state().run_expiration_time_ms(), tx.now()), 0, 0);
  }
}

}  // namespace

int64_t last_completed_workflow_task(const std::vector<v1::HistoryEvent>& history) {
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    if (it->event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      return it->event_id();
    }
  }
  return 0;
}

Status reset_run(const std::vector<v1::HistoryEvent>& old_history, int64_t finish_event_id,
                 bool reapply_signals, const std::string& reason, const std::string& request_id,
                 const RunKey& key, const TransitionEnv& env, MutableState* ms, Effects* out) {
  if (finish_event_id < 1 || finish_event_id > static_cast<int64_t>(old_history.size()) ||
      old_history[finish_event_id - 1].event_id() != finish_event_id) {
    return invalid_argument("event " + std::to_string(finish_event_id) +
                            " is not in the run's history (" +
                            std::to_string(old_history.size()) + " events)");
  }
  CAIRN_ASSIGN_OR_RETURN(int64_t started, started_of(old_history[finish_event_id - 1]));
  if (started < 2 || started >= finish_event_id) {
    return invalid_argument("event " + std::to_string(finish_event_id) +
                            " names no started workflow task");
  }
  v1::RunState& initial = ms->state_for_testing();
  initial.set_namespace_(key.ns);
  initial.set_workflow_id(key.workflow_id);
  initial.set_run_id(key.run_id.value);
  // The prefix, copied as it was: the workflow code replays it and continues from there.
  for (int64_t id = 1; id <= started; ++id) {
    const v1::HistoryEvent& event = old_history[id - 1];
    CAIRN_RETURN_IF_ERROR(ms->apply(event));
    out->events.push_back(event);
  }
  if (!ms->state().children().empty() || !ms->state().pending_signals().empty() ||
      !ms->state().pending_cancels().empty()) {
    return failed_precondition(
        "at event " + std::to_string(finish_event_id) +
        " the run had child workflows or external signals / cancels in flight; resetting there "
        "is not supported: pick a workflow task before they started or after they finished");
  }
  TransitionContext tx(ms, env, out);
  v1::HistoryEvent failed = tx.new_event(v1::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  auto* f = failed.mutable_workflow_task_failed_event_attributes();
  f->set_scheduled_event_id(ms->state().workflow_task().scheduled_event_id());
  f->set_started_event_id(started);
  f->set_cause(v1::WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW);
  f->mutable_failure()->set_message(reason.empty() ? "reset" : "reset: " + reason);
  f->set_identity("cairn-server");
  CAIRN_RETURN_IF_ERROR(tx.append(std::move(failed)).status());
  if (reapply_signals) {
    for (size_t i = static_cast<size_t>(started); i < old_history.size(); ++i) {
      if (old_history[i].event_type() != v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) {
        continue;
      }
      v1::HistoryEvent signal = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
      *signal.mutable_workflow_execution_signaled_event_attributes() =
          old_history[i].workflow_execution_signaled_event_attributes();
      CAIRN_RETURN_IF_ERROR(tx.append(std::move(signal)).status());
    }
  }
  CAIRN_RETURN_IF_ERROR(tx.schedule_workflow_task(1, /*immediate=*/true));
  rearm_pending(tx);
  v1::CurrentRun current;
  current.set_run_id(key.run_id.value);
  current.set_status(v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  current.set_start_request_id(request_id);
  out->current = std::move(current);
  return Status();
}

}  // namespace cairn
