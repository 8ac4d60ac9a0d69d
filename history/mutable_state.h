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

  bool is_open() const { return state_.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING; }

  // Applies one event to the state: the single place where an event's meaning for the state is
  // defined (workflow task, activities, timers, cancel request, close). kInvalidArgument when the
  // event does not fit the state (an unknown activity, a second close); the state is then
  // unchanged. Replaying a run's events from an empty state rebuilds the event-derived state.
  Status apply(const v1::HistoryEvent& event);

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

}  // namespace cairn
