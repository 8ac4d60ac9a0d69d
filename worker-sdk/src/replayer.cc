// The replay loop: events in history order, workflow code run at each completed workflow task's
// WorkflowTaskStarted (and at the current one), commands matched against their events.
#include "replayer.h"

#include <stdexcept>

#include "cairn/history.h"
#include "failure.h"
#include "proto/event_refs.h"

namespace cairn::detail {
namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

bool is_command_event(v1::EventType type) {
  switch (type) {
    case v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
    case v1::EVENT_TYPE_TIMER_STARTED:
    case v1::EVENT_TYPE_TIMER_CANCELED:
    case v1::EVENT_TYPE_MARKER_RECORDED:
    case v1::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
      return true;
    default:
      return is_external_command_event(type);  // child_replay.cc
  }
}

// Whether `command` is the one that produced `event`: the same kind, and the same identity
// (activity type and id, timer id, marker name, canceled activity).
bool matches(const v1::HistoryEvent& e, const v1::Command& c) {
  switch (e.event_type()) {
    case v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
      if (c.command_type() != v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK) {
        return false;
      }
      const auto& ea = e.activity_task_scheduled_event_attributes();
      const auto& ca = c.schedule_activity_task_command_attributes();
      return ea.activity_type().name() == ca.activity_type().name() &&
             ea.activity_id() == ca.activity_id();
    }
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
      return c.command_type() == v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK &&
             e.activity_task_cancel_requested_event_attributes().scheduled_event_id() ==
                 c.request_cancel_activity_task_command_attributes().scheduled_event_id();
    case v1::EVENT_TYPE_TIMER_STARTED:
      return c.command_type() == v1::COMMAND_TYPE_START_TIMER &&
             e.timer_started_event_attributes().timer_id() ==
                 c.start_timer_command_attributes().timer_id();
    case v1::EVENT_TYPE_TIMER_CANCELED:
      return c.command_type() == v1::COMMAND_TYPE_CANCEL_TIMER &&
             e.timer_canceled_event_attributes().timer_id() ==
                 c.cancel_timer_command_attributes().timer_id();
    case v1::EVENT_TYPE_MARKER_RECORDED: {
      if (c.command_type() != v1::COMMAND_TYPE_RECORD_MARKER) {
        return false;
      }
      const auto& ea = e.marker_recorded_event_attributes();
      const auto& ca = c.record_marker_command_attributes();
      if (ea.marker_name() != ca.marker_name()) {
        return false;
      }
      // Markers with an identity (patch id, local activity id) must name the same one.
      auto cid = ca.details().find(kMarkerIdKey);
      if (cid == ca.details().end()) {
        return true;
      }
      auto eid = ea.details().find(kMarkerIdKey);
      return eid != ea.details().end() &&
             eid->second.SerializeAsString() == cid->second.SerializeAsString();
    }
    case v1::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      return c.command_type() == v1::COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      return c.command_type() == v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
      return c.command_type() == v1::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
      return c.command_type() == v1::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return c.command_type() == v1::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
      return c.command_type() == v1::COMMAND_TYPE_ACCEPT_WORKFLOW_UPDATE &&
             e.workflow_execution_update_accepted_event_attributes().update_id() ==
                 c.accept_workflow_update_command_attributes().update_id();
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
      return c.command_type() == v1::COMMAND_TYPE_COMPLETE_WORKFLOW_UPDATE &&
             e.workflow_execution_update_completed_event_attributes().update_id() ==
                 c.complete_workflow_update_command_attributes().update_id();
    default:
      return matches_external(e, c);  // child_replay.cc
  }
}

// For each event: does the workflow code run at it? True for a WorkflowTaskStarted whose task
// completed, or the current (last, still open) one; false for tasks that failed or timed out —
// their commands never took effect.
std::vector<bool> code_runs_at(const std::vector<const v1::HistoryEvent*>& events) {
  std::vector<bool> runs(events.size(), false);
  v1::EventType next_close = v1::EVENT_TYPE_UNSPECIFIED;
  for (size_t i = events.size(); i-- > 0;) {
    v1::EventType t = events[i]->event_type();
    if (t == v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED || t == v1::EVENT_TYPE_WORKFLOW_TASK_FAILED ||
        t == v1::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) {
      next_close = t;
    } else if (t == v1::EVENT_TYPE_WORKFLOW_TASK_STARTED) {
      runs[i] = next_close == v1::EVENT_TYPE_UNSPECIFIED ||
                next_close == v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED;
      next_close = v1::EVENT_TYPE_UNSPECIFIED;
    }
  }
  return runs;
}

}  // namespace

Replayer::Replayer(WorkflowFunction fn, WorkflowInfo info, StackPool& stacks)
    : fn_(std::move(fn)), info_(std::move(info)), stacks_(stacks), rng_(fnv1a(info_.run_id)) {}

