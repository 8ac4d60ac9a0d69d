// Internal to history/: the per-entity halves of MutableState::apply(). Each function first checks
// that the event fits the state and only then changes it, so that an error leaves the state
// untouched. Pure functions on a RunState; the caller (MutableState) owns the state.
#pragma once

#include <string>

#include "cairn/v1/history.pb.h"
#include "cairn/v1/persistence.pb.h"
#include "proto/status.h"

namespace cairn::state_apply {

// "event 12 (ACTIVITY_TASK_COMPLETED)", or "buffered event (…)" when it has no id yet.
std::string describe_event(const v1::HistoryEvent& event);

// "ACTIVITY_TASK_COMPLETED".
std::string event_type_name(v1::EventType type);

// kInvalidArgument "run <run>: <event>: <what>".
Status event_error(const std::string& run, const v1::HistoryEvent& event, const std::string& what);

// True for the event types applied by apply_activity_event() / apply_timer_event().
bool is_activity_event(v1::EventType type);
bool is_timer_event(v1::EventType type);

// ActivityTaskScheduled/Started/Completed/Failed/TimedOut/CancelRequested/Canceled.
Status apply_activity_event(v1::RunState& state, const v1::HistoryEvent& event,
                            const std::string& run);

// TimerStarted/Fired/Canceled.
Status apply_timer_event(v1::RunState& state, const v1::HistoryEvent& event,
                         const std::string& run);

// Child workflows and signals / cancel requests to other runs (mutable_state_children.cc).
// The attributes a child / external event type must carry; ATTRIBUTES_NOT_SET for other types.
v1::HistoryEvent::AttributesCase child_event_attributes(v1::EventType type);
bool is_child_event(v1::EventType type);
// The outcomes that arrive from other runs (not the *Initiated events) may be buffered.
bool is_bufferable_child_event(v1::EventType type);
Status apply_child_event(v1::RunState& state, const v1::HistoryEvent& event, const std::string& run);
// The parent of a child run, from its WorkflowExecutionStarted.
void apply_parent(v1::RunState& state, const v1::WorkflowExecutionStartedEventAttributes& a);

// Workflow updates (mutable_state_updates.cc): UpdateAccepted and UpdateCompleted. Never buffered
// (they come from the workflow's own commands).
v1::HistoryEvent::AttributesCase update_event_attributes(v1::EventType type);
bool is_update_event(v1::EventType type);
Status apply_update_event(v1::RunState& state, const v1::HistoryEvent& event, const std::string& run);
// Completed updates whose outcome a run keeps for repeated update ids; older ones are forgotten.
inline constexpr int kMaxCompletedUpdates = 100;
void forget_oldest_completed_updates(v1::RunState& state);

}  // namespace cairn::state_apply
