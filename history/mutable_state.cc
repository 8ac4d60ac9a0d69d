// MutableState::apply(): the meaning of each history event for a run's state. Workflow-level and
// workflow-task events are here; activities and timers are in mutable_state_entities.cc.
#include "history/mutable_state.h"

#include <algorithm>

#include "history/mutable_state_apply.h"

namespace cairn {
namespace {

using state_apply::event_error;
using Attrs = v1::HistoryEvent::AttributesCase;

// The attributes each event type must carry. Persisted format: keep in step with history.proto.
Attrs expected_attributes(v1::EventType type) {
  switch (type) {
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: return Attrs::kWorkflowExecutionStartedEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: return Attrs::kWorkflowExecutionCompletedEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: return Attrs::kWorkflowExecutionFailedEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: return Attrs::kWorkflowExecutionTimedOutEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: return Attrs::kWorkflowTaskScheduledEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_TASK_STARTED: return Attrs::kWorkflowTaskStartedEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED: return Attrs::kWorkflowTaskCompletedEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: return Attrs::kWorkflowTaskTimedOutEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_TASK_FAILED: return Attrs::kWorkflowTaskFailedEventAttributes;
    case v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: return Attrs::kActivityTaskScheduledEventAttributes;
    case v1::EVENT_TYPE_ACTIVITY_TASK_STARTED: return Attrs::kActivityTaskStartedEventAttributes;
    case v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED: return Attrs::kActivityTaskCompletedEventAttributes;
    case v1::EVENT_TYPE_ACTIVITY_TASK_FAILED: return Attrs::kActivityTaskFailedEventAttributes;
    case v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: return Attrs::kActivityTaskTimedOutEventAttributes;
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: return Attrs::kActivityTaskCancelRequestedEventAttributes;
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED: return Attrs::kActivityTaskCanceledEventAttributes;
    case v1::EVENT_TYPE_TIMER_STARTED: return Attrs::kTimerStartedEventAttributes;
    case v1::EVENT_TYPE_TIMER_FIRED: return Attrs::kTimerFiredEventAttributes;
    case v1::EVENT_TYPE_TIMER_CANCELED: return Attrs::kTimerCanceledEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED: return Attrs::kWorkflowExecutionCancelRequestedEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: return Attrs::kWorkflowExecutionCanceledEventAttributes;
    case v1::EVENT_TYPE_MARKER_RECORDED: return Attrs::kMarkerRecordedEventAttributes;
    case v1::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: return Attrs::kUpsertWorkflowSearchAttributesEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: return Attrs::kWorkflowExecutionSignaledEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: return Attrs::kWorkflowExecutionTerminatedEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: return Attrs::kWorkflowExecutionContinuedAsNewEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
      return state_apply::update_event_attributes(type);
    default: return state_apply::child_event_attributes(type);
  }
}

// Events that may arrive while a workflow task is started and wait in the buffer.
bool bufferable(v1::EventType type) {
  switch (type) {
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
    case v1::EVENT_TYPE_ACTIVITY_TASK_STARTED:
    case v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
    case v1::EVENT_TYPE_ACTIVITY_TASK_FAILED:
    case v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
    case v1::EVENT_TYPE_TIMER_FIRED:
      return true;
    default:
      return state_apply::is_bufferable_child_event(type);
  }
}

// The status a close event leaves; UNSPECIFIED when `type` does not close the run.
v1::WorkflowExecutionStatus close_status(v1::EventType type) {
  switch (type) {
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: return v1::WORKFLOW_EXECUTION_STATUS_COMPLETED;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: return v1::WORKFLOW_EXECUTION_STATUS_FAILED;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: return v1::WORKFLOW_EXECUTION_STATUS_TIMED_OUT;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: return v1::WORKFLOW_EXECUTION_STATUS_CANCELED;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: return v1::WORKFLOW_EXECUTION_STATUS_TERMINATED;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW;
    default: return v1::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED;
  }
}

bool open(const v1::RunState& s) { return s.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING; }

void apply_started(v1::RunState& s, const v1::HistoryEvent& e) {
  const auto& a = e.workflow_execution_started_event_attributes();
  s.set_status(v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  *s.mutable_workflow_type() = a.workflow_type();
  s.set_task_queue(a.task_queue());
  s.set_start_time_ms(e.event_time_ms());
  s.set_workflow_task_timeout_ms(a.workflow_task_timeout_ms());
  s.set_workflow_run_timeout_ms(a.workflow_run_timeout_ms());
  s.set_workflow_execution_timeout_ms(a.workflow_execution_timeout_ms());
  int64_t bound = a.workflow_run_timeout_ms();
  if (a.workflow_execution_timeout_ms() > 0 && (bound == 0 || a.workflow_execution_timeout_ms() < bound)) {
    bound = a.workflow_execution_timeout_ms();
  }
  s.set_run_expiration_time_ms(bound > 0 ? e.event_time_ms() + bound : 0);
  s.set_first_run_id(a.first_run_id());
  *s.mutable_memo() = a.memo();
  *s.mutable_search_attributes() = a.search_attributes();
  if (a.has_retry_policy()) {
    *s.mutable_retry_policy() = a.retry_policy();
  }
  s.set_attempt(a.attempt());
  s.set_start_request_id(a.request_id());
  state_apply::apply_parent(s, a);
}

// WorkflowTaskFailed / WorkflowTaskTimedOut of the pending task: why the run's workflow tasks
// fail, kept until a task completes (RunState.workflow_task_failure). UNHANDLED_COMMAND (the
// worker lost a race with new events) leaves it as it was; RESET_WORKFLOW (the first task of a
// reset run) clears it: neither says the run is stuck.
void record_workflow_task_failure(v1::RunState& s, const v1::HistoryEvent& e) {
  const v1::WorkflowTaskInfo& wft = s.workflow_task();
  v1::WorkflowTaskFailureInfo info;
  if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_FAILED) {
    const auto& a = e.workflow_task_failed_event_attributes();
    if (a.cause() == v1::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND) {
      return;
    }
    if (a.cause() == v1::WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW) {
      s.clear_workflow_task_failure();
      return;
    }
    info.set_cause(a.cause());
    *info.mutable_failure() = a.failure();
  } else {
    info.set_timed_out(true);
    v1::Failure* f = info.mutable_failure();
    f->set_message("workflow task (attempt " + std::to_string(wft.attempt()) + ") started by " +
                   (wft.identity().empty() ? std::string("a worker") : "worker " + wft.identity()) +
                   " was not completed within its start-to-close timeout of " +
                   std::to_string(s.workflow_task_timeout_ms()) + " ms");
    f->set_source("Server");
  }
  info.set_attempt(wft.attempt());
  info.set_event_id(e.event_id());
  info.set_time_ms(e.event_time_ms());
  *s.mutable_workflow_task_failure() = std::move(info);
}

Status apply_workflow_task_event(v1::RunState& s, const v1::HistoryEvent& e, const std::string& run) {
  const v1::WorkflowTaskInfo& wft = s.workflow_task();
  if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) {
    if (s.has_workflow_task()) {
      return event_error(run, e, "a workflow task is already pending (scheduled event " +
                                     std::to_string(wft.scheduled_event_id()) + ")");
    }
    const auto& a = e.workflow_task_scheduled_event_attributes();
    v1::WorkflowTaskInfo* info = s.mutable_workflow_task();
    info->set_scheduled_event_id(e.event_id());
    info->set_attempt(std::max(1, a.attempt()));
    info->set_scheduled_time_ms(e.event_time_ms());
    info->set_task_queue(a.task_queue());
    return Status();
  }
  int64_t scheduled = 0;
  int64_t started = 0;
  switch (e.event_type()) {
    case v1::EVENT_TYPE_WORKFLOW_TASK_STARTED:
      scheduled = e.workflow_task_started_event_attributes().scheduled_event_id();
      break;
    case v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
      scheduled = e.workflow_task_completed_event_attributes().scheduled_event_id();
      started = e.workflow_task_completed_event_attributes().started_event_id();
      break;
    case v1::EVENT_TYPE_WORKFLOW_TASK_FAILED:
      scheduled = e.workflow_task_failed_event_attributes().scheduled_event_id();
      started = e.workflow_task_failed_event_attributes().started_event_id();
      break;
    default:  // WORKFLOW_TASK_TIMED_OUT
      scheduled = e.workflow_task_timed_out_event_attributes().scheduled_event_id();
      started = e.workflow_task_timed_out_event_attributes().started_event_id();
      break;
  }
  if (!s.has_workflow_task() || wft.scheduled_event_id() != scheduled) {
    return event_error(run, e, "no pending workflow task scheduled by event " + std::to_string(scheduled));
  }
  if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_STARTED) {
    if (wft.started_event_id() != 0) {
      return event_error(run, e, "the workflow task was already started by event " +
                                     std::to_string(wft.started_event_id()));
    }
    const auto& a = e.workflow_task_started_event_attributes();
    v1::WorkflowTaskInfo* info = s.mutable_workflow_task();
    info->set_started_event_id(e.event_id());
    info->set_started_time_ms(e.event_time_ms());
    info->set_identity(a.identity());
    info->set_request_id(a.request_id());
    return Status();
  }
  if (wft.started_event_id() != started ||
      (e.event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED && started == 0)) {
    return event_error(run, e, "the workflow task's started event is " +
                                   std::to_string(wft.started_event_id()) + ", not " +
                                   std::to_string(started));
  }
  if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
    s.set_last_completed_workflow_task_started_event_id(started);
    s.clear_workflow_task_failure();  // the run is healthy again
  } else {
    record_workflow_task_failure(s, e);
  }
  s.clear_workflow_task();
  return Status();
}

