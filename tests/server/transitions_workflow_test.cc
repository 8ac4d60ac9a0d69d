// The run-level rules (history/transitions_workflow.cc) through the real engine and handlers:
// start with its validation, id policies and request-id deduplication; signal, cancel request and
// terminate, with their error answers. Every error answer is checked to leave the store and the
// engine's cache as they were.
#include <string>

#include <gtest/gtest.h>

#include "proto/schedule_spec.h"
#include "tests/server/engine_fixture.h"

namespace cairn {
namespace {

using engine_test::EngineFixture;
using engine_test::kMinute;
using engine_test::StoreSnapshot;

bool mentions(const Status& st, const std::string& what) {
  return st.message().find(what) != std::string::npos;
}

class WorkflowTransitionsTest : public EngineFixture {
 protected:
  Status signal(const std::string& workflow_id, const std::string& request_id,
                const std::string& run_id = "", const std::string& name = "go") {
    v1::SignalWorkflowExecutionRequest req;
    req.mutable_workflow_execution()->set_workflow_id(workflow_id);
    req.mutable_workflow_execution()->set_run_id(run_id);
    req.set_signal_name(name);
    req.set_request_id(request_id);
    v1::SignalWorkflowExecutionResponse resp;
    Status st = handlers::signal_workflow(*engine_, req, &resp);
    settle();
    return st;
  }
  Status cancel(const std::string& workflow_id, const std::string& request_id,
                const std::string& run_id = "") {
    v1::RequestCancelWorkflowExecutionRequest req;
    req.mutable_workflow_execution()->set_workflow_id(workflow_id);
    req.mutable_workflow_execution()->set_run_id(run_id);
    req.set_request_id(request_id);
    req.set_reason("test");
    v1::RequestCancelWorkflowExecutionResponse resp;
    Status st = handlers::request_cancel_workflow(*engine_, req, &resp);
    settle();
    return st;
  }
  Status terminate(const std::string& workflow_id, const std::string& run_id = "") {
    v1::TerminateWorkflowExecutionRequest req;
    req.mutable_workflow_execution()->set_workflow_id(workflow_id);
    req.mutable_workflow_execution()->set_run_id(run_id);
    req.set_reason("test");
    v1::TerminateWorkflowExecutionResponse resp;
    Status st = handlers::terminate_workflow(*engine_, req, &resp);
    settle();
    return st;
  }
  // A run that completed (its first workflow task answered with CompleteWorkflowExecution).
  std::string completed_run(const std::string& workflow_id) {
    const std::string run = start_run(workflow_id);
    Status st = complete_task(workflow_id, {complete_workflow()});
    EXPECT_TRUE(st.ok()) << st.to_string();
    EXPECT_EQ(stored(workflow_id, run).status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
    return run;
  }
};

TEST_F(WorkflowTransitionsTest, StartWritesTheFirstEventsTheWorkflowTaskAndTheCurrentRun) {
  const std::string run = start_run("wf-start");
  const v1::RunState state = stored("wf-start", run);
  EXPECT_EQ(state.status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  const auto events = history("wf-start", run);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  EXPECT_EQ(events[1].event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  EXPECT_EQ(state.next_event_id(), 3);
  EXPECT_EQ(backlog(v1::TASK_KIND_WORKFLOW), 1) << "the first workflow task was not dispatched";
  auto current = store_->load_current(engine_->workflow_key("default", "wf-start"));
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->run_id(), run);
  expect_consistent("wf-start", run);
}

TEST_F(WorkflowTransitionsTest, InvalidStartRequestsNameTheFieldAndWriteNothing) {
  start_run("wf-existing");
  const StoreSnapshot before = snapshot();

  auto no_id = start_request("");
  Status st = start(no_id).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(st, "workflow_id")) << st.to_string();

  auto no_type = start_request("wf-no-type");
  no_type.mutable_workflow_type()->clear_name();
  st = start(no_type).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(st, "workflow_type.name")) << st.to_string();

  auto no_queue = start_request("wf-no-queue");
  no_queue.clear_task_queue();
  st = start(no_queue).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(st, "task_queue")) << st.to_string();

  auto negative = start_request("wf-negative");
  negative.set_workflow_run_timeout_ms(-1);
  st = start(negative).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(st, "workflow_run_timeout_ms")) << st.to_string();

