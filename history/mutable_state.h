// MutableState: the state of one workflow run, advanced by applying history events.
// Pure and thread-compatible: no clock reads, no I/O. The server keeps one per cached run and
// mutates it only inside a transition, under that run's lock.
#pragma once

#include <string>
#include <vector>

#include "cairn/v1/history.pb.h"
#include "cairn/v1/persistence.pb.h"
#include "proto/status.h"

namespace cairn {

class MutableState {
 public:
  MutableState() = default;
  explicit MutableState(v1::RunState state) : state_(std::move(state)) {}

  const v1::RunState& state() const { return state_; }
  v1::RunState& state_for_testing() { return state_; }
  v1::RunState release() && { return std::move(state_); }

  // The id the next appended event gets (1 for an empty state).
  int64_t next_event_id() const {
    return state_.next_event_id() == 0 ? 1 : state_.next_event_id();
  }

  bool is_open() const { return state_.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING; }

  // Applies one event to the state: the single place where an event's meaning for the state is
  // defined (workflow task, activities, timers, cancel request, close). kInvalidArgument when the
  // event does not fit the state (an unknown activity, a second close); the state is then
  // unchanged. Replaying a run's events from an empty state rebuilds the event-derived state.
  // An event with an id must carry the next id (next_event_id; 1 for the first event), and
  // advances next_event_id and history_size_bytes. An event with event_id 0 is a *buffered* event
  // (it arrived while a workflow task was started; only signals, cancel requests, activity
  // results and fired timers may be buffered): its effect is applied now, and it takes its place
  // in history later through append_buffered().
  Status apply(const v1::HistoryEvent& event);

  // Gives a buffered event, already applied with event_id 0, its place in history: `event` is the
  // same event with its final id, which must be the next id. Advances next_event_id and
  // history_size_bytes without applying the effect again. kInvalidArgument (state unchanged)
  // when the id is not the next one.
  Status append_buffered(const v1::HistoryEvent& event);

  // Non-event state, owned by the transition rules (history/transitions_*.cc).
  // Events buffered while a workflow task is started, in arrival order, without ids.
  google::protobuf::RepeatedPtrField<v1::HistoryEvent>* mutable_buffered_events() {
    return state_.mutable_buffered_events();
  }
  // Sticky execution (non-event state): the queue of the worker that has the run cached, and the
  // task record of a workflow task waiting there.
  void set_sticky(const std::string& queue, int64_t schedule_to_start_timeout_ms) {
    state_.set_sticky_task_queue(queue);
    state_.set_sticky_schedule_to_start_timeout_ms(schedule_to_start_timeout_ms);
  }
  void clear_sticky() {
    state_.clear_sticky_task_queue();
    state_.clear_sticky_schedule_to_start_timeout_ms();
    state_.clear_sticky_task_id();
  }
  void set_sticky_task_id(int64_t task_id) { state_.set_sticky_task_id(task_id); }
  // A closed run owes nothing more to its children and external requests (their transfer tasks
  // were written when it closed).
  void clear_children_and_requests() {
    state_.clear_children();
    state_.clear_pending_signals();
    state_.clear_pending_cancels();
  }
  // Workflow updates by id (history/transitions_update.cc): admitted and rejected ones are
  // non-event state; events 41 and 43 move them to accepted and completed.
  google::protobuf::Map<std::string, v1::UpdateInfo>* mutable_updates() {
    return state_.mutable_updates();
  }
  // Schedules (history/schedule_rules.cc): a schedule entity's spec and state, its close, and the
  // schedule that started a run. Non-event state.
  v1::ScheduleState* mutable_schedule() { return state_.mutable_schedule(); }
  void close_entity(v1::WorkflowExecutionStatus status, int64_t close_time_ms) {
    state_.set_status(status);
    state_.set_close_time_ms(close_time_ms);
  }
  void set_scheduled_by(const v1::ScheduledBy& by) { *state_.mutable_scheduled_by() = by; }
  // Signal / cancel request ids seen recently on this run (deduplication window).
  bool seen_request_id(const std::string& request_id) const;
  // Remembers `request_id` (ignored when empty), dropping the oldest beyond `max_ids`.
  void remember_request_id(const std::string& request_id, int32_t max_ids);

  // Sub-state lookups. nullptr when absent.
  const v1::ActivityInfo* activity(int64_t scheduled_event_id) const;
  v1::ActivityInfo* mutable_activity(int64_t scheduled_event_id);
  const v1::TimerInfo* timer(const std::string& timer_id) const;
  bool has_workflow_task() const { return state_.has_workflow_task(); }
  bool workflow_task_started() const {
    return state_.has_workflow_task() && state_.workflow_task().started_event_id() != 0;
  }

  // "default/order-7/3f2a…", for error messages.
  std::string run_name() const;

 private:
  v1::RunState state_;
};

// Rebuilds the event-derived part of a run's state from its full history (admin verify, tests).
Result<MutableState> rebuild_from_events(const std::vector<v1::HistoryEvent>& events,
                                         const std::string& ns, const std::string& workflow_id,
                                         const std::string& run_id);

// The part of a run's state that its events define: what rebuild_from_events() reproduces. Clears
// dispatch and bookkeeping state (sticky queue, buffered events, request ids, db version, attempt
// bookkeeping of pending activities, updates not yet accepted, children and requests of a closed
// run). Admin verify compares stored and rebuilt states through it.
v1::RunState event_derived_state(v1::RunState state);

}  // namespace cairn
