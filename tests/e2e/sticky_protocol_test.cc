// End to end on the raw protocol: sticky execution. A worker that completes a workflow task with
// sticky attributes gets the run's next task on its own queue with only the new events; when it
// does not start it in time, or resets stickiness, the task goes to the normal queue with the
// full history.
#include <grpcpp/grpcpp.h>

#include <chrono>

#include "cairn/v1/service.grpc.pb.h"
#include "e2e/raw_protocol.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class StickyProtocolTest : public RawProtocolTest {
 protected:
  void start(const std::string& id) {
    v1::StartWorkflowExecutionRequest req;
    req.set_workflow_id(id);
    req.mutable_workflow_type()->set_name("raw");
    req.set_task_queue("main-q");
    v1::StartWorkflowExecutionResponse resp;
    auto st = stub_->StartWorkflowExecution(ctx().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // A task from the normal queue carries the whole history, up to its own start.
  static void expect_full_history(const v1::PollWorkflowTaskQueueResponse& task) {
    ASSERT_GT(task.history().events_size(), 0);
    EXPECT_EQ(task.history().events(0).event_id(), 1);
    EXPECT_EQ(task.history().events(task.history().events_size() - 1).event_id(),
              task.started_event_id());
  }

  v1::PollWorkflowTaskQueueResponse poll(const std::string& queue,
                                         std::chrono::milliseconds timeout = 20s) {
    v1::PollWorkflowTaskQueueRequest req;
    req.set_task_queue(queue);
    v1::PollWorkflowTaskQueueResponse resp;
    auto st = stub_->PollWorkflowTaskQueue(ctx(timeout).get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  // Completes a task with a 200 ms timer and asks for stickiness on `sticky_queue`.
  void complete_with_timer(const v1::PollWorkflowTaskQueueResponse& task, const std::string& timer,
                           const std::string& sticky_queue, int64_t schedule_to_start_ms) {
    v1::RespondWorkflowTaskCompletedRequest req;
    req.set_task_token(task.task_token());
    auto* cmd = req.add_commands();
    cmd->set_command_type(v1::COMMAND_TYPE_START_TIMER);
    cmd->mutable_start_timer_command_attributes()->set_timer_id(timer);
    cmd->mutable_start_timer_command_attributes()->set_start_to_fire_timeout_ms(200);
    req.mutable_sticky_attributes()->set_worker_task_queue(sticky_queue);
    req.mutable_sticky_attributes()->set_schedule_to_start_timeout_ms(schedule_to_start_ms);
    v1::RespondWorkflowTaskCompletedResponse resp;
    auto st = stub_->RespondWorkflowTaskCompleted(ctx().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
};

TEST_F(StickyProtocolTest, StickyWorkerGetsOnlyTheNewEvents) {
  start("sticky-1");
  auto first = poll("main-q");
  ASSERT_FALSE(first.task_token().empty());
  EXPECT_EQ(first.history().events(0).event_id(), 1);
  // The worker polled its sticky queue lately: the server sends the run's tasks there.
  EXPECT_TRUE(poll("main-q/sticky/w1", 1s).task_token().empty());
  complete_with_timer(first, "t1", "main-q/sticky/w1", 10'000);

  auto second = poll("main-q/sticky/w1");
  ASSERT_FALSE(second.task_token().empty());
  ASSERT_GT(second.history().events_size(), 0);
  // Everything after the task the worker completed: WorkflowTaskCompleted, TimerStarted,
  // TimerFired, WorkflowTaskScheduled, WorkflowTaskStarted.
  EXPECT_EQ(second.history().events(0).event_id(), first.started_event_id() + 1);
  EXPECT_EQ(second.history().events(0).event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  EXPECT_EQ(second.history().events(second.history().events_size() - 1).event_id(),
            second.started_event_id());
  EXPECT_EQ(second.previous_started_event_id(), first.started_event_id());
}

TEST_F(StickyProtocolTest, TaskNotStartedOnTheStickyQueueFallsBackWithTheFullHistory) {
  start("sticky-2");
  auto first = poll("main-q");
  ASSERT_FALSE(first.task_token().empty());
  // The sticky worker polled a moment ago but has no poll waiting now (busy): after the timer
  // (200 ms) and the sticky schedule-to-start timeout (500 ms), the task appears on the normal
  // queue.
  EXPECT_TRUE(poll("main-q/sticky/busy", 1s).task_token().empty());
  complete_with_timer(first, "t1", "main-q/sticky/busy", 500);
  auto t0 = std::chrono::steady_clock::now();
  auto second = poll("main-q");
  ASSERT_FALSE(second.task_token().empty());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 500ms);
  expect_full_history(second);
}

TEST_F(StickyProtocolTest, TaskForAStickyQueueNobodyPollsGoesToTheNormalQueueAtOnce) {
  start("sticky-gone");
  auto first = poll("main-q");
  ASSERT_FALSE(first.task_token().empty());
  // The sticky worker never polled (it died, or the server restarted since): no waiting for the
  // 30 s sticky timeout, the timer's task is on the normal queue with the full history.
  complete_with_timer(first, "t1", "main-q/sticky/gone", 30'000);
  auto t0 = std::chrono::steady_clock::now();
  // The poll may wait 20 s, well past the bound below, so a task that comes late (but before the
  // sticky timeout) fails the bound rather than the poll.
  auto second = poll("main-q", 20s);
  ASSERT_FALSE(second.task_token().empty()) << "the task waited for the sticky timeout";
  // The 200 ms timer plus dispatch; the sticky timeout (30 s) or the gone-worker window (10 s)
  // would both be far above it.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  expect_full_history(second);
}

TEST_F(StickyProtocolTest, AStickyTaskRecoveredAfterARestartGoesToTheNormalQueue) {
  start("sticky-restart");
  auto first = poll("main-q");
  ASSERT_FALSE(first.task_token().empty());
  EXPECT_TRUE(poll("main-q/sticky/r", 1s).task_token().empty());  // a live sticky worker
  complete_with_timer(first, "t1", "main-q/sticky/r", 30'000);
  // The timer fires and its workflow task waits on the sticky queue, on disk.
  ASSERT_TRUE(eventually([&] {
    v1::DescribeWorkflowExecutionRequest req;
    req.mutable_execution()->set_workflow_id("sticky-restart");
    v1::DescribeWorkflowExecutionResponse resp;
    return stub_->DescribeWorkflowExecution(ctx().get(), req, &resp).ok() &&
           resp.pending_timers_size() == 0 && resp.has_pending_workflow_task();
  }));
  server_->kill9();
  std::string error;
  ASSERT_TRUE(server_->start(server_->port(), 30s, &error)) << error;
  // The sticky worker did not come back: the recovered task is on the normal queue, with the
  // full history, long before its 30 s sticky timeout.
  auto second = poll("main-q", 10s);
  ASSERT_FALSE(second.task_token().empty()) << "the recovered task waited for the sticky timeout";
  expect_full_history(second);
}

TEST_F(StickyProtocolTest, ResetSendsTheNextTaskToTheNormalQueue) {
  start("sticky-3");
  auto first = poll("main-q");
  ASSERT_FALSE(first.task_token().empty());
  EXPECT_TRUE(poll("main-q/sticky/w3", 1s).task_token().empty());  // a live sticky worker
  complete_with_timer(first, "t1", "main-q/sticky/w3", 30'000);
  v1::ResetStickyTaskQueueRequest reset;
  reset.mutable_execution()->set_workflow_id("sticky-3");
  v1::ResetStickyTaskQueueResponse reset_resp;
  auto st = stub_->ResetStickyTaskQueue(ctx().get(), reset, &reset_resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  // Long before the 30 s sticky timeout: the timer's task goes straight to the normal queue.
  auto second = poll("main-q", 10s);
  ASSERT_FALSE(second.task_token().empty());
  EXPECT_EQ(second.history().events(0).event_id(), 1);
}

TEST_F(StickyProtocolTest, InvalidStickyAttributesAreRejected) {
  start("sticky-4");
  auto first = poll("main-q");
  ASSERT_FALSE(first.task_token().empty());
  v1::RespondWorkflowTaskCompletedRequest req;
  req.set_task_token(first.task_token());
  req.mutable_sticky_attributes()->set_worker_task_queue("main-q");  // the run's own queue
  v1::RespondWorkflowTaskCompletedResponse resp;
  auto st = stub_->RespondWorkflowTaskCompleted(ctx().get(), req, &resp);
  // Refused like a bad command: the task fails (BAD_COMMAND) and is retried.
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.rejected_cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND);
  EXPECT_NE(resp.rejection().message().find("sticky_attributes.worker_task_queue"),
            std::string::npos)
      << resp.rejection().message();
  auto retried = poll("main-q");
  ASSERT_FALSE(retried.task_token().empty());
  EXPECT_EQ(retried.attempt(), 2);
}

}  // namespace
}  // namespace cairn::testing
