// End to end on the raw protocol (generated stubs, no SDK): bad requests get the right gRPC error
// and change nothing; a worker that dies holding a workflow task is replaced after the task
// timeout; long-polls are answered on shutdown.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>

#include "cairn/v1/service.grpc.pb.h"
#include "e2e/raw_protocol.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class ProtocolTest : public RawProtocolTest {
 protected:
  v1::StartWorkflowExecutionRequest start_request(const std::string& id, const std::string& tq) {
    v1::StartWorkflowExecutionRequest req;
    req.set_workflow_id(id);
    req.mutable_workflow_type()->set_name("raw");
    req.set_task_queue(tq);
    req.set_workflow_task_timeout_ms(1000);
    return req;
  }

  std::string start(const v1::StartWorkflowExecutionRequest& req) {
    v1::StartWorkflowExecutionResponse resp;
    auto status = stub_->StartWorkflowExecution(ctx().get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.run_id();
  }
};

TEST_F(ProtocolTest, InvalidStartRequestsAreRejectedAndCreateNothing) {
  auto no_type = start_request("bad-1", "q");
  no_type.mutable_workflow_type()->clear_name();
  v1::StartWorkflowExecutionResponse resp;
  auto st = stub_->StartWorkflowExecution(ctx().get(), no_type, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("workflow_type"), std::string::npos) << st.error_message();

  auto bad_retry = start_request("bad-2", "q");
  bad_retry.mutable_retry_policy()->set_backoff_coefficient(0.5);
  st = stub_->StartWorkflowExecution(ctx().get(), bad_retry, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("backoff_coefficient"), std::string::npos) << st.error_message();

  auto unknown_ns = start_request("bad-3", "q");
  unknown_ns.set_namespace_("no-such-namespace");
  st = stub_->StartWorkflowExecution(ctx().get(), unknown_ns, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);

  for (const char* id : {"bad-1", "bad-2", "bad-3"}) {
    v1::DescribeWorkflowExecutionRequest d;
    d.mutable_execution()->set_workflow_id(id);
    v1::DescribeWorkflowExecutionResponse dr;
    EXPECT_EQ(stub_->DescribeWorkflowExecution(ctx().get(), d, &dr).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << id;
  }
}

TEST_F(ProtocolTest, UnknownRunAndMalformedTokenGetClearErrors) {
  v1::SignalWorkflowExecutionRequest sig;
  sig.mutable_workflow_execution()->set_workflow_id("nobody");
  sig.set_signal_name("x");
  v1::SignalWorkflowExecutionResponse sr;
  auto st = stub_->SignalWorkflowExecution(ctx().get(), sig, &sr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("nobody"), std::string::npos) << st.error_message();

  v1::RespondActivityTaskCompletedRequest done;
  done.set_task_token("definitely not a token");
  v1::RespondActivityTaskCompletedResponse dr;
  st = stub_->RespondActivityTaskCompleted(ctx().get(), done, &dr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ProtocolTest, InvalidCommandFailsTheTaskWhichIsRetriedAndCanBeCompletedCorrectly) {
  start(start_request("cmd-1", "cmd-q"));
  auto task = poll_workflow_task("cmd-q");
  ASSERT_FALSE(task.task_token().empty());

  // A timer with no duration is invalid: an OK answer naming the command, the task failed in
  // history (BAD_COMMAND), no timer started.
  v1::RespondWorkflowTaskCompletedRequest bad;
  bad.set_task_token(task.task_token());
  auto* cmd = bad.add_commands();
  cmd->set_command_type(v1::COMMAND_TYPE_START_TIMER);
  cmd->mutable_start_timer_command_attributes()->set_timer_id("t1");
  v1::RespondWorkflowTaskCompletedResponse resp;
  auto st = stub_->RespondWorkflowTaskCompleted(ctx().get(), bad, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.rejected_cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND);
  EXPECT_NE(resp.rejection().message().find("command 0 (StartTimer, timer \"t1\"): "
                                            "start_to_fire_timeout_ms must be > 0"),
            std::string::npos)
      << resp.rejection().message();
  auto events = history("cmd-1");
  EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_TASK_FAILED), 1);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_TIMER_STARTED), 0);

  // The refused token is stale now: NOT_FOUND, and history does not change.
  v1::RespondWorkflowTaskCompletedRequest good;
  good.set_task_token(task.task_token());
  auto* complete = good.add_commands();
  complete->set_command_type(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
  complete->mutable_complete_workflow_execution_command_attributes();
  st = stub_->RespondWorkflowTaskCompleted(ctx().get(), good, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(event_types(history("cmd-1")), event_types(events));

  // The retried task (attempt 2) takes the good answer.
  auto retried = poll_workflow_task("cmd-q");
  ASSERT_FALSE(retried.task_token().empty());
  EXPECT_EQ(retried.attempt(), 2);
  good.set_task_token(retried.task_token());
  resp.Clear();
  st = stub_->RespondWorkflowTaskCompleted(ctx().get(), good, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.rejected_cause(), v1::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED);
  EXPECT_EQ(history("cmd-1").back().event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
}

TEST_F(ProtocolTest, WorkerThatDiesHoldingATaskIsReplacedAfterTheTaskTimeout) {
  start(start_request("dead-worker", "dw-q"));
  // A worker takes the workflow task and dies without answering.
  auto task = poll_workflow_task("dw-q");
  ASSERT_FALSE(task.task_token().empty());
  EXPECT_EQ(task.attempt(), 1);

  // After the 1 s workflow task timeout, another worker gets attempt 2 and finishes the run.
  Worker& w = new_worker("dw-q");
  w.register_workflow("raw", [](WorkflowContext& ctx) { return std::string("finished by the survivor"); });
  w.start();
  auto handle = client_->handle("dead-worker");
  EXPECT_EQ(handle.result<std::string>(30s), "finished by the survivor");
  auto events = handle.history();
  EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), 1);
  const v1::HistoryEvent* timed_out = find(events, v1::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
  const v1::HistoryEvent* first_started = find(events, v1::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  ASSERT_NE(timed_out, nullptr);
  ASSERT_NE(first_started, nullptr);
  EXPECT_GE(timed_out->event_time_ms() - first_started->event_time_ms(), 1000);
}

TEST_F(ProtocolTest, PendingPollsAreAnsweredAndTheServerExitsCleanlyOnSigterm) {
  std::vector<std::thread> pollers;
  std::atomic<int> answered{0};
  for (int i = 0; i < 8; ++i) {
    pollers.emplace_back([&] {
      v1::PollActivityTaskQueueRequest req;
      req.set_task_queue("idle-q");
      v1::PollActivityTaskQueueResponse resp;
      grpc::ClientContext c;
      c.set_deadline(std::chrono::system_clock::now() + 60s);
      auto st = stub_->PollActivityTaskQueue(&c, req, &resp);
      if (st.ok() && resp.task_token().empty()) {
        ++answered;
      }
    });
  }
  // Wait until all eight polls are parked on the server.
  ASSERT_TRUE(await_until([&] {
    v1::GetSystemInfoResponse info;
    return stub_->GetSystemInfo(ctx().get(), v1::GetSystemInfoRequest(), &info).ok() &&
           info.waiting_polls() >= 8;
  }));
  EXPECT_EQ(answered.load(), 0);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(server_->stop(), 0) << server_->log();
  for (auto& t : pollers) {
    t.join();
  }
  // Each parked poll got an empty OK answer (not an error), promptly.
  EXPECT_EQ(answered.load(), 8);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);
}

}  // namespace
}  // namespace cairn::testing

