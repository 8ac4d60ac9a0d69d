#include "history/transition_context.h"

#include "history/child_rules.h"
#include "proto/event_refs.h"

#include <algorithm>

namespace cairn::rules {
namespace {

constexpr int64_t kWorkflowTaskRetryInitialMs = 1000;
constexpr int64_t kWorkflowTaskRetryMaxMs = 30'000;

void set_started_reference(v1::HistoryEvent* e, int64_t started) {
  switch (e->event_type()) {
    case v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      e->mutable_activity_task_completed_event_attributes()->set_started_event_id(started);
      break;
    case v1::EVENT_TYPE_ACTIVITY_TASK_FAILED:
      e->mutable_activity_task_failed_event_attributes()->set_started_event_id(started);
      break;
    case v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      e->mutable_activity_task_timed_out_event_attributes()->set_started_event_id(started);
      break;
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
      e->mutable_activity_task_canceled_event_attributes()->set_started_event_id(started);
      break;
    default:
      break;
  }
}
}  // namespace

v1::HistoryEvent TransitionContext::new_event(v1::EventType type) const {
  v1::HistoryEvent e;
  e.set_event_type(type);
  e.set_event_time_ms(env_.now_ms);
  return e;
}

Result<int64_t> TransitionContext::place(v1::HistoryEvent event, bool already_applied) {
  event.set_event_id(ms_->next_event_id());
  // An activity's closing event names the ActivityTaskStarted written just before it; that id
  // is only known now (buffered events get their ids at flush time).
  int64_t closes = closes_activity(event.event_type()) ? scheduled_event_id_of(event) : 0;
  if (closes != 0 && !out_->events.empty()) {
    const v1::HistoryEvent& prev = out_->events.back();
    if (prev.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_STARTED &&
        prev.activity_task_started_event_attributes().scheduled_event_id() == closes) {
      set_started_reference(&event, prev.event_id());
    }
  }
  if (already_applied) {
    CAIRN_RETURN_IF_ERROR(ms_->append_buffered(event));
  } else {
    CAIRN_RETURN_IF_ERROR(ms_->apply(event));
  }
  int64_t id = event.event_id();
  out_->events.push_back(std::move(event));
  return id;
}

Result<int64_t> TransitionContext::append(v1::HistoryEvent event) {
  return place(std::move(event), /*already_applied=*/false);
}

Result<int64_t> TransitionContext::append_applied(v1::HistoryEvent event) {
  return place(std::move(event), /*already_applied=*/true);
}

Status TransitionContext::deliver(std::vector<v1::HistoryEvent> events) {
  if (ms_->workflow_task_started()) {
    // WorkflowTaskStarted must be followed by its own Completed/Failed/TimedOut event, so the
    // events wait; their effect (an activity leaving the pending set, say) is applied now so that
    // a duplicate answer is rejected at once.
    int64_t buffered = ms_->state().buffered_events_size();
    if (buffered + static_cast<int64_t>(events.size()) > limits().max_buffered_events) {
      return resource_exhausted("run " + run() + ": " + std::to_string(buffered) +
                                " events are already buffered behind the started workflow task "
                                "(limit " + std::to_string(limits().max_buffered_events) + ")");
    }
    for (v1::HistoryEvent& e : events) {
      e.set_event_id(0);
      CAIRN_RETURN_IF_ERROR(ms_->apply(e));
      *ms_->mutable_buffered_events()->Add() = std::move(e);
    }
    return Status();
  }
  for (v1::HistoryEvent& e : events) {
    CAIRN_RETURN_IF_ERROR(append(std::move(e)).status());
  }
  if (!ms_->has_workflow_task()) {
    return schedule_workflow_task(1, /*immediate=*/true);
  }
  return Status();  // a scheduled (not started) workflow task will see the new events
}

Result<int> TransitionContext::flush_buffered() {
  auto* buffer = ms_->mutable_buffered_events();
  std::vector<v1::HistoryEvent> events(std::make_move_iterator(buffer->begin()),
                                       std::make_move_iterator(buffer->end()));
  buffer->Clear();
  for (v1::HistoryEvent& e : events) {
    CAIRN_RETURN_IF_ERROR(append_applied(std::move(e)).status());
  }
  return static_cast<int>(events.size());
}

Status TransitionContext::schedule_workflow_task(int32_t attempt, bool immediate) {
  // Only a first attempt can be sticky: a failed or timed-out task has ended stickiness (the
  // worker's cached run no longer matches history).
  bool sticky = attempt == 1 && !state().sticky_task_queue().empty();
  const std::string queue = sticky ? state().sticky_task_queue() : state().task_queue();
  v1::HistoryEvent e = new_event(v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  auto* a = e.mutable_workflow_task_scheduled_event_attributes();
  a->set_task_queue(queue);
  a->set_start_to_close_timeout_ms(state().workflow_task_timeout_ms());
  a->set_attempt(attempt);
  CAIRN_ASSIGN_OR_RETURN(int64_t id, append(std::move(e)));
  if (sticky) {
    ms_->set_sticky_task_id(add_task(v1::TASK_KIND_WORKFLOW, queue, id, attempt));
    add_timer(v1::TIMER_KIND_WORKFLOW_TASK_STICKY_SCHEDULE_TO_START,
              now() + state().sticky_schedule_to_start_timeout_ms(), id, attempt);
  } else if (immediate || attempt <= 2) {
    add_task(v1::TASK_KIND_WORKFLOW, state().task_queue(), id, attempt);
  } else {
    add_timer(v1::TIMER_KIND_WORKFLOW_TASK_RETRY, now() + workflow_task_retry_backoff_ms(attempt),
              id, attempt);
  }
  return Status();
}

void TransitionContext::unstick() {
  const v1::RunState& s = state();
  if (s.sticky_task_queue().empty()) {
    return;
  }
  const v1::WorkflowTaskInfo& wft = s.workflow_task();
  if (s.sticky_task_id() != 0 && ms_->has_workflow_task() && !ms_->workflow_task_started() &&
      wft.task_queue() == s.sticky_task_queue()) {
    v1::TaskRecord stale;
    stale.set_task_id(s.sticky_task_id());
    stale.set_shard(env_.shard);
    stale.set_kind(v1::TASK_KIND_WORKFLOW);
    stale.set_namespace_(s.namespace_());
    stale.set_task_queue(s.sticky_task_queue());
    stale.set_workflow_id(s.workflow_id());
    stale.set_run_id(s.run_id());
    stale.set_scheduled_event_id(wft.scheduled_event_id());
    stale.set_attempt(wft.attempt());
    out_->remove_tasks.push_back(std::move(stale));
    add_task(v1::TASK_KIND_WORKFLOW, s.task_queue(), wft.scheduled_event_id(), wft.attempt());
  }
  ms_->clear_sticky();
}

int64_t TransitionContext::add_task(v1::TaskKind kind, const std::string& task_queue,
                                    int64_t scheduled_event_id, int32_t attempt) {
  v1::TaskRecord t;
  t.set_task_id(env_.seq->next());
  t.set_shard(env_.shard);
  t.set_kind(kind);
  t.set_namespace_(state().namespace_());
  t.set_task_queue(task_queue);
  t.set_workflow_id(state().workflow_id());
  t.set_run_id(state().run_id());
  t.set_scheduled_event_id(scheduled_event_id);
  t.set_attempt(attempt);
  t.set_created_time_ms(env_.now_ms);
  int64_t id = t.task_id();
  out_->add_tasks.push_back(std::move(t));
  return id;
}

void TransitionContext::add_timer(v1::TimerKind kind, int64_t fire_time_ms, int64_t event_id,
                                  int32_t attempt, const std::string& timer_id) {
  v1::TimerRecord t;
  t.set_timer_seq(env_.seq->next());
  t.set_shard(env_.shard);
  t.set_kind(kind);
  t.set_fire_time_ms(fire_time_ms);
  t.set_namespace_(state().namespace_());
  t.set_workflow_id(state().workflow_id());
  t.set_run_id(state().run_id());
  t.set_event_id(event_id);
  t.set_timer_id(timer_id);
  t.set_attempt(attempt);
  out_->add_timers.push_back(std::move(t));
}

void TransitionContext::mark_closed() {
  CAIRN_CHECK(!ms_->is_open());
  ms_->mutable_buffered_events()->Clear();
  v1::CurrentRun current;
  current.set_run_id(state().run_id());
  current.set_status(state().status());
  current.set_start_request_id(state().start_request_id());
  current.set_close_time_ms(state().close_time_ms());
  out_->current = std::move(current);
  out_->closed = true;
  on_run_closed(*this);  // transfer tasks owed to the parent and the children
}

int64_t workflow_task_retry_backoff_ms(int32_t attempt) {
  int64_t delay = kWorkflowTaskRetryInitialMs;
  for (int32_t a = 3; a < attempt && delay < kWorkflowTaskRetryMaxMs; ++a) {
    delay *= 2;
  }
  return std::min(delay, kWorkflowTaskRetryMaxMs);
}

Status check_payload_size(const google::protobuf::Message& m, const Limits& limits,
                          const std::string& what) {
  size_t size = m.ByteSizeLong();
  if (size > static_cast<size_t>(limits.max_payload_bytes)) {
    return invalid_argument(what + " is " + std::to_string(size) + " bytes, over the limit of " +
                            std::to_string(limits.max_payload_bytes));
  }
  return Status();
}

Status check_payload_map(const google::protobuf::Map<std::string, v1::Payload>& map,
                         const Limits& limits, const std::string& what) {
  size_t bytes = 0;
  for (const auto& [key, value] : map) {
    CAIRN_RETURN_IF_ERROR(check_id(key, limits, what + " key"));
    bytes += key.size() + value.ByteSizeLong();
  }
  if (bytes > static_cast<size_t>(limits.max_payload_bytes)) {
    return invalid_argument(what + " is " + std::to_string(bytes) + " bytes, over the limit of " +
                            std::to_string(limits.max_payload_bytes));
  }
  return Status();
}

Status check_id(const std::string& value, const Limits& limits, const std::string& what,
                bool required) {
  if (required && value.empty()) {
    return invalid_argument(what + " is required");
  }
  if (static_cast<int64_t>(value.size()) > limits.max_id_length) {
    return invalid_argument(what + " is longer than " + std::to_string(limits.max_id_length) +
                            " characters");
  }
  return Status();
}

Status with_context(const Status& status, const std::string& prefix) {
  if (status.ok()) {
    return status;
  }
  return Status(status.code(), prefix + ": " + status.message());
}

}  // namespace cairn::rules
