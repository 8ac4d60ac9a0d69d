// Rules of sticky execution: which queue a run's next workflow task goes to. No events: a run's
// stickiness is dispatch state kept in RunState, never part of its history.
#include "history/transition_context.h"
#include "history/transitions.h"

namespace cairn {

Status set_sticky_queue(MutableState* ms, const std::string& queue, int64_t schedule_to_start_ms,
                        const Limits& limits) {
  if (queue.empty()) {
    return invalid_argument("sticky_attributes.worker_task_queue is required");
  }
  if (static_cast<int>(queue.size()) > limits.max_id_length) {
    return invalid_argument("sticky_attributes.worker_task_queue is longer than " +
                            std::to_string(limits.max_id_length) + " characters");
  }
  if (queue == ms->state().task_queue()) {
    return invalid_argument("sticky_attributes.worker_task_queue must differ from the run's task "
                            "queue " + queue);
  }
  if (schedule_to_start_ms < 0 ||
      schedule_to_start_ms > limits.max_sticky_schedule_to_start_timeout_ms) {
    return invalid_argument("sticky_attributes.schedule_to_start_timeout_ms must be within [0, " +
                            std::to_string(limits.max_sticky_schedule_to_start_timeout_ms) +
                            "] (0: the default)");
  }
  if (schedule_to_start_ms == 0) {
    schedule_to_start_ms = limits.default_sticky_schedule_to_start_timeout_ms;
  }
  ms->set_sticky(queue, schedule_to_start_ms);
  return Status();
}

Result<bool> reset_sticky_queue(MutableState* ms, const TransitionEnv& env, Effects* out) {
  if (ms->state().sticky_task_queue().empty()) {
    return false;
  }
  rules::TransitionContext tx(ms, env, out);
  tx.unstick();
  return true;
}

}  // namespace cairn
