// Replay of child workflows and signals to other runs: the commands issued, their match with the
// *Initiated events (non-determinism on mismatch), and the futures resolved from the outcomes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cairn/replayer.h"
#include "sdk/history_builder.h"

namespace cairn::testing {
namespace {

using ::testing::HasSubstr;

WorkflowInfo info() {
  WorkflowInfo i;
  i.workflow_id = "wf-1";
  i.run_id = "run-1";
  return i;
}

int parent(WorkflowContext& ctx) {
  return ctx.child<int>("kid", 20, ChildWorkflowOptions{.id = "kid-1"}).get() + 1;
}

int64_t initiated(HistoryBuilder& h, const std::string& type, const std::string& id) {
  auto& e = h.add(v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED);
  auto* a = e.mutable_start_child_workflow_execution_initiated_event_attributes();
  a->set_workflow_id(id);
  a->mutable_workflow_type()->set_name(type);
  return e.event_id();
}

TEST(ChildReplayTest, FirstTaskStartsTheChildWithItsOptions) {
  HistoryBuilder h("parent");
  ReplayResult r = replay(&parent, info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_EQ(r.commands.size(), 1u);
  ASSERT_EQ(r.commands[0].command_type(), v1::COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION);
  const auto& a = r.commands[0].start_child_workflow_execution_command_attributes();
  EXPECT_EQ(a.workflow_id(), "kid-1");
  EXPECT_EQ(a.workflow_type().name(), "kid");
  EXPECT_EQ(from_payloads<int>(a.input()), 20);
  EXPECT_EQ(a.parent_close_policy(), v1::PARENT_CLOSE_POLICY_TERMINATE);
}

TEST(ChildReplayTest, ChildResultResolvesTheHandle) {
  HistoryBuilder h("parent");
  h.task_completed();
  int64_t init = initiated(h, "kid", "kid-1");
  auto* s = h.add(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
                .mutable_child_workflow_execution_started_event_attributes();
  s->set_initiated_event_id(init);
  s->mutable_workflow_execution()->set_run_id("kid-run");
  auto* c = h.add(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)
                .mutable_child_workflow_execution_completed_event_attributes();
  c->set_initiated_event_id(init);
  *c->mutable_result() = to_payloads(41);
  h.workflow_task();
  ReplayResult r = replay(&parent, info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_EQ(r.commands.size(), 1u);
  ASSERT_EQ(r.commands[0].command_type(), v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
  EXPECT_EQ(from_payloads<int>(r.commands[0].complete_workflow_execution_command_attributes()
                                   .result()),
            42);
}

TEST(ChildReplayTest, ChildFailureIsAChildWorkflowErrorWithTheCause) {
  HistoryBuilder h("parent");
  h.task_completed();
  int64_t init = initiated(h, "kid", "kid-1");
  auto* f = h.add(v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED)
                .mutable_child_workflow_execution_failed_event_attributes();
  f->set_initiated_event_id(init);
  f->mutable_failure()->set_message("kid broke");
  h.workflow_task();
  ReplayResult r = replay(
      +[](WorkflowContext& ctx) -> std::string {
        try {
          ctx.child<int>("kid", 20, ChildWorkflowOptions{.id = "kid-1"}).get();
          return "no error";
        } catch (const ChildWorkflowError& e) {
          return e.cause().message() + "/" + e.workflow_id();
        }
      },
      info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(from_payloads<std::string>(
                r.commands[0].complete_workflow_execution_command_attributes().result()),
            "kid broke/kid-1");
}

TEST(ChildReplayTest, AnotherChildInHistoryIsANonDeterminismError) {
  HistoryBuilder h("parent");
  h.task_completed();
  int64_t init = initiated(h, "other-kid", "kid-1");
  h.workflow_task();
  ReplayResult r = replay(&parent, info(), h.events());
  ASSERT_TRUE(r.task_failed);
  EXPECT_EQ(r.cause, v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  EXPECT_THAT(r.failure.message(), HasSubstr("non-determinism at event " + std::to_string(init)));
}

TEST(ChildReplayTest, SignalExternalResolvesWhenSignaled) {
  auto sender = +[](WorkflowContext& ctx) {
    ctx.signal_external("other", "", "ping", 7).get();
    return ctx.info().continue_as_new_suggested;
  };
  HistoryBuilder h("sender");
  h.task_completed();
  auto& e = h.add(v1::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED);
  auto* a = e.mutable_signal_external_workflow_execution_initiated_event_attributes();
  a->mutable_workflow_execution()->set_workflow_id("other");
  a->set_signal_name("ping");
  int64_t init = e.event_id();
  h.add(v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED)
      .mutable_external_workflow_execution_signaled_event_attributes()
      ->set_initiated_event_id(init);
  h.add(v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  h.add(v1::EVENT_TYPE_WORKFLOW_TASK_STARTED)
      .mutable_workflow_task_started_event_attributes()
      ->set_suggest_continue_as_new(true);
  ReplayResult r = replay(sender, info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_TRUE(from_payloads<bool>(
      r.commands[0].complete_workflow_execution_command_attributes().result()));
}

}  // namespace
}  // namespace cairn::testing