namespace cairn::testing {
namespace {

v1::Command schedule(const std::string& id, const std::string& task_queue, bool eager) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
  auto* a = c.mutable_schedule_activity_task_command_attributes();
  a->set_activity_id(id);
  a->mutable_activity_type()->set_name("step");
  a->set_task_queue(task_queue);
  a->set_start_to_close_timeout_ms(10'000);
  a->mutable_input()->add_payloads()->set_data("in-" + id);
  a->set_request_eager_execution(eager);
  return c;
}

TEST_F(ProtocolTest, EagerActivitiesStartWithTheCompletionOnlyOnTheWorkflowsOwnTaskQueue) {
  start(start_request("eager-1", "eager-q"));
  auto task = poll_workflow_task("eager-q");
  ASSERT_FALSE(task.task_token().empty());
  v1::RespondWorkflowTaskCompletedRequest done;
  done.set_task_token(task.task_token());
  done.set_identity("raw-poller");
  *done.add_commands() = schedule("a", "", /*eager=*/true);         // own queue: eager
  *done.add_commands() = schedule("b", "elsewhere", /*eager=*/true);  // another queue: polled
  *done.add_commands() = schedule("c", "", /*eager=*/false);        // not asked: polled
  v1::RespondWorkflowTaskCompletedResponse resp;
  auto st = stub_->RespondWorkflowTaskCompleted(ctx().get(), done, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.activity_tasks_size(), 1);
  const auto& eager = resp.activity_tasks(0);
  EXPECT_EQ(eager.activity_id(), "a");
  EXPECT_EQ(eager.attempt(), 1);
  EXPECT_EQ(eager.input().payloads(0).data(), "in-a");
  EXPECT_GT(eager.started_time_ms(), 0);

  // The eager attempt is started: it is not on the queue, and its token completes it.
  v1::PollActivityTaskQueueRequest poll;
  poll.set_task_queue("eager-q");
  v1::PollActivityTaskQueueResponse polled;
  ASSERT_TRUE(stub_->PollActivityTaskQueue(ctx(3s).get(), poll, &polled).ok());
  EXPECT_EQ(polled.activity_id(), "c");
  poll.set_task_queue("elsewhere");
  v1::PollActivityTaskQueueResponse other;
  ASSERT_TRUE(stub_->PollActivityTaskQueue(ctx(3s).get(), poll, &other).ok());
  EXPECT_EQ(other.activity_id(), "b");
  v1::RespondActivityTaskCompletedRequest complete;
  complete.set_task_token(eager.task_token());
  complete.mutable_result()->add_payloads()->set_data("out-a");
  v1::RespondActivityTaskCompletedResponse ok;
  st = stub_->RespondActivityTaskCompleted(ctx().get(), complete, &ok);
  ASSERT_TRUE(st.ok()) << st.error_message();

  auto events = history("eager-1");
  int scheduled = 0;
  int completed = 0;
  for (const auto& e : events) {
    scheduled += e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED ? 1 : 0;
    completed += e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED ? 1 : 0;
  }
  EXPECT_EQ(scheduled, 3);
  EXPECT_EQ(completed, 1);
}

}  // namespace
}  // namespace cairn::testing