Replayer::~Replayer() {
  // Unwind a suspended workflow fiber while the state its code may touch still exists.
  fiber_.reset();
}

ReplayResult Replayer::replay(const google::protobuf::RepeatedPtrField<v1::HistoryEvent>& events) {
  std::vector<const v1::HistoryEvent*> ptrs;
  ptrs.reserve(events.size());
  for (const auto& e : events) {
    ptrs.push_back(&e);
  }
  return run(ptrs);
}

ReplayResult Replayer::replay(const std::vector<v1::HistoryEvent>& events) {
  std::vector<const v1::HistoryEvent*> ptrs;
  ptrs.reserve(events.size());
  for (const auto& e : events) {
    ptrs.push_back(&e);
  }
  return run(ptrs);
}

ReplayResult Replayer::run(const std::vector<const v1::HistoryEvent*>& events) {
  if (failed_ || closed_) {
    throw std::logic_error("Replayer: no further workflow tasks after a failed task or the close");
  }
  if (!events.empty() && next_event_id_ != 0 && events.front()->event_id() != next_event_id_) {
    throw std::logic_error("Replayer: events must continue at event " +
                           std::to_string(next_event_id_) + ", got event " +
                           std::to_string(events.front()->event_id()));
  }
  rejections_.clear();
  std::vector<bool> runs = code_runs_at(events);
  // Replay runs the code at earlier tasks before their recorded markers come up in the loop
  // below, so side effect values are read ahead (in a later batch they are the values the code
  // just produced live, which keeps the count in step).
  for (const auto* e : events) {
    if (e->event_type() == v1::EVENT_TYPE_MARKER_RECORDED &&
        e->marker_recorded_event_attributes().marker_name() == kSideEffectMarker) {
      const auto& details = e->marker_recorded_event_attributes().details();
      auto it = details.find(kSideEffectKey);
      recorded_side_effects_.push_back(it == details.end() ? v1::Payloads() : it->second);
    }
  }
  if (next_event_id_ == 0) {
    // Patches and local activity results are read ahead the same way; a later batch holds
    // only the markers of the task the code ran live, which already knows them.
    scan_patch_markers(events, runs);
    scan_local_activity_markers(events);
  }
  size_t end = events.size();
  prepare_handlers(events, runs, &end);
  size_t last_task = events.size();
  for (size_t i = 0; i < end; ++i) {
    if (runs[i] && query_ == nullptr) {  // a query replays only what already happened
      last_task = i;
    }
  }
  // A task whose completion is in the batch already happened too (a whole recorded history
  // replayed by the replay tool): its code replays, as patched() and is_replaying() must see.
  for (size_t i = last_task + 1; last_task < end && i < end; ++i) {
    if (events[i]->event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      last_task = events.size();
      break;
    }
  }
  for (size_t i = 0; i < end; ++i) {
    if (!apply(*events[i], runs[i], i == last_task)) {
      return *failed_;
    }
  }
  if (end > 0) {
    next_event_id_ = events[end - 1]->event_id() + 1;
  }
  // The commands stay pending: a later batch matches them against the events they produced.
  ReplayResult result;
  for (const auto& p : pending_) {
    result.commands.push_back(p.command);
  }
  return result;
}

bool Replayer::apply(const v1::HistoryEvent& e, bool run_code, bool last_task) {
  if (is_command_event(e.event_type())) {
    return match_command_event(e);
  }
  switch (e.event_type()) {
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: {
      const auto& a = e.workflow_execution_started_event_attributes();
      input_ = a.input();
      info_.workflow_type = a.workflow_type().name();
      info_.task_queue = a.task_queue();
      info_.attempt = a.attempt() > 0 ? a.attempt() : 1;
      if (a.workflow_task_timeout_ms() > 0) {
        task_timeout_ = std::chrono::milliseconds(a.workflow_task_timeout_ms());
      }
      info_.parent_workflow_id = a.parent_workflow_execution().workflow_id();
      info_.continued_from_run_id = a.continued_from_run_id();
      info_.memo = PayloadMap(a.memo().begin(), a.memo().end());
      info_.search_attributes =
          PayloadMap(a.search_attributes().begin(), a.search_attributes().end());
      started_ = true;
      return true;
    }
    case v1::EVENT_TYPE_WORKFLOW_TASK_STARTED:
      info_.continue_as_new_suggested =
          e.workflow_task_started_event_attributes().suggest_continue_as_new();
      info_.history_length = e.event_id();
      info_.history_size_bytes = e.workflow_task_started_event_attributes().history_size_bytes();
      return run_code ? run_workflow_task(e, last_task) : true;
    case v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
    case v1::EVENT_TYPE_ACTIVITY_TASK_FAILED:
    case v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
      resolve_activity(e);
      return true;
    case v1::EVENT_TYPE_TIMER_FIRED: {
      auto it = timers_.find(e.timer_fired_event_attributes().timer_id());
      if (it != timers_.end()) {
        it->second->ready = true;
        timers_.erase(it);
      }
      return true;
    }
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
      const auto& a = e.workflow_execution_signaled_event_attributes();
      signals_[a.signal_name()].push_back(a.input());
      return true;
    }
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      cancel_requested_ = true;
      return true;
    default:
      resolve_external(e);  // child workflows, signals / cancels to other runs (child_replay.cc)
      return true;  // task bookkeeping, activity starts, terminations: nothing for the code
  }
}

