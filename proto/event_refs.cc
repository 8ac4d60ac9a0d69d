#include "proto/event_refs.h"

namespace cairn {

int64_t scheduled_event_id_of(const v1::HistoryEvent& e) {
  switch (e.event_type()) {
    case v1::EVENT_TYPE_ACTIVITY_TASK_STARTED:
      return e.activity_task_started_event_attributes().scheduled_event_id();
    case v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      return e.activity_task_completed_event_attributes().scheduled_event_id();
    case v1::EVENT_TYPE_ACTIVITY_TASK_FAILED:
      return e.activity_task_failed_event_attributes().scheduled_event_id();
    case v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      return e.activity_task_timed_out_event_attributes().scheduled_event_id();
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
      return e.activity_task_cancel_requested_event_attributes().scheduled_event_id();
    case v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
      return e.activity_task_canceled_event_attributes().scheduled_event_id();
    default:
      return 0;
  }
}

bool closes_activity(v1::EventType type) {
  return type == v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED ||
         type == v1::EVENT_TYPE_ACTIVITY_TASK_FAILED ||
         type == v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT ||
         type == v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED;
}

int64_t initiated_event_id_of(const v1::HistoryEvent& e) {
  switch (e.event_type()) {
    case v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
      return e.start_child_workflow_execution_failed_event_attributes().initiated_event_id();
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
      return e.child_workflow_execution_started_event_attributes().initiated_event_id();
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
      return e.child_workflow_execution_completed_event_attributes().initiated_event_id();
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
      return e.child_workflow_execution_failed_event_attributes().initiated_event_id();
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
      return e.child_workflow_execution_canceled_event_attributes().initiated_event_id();
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
      return e.child_workflow_execution_timed_out_event_attributes().initiated_event_id();
    case v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      return e.child_workflow_execution_terminated_event_attributes().initiated_event_id();
    case v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
      return e.signal_external_workflow_execution_failed_event_attributes().initiated_event_id();
    case v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:
      return e.external_workflow_execution_signaled_event_attributes().initiated_event_id();
    case v1::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
      return e.request_cancel_external_workflow_execution_failed_event_attributes()
          .initiated_event_id();
    case v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      return e.external_workflow_execution_cancel_requested_event_attributes().initiated_event_id();
    default:
      return 0;
  }
}

}  // namespace cairn
