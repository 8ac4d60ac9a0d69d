// MutableState::apply(): what each event does to the state, the validation that rejects events
// that do not fit (leaving the state unchanged), buffered (id-less) events, and rebuilding.
#include "history/mutable_state.h"

#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

namespace cairn {
namespace {

using google::protobuf::util::MessageDifferencer;

class MutableStateTest : public ::testing::Test {
 protected:
  MutableStateTest() {
    v1::RunState s;
    s.set_namespace_("default");
    s.set_workflow_id("wf");
    s.set_run_id("r1");
    ms_ = MutableState(s);
  }

  v1::HistoryEvent ev(v1::EventType type, int64_t id = -1) {
    v1::HistoryEvent e;
    e.set_event_id(id < 0 ? ms_.next_event_id() : id);
    e.set_event_time_ms(5000);
    e.set_event_type(type);
    return e;
  }

  void must_apply(const v1::HistoryEvent& e) {
    Status st = ms_.apply(e);
    ASSERT_TRUE(st.ok()) << st.to_string();
    events_.push_back(e);
  }

  // The error apply() gives; asserts the state did not change.
  Status rejected(const v1::HistoryEvent& e) {
    v1::RunState before = ms_.state();
    Status st = ms_.apply(e);
    EXPECT_FALSE(st.ok());
    EXPECT_TRUE(MessageDifferencer::Equals(before, ms_.state())) << "state changed on error";
    return st;
  }

  void reject(const v1::HistoryEvent& e) { (void)rejected(e); }