bool Replayer::match_command_event(const v1::HistoryEvent& e) {
  if (skips_patch_marker(e)) {
    return true;  // a Version marker the code no longer asks for (patch removed)
  }
  if (pending_.empty()) {
    non_determinism(e.event_id(), describe_event(e), "nothing");
    return false;
  }
  PendingCommand& p = pending_.front();
  if (!matches(e, p.command)) {
    non_determinism(e.event_id(), describe_event(e), describe_command(p.command));
    return false;
  }
  if (e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && p.activity) {
    p.activity->scheduled_event_id = e.event_id();
    p.activity->state->what = "activity " + p.activity->type + " (activity id " +
                              p.activity->id + ", scheduled event " +
                              std::to_string(e.event_id()) + ")";
    activities_[e.event_id()] = p.activity;
  }
  if (p.external) {
    externals_[e.event_id()] = p.external;  // keyed by its *Initiated event
  }
  pending_.pop_front();
  return true;
}

void Replayer::resolve_activity(const v1::HistoryEvent& e) {
  int64_t scheduled = scheduled_event_id_of(e);
  auto it = activities_.find(scheduled);
  if (it == activities_.end()) {
    return;
  }
  std::shared_ptr<ActivityRecord> a = it->second;
  activities_.erase(it);
  FutureState& s = *a->state;
  if (s.ready) {
    return;  // already resolved by cancellation
  }
  s.ready = true;
  switch (e.event_type()) {
    case v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      s.value = e.activity_task_completed_event_attributes().result();
      break;
    case v1::EVENT_TYPE_ACTIVITY_TASK_FAILED: {
      const auto& f = e.activity_task_failed_event_attributes();
      s.error = activity_error(a->type, a->id, f.retry_state(), f.failure(), scheduled);
      break;
    }
    case v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {
      const auto& f = e.activity_task_timed_out_event_attributes();
      s.error = activity_error(a->type, a->id, f.retry_state(), f.failure(), scheduled);
      break;
    }
    default: {
      if (a->cancel_requested) {
        // WAIT_CANCELLATION_COMPLETED: the cancellation the code asked for is now complete.
        s.error = std::make_exception_ptr(CanceledError(
            "activity " + a->type + " (id " + a->id + ") canceled",
            e.activity_task_canceled_event_attributes().details()));
        break;
      }
      v1::Failure canceled;
      canceled.set_message("activity canceled");
      *canceled.mutable_canceled_failure_info()->mutable_details() =
          e.activity_task_canceled_event_attributes().details();
      s.error = activity_error(a->type, a->id, v1::RETRY_STATE_CANCEL_REQUESTED, canceled,
                               scheduled);
      break;
    }
  }
}

bool Replayer::run_workflow_task(const v1::HistoryEvent& e, bool last_task) {
  if (!pending_.empty()) {
    // The code issued more commands in the previous task than history recorded for it.
    non_determinism(e.event_id(), describe_event(e) + " and no event for the command",
                    describe_command(pending_.front().command));
    return false;
  }
  if (!started_) {
    v1::Failure f;
    f.set_source(kFailureSource);
    f.set_message("history has no WorkflowExecutionStarted event before event " +
                  std::to_string(e.event_id()));
    fail_task(v1::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, f);
    return false;
  }
  now_ = std::chrono::system_clock::time_point(std::chrono::milliseconds(e.event_time_ms()));
  replaying_ = !last_task;
  task_wall_start_ = std::chrono::steady_clock::now();
  auto patches = task_patches_.find(e.event_id());
  current_patches_ =
      patches == task_patches_.end() ? std::set<std::string>() : std::move(patches->second);
  if (closed_) {
    return true;
  }
  if (!fiber_) {
    fiber_ = std::make_unique<Fiber>(stacks_, [this] { fiber_body(); });
  }
  if (cancel_requested_ && !cancel_propagated_) {
    propagate_cancel();
  }
  fiber_->resume();
  // Local activities run once the code is blocked; each resolved one lets the code go on.
  while (!failed_ && !closed_ && run_local_activities()) {
    fiber_->resume();
  }
  // Updates delivered with this task run once the code is blocked (its handlers registered);
  // then the code runs again to see what they changed.
  if (!failed_ && run_updates(e, last_task) && !failed_ && !closed_) {
    fiber_->resume();
    while (!failed_ && !closed_ && run_local_activities()) {
      fiber_->resume();
    }
  }
  return !failed_.has_value();
}

void Replayer::propagate_cancel() {
  cancel_propagated_ = true;
  root_scope_->canceled = true;
  cancel_canceled_work();  // all but what non-cancellable scopes hold
}

void Replayer::cancel_timer(const std::string& timer_id) {
  auto it = timers_.find(timer_id);
  if (it == timers_.end()) {
    return;
  }
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_CANCEL_TIMER);
  c.mutable_cancel_timer_command_attributes()->set_timer_id(timer_id);
  issue(std::move(c));
  it->second->ready = true;
  if (cancel_requested_) {
    it->second->error =
        std::make_exception_ptr(CanceledError("timer " + timer_id + " canceled: workflow canceled"));
  }
  timers_.erase(it);
}

void Replayer::fiber_body() {
  WorkflowContext ctx(*this);
  try {
    v1::Payloads result = fn_(ctx, input_);
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
    *c.mutable_complete_workflow_execution_command_attributes()->mutable_result() =
        std::move(result);
    issue(std::move(c));
  } catch (const boost::context::detail::forced_unwind&) {
    throw;  // the fiber is being destroyed while blocked: let Boost unwind its stack
  } catch (const ContinueAsNewRequest& r) {
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION);
    auto* a = c.mutable_continue_as_new_workflow_execution_command_attributes();
    a->mutable_workflow_type()->set_name(r.workflow_type);
    a->set_task_queue(r.task_queue);
    *a->mutable_input() = r.input;
    if (r.memo) {
      a->mutable_memo()->insert(r.memo->begin(), r.memo->end());
    }
    if (r.search_attributes) {
      a->mutable_search_attributes()->insert(r.search_attributes->begin(),
                                             r.search_attributes->end());
    }
    issue(std::move(c));
  } catch (const NonDeterminismError&) {
    v1::Failure f = to_failure(std::current_exception());
    fail_task(v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR, f);
  } catch (const CanceledError& e) {
    v1::Command c;
    if (cancel_requested_) {
      c.set_command_type(v1::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION);
      *c.mutable_cancel_workflow_execution_command_attributes()->mutable_details() = e.details();
    } else {
      c.set_command_type(v1::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION);
      *c.mutable_fail_workflow_execution_command_attributes()->mutable_failure() =
          to_failure(std::current_exception());
    }
    issue(std::move(c));
  } catch (const Error&) {
    // A cairn error (ApplicationError, ActivityError, ...) fails the workflow.
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION);
    *c.mutable_fail_workflow_execution_command_attributes()->mutable_failure() =
        to_failure(std::current_exception());
    issue(std::move(c));
  } catch (...) {
    // Anything else is a bug in the workflow code: fail the task, so that a fixed worker can
    // continue the run.
    v1::Failure f = to_failure(std::current_exception());
    f.set_message("workflow code threw: " + f.message());
    fail_task(v1::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, f);
  }
  closed_ = true;
}

void Replayer::fail_task(v1::WorkflowTaskFailedCause cause, v1::Failure failure) {
  if (failed_) {
    return;
  }
  ReplayResult r;
  r.task_failed = true;
  r.cause = cause;
  r.failure = std::move(failure);
  failed_ = std::move(r);
}

void Replayer::non_determinism(int64_t event_id, const std::string& history_has,
                               const std::string& code_issued) {
  std::string message = "non-determinism at event " + std::to_string(event_id) +
                        ": history has " + history_has + ", workflow code issued " + code_issued;
  v1::Failure f;
  f.set_source(kFailureSource);
  f.set_message(message);
  f.mutable_application_failure_info()->set_type("NonDeterminismError");
  bool first = !failed_;
  fail_task(v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR, f);
  if (first) {  // the structured form, for the Replayer's verdict and tools
    failed_->non_determinism = NonDeterminism{event_id, history_has, code_issued, message};
  }
}

void Replayer::issue(v1::Command command, std::shared_ptr<ActivityRecord> activity) {
  pending_.push_back(PendingCommand{std::move(command), std::move(activity)});
}

}  // namespace cairn::detail

namespace cairn {

ReplayResult replay_workflow_task(const detail::WorkflowFunction& fn, const WorkflowInfo& info,
                                  const std::vector<v1::HistoryEvent>& events) {
  detail::Replayer replayer(fn, info);
  return replayer.replay(events);
}

}  // namespace cairn
