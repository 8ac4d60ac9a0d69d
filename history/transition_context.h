// Internal to history/: the machinery every transition rule shares — stamping and appending events,
// buffering them while a workflow task is started, flushing the buffer, scheduling workflow tasks,
// building task and timer records, and closing the run. One per transition, on the stack of a
// rule in transitions_*.cc; not thread-safe. Borrows the MutableState, env and Effects.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "history/transitions.h"

namespace cairn::rules {

class TransitionContext {
 public:
  TransitionContext(MutableState* ms, const TransitionEnv& env, Effects* out)
      : ms_(ms), env_(env), out_(out) {}

  MutableState& ms() { return *ms_; }
  const v1::RunState& state() const { return ms_->state(); }
  int64_t now() const { return env_.now_ms; }
  const Limits& limits() const { return *env_.limits; }
  Effects& out() { return *out_; }
  std::string run() const { return ms_->run_name(); }

  // A new event of `type` stamped with the transition's time; id 0 until it is appended.
  v1::HistoryEvent new_event(v1::EventType type) const;

  // Appends `event` to history now: it gets the next id, is applied to the state and recorded in
  // Effects::events. An activity closing event right after its ActivityTaskStarted gets that
  // event's id as started_event_id. Returns the id; apply()'s error when it does not fit.
  Result<int64_t> append(v1::HistoryEvent event);

  // Like append(), for an event whose effect on the state was already applied (a buffered event
  // being flushed, or a TimerCanceled standing in for a buffered TimerFired).
  Result<int64_t> append_applied(v1::HistoryEvent event);

  // Events from outside the workflow task (a signal, a cancel request, an activity's
  // ActivityTaskStarted + closing event, a fired timer). While a workflow task is started they
  // are applied at once and buffered (kResourceExhausted past Limits::max_buffered_events);
  // otherwise they are appended, and a workflow task is scheduled when none is pending.
  Status deliver(std::vector<v1::HistoryEvent> events);

  // Appends the buffered events in arrival order, ids assigned and references fixed, and empties
  // the buffer. Returns how many were appended.
  Result<int> flush_buffered();

  // WorkflowTaskScheduled with `attempt`, and its dispatch: a task at once for attempts 1 and 2
  // or when `immediate`, else a WORKFLOW_TASK_RETRY timer after workflow_task_retry_backoff_ms().
  // A first attempt of a sticky run goes to the sticky queue, with a timer that moves it back to
  // the normal queue if no sticky poller starts it in time.
  Status schedule_workflow_task(int32_t attempt, bool immediate);
  // Moves a workflow task waiting on the sticky queue to the normal queue and ends stickiness.
  // No events. A no-op when the run is not sticky.
  void unstick();

  // Adds a task record to the transition; returns its task id.
  int64_t add_task(v1::TaskKind kind, const std::string& task_queue, int64_t scheduled_event_id,
                   int32_t attempt);
  void add_timer(v1::TimerKind kind, int64_t fire_time_ms, int64_t event_id, int32_t attempt,
                 const std::string& timer_id = std::string());

  // After the close event was appended: the current-run pointer with the closed status,
  // Effects::closed, and no buffered events left. REQUIRES: the run is closed.
  void mark_closed();

 private:
  Result<int64_t> place(v1::HistoryEvent event, bool already_applied);

  MutableState* ms_;
  const TransitionEnv& env_;
  Effects* out_;
};

// The delay before workflow task attempt `attempt` (>= 3) is dispatched: 1 s, 2 s, 4 s, …
// capped at 30 s.
int64_t workflow_task_retry_backoff_ms(int32_t attempt);

// kInvalidArgument "<what> is N bytes, over the limit of M" when `m` is larger than
// Limits::max_payload_bytes.
Status check_payload_size(const google::protobuf::Message& m, const Limits& limits,
                          const std::string& what);

// A memo or search attributes: keys non-empty and within Limits::max_id_length, the whole map
// within Limits::max_payload_bytes; kInvalidArgument naming `what` and the key otherwise.
Status check_payload_map(const google::protobuf::Map<std::string, v1::Payload>& map,
                         const Limits& limits, const std::string& what);

// kInvalidArgument "<what> is required" (when `required`) or "<what> is longer than N characters".
Status check_id(const std::string& value, const Limits& limits, const std::string& what,
                bool required = true);

// Prefixes a non-OK status's message with "<prefix>: ", keeping its code.
Status with_context(const Status& status, const std::string& prefix);

}  // namespace cairn::rules