  auto long_task = start_request("wf-long-task");
  long_task.set_workflow_task_timeout_ms(engine_->options().limits.max_workflow_task_timeout_ms +
                                         1);
  st = start(long_task).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(st, "workflow_task_timeout_ms")) << st.to_string();

  auto reserved = start_request(std::string(schedule::kEntityPrefix) + "mine");
  st = start(reserved).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(st, "workflow_id")) << st.to_string();

  v1::Payload value;
  (*value.mutable_metadata())["encoding"] = "json/plain";
  value.set_data("\"x\"");
  auto bad_attribute = start_request("wf-bad-attribute");
  (*bad_attribute.mutable_search_attributes())["NotRegistered"] = value;
  st = start(bad_attribute).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(st, "NotRegistered")) << st.to_string();

  // An unknown namespace is NOT_FOUND, with the hint to register it.
  auto unknown_ns = start_request("wf-unknown-ns");
  unknown_ns.set_namespace_("nowhere");
  st = start(unknown_ns).status();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_TRUE(mentions(st, "nowhere")) << st.to_string();

  expect_unchanged(before);
}

TEST_F(WorkflowTransitionsTest, ASecondStartOfARunningIdIsRefusedUnlessThePolicySaysOtherwise) {
  const std::string run = start_run("wf-dup");
  const StoreSnapshot before = snapshot();

  Status st = start(start_request("wf-dup")).status();
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(mentions(st, run)) << st.to_string();
  expect_unchanged(before);

  // USE_EXISTING answers the running run and writes nothing.
  auto use_existing = start_request("wf-dup");
  use_existing.set_workflow_id_conflict_policy(v1::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING);
  v1::StartWorkflowExecutionResponse resp;
  ASSERT_TRUE(handlers::start_workflow(*engine_, use_existing, &resp).ok());
  EXPECT_EQ(resp.run_id(), run);
  EXPECT_FALSE(resp.started());
  expect_unchanged(before);
}

TEST_F(WorkflowTransitionsTest, TheReusePolicyDecidesWhetherAClosedIdStartsAgain) {
  const std::string done = completed_run("wf-reuse");

  auto reject = start_request("wf-reuse");
  reject.set_workflow_id_reuse_policy(v1::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE);
  StoreSnapshot before = snapshot();
  EXPECT_EQ(start(reject).status().code(), StatusCode::kAlreadyExists);
  expect_unchanged(before);

  // FAILED_ONLY refuses after a successful completion ...
  auto failed_only = start_request("wf-reuse");
  failed_only.set_workflow_id_reuse_policy(
      v1::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY);
  EXPECT_EQ(start(failed_only).status().code(), StatusCode::kAlreadyExists);
  expect_unchanged(before);

  // ... the default allows it: a new run, which becomes current.
  auto again = start(start_request("wf-reuse"));
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_NE(*again, done);
  EXPECT_EQ(stored("wf-reuse", done).status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);

  // After a termination (not a success) FAILED_ONLY starts again.
  ASSERT_TRUE(terminate("wf-reuse").ok());
  failed_only.set_request_id("start-wf-reuse-failed-only-2");
  auto third = start(failed_only);
  ASSERT_TRUE(third.ok()) << third.status().to_string();
  EXPECT_NE(*third, *again);
  auto current = store_->load_current(engine_->workflow_key("default", "wf-reuse"));
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->run_id(), *third);
}

TEST_F(WorkflowTransitionsTest,
       AStartRetriedWithTheSameRequestIdAnswersTheSameRunAndWritesNothing) {
  const auto req = start_request("wf-retry");
  v1::StartWorkflowExecutionResponse first;
  ASSERT_TRUE(handlers::start_workflow(*engine_, req, &first).ok());
  settle();
  const StoreSnapshot before = snapshot();
  v1::StartWorkflowExecutionResponse again;
  ASSERT_TRUE(handlers::start_workflow(*engine_, req, &again).ok());
  EXPECT_EQ(again.run_id(), first.run_id());
  EXPECT_TRUE(again.started()) << "a retried start is answered as the start it repeats";
  expect_unchanged(before);
  EXPECT_EQ(backlog(v1::TASK_KIND_WORKFLOW), 1) << "a second workflow task";
}