  void start() {
    v1::HistoryEvent e = ev(v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    auto* a = e.mutable_workflow_execution_started_event_attributes();
    a->mutable_workflow_type()->set_name("order");
    a->set_task_queue("q");
    a->set_workflow_run_timeout_ms(60'000);
    a->set_workflow_execution_timeout_ms(30'000);
    a->set_workflow_task_timeout_ms(10'000);
    a->set_first_run_id("r1");
    a->set_attempt(1);
    a->set_request_id("req");
    must_apply(e);
  }

  int64_t schedule_activity(const std::string& id) {
    v1::HistoryEvent e = ev(v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    auto* a = e.mutable_activity_task_scheduled_event_attributes();
    a->set_activity_id(id);
    a->mutable_activity_type()->set_name("echo");
    a->set_task_queue("q");
    a->set_start_to_close_timeout_ms(1000);
    must_apply(e);
    return e.event_id();
  }

  v1::HistoryEvent activity_completed(int64_t scheduled, int64_t id = -1) {
    v1::HistoryEvent e = ev(v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED, id);
    e.mutable_activity_task_completed_event_attributes()->set_scheduled_event_id(scheduled);
    return e;
  }

  MutableState ms_;
  std::vector<v1::HistoryEvent> events_;
};

TEST_F(MutableStateTest, StartedOpensTheRun) {
  start();
  const v1::RunState& s = ms_.state();
  EXPECT_TRUE(ms_.is_open());
  EXPECT_EQ(s.workflow_type().name(), "order");
  EXPECT_EQ(s.start_time_ms(), 5000);
  EXPECT_EQ(s.run_expiration_time_ms(), 5000 + 30'000);  // the shorter of run and execution
  EXPECT_EQ(s.next_event_id(), 2);
  EXPECT_EQ(s.history_size_bytes(), static_cast<int64_t>(events_[0].ByteSizeLong()));
  EXPECT_EQ(s.start_request_id(), "req");
  EXPECT_EQ(rejected(ev(v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(MutableStateTest, RejectsEventsBeforeStartAndOutOfOrderIds) {
  v1::HistoryEvent signal = ev(v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  signal.mutable_workflow_execution_signaled_event_attributes()->set_signal_name("s");
  EXPECT_EQ(rejected(signal).code(), StatusCode::kInvalidArgument);
  start();
  v1::HistoryEvent gap = ev(v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 5);
  gap.mutable_workflow_execution_signaled_event_attributes();
  Status st = rejected(gap);
  EXPECT_NE(st.message().find("expected event id 2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("default/wf/r1"), std::string::npos) << st.message();
}

TEST_F(MutableStateTest, RejectsMissingOrMismatchedAttributes) {
  start();
  v1::HistoryEvent e = ev(v1::EVENT_TYPE_TIMER_STARTED);  // no attributes at all
  EXPECT_EQ(rejected(e).code(), StatusCode::kInvalidArgument);
  e.mutable_timer_fired_event_attributes()->set_timer_id("t");  // another type's
  EXPECT_EQ(rejected(e).code(), StatusCode::kInvalidArgument);
}

TEST_F(MutableStateTest, WorkflowTaskLifecycle) {
  start();
  v1::HistoryEvent sched = ev(v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  sched.mutable_workflow_task_scheduled_event_attributes()->set_task_queue("q");
  sched.mutable_workflow_task_scheduled_event_attributes()->set_attempt(1);
  must_apply(sched);
  EXPECT_TRUE(ms_.has_workflow_task());
  EXPECT_FALSE(ms_.workflow_task_started());
  // A second scheduled task while one is pending is refused.
  v1::HistoryEvent again = ev(v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  again.mutable_workflow_task_scheduled_event_attributes()->set_attempt(1);
  reject(again);

  v1::HistoryEvent started = ev(v1::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  started.mutable_workflow_task_started_event_attributes()->set_scheduled_event_id(2);
  started.mutable_workflow_task_started_event_attributes()->set_identity("w");
  must_apply(started);
  EXPECT_TRUE(ms_.workflow_task_started());
  EXPECT_EQ(ms_.state().workflow_task().identity(), "w");

  v1::HistoryEvent wrong = ev(v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  wrong.mutable_workflow_task_completed_event_attributes()->set_scheduled_event_id(2);
  wrong.mutable_workflow_task_completed_event_attributes()->set_started_event_id(7);
  reject(wrong);
  v1::HistoryEvent done = ev(v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  done.mutable_workflow_task_completed_event_attributes()->set_scheduled_event_id(2);
  done.mutable_workflow_task_completed_event_attributes()->set_started_event_id(3);
  must_apply(done);
  EXPECT_FALSE(ms_.has_workflow_task());
  EXPECT_EQ(ms_.state().last_completed_workflow_task_started_event_id(), 3);
}

TEST_F(MutableStateTest, ActivitiesComeAndGo) {
  start();
  int64_t a = schedule_activity("a");
  ASSERT_NE(ms_.activity(a), nullptr);
  EXPECT_EQ(ms_.activity(a)->activity_id(), "a");
  EXPECT_EQ(ms_.activity(a)->attempt(), 1);
  EXPECT_EQ(ms_.activity(a)->scheduled_time_ms(), 5000);
  Status st = rejected(activity_completed(99));
  EXPECT_NE(st.message().find("activity 99 is not pending"), std::string::npos) << st.message();

  v1::HistoryEvent cancel = ev(v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
  cancel.mutable_activity_task_cancel_requested_event_attributes()->set_scheduled_event_id(a);
  must_apply(cancel);
  EXPECT_TRUE(ms_.activity(a)->cancel_requested());
  EXPECT_EQ(ms_.activity(a)->cancel_requested_event_id(), cancel.event_id());

  must_apply(activity_completed(a));
  EXPECT_EQ(ms_.activity(a), nullptr);
  reject(activity_completed(a));  // a duplicate completion
}

TEST_F(MutableStateTest, TimersComeAndGo) {
  start();
  v1::HistoryEvent t = ev(v1::EVENT_TYPE_TIMER_STARTED);
  t.mutable_timer_started_event_attributes()->set_timer_id("t1");
  t.mutable_timer_started_event_attributes()->set_start_to_fire_timeout_ms(700);
  must_apply(t);
  ASSERT_NE(ms_.timer("t1"), nullptr);
  EXPECT_EQ(ms_.timer("t1")->fire_time_ms(), 5700);
  v1::HistoryEvent dup = ev(v1::EVENT_TYPE_TIMER_STARTED);
  dup.mutable_timer_started_event_attributes()->set_timer_id("t1");
  reject(dup);
  v1::HistoryEvent unknown = ev(v1::EVENT_TYPE_TIMER_FIRED);
  unknown.mutable_timer_fired_event_attributes()->set_timer_id("nope");
  reject(unknown);
  v1::HistoryEvent fired = ev(v1::EVENT_TYPE_TIMER_FIRED);
  fired.mutable_timer_fired_event_attributes()->set_timer_id("t1");
  fired.mutable_timer_fired_event_attributes()->set_started_event_id(t.event_id());
  must_apply(fired);
  EXPECT_EQ(ms_.timer("t1"), nullptr);
}

TEST_F(MutableStateTest, CloseEndsPendingWorkAndOnlyOnce) {
  start();
  int64_t a = schedule_activity("a");
  v1::HistoryEvent done = ev(v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  done.mutable_workflow_execution_completed_event_attributes();
  must_apply(done);
  EXPECT_FALSE(ms_.is_open());
  EXPECT_EQ(ms_.state().status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  EXPECT_EQ(ms_.state().close_event_id(), done.event_id());
  EXPECT_EQ(ms_.state().close_time_ms(), 5000);
  EXPECT_EQ(ms_.activity(a), nullptr);
  v1::HistoryEvent second = ev(v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
  second.mutable_workflow_execution_failed_event_attributes();
  reject(second);
}

TEST_F(MutableStateTest, SecondCancelRequestIsRejected) {
  start();
  v1::HistoryEvent c = ev(v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  c.mutable_workflow_execution_cancel_requested_event_attributes();
  must_apply(c);
  EXPECT_TRUE(ms_.state().cancel_requested());
  v1::HistoryEvent again = ev(v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  again.mutable_workflow_execution_cancel_requested_event_attributes();
  reject(again);
}

TEST_F(MutableStateTest, BufferedEventsApplyNowAndTakeTheirIdLater) {
  start();
  int64_t a = schedule_activity("a");
  int64_t next = ms_.next_event_id();
  int64_t size = ms_.state().history_size_bytes();
  v1::HistoryEvent done = activity_completed(a, /*id=*/0);
  ASSERT_TRUE(ms_.apply(done).ok());
  EXPECT_EQ(ms_.activity(a), nullptr);  // the effect is immediate
  EXPECT_EQ(ms_.next_event_id(), next);  // no id consumed
  EXPECT_EQ(ms_.state().history_size_bytes(), size);

  // Only events from outside a workflow task may be buffered.
  v1::HistoryEvent sched = ev(v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 0);
  sched.mutable_activity_task_scheduled_event_attributes()->set_activity_id("b");
  reject(sched);

  done.set_event_id(next + 1);
  EXPECT_FALSE(ms_.append_buffered(done).ok());  // not the next id
  done.set_event_id(next);
  ASSERT_TRUE(ms_.append_buffered(done).ok());
  EXPECT_EQ(ms_.next_event_id(), next + 1);
  EXPECT_EQ(ms_.state().history_size_bytes(), size + static_cast<int64_t>(done.ByteSizeLong()));
}

TEST_F(MutableStateTest, RecentRequestIdsAreBounded) {
  for (int i = 0; i < 5; ++i) {
    ms_.remember_request_id("r" + std::to_string(i), 3);
  }
  ms_.remember_request_id("", 3);  // ignored
  EXPECT_EQ(ms_.state().recent_request_ids_size(), 3);
  EXPECT_FALSE(ms_.seen_request_id("r1"));
  EXPECT_TRUE(ms_.seen_request_id("r2"));
  EXPECT_TRUE(ms_.seen_request_id("r4"));
  EXPECT_FALSE(ms_.seen_request_id(""));
}

TEST_F(MutableStateTest, RebuildReplaysHistory) {
  start();
  int64_t a = schedule_activity("a");
  must_apply(activity_completed(a));
  auto rebuilt = rebuild_from_events(events_, "default", "wf", "r1");
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().to_string();
  EXPECT_TRUE(MessageDifferencer::Equals(rebuilt->state(), ms_.state()));

  EXPECT_FALSE(rebuild_from_events({}, "default", "wf", "r1").ok());
  std::vector<v1::HistoryEvent> gap = {events_[0], events_[2]};
  auto bad = rebuild_from_events(gap, "default", "wf", "r1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn
