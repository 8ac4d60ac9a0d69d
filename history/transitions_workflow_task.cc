// The workflow task lifecycle: scheduled → started → completed (with commands) / failed / timed
// out, with the buffer of events that arrived meanwhile flushed after the task closes.
#include "history/child_rules.h"
#include "history/command_rules.h"
#include "history/timer_rules.h"
#include "history/transition_context.h"
#include "history/transitions.h"

namespace cairn {
namespace {

using rules::TransitionContext;

Status stale_workflow_task(const MutableState& ms, int64_t scheduled, int64_t started) {
  return not_found("run " + ms.run_name() + ": workflow task (scheduled " +
                   std::to_string(scheduled) + ", started " + std::to_string(started) +
                   ") not found (stale task token)");
}

// The token must name the run's started workflow task.
Status check_token(const MutableState& ms, const v1::TaskToken& token) {
  if (token.kind() != v1::TASK_KIND_WORKFLOW) {
    return invalid_argument("run " + ms.run_name() + ": not a workflow task token");
  }
  const v1::WorkflowTaskInfo& wft = ms.state().workflow_task();
  if (!ms.is_open() || token.run_id() != ms.state().run_id() || !ms.workflow_task_started() ||
      wft.scheduled_event_id() != token.scheduled_event_id() ||
      wft.started_event_id() != token.started_event_id()) {
    return stale_workflow_task(ms, token.scheduled_event_id(), token.started_event_id());
  }
  return Status();
}

// WorkflowTaskFailed for the started task, the buffer flushed, and attempt `next_attempt`
// scheduled (dispatched per schedule_workflow_task()).
Status fail_started_task(TransitionContext& tx, v1::WorkflowTaskFailedCause cause,
                         const v1::Failure& failure, const std::string& identity,
                         int32_t next_attempt) {
  const v1::WorkflowTaskInfo wft = tx.state().workflow_task();
  tx.unstick();  // the worker's cached run went past what history now says
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  auto* a = e.mutable_workflow_task_failed_event_attributes();
  a->set_scheduled_event_id(wft.scheduled_event_id());
  a->set_started_event_id(wft.started_event_id());
  a->set_cause(cause);
  *a->mutable_failure() = failure;
  a->set_identity(identity);
  CAIRN_RETURN_IF_ERROR(tx.append(std::move(e)).status());
  CAIRN_RETURN_IF_ERROR(tx.flush_buffered().status());
  return tx.schedule_workflow_task(next_attempt, /*immediate=*/false);
}

// A workflow task record is live when it is on the run's normal queue, or is the one record on
// its sticky queue. A sticky record that fell back to the normal queue may still sit in the
// matcher's memory; it must not start the task a second time.
bool on_current_queue(const v1::RunState& s, const v1::TaskRecord& task) {
  if (task.task_queue() == s.task_queue()) {
    return true;
  }
  return !s.sticky_task_queue().empty() && task.task_queue() == s.sticky_task_queue() &&
         task.task_id() == s.sticky_task_id();
}

}  // namespace

Result<v1::TaskToken> start_workflow_task(MutableState* ms, const v1::TaskRecord& task,
                                          const std::string& identity, const std::string& request_id,
                                          const TransitionEnv& env, Effects* out) {
  const v1::WorkflowTaskInfo& wft = ms->state().workflow_task();
  if (task.kind() != v1::TASK_KIND_WORKFLOW || !ms->is_open() ||
      task.run_id() != ms->state().run_id() || !ms->has_workflow_task() ||
      ms->workflow_task_started() || wft.scheduled_event_id() != task.scheduled_event_id() ||
      wft.attempt() != task.attempt() || !on_current_queue(ms->state(), task)) {
    return not_found("run " + ms->run_name() + ": workflow task (scheduled " +
                     std::to_string(task.scheduled_event_id()) + ", attempt " +
                     std::to_string(task.attempt()) + ") not found (stale task)");
  }
  TransitionContext tx(ms, env, out);
  ms->set_sticky_task_id(0);  // the sticky task record (if it was one) is removed below
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  auto* a = e.mutable_workflow_task_started_event_attributes();
  a->set_scheduled_event_id(task.scheduled_event_id());
  a->set_identity(identity);
  a->set_request_id(request_id);
  a->set_history_size_bytes(ms->state().history_size_bytes());
  a->set_suggest_continue_as_new(rules::suggest_continue_as_new(ms->state(), *env.limits));
  CAIRN_ASSIGN_OR_RETURN(int64_t started, tx.append(std::move(e)));
  int32_t attempt = ms->state().workflow_task().attempt();
  tx.add_timer(v1::TIMER_KIND_WORKFLOW_TASK_START_TO_CLOSE,
               env.now_ms + ms->state().workflow_task_timeout_ms(), task.scheduled_event_id(),
               attempt);
  out->remove_tasks.push_back(task);

  v1::TaskToken token;
  token.set_kind(v1::TASK_KIND_WORKFLOW);
  token.set_namespace_(ms->state().namespace_());
  token.set_workflow_id(ms->state().workflow_id());
  token.set_run_id(ms->state().run_id());
  token.set_scheduled_event_id(task.scheduled_event_id());
  token.set_started_event_id(started);
  token.set_attempt(attempt);
  return token;
}

namespace {

// The scheduled event id of an activity that a RequestCancelActivityTask command targets while
// its closing event is still buffered; 0 when there is none.
int64_t cancels_a_buffered_result(const MutableState& ms,
                                  const google::protobuf::RepeatedPtrField<v1::Command>& commands) {
  for (const v1::Command& c : commands) {
    if (c.command_type() != v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK) {
      continue;
    }
    int64_t scheduled = c.request_cancel_activity_task_command_attributes().scheduled_event_id();
    if (ms.activity(scheduled) != nullptr) {
      continue;
    }
    for (const v1::HistoryEvent& b : ms.state().buffered_events()) {
      int64_t closes = 0;
      switch (b.event_type()) {
        case v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
          closes = b.activity_task_completed_event_attributes().scheduled_event_id();
          break;
        case v1::EVENT_TYPE_ACTIVITY_TASK_FAILED:
          closes = b.activity_task_failed_event_attributes().scheduled_event_id();
          break;
        case v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
          closes = b.activity_task_timed_out_event_attributes().scheduled_event_id();
          break;
        case v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
          closes = b.activity_task_canceled_event_attributes().scheduled_event_id();
          break;
        default:
          break;
      }
      if (closes == scheduled) {
        return scheduled;
      }
    }
  }
  return 0;
}

}  // namespace

Status complete_workflow_task(MutableState* ms, const v1::TaskToken& token,
                              const google::protobuf::RepeatedPtrField<v1::Command>& commands,
                              const std::string& identity, const TransitionEnv& env, Effects* out) {
  CAIRN_RETURN_IF_ERROR(check_token(*ms, token));
  CAIRN_ASSIGN_OR_RETURN(rules::CommandPlan plan, rules::check_commands(commands, ms->run_name()));
  TransitionContext tx(ms, env, out);
  if (plan.closes && ms->state().buffered_events_size() > 0) {
    // Temporal's rule: the workflow decided to close without having seen these events (a signal,
    // say), so its commands are dropped and it runs again with them.
    v1::Failure failure;
    failure.set_message("the workflow tried to close while " +
                        std::to_string(ms->state().buffered_events_size()) +
                        " new events were waiting; its commands were dropped");
    failure.set_source("Server");
    return fail_started_task(tx, v1::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, failure,
                             identity, /*next_attempt=*/1);
  }
  if (int64_t raced = cancels_a_buffered_result(*ms, commands); raced != 0) {
    // The workflow asked to cancel an activity whose result arrived while it ran: like Temporal,
    // drop the commands and run the workflow again, now with the result in its history.
    v1::Failure failure;
    failure.set_message("the workflow asked to cancel activity " + std::to_string(raced) +
                        " whose result arrived meanwhile; its commands were dropped");
    failure.set_source("Server");
    return fail_started_task(tx, v1::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, failure,
                             identity, /*next_attempt=*/1);
  }
  const v1::WorkflowTaskInfo wft = ms->state().workflow_task();
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  auto* a = e.mutable_workflow_task_completed_event_attributes();
  a->set_scheduled_event_id(wft.scheduled_event_id());
  a->set_started_event_id(wft.started_event_id());
  a->set_identity(identity);
  CAIRN_ASSIGN_OR_RETURN(int64_t completed, tx.append(std::move(e)));

  bool wake = false;
  for (int i = 0; i < commands.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(rules::apply_command(tx, commands.Get(i), i, completed, &wake));
  }
  if (plan.closes) {
    return Status();
  }
  // Events that arrived while the task ran follow its command events (as in Temporal), and a
  // new task lets the workflow react to them.
  CAIRN_ASSIGN_OR_RETURN(int flushed, tx.flush_buffered());
  if (flushed > 0 || wake) {
    return tx.schedule_workflow_task(1, /*immediate=*/true);
  }
  return Status();
}

Status fail_workflow_task(MutableState* ms, const v1::TaskToken& token,
                          v1::WorkflowTaskFailedCause cause, const v1::Failure& failure,
                          const std::string& identity, const TransitionEnv& env, Effects* out) {
  CAIRN_RETURN_IF_ERROR(check_token(*ms, token));
  CAIRN_RETURN_IF_ERROR(rules::check_payload_size(failure, *env.limits, "failure"));
  TransitionContext tx(ms, env, out);
  return fail_started_task(tx, cause, failure, identity, ms->state().workflow_task().attempt() + 1);
}

namespace rules {

Result<bool> fire_workflow_task_timer(TransitionContext& tx, const v1::TimerRecord& timer) {
  const MutableState& ms = tx.ms();
  const v1::WorkflowTaskInfo wft = ms.state().workflow_task();
  if (!ms.has_workflow_task() || wft.scheduled_event_id() != timer.event_id() ||
      wft.attempt() != timer.attempt()) {
    return false;
  }
  if (timer.kind() == v1::TIMER_KIND_WORKFLOW_TASK_STICKY_SCHEDULE_TO_START) {
    // The sticky worker did not start the task in time (gone, or busy): back to the normal
    // queue, where any worker takes it with the full history.
    if (ms.workflow_task_started() || ms.state().sticky_task_queue().empty() ||
        wft.task_queue() != ms.state().sticky_task_queue()) {
      return false;
    }
    tx.unstick();
    return true;
  }
  if (timer.kind() == v1::TIMER_KIND_WORKFLOW_TASK_RETRY) {
    if (ms.workflow_task_started()) {
      return false;
    }
    tx.add_task(v1::TASK_KIND_WORKFLOW, wft.task_queue(), wft.scheduled_event_id(), wft.attempt());
    return true;
  }
  // START_TO_CLOSE: the worker took too long (or died). The next attempt goes out at once:
  // the timeout itself was the wait.
  if (!ms.workflow_task_started()) {
    return false;
  }
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
  auto* a = e.mutable_workflow_task_timed_out_event_attributes();
  a->set_scheduled_event_id(wft.scheduled_event_id());
  a->set_started_event_id(wft.started_event_id());
  a->set_timeout_type(v1::TIMEOUT_TYPE_START_TO_CLOSE);
  CAIRN_RETURN_IF_ERROR(tx.append(std::move(e)).status());
  tx.unstick();
  CAIRN_RETURN_IF_ERROR(tx.flush_buffered().status());
  CAIRN_RETURN_IF_ERROR(tx.schedule_workflow_task(wft.attempt() + 1, /*immediate=*/true));
  return true;
}

}  // namespace rules
}  // namespace cairn