TEST_F(WorkflowTransitionsTest, ASignalIsRecordedAndOneWithTheSameRequestIdIsAppliedOnce) {
  const std::string run = start_run("wf-signal");
  ASSERT_TRUE(signal("wf-signal", "sig-1").ok());
  const auto once = history("wf-signal", run);
  EXPECT_EQ(count_events(once, v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 1);

  ASSERT_TRUE(signal("wf-signal", "sig-1").ok());  // the client's retry
  const auto after = history("wf-signal", run);
  EXPECT_EQ(after.size(), once.size());
  EXPECT_EQ(count_events(after, v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 1);

  ASSERT_TRUE(signal("wf-signal", "sig-2").ok());  // another signal is another event
  EXPECT_EQ(count_events(history("wf-signal", run), v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 2);
  expect_consistent("wf-signal", run);
}

TEST_F(WorkflowTransitionsTest, ASignalWhileTheWorkflowTaskRunsIsBufferedAndWrittenAfterIt) {
  const std::string run = start_run("wf-buffer");
  auto polled = poll_workflow_task("wf-buffer");
  ASSERT_TRUE(polled.ok()) << polled.status().to_string();
  const size_t started = history("wf-buffer", run).size();
  ASSERT_TRUE(signal("wf-buffer", "sig-b").ok());
  EXPECT_EQ(history("wf-buffer", run).size(), started) << "appended behind WorkflowTaskStarted";
  EXPECT_EQ(stored("wf-buffer", run).buffered_events_size(), 1);

  ASSERT_TRUE(respond_completed(polled->task_token(), {}).ok());
  const auto events = history("wf-buffer", run);
  ASSERT_GE(events.size(), started + 3);
  EXPECT_EQ(events[started].event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  EXPECT_EQ(events[started + 1].event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  EXPECT_EQ(events[started + 2].event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  expect_consistent("wf-buffer", run);
}

TEST_F(WorkflowTransitionsTest, SignalCancelAndTerminateOfAnUnknownRunAreNotFound) {
  const std::string run = start_run("wf-known");
  const StoreSnapshot before = snapshot();
  EXPECT_EQ(signal("wf-nobody", "s").code(), StatusCode::kNotFound);
  EXPECT_EQ(cancel("wf-nobody", "c").code(), StatusCode::kNotFound);
  EXPECT_EQ(terminate("wf-nobody").code(), StatusCode::kNotFound);
  // A known workflow id with a run id that is not one of its runs.
  EXPECT_EQ(signal("wf-known", "s", "no-such-run").code(), StatusCode::kNotFound);
  EXPECT_EQ(cancel("wf-known", "c", "no-such-run").code(), StatusCode::kNotFound);
  EXPECT_EQ(terminate("wf-known", "no-such-run").code(), StatusCode::kNotFound);
  expect_unchanged(before);
  EXPECT_EQ(stored("wf-known", run).status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
}

TEST_F(WorkflowTransitionsTest, SignalCancelAndTerminateOfAClosedRunAreNotFoundAndWriteNothing) {
  const std::string run = completed_run("wf-closed");
  const StoreSnapshot before = snapshot();
  Status st = signal("wf-closed", "s-late");
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_TRUE(mentions(st, "already completed")) << st.to_string();
  EXPECT_EQ(cancel("wf-closed", "c-late").code(), StatusCode::kNotFound);
  EXPECT_EQ(terminate("wf-closed").code(), StatusCode::kNotFound);
  // Named by run id as well as through the current-run pointer.
  EXPECT_EQ(signal("wf-closed", "s-late", run).code(), StatusCode::kNotFound);
  expect_unchanged(before);
}

TEST_F(WorkflowTransitionsTest, BadSignalsAndScheduleEntitiesAreInvalidAndWriteNothing) {
  start_run("wf-bad-signal");
  const StoreSnapshot before = snapshot();
  Status st = signal("wf-bad-signal", "s", "", /*name=*/"");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(st, "signal_name")) << st.to_string();
  const std::string entity = std::string(schedule::kEntityPrefix) + "nightly";
  EXPECT_EQ(signal(entity, "s").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cancel(entity, "c").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(terminate(entity).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(signal("", "s").code(), StatusCode::kInvalidArgument);
  expect_unchanged(before);
}

TEST_F(WorkflowTransitionsTest, ACancelRequestIsRecordedOnce) {
  const std::string run = start_run("wf-cancel");
  ASSERT_TRUE(cancel("wf-cancel", "c-1").ok());
  EXPECT_TRUE(stored("wf-cancel", run).cancel_requested());
  const auto once = history("wf-cancel", run);
  EXPECT_EQ(count_events(once, v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED), 1);
  ASSERT_TRUE(cancel("wf-cancel", "c-1").ok());  // a retry
  ASSERT_TRUE(cancel("wf-cancel", "c-2").ok());  // another request: cancellation is asked once
  EXPECT_EQ(history("wf-cancel", run).size(), once.size());
  EXPECT_TRUE(describe("wf-cancel").cancel_requested());
  expect_consistent("wf-cancel", run);
}

TEST_F(WorkflowTransitionsTest, TerminateClosesTheRunDropsItsWorkAndFreesTheId) {
  const std::string run = start_run("wf-term");
  ASSERT_TRUE(complete_task("wf-term", {start_timer("t", kMinute)}).ok());
  ASSERT_TRUE(terminate("wf-term").ok());
  const v1::RunState state = stored("wf-term", run);
  EXPECT_EQ(state.status(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  const auto events = history("wf-term", run);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
  // The timer the run had pending fires into a closed run: nothing is written.
  const StoreSnapshot before = snapshot();
  advance(kMinute);
  EXPECT_EQ(store_->commits(), before.commits);
  EXPECT_EQ(history("wf-term", run).size(), events.size());
  // A second terminate is refused like any request to a closed run.
  EXPECT_EQ(terminate("wf-term").code(), StatusCode::kNotFound);
  expect_consistent("wf-term", run);
}

}  // namespace
}  // namespace cairn
