// The replayer as workflow code sees it (WorkflowCore): commands issued, futures awaited by
// suspending the fiber, signals received, side effects and deterministic ids.
#include <stdexcept>

#include "options_check.h"
#include "proto/uuid.h"
#include "replayer.h"

namespace cairn::detail {

std::shared_ptr<FutureState> Replayer::schedule_activity(const std::string& type,
                                                         v1::Payloads input,
                                                         const ActivityOptions& o) {
  check_activity_options(type, o);  // before anything is issued or counted: same on replay
  auto state = std::make_shared<FutureState>();
  if (scope_->is_canceled()) {
    state->ready = true;
    state->error = std::make_exception_ptr(
        CanceledError("activity " + type + " not scheduled: its scope is canceled"));
    return state;
  }
  auto record = std::make_shared<ActivityRecord>();
  record->type = type;
  record->id = o.activity_id.empty() ? std::to_string(++seq_) : o.activity_id;
  record->state = state;
  state->what = "activity " + type + " (activity id " + record->id + ")";
  record->scope = scope_;
  record->cancellation_type = o.cancellation_type;
  open_activities_.push_back(record);
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
  auto* a = c.mutable_schedule_activity_task_command_attributes();
  a->set_activity_id(record->id);
  a->mutable_activity_type()->set_name(type);
  a->set_task_queue(o.task_queue);
  *a->mutable_input() = std::move(input);
  a->set_schedule_to_close_timeout_ms(o.schedule_to_close.count());
  a->set_schedule_to_start_timeout_ms(o.schedule_to_start.count());
  a->set_start_to_close_timeout_ms(o.start_to_close.count());
  a->set_heartbeat_timeout_ms(o.heartbeat.count());
  *a->mutable_retry_policy() = to_proto(o.retry);
  issue(std::move(c), std::move(record));
  return state;
}

std::shared_ptr<FutureState> Replayer::start_timer(std::chrono::milliseconds duration) {
  check_duration(duration, "timer", "duration");
  auto state = std::make_shared<FutureState>();
  if (scope_->is_canceled()) {
    state->ready = true;
    state->error = std::make_exception_ptr(CanceledError("timer not started: scope canceled"));
    return state;
  }
  if (duration.count() <= 0) {
    state->ready = true;  // nothing to wait for; no command, as in Temporal
    return state;
  }
  std::string id = std::to_string(++seq_);
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_START_TIMER);
  c.mutable_start_timer_command_attributes()->set_timer_id(id);
  c.mutable_start_timer_command_attributes()->set_start_to_fire_timeout_ms(duration.count());
  issue(std::move(c));
  timers_[id] = state;
  state->what = "timer " + id + " (fires at " + format_time(now_ + duration) + ")";
  timer_scopes_[id] = scope_;
  return state;
}

void Replayer::await(FutureState& state) {
  while (!state.ready) {
    if (!fiber_ || !fiber_->running()) {
      throw std::logic_error("cairn: a workflow future was awaited outside workflow code");
    }
    set_blocked_on(state);
    fiber_->yield();
  }
}

std::optional<v1::Payloads> Replayer::pop_signal(const std::string& name) {
  auto it = signals_.find(name);
  if (it == signals_.end() || it->second.empty()) {
    return std::nullopt;
  }
  v1::Payloads p = std::move(it->second.front());
  it->second.pop_front();
  return p;
}

std::optional<v1::Payloads> Replayer::try_receive_signal(const std::string& name) {
  return pop_signal(name);
}

std::optional<v1::Payloads> Replayer::receive_signal(
    const std::string& name, std::optional<std::chrono::milliseconds> timeout) {
  if (timeout) {
    check_duration(*timeout, "wait for signal \"" + name + "\"", "timeout");
  }
  if (auto p = pop_signal(name)) {
    return p;
  }
  std::shared_ptr<ScopeState> scope = scope_;  // a wait in a non-cancellable scope goes on
  if (scope->is_canceled()) {
    throw CanceledError("waiting for signal " + name + ": canceled");
  }
  std::shared_ptr<FutureState> timer;
  std::string timer_id;
  if (timeout) {
    if (timeout->count() <= 0) {
      return std::nullopt;
    }
    timer = start_timer(*timeout);
    timer_id = std::to_string(seq_);
  }
  for (;;) {
    if (auto p = pop_signal(name)) {
      if (timer && !timer->ready) {
        cancel_timer(timer_id);  // the signal won: the timer is no longer needed
      }
      return p;
    }
    if (timer && timer->ready) {
      if (timer->error) {
        std::rethrow_exception(timer->error);
      }
      return std::nullopt;
    }
    if (scope->is_canceled()) {
      throw CanceledError("waiting for signal " + name + ": canceled");
    }
    if (!fiber_ || !fiber_->running()) {
      throw std::logic_error("cairn: a signal was awaited outside workflow code");
    }
    set_blocked_on("signal " + name +
                   (timeout ? " (timeout " + std::to_string(timeout->count()) + " ms, timer " +
                                  timer_id + ")"
                            : std::string()));
    fiber_->yield();
  }
}

v1::Payloads Replayer::side_effect(const std::function<v1::Payloads()>& fn) {
  size_t k = side_effect_seq_++;
  v1::Payloads value = k < recorded_side_effects_.size() ? recorded_side_effects_[k] : fn();
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_RECORD_MARKER);
  auto* a = c.mutable_record_marker_command_attributes();
  a->set_marker_name(kSideEffectMarker);
  (*a->mutable_details())[kSideEffectKey] = value;
  issue(std::move(c));
  return value;
}

std::string Replayer::uuid() {
  uint64_t hi = rng_();
  uint64_t lo = rng_();
  return format_uuid_v4(hi, lo);
}

}  // namespace cairn::detail