Status apply_workflow_event(v1::RunState& s, const v1::HistoryEvent& e, const std::string& run) {
  if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) {
    if (s.status() != v1::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED) {
      return event_error(run, e, "the run has already started");
    }
    apply_started(s, e);
    return Status();
  }
  if (!open(s)) {
    return event_error(run, e, "the run is not open (status " +
                                   v1::WorkflowExecutionStatus_Name(s.status()) + ")");
  }
  v1::WorkflowExecutionStatus closed = close_status(e.event_type());
  if (closed != v1::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED) {
    s.set_status(closed);
    s.set_close_time_ms(e.event_time_ms());
    s.set_close_event_id(e.event_id());
    // Pending work ends with the run; its timers and tasks are dropped as stale when they fire.
    s.clear_workflow_task();
    s.clear_workflow_task_failure();  // a closed run is not stuck
    s.clear_activities();
    s.clear_timers();
    return Status();
  }
  switch (e.event_type()) {
    case v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
    case v1::EVENT_TYPE_WORKFLOW_TASK_STARTED:
    case v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
    case v1::EVENT_TYPE_WORKFLOW_TASK_FAILED:
    case v1::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
      return apply_workflow_task_event(s, e, run);
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      if (s.cancel_requested()) {
        return event_error(run, e, "cancellation was already requested");
      }
      s.set_cancel_requested(true);
      return Status();
    case v1::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      for (const auto& [name, value] : e.upsert_workflow_search_attributes_event_attributes()
                                           .search_attributes()) {
        auto encoding = value.metadata().find("encoding");
        if (encoding != value.metadata().end() && encoding->second == "binary/null") {
          s.mutable_search_attributes()->erase(name);
        } else {
          (*s.mutable_search_attributes())[name] = value;
        }
      }
      return Status();
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
    case v1::EVENT_TYPE_MARKER_RECORDED:
      return Status();  // history only
    default:
      return event_error(run, e, "unknown event type");
  }
}

}  // namespace

