#include "proto/event_refs.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

v1::HistoryEvent event(v1::EventType type) {
  v1::HistoryEvent e;
  e.set_event_type(type);
  return e;
}

TEST(ScheduledEventIdOfTest, EveryActivityEventAfterScheduledNamesItsScheduledEvent) {
  auto started = event(v1::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  started.mutable_activity_task_started_event_attributes()->set_scheduled_event_id(11);
  auto completed = event(v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  completed.mutable_activity_task_completed_event_attributes()->set_scheduled_event_id(12);
  auto failed = event(v1::EVENT_TYPE_ACTIVITY_TASK_FAILED);
  failed.mutable_activity_task_failed_event_attributes()->set_scheduled_event_id(13);
  auto timed_out = event(v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT);
  timed_out.mutable_activity_task_timed_out_event_attributes()->set_scheduled_event_id(14);
  auto cancel_requested = event(v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
  cancel_requested.mutable_activity_task_cancel_requested_event_attributes()
      ->set_scheduled_event_id(15);
  auto canceled = event(v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED);
  canceled.mutable_activity_task_canceled_event_attributes()->set_scheduled_event_id(16);

  EXPECT_EQ(scheduled_event_id_of(started), 11);
  EXPECT_EQ(scheduled_event_id_of(completed), 12);
  EXPECT_EQ(scheduled_event_id_of(failed), 13);
  EXPECT_EQ(scheduled_event_id_of(timed_out), 14);
  EXPECT_EQ(scheduled_event_id_of(cancel_requested), 15);
  EXPECT_EQ(scheduled_event_id_of(canceled), 16);
  EXPECT_EQ(scheduled_event_id_of(event(v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)), 0);
  EXPECT_EQ(scheduled_event_id_of(event(v1::EVENT_TYPE_TIMER_FIRED)), 0);
}

TEST(ClosesActivityTest, OnlyTheFourClosingEvents) {
  EXPECT_TRUE(closes_activity(v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED));
  EXPECT_TRUE(closes_activity(v1::EVENT_TYPE_ACTIVITY_TASK_FAILED));
  EXPECT_TRUE(closes_activity(v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT));
  EXPECT_TRUE(closes_activity(v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED));
  EXPECT_FALSE(closes_activity(v1::EVENT_TYPE_ACTIVITY_TASK_STARTED));
  EXPECT_FALSE(closes_activity(v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED));
  EXPECT_FALSE(closes_activity(v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED));
}

TEST(InitiatedEventIdOfTest, ChildAndExternalEventsNameTheirInitiatedEvent) {
  auto start_failed = event(v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED);
  start_failed.mutable_start_child_workflow_execution_failed_event_attributes()
      ->set_initiated_event_id(21);
  auto started = event(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED);
  started.mutable_child_workflow_execution_started_event_attributes()->set_initiated_event_id(22);
  auto completed = event(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED);
  completed.mutable_child_workflow_execution_completed_event_attributes()->set_initiated_event_id(
      23);
  auto failed = event(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED);
  failed.mutable_child_workflow_execution_failed_event_attributes()->set_initiated_event_id(24);
  auto canceled = event(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED);
  canceled.mutable_child_workflow_execution_canceled_event_attributes()->set_initiated_event_id(25);
  auto timed_out = event(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT);
  timed_out.mutable_child_workflow_execution_timed_out_event_attributes()->set_initiated_event_id(
      26);
  auto terminated = event(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED);
  terminated.mutable_child_workflow_execution_terminated_event_attributes()
      ->set_initiated_event_id(27);
  auto signal_failed = event(v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
  signal_failed.mutable_signal_external_workflow_execution_failed_event_attributes()
      ->set_initiated_event_id(28);
  auto signaled = event(v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED);
  signaled.mutable_external_workflow_execution_signaled_event_attributes()->set_initiated_event_id(
      29);
  auto cancel_failed = event(v1::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
  cancel_failed.mutable_request_cancel_external_workflow_execution_failed_event_attributes()
      ->set_initiated_event_id(30);
  auto cancel_requested = event(v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  cancel_requested.mutable_external_workflow_execution_cancel_requested_event_attributes()
      ->set_initiated_event_id(31);

  int64_t want = 21;
  for (const auto* e : {&start_failed, &started, &completed, &failed, &canceled, &timed_out,
                        &terminated, &signal_failed, &signaled, &cancel_failed,
                        &cancel_requested}) {
    EXPECT_EQ(initiated_event_id_of(*e), want) << v1::EventType_Name(e->event_type());
    ++want;
  }
  EXPECT_EQ(initiated_event_id_of(event(v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)),
            0);
  EXPECT_EQ(initiated_event_id_of(event(v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED)), 0);
}

}  // namespace
}  // namespace cairn
