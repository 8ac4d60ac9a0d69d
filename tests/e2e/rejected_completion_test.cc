// End to end on the raw protocol: a workflow task completion whose commands the server refuses
// (a bad retry policy) is recorded as WorkflowTaskFailed and answered OK with the rejection; the
// stuck run shows in describe and in the TaskFailure list filter until a task completes. And an
// activity that is retrying shows its attempts, last failure and next retry time.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <set>

#include "cairn/v1/service.grpc.pb.h"
#include "e2e/raw_protocol.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class RejectedCompletionTest : public RawProtocolTest {
 protected:
  void start(const std::string& id, const std::string& tq) {
    v1::StartWorkflowExecutionRequest req;
    req.set_workflow_id(id);
    req.mutable_workflow_type()->set_name("raw");
    req.set_task_queue(tq);
    v1::StartWorkflowExecutionResponse resp;
    auto status = stub_->StartWorkflowExecution(ctx().get(), req, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::PollActivityTaskQueueResponse poll_activity_task(const std::string& tq) {
    v1::PollActivityTaskQueueRequest req;
    req.set_task_queue(tq);
    req.set_identity("raw-poller");
    v1::PollActivityTaskQueueResponse resp;
    auto status = stub_->PollActivityTaskQueue(ctx(20s).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  v1::RespondWorkflowTaskCompletedResponse complete(const std::string& token,
                                                    std::vector<v1::Command> commands) {
    v1::RespondWorkflowTaskCompletedRequest req;
    req.set_task_token(token);
    req.set_identity("raw-poller");
    for (auto& c : commands) {
      *req.add_commands() = std::move(c);
    }
    v1::RespondWorkflowTaskCompletedResponse resp;
    auto status = stub_->RespondWorkflowTaskCompleted(ctx().get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  v1::DescribeWorkflowExecutionResponse describe(const std::string& id) {
    v1::DescribeWorkflowExecutionRequest req;
    req.mutable_execution()->set_workflow_id(id);
    v1::DescribeWorkflowExecutionResponse resp;
    auto status = stub_->DescribeWorkflowExecution(ctx().get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }


  std::set<std::string> list_ids(const std::string& query) {
    std::set<std::string> ids;
    for (const auto& info : list_runs(query)) {
      ids.insert(info.execution().workflow_id());
    }
    return ids;
  }

  std::vector<std::string> verify(const std::string& id) {
    v1::VerifyWorkflowExecutionRequest req;
    req.mutable_execution()->set_workflow_id(id);
    v1::VerifyWorkflowExecutionResponse resp;
    auto status = stub_->VerifyWorkflowExecution(ctx().get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {resp.differences().begin(), resp.differences().end()};
  }

  static v1::Command schedule(const std::string& id, const v1::RetryPolicy& retry) {
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
    auto* a = c.mutable_schedule_activity_task_command_attributes();
    a->set_activity_id(id);
    a->mutable_activity_type()->set_name("step");
    a->set_start_to_close_timeout_ms(10'000);
    a->set_heartbeat_timeout_ms(5'000);
    *a->mutable_retry_policy() = retry;
    return c;
  }

  static v1::Command start_timer(const std::string& id) {
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_START_TIMER);
    c.mutable_start_timer_command_attributes()->set_timer_id(id);
    c.mutable_start_timer_command_attributes()->set_start_to_fire_timeout_ms(3'600'000);
    return c;
  }
};

struct BadPolicy {
  std::string name;
  v1::RetryPolicy policy;
  std::string message;
};

std::vector<BadPolicy> bad_policies() {
  BadPolicy negative{"attempts", {}, "retry_policy.maximum_attempts must not be negative (got -1)"};
  negative.policy.set_maximum_attempts(-1);
  BadPolicy shrinking{"coefficient", {}, "retry_policy.backoff_coefficient must be >= 1 (got 0.5); 0 means the default of 2"};
  shrinking.policy.set_backoff_coefficient(0.5);
  return {negative, shrinking};
}

TEST_F(RejectedCompletionTest, BadRetryPolicyFailsTheTaskVisiblyUntilAGoodCompletion) {
  start("healthy", "healthy-q");  // a run whose tasks do not fail: never listed as stuck
  for (const BadPolicy& bad : bad_policies()) {
    SCOPED_TRACE(bad.name);
    const std::string id = "stuck-" + bad.name;
    const std::string queue = "q-" + bad.name;
    start(id, queue);
    auto task = poll_workflow_task(queue);
    ASSERT_FALSE(task.task_token().empty());
    ASSERT_EQ(task.attempt(), 1);

    // The answer is OK and says why the commands were refused.
    auto resp = complete(task.task_token(), {schedule("1", bad.policy)});
    const std::string want = "command 0 (ScheduleActivityTask, activity \"1\"): " + bad.message;
    EXPECT_EQ(resp.rejected_cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND);
    EXPECT_EQ(resp.rejection().message(), want);
    EXPECT_EQ(resp.activity_tasks_size(), 0);

    // History: the task failed with that cause and message; no activity was scheduled.
    auto events = history(id);
    const v1::HistoryEvent* failed = find(events, v1::EVENT_TYPE_WORKFLOW_TASK_FAILED);
    ASSERT_NE(failed, nullptr);
    EXPECT_EQ(failed->workflow_task_failed_event_attributes().cause(),
              v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND);
    EXPECT_EQ(failed->workflow_task_failed_event_attributes().failure().message(), want);
    EXPECT_EQ(failed->workflow_task_failed_event_attributes().failure().source(), "Server");
    EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 0);
    EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED), 0);

    // The task comes back as attempt 2.
    auto retried = poll_workflow_task(queue);
    ASSERT_FALSE(retried.task_token().empty());
    EXPECT_EQ(retried.attempt(), 2);

    // Describe shows why the run is stuck, and the task now running.
    auto d = describe(id);
    ASSERT_TRUE(d.has_workflow_task_failure());
    EXPECT_EQ(d.workflow_task_failure().cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND);
    EXPECT_EQ(d.workflow_task_failure().failure().message(), want);
    EXPECT_EQ(d.workflow_task_failure().attempt(), 1);
    EXPECT_EQ(d.workflow_task_failure().event_id(), failed->event_id());
    EXPECT_FALSE(d.workflow_task_failure().timed_out());
    EXPECT_EQ(d.workflow_execution_info().task_failure(), "BadCommand");
    EXPECT_EQ(d.workflow_execution_info().task_failure_message(), want);
    EXPECT_EQ(d.workflow_execution_info().task_failure_attempt(), 1);
    EXPECT_EQ(d.pending_workflow_task().attempt(), 2);
    EXPECT_GT(d.pending_workflow_task().started_time_ms(), 0);
    EXPECT_EQ(d.pending_workflow_task().task_queue(), queue);
    EXPECT_EQ(d.pending_workflow_task().identity(), "raw-poller");

    // The list filter finds exactly that run, with the same fields.
    EXPECT_EQ(list_ids("TaskFailure = 'BadCommand'"), (std::set<std::string>{id}));
    EXPECT_EQ(list_ids("TaskFailure IS NOT NULL"), (std::set<std::string>{id}));
    auto listed = list_runs("WorkflowId = '" + id + "'");
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].task_failure(), "BadCommand");
    EXPECT_EQ(listed[0].task_failure_message(), want);
    EXPECT_EQ(listed[0].task_failure_attempt(), 1);
    EXPECT_TRUE(verify(id).empty());

    // A good completion of the retried task: healthy again in describe and list.
    resp = complete(retried.task_token(), {start_timer("wait")});
    EXPECT_EQ(resp.rejected_cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED);
    d = describe(id);
    EXPECT_FALSE(d.has_workflow_task_failure());
    EXPECT_EQ(d.workflow_execution_info().task_failure(), "");
    EXPECT_TRUE(list_ids("TaskFailure IS NOT NULL").empty());
    EXPECT_EQ(list_ids("TaskFailure IS NULL AND WorkflowId = '" + id + "'"),
              (std::set<std::string>{id}));
    listed = list_runs("WorkflowId = '" + id + "'");
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].task_failure(), "");
    EXPECT_EQ(listed[0].task_failure_attempt(), 0);
    EXPECT_TRUE(verify(id).empty());
  }
}

TEST_F(RejectedCompletionTest, AnUnknownTaskFailureValueIsRefusedWithTheValidOnes) {
  v1::ListWorkflowExecutionsRequest req;
  req.set_query("TaskFailure = 'Broken'");
  v1::ListWorkflowExecutionsResponse resp;
  auto status = stub_->ListWorkflowExecutions(ctx().get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("valid values: TimedOut"), std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("BadCommand"), std::string::npos) << status.error_message();
}

TEST_F(RejectedCompletionTest, RetryingActivityShowsItsAttemptsAndItsEventsCarryThem) {
  start("retrying", "act-q");
  auto task = poll_workflow_task("act-q");
  ASSERT_FALSE(task.task_token().empty());
  v1::RetryPolicy retry;
  retry.set_initial_interval_ms(1'500);
  retry.set_backoff_coefficient(1.0);
  auto resp = complete(task.task_token(), {schedule("1", retry)});
  ASSERT_EQ(resp.rejected_cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED)
      << resp.rejection().message();

  int64_t due = 0;  // when the last retry was due
  for (int attempt = 1; attempt <= 2; ++attempt) {
    SCOPED_TRACE(attempt);
    auto activity = poll_activity_task("act-q");
    ASSERT_FALSE(activity.task_token().empty());
    ASSERT_EQ(activity.attempt(), attempt);
    v1::RespondActivityTaskFailedRequest fail;
    fail.set_task_token(activity.task_token());
    fail.set_identity("raw-poller");
    fail.mutable_failure()->set_message("boom " + std::to_string(attempt));
    v1::RespondActivityTaskFailedResponse failed;
    auto status = stub_->RespondActivityTaskFailed(ctx().get(), fail, &failed);
    ASSERT_TRUE(status.ok()) << status.error_message();

    // Waiting for its retry: the attempt to come, why the last one failed, when it is due.
    auto d = describe("retrying");
    ASSERT_EQ(d.pending_activities_size(), 1);
    const v1::PendingActivityInfo& p = d.pending_activities(0);
    EXPECT_EQ(p.attempt(), attempt + 1);
    EXPECT_EQ(p.last_failure().message(), "boom " + std::to_string(attempt));
    EXPECT_GT(p.next_attempt_schedule_time_ms(), 0);
    due = p.next_attempt_schedule_time_ms();
    EXPECT_EQ(p.heartbeat_timeout_ms(), 5'000);
    EXPECT_EQ(p.start_to_close_timeout_ms(), 10'000);
    EXPECT_EQ(p.task_queue(), "act-q");
    EXPECT_TRUE(verify("retrying").empty());
  }
  auto activity = poll_activity_task("act-q");
  ASSERT_FALSE(activity.task_token().empty());
  ASSERT_EQ(activity.attempt(), 3);
  auto d = describe("retrying");
  ASSERT_EQ(d.pending_activities_size(), 1);
  EXPECT_EQ(d.pending_activities(0).next_attempt_schedule_time_ms(), 0);  // it is running
  EXPECT_GE(d.pending_activities(0).current_attempt_scheduled_time_ms(), due);
  v1::RespondActivityTaskCompletedRequest done;
  done.set_task_token(activity.task_token());
  v1::RespondActivityTaskCompletedResponse ok;
  auto status = stub_->RespondActivityTaskCompleted(ctx().get(), done, &ok);
  ASSERT_TRUE(status.ok()) << status.error_message();

  auto events = history("retrying");
  const v1::HistoryEvent* completed = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  ASSERT_NE(completed, nullptr);
  EXPECT_EQ(completed->activity_task_completed_event_attributes().attempt(), 3);
  EXPECT_EQ(completed->activity_task_completed_event_attributes().last_failure().message(),
            "boom 2");
  EXPECT_TRUE(verify("retrying").empty());
}

}  // namespace
}  // namespace cairn::testing