Status MutableState::apply(const v1::HistoryEvent& event) {
  const std::string run = run_name();
  Attrs expected = expected_attributes(event.event_type());
  if (expected == Attrs::ATTRIBUTES_NOT_SET) {
    return event_error(run, event, "unknown event type");
  }
  if (event.attributes_case() != expected) {
    return event_error(run, event, "attributes missing or of another event type");
  }
  if (event.event_id() == 0) {
    if (!bufferable(event.event_type())) {
      return event_error(run, event, "only signals, cancel requests, activity results and fired "
                                     "timers may be buffered (applied without an id)");
    }
  } else if (event.event_id() != next_event_id()) {
    return event_error(run, event, "expected event id " + std::to_string(next_event_id()));
  }
  Status st;
  if (state_apply::is_activity_event(event.event_type())) {
    st = state_apply::apply_activity_event(state_, event, run);
  } else if (state_apply::is_timer_event(event.event_type())) {
    st = state_apply::apply_timer_event(state_, event, run);
  } else if (state_apply::is_child_event(event.event_type())) {
    st = state_apply::apply_child_event(state_, event, run);
  } else if (state_apply::is_update_event(event.event_type())) {
    st = state_apply::apply_update_event(state_, event, run);
  } else {
    st = apply_workflow_event(state_, event, run);
  }
  CAIRN_RETURN_IF_ERROR(st);
  if (event.event_id() != 0) {
    state_.set_next_event_id(event.event_id() + 1);
    state_.set_history_size_bytes(state_.history_size_bytes() +
                                  static_cast<int64_t>(event.ByteSizeLong()));
  }
  return Status();
}

Status MutableState::append_buffered(const v1::HistoryEvent& event) {
  if (event.event_id() != next_event_id()) {
    return event_error(run_name(), event, "expected event id " + std::to_string(next_event_id()));
  }
  state_.set_next_event_id(event.event_id() + 1);
  state_.set_history_size_bytes(state_.history_size_bytes() +
                                static_cast<int64_t>(event.ByteSizeLong()));
  return Status();
}

bool MutableState::seen_request_id(const std::string& request_id) const {
  if (request_id.empty()) {
    return false;
  }
  const auto& ids = state_.recent_request_ids();
  return std::find(ids.begin(), ids.end(), request_id) != ids.end();
}

void MutableState::remember_request_id(const std::string& request_id, int32_t max_ids) {
  if (request_id.empty() || max_ids <= 0) {
    return;
  }
  auto* ids = state_.mutable_recent_request_ids();
  ids->Add()->assign(request_id);
  if (ids->size() > max_ids) {
    ids->DeleteSubrange(0, ids->size() - max_ids);
  }
}

const v1::ActivityInfo* MutableState::activity(int64_t scheduled_event_id) const {
  auto it = state_.activities().find(scheduled_event_id);
  return it == state_.activities().end() ? nullptr : &it->second;
}

v1::ActivityInfo* MutableState::mutable_activity(int64_t scheduled_event_id) {
  auto* activities = state_.mutable_activities();
  auto it = activities->find(scheduled_event_id);
  return it == activities->end() ? nullptr : &it->second;
}

const v1::TimerInfo* MutableState::timer(const std::string& timer_id) const {
  auto it = state_.timers().find(timer_id);
  return it == state_.timers().end() ? nullptr : &it->second;
}

std::string MutableState::run_name() const {
  return state_.namespace_() + "/" + state_.workflow_id() + "/" + state_.run_id();
}

Result<MutableState> rebuild_from_events(const std::vector<v1::HistoryEvent>& events,
                                         const std::string& ns, const std::string& workflow_id,
                                         const std::string& run_id) {
  v1::RunState initial;
  initial.set_namespace_(ns);
  initial.set_workflow_id(workflow_id);
  initial.set_run_id(run_id);
  MutableState ms(std::move(initial));
  if (events.empty()) {
    return invalid_argument("run " + ms.run_name() + ": no events to rebuild from");
  }
  for (const v1::HistoryEvent& event : events) {
    if (event.event_id() == 0) {
      return invalid_argument("run " + ms.run_name() + ": " + state_apply::describe_event(event) +
                              " in history has no id");
    }
    CAIRN_RETURN_IF_ERROR(ms.apply(event));
  }
  return ms;
}

v1::RunState event_derived_state(v1::RunState s) {
  s.clear_buffered_events();
  s.clear_recent_request_ids();
  s.clear_db_version();
  s.clear_sticky_task_queue();  // sticky execution is dispatch state, not history
  s.clear_sticky_schedule_to_start_timeout_ms();
  s.clear_sticky_task_id();
  s.clear_scheduled_by();  // which schedule started the run: dispatch state, set at its start
  // A closed run drops its children and external requests (their transfer tasks were written);
  // a child's started event id is only known once a buffered ChildWorkflowExecutionStarted is
  // flushed.
  if (s.status() != v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
    s.clear_children();
    s.clear_pending_signals();
    s.clear_pending_cancels();
  }
  for (auto& [id, c] : *s.mutable_children()) {
    c.clear_started_event_id();
  }
  for (auto& [id, a] : *s.mutable_activities()) {
    // Attempt bookkeeping lives outside history until the activity closes.
    a.clear_attempt();
    a.clear_current_attempt_scheduled_time_ms();
    a.clear_started_time_ms();
    a.clear_started_identity();
    a.clear_heartbeat_details();
    a.clear_last_heartbeat_time_ms();
    a.clear_last_failure();
    a.clear_waiting_for_retry();
    a.clear_next_attempt_time_ms();
  }
  // Admitted and rejected updates are requests, not history; accepted ones come from events.
  for (auto it = s.mutable_updates()->begin(); it != s.mutable_updates()->end();) {
    if (it->second.state() == v1::UPDATE_STATE_ADMITTED ||
        it->second.state() == v1::UPDATE_STATE_REJECTED) {
      it = s.mutable_updates()->erase(it);
      continue;
    }
    it->second.clear_delivered_started_event_id();
    it->second.clear_admitted_time_ms();
    ++it;
  }
  return s;
}

}  // namespace cairn
