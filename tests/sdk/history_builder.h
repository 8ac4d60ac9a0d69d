// HistoryBuilder: hand-built workflow histories for replay tests, with event ids and times
// assigned in order (each event 10 ms after the previous one). Test-only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cairn/payload.h"
#include "cairn/v1/history.pb.h"

namespace cairn::testing {

class HistoryBuilder {
 public:
  // WorkflowExecutionStarted for `type` with `input`, then the first workflow task (scheduled
  // and started).
  explicit HistoryBuilder(const std::string& type, v1::Payloads input = {}) {
    auto& e = add(v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    auto* a = e.mutable_workflow_execution_started_event_attributes();
    a->mutable_workflow_type()->set_name(type);
    a->set_task_queue("q");
    *a->mutable_input() = std::move(input);
    a->set_attempt(1);
    workflow_task();
  }

  // WorkflowTaskScheduled + WorkflowTaskStarted: the task the code runs at.
  HistoryBuilder& workflow_task() {
    add(v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    started_ = add(v1::EVENT_TYPE_WORKFLOW_TASK_STARTED).event_id();
    return *this;
  }
  HistoryBuilder& task_completed() {
    add(v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    return *this;
  }
  HistoryBuilder& task_failed() {
    add(v1::EVENT_TYPE_WORKFLOW_TASK_FAILED);
    return *this;
  }

  int64_t activity_scheduled(const std::string& type, const std::string& id) {
    auto& e = add(v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    auto* a = e.mutable_activity_task_scheduled_event_attributes();
    a->mutable_activity_type()->set_name(type);
    a->set_activity_id(id);
    return e.event_id();
  }
  template <class T>
  HistoryBuilder& activity_completed(int64_t scheduled, const T& result) {
    add(v1::EVENT_TYPE_ACTIVITY_TASK_STARTED)
        .mutable_activity_task_started_event_attributes()
        ->set_scheduled_event_id(scheduled);
    auto* a = add(v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
                  .mutable_activity_task_completed_event_attributes();
    a->set_scheduled_event_id(scheduled);
    *a->mutable_result() = to_payloads(result);
    return *this;
  }
  HistoryBuilder& activity_failed(int64_t scheduled, const std::string& message,
                                  const std::string& type) {
    auto* a = add(v1::EVENT_TYPE_ACTIVITY_TASK_FAILED).mutable_activity_task_failed_event_attributes();
    a->set_scheduled_event_id(scheduled);
    a->mutable_failure()->set_message(message);
    a->mutable_failure()->mutable_application_failure_info()->set_type(type);
    a->set_retry_state(v1::RETRY_STATE_NON_RETRYABLE_FAILURE);
    return *this;
  }
  int64_t activity_cancel_requested(int64_t scheduled) {
    auto& e = add(v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
    e.mutable_activity_task_cancel_requested_event_attributes()->set_scheduled_event_id(scheduled);
    return e.event_id();
  }

  int64_t timer_started(const std::string& id, int64_t ms) {
    auto& e = add(v1::EVENT_TYPE_TIMER_STARTED);
    e.mutable_timer_started_event_attributes()->set_timer_id(id);
    e.mutable_timer_started_event_attributes()->set_start_to_fire_timeout_ms(ms);
    return e.event_id();
  }
  HistoryBuilder& timer_fired(const std::string& id, int64_t after_ms = 0) {
    time_ms_ += after_ms;
    add(v1::EVENT_TYPE_TIMER_FIRED).mutable_timer_fired_event_attributes()->set_timer_id(id);
    return *this;
  }
  HistoryBuilder& timer_canceled(const std::string& id) {
    add(v1::EVENT_TYPE_TIMER_CANCELED).mutable_timer_canceled_event_attributes()->set_timer_id(id);
    return *this;
  }

  template <class T>
  HistoryBuilder& signaled(const std::string& name, const T& value) {
    auto* a = add(v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
                  .mutable_workflow_execution_signaled_event_attributes();
    a->set_signal_name(name);
    *a->mutable_input() = to_payloads(value);
    return *this;
  }
  HistoryBuilder& cancel_requested() {
    add(v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
    return *this;
  }
  HistoryBuilder& marker(const std::string& name, const v1::Payloads& data) {
    auto* a = add(v1::EVENT_TYPE_MARKER_RECORDED).mutable_marker_recorded_event_attributes();
    a->set_marker_name(name);
    (*a->mutable_details())["data"] = data;
    return *this;
  }

  v1::HistoryEvent& add(v1::EventType type) {
    v1::HistoryEvent e;
    e.set_event_id(static_cast<int64_t>(events_.size()) + 1);
    time_ms_ += 10;
    e.set_event_time_ms(time_ms_);
    e.set_event_type(type);
    events_.push_back(std::move(e));
    return events_.back();
  }

  const std::vector<v1::HistoryEvent>& events() const { return events_; }
  int64_t last_started() const { return started_; }
  int64_t time_ms() const { return time_ms_; }

 private:
  std::vector<v1::HistoryEvent> events_;
  int64_t time_ms_ = 1'700'000'000'000;
  int64_t started_ = 0;
};

}  // namespace cairn::testing
