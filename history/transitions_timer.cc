// fire_timer(): a durable timer came due. Dispatches by kind; user timers and the run timeout are
// handled here, workflow task and activity timers in their own files (timer_rules.h).
#include "history/timer_rules.h"
#include "history/transition_context.h"
#include "history/transitions.h"
#include "history/schedule_rules.h"

namespace cairn {
namespace {

using rules::TransitionContext;

Result<bool> fire_user_timer(TransitionContext& tx, const v1::TimerRecord& timer) {
  const v1::TimerInfo* info = tx.ms().timer(timer.timer_id());
  if (info == nullptr || info->started_event_id() != timer.event_id()) {
    return false;  // canceled, or a later timer reusing the id
  }
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_TIMER_FIRED);
  auto* a = e.mutable_timer_fired_event_attributes();
  a->set_timer_id(info->timer_id());
  a->set_started_event_id(info->started_event_id());
  std::vector<v1::HistoryEvent> events;
  events.push_back(std::move(e));
  CAIRN_RETURN_IF_ERROR(tx.deliver(std::move(events)));
  return true;
}

Result<bool> fire_run_timeout(TransitionContext& tx) {
  // Like terminate, the timeout does not wait for a started workflow task; what is buffered
  // happened before it.
  CAIRN_RETURN_IF_ERROR(tx.flush_buffered().status());
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT);
  e.mutable_workflow_execution_timed_out_event_attributes()->set_retry_state(
      v1::RETRY_STATE_TIMEOUT);
  CAIRN_RETURN_IF_ERROR(tx.append(std::move(e)).status());
  tx.mark_closed();
  return true;
}

}  // namespace

Result<bool> fire_timer(MutableState* ms, const v1::TimerRecord& timer, const TransitionEnv& env,
                        Effects* out) {
  if (timer.kind() == v1::TIMER_KIND_SCHEDULE_FIRE) {
    if (!ms->state().has_schedule() || !ms->is_open()) {
      out->remove_timers.push_back(timer);
      return false;
    }
    CAIRN_ASSIGN_OR_RETURN(schedule::CompiledSpec spec, compile_schedule_spec(ms->state()));
    return fire_schedule(ms, timer, spec, env, out);
  }
  // Whatever happens, this record has done its job: it leaves the timer column family.
  out->remove_timers.push_back(timer);
  if (!ms->is_open() || timer.run_id() != ms->state().run_id()) {
    return false;
  }
  TransitionContext tx(ms, env, out);
  switch (timer.kind()) {
    case v1::TIMER_KIND_USER_TIMER:
      return fire_user_timer(tx, timer);
    case v1::TIMER_KIND_WORKFLOW_RUN_TIMEOUT:
      return fire_run_timeout(tx);
    case v1::TIMER_KIND_WORKFLOW_TASK_START_TO_CLOSE:
    case v1::TIMER_KIND_WORKFLOW_TASK_RETRY:
    case v1::TIMER_KIND_WORKFLOW_TASK_STICKY_SCHEDULE_TO_START:
      return rules::fire_workflow_task_timer(tx, timer);
    case v1::TIMER_KIND_ACTIVITY_SCHEDULE_TO_START:
    case v1::TIMER_KIND_ACTIVITY_START_TO_CLOSE:
    case v1::TIMER_KIND_ACTIVITY_SCHEDULE_TO_CLOSE:
    case v1::TIMER_KIND_ACTIVITY_HEARTBEAT:
    case v1::TIMER_KIND_ACTIVITY_RETRY:
      return rules::fire_activity_timer(tx, timer);
    default:
      return false;  // an unknown kind can never apply
  }
}

}  // namespace cairn
