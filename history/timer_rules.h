// Internal to history/: the per-entity halves of fire_timer(). Each returns true when the timer
// applied (its events, tasks and timers are in the context's Effects) and false when it is
// stale, in which case it changed nothing. fire_timer() adds the record to remove_timers.
#pragma once

#include "history/transition_context.h"

namespace cairn::rules {

// WORKFLOW_TASK_START_TO_CLOSE and WORKFLOW_TASK_RETRY (transitions_workflow_task.cc).
Result<bool> fire_workflow_task_timer(TransitionContext& tx, const v1::TimerRecord& timer);

// ACTIVITY_SCHEDULE_TO_START / START_TO_CLOSE / SCHEDULE_TO_CLOSE / HEARTBEAT / RETRY
// (activity_timeouts.cc).
Result<bool> fire_activity_timer(TransitionContext& tx, const v1::TimerRecord& timer);

}  // namespace cairn::rules
