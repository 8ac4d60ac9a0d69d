// Rules for child workflows, signals / cancel requests to other runs, continue-as-new and the
// history limits: the events, the transfer tasks (the outbox of cross-run effects), dedup of
// redone transfers, and the pending limits.
#include <gtest/gtest.h>

#include "history/transitions_child.h"
#include "tests/history/rules_test_util.h"

namespace cairn::rules_test {
namespace {

using T = v1::EventType;

v1::Command start_child(const std::string& id, v1::ParentClosePolicy policy) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION);
  auto* a = c.mutable_start_child_workflow_execution_command_attributes();
  a->set_workflow_id(id);
  a->mutable_workflow_type()->set_name("child");
  *a->mutable_input() = payloads("x");
  a->set_parent_close_policy(policy);
  return c;
}

v1::Command signal_external(const std::string& id) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION);
  auto* a = c.mutable_signal_external_workflow_execution_command_attributes();
  a->mutable_execution()->set_workflow_id(id);
  a->set_signal_name("ping");
  *a->mutable_input() = payloads("p");
  return c;
}

v1::Command cancel_external(const std::string& id) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION);
  c.mutable_request_cancel_external_workflow_execution_command_attributes()->set_workflow_id(id);
  return c;
}

class ChildRulesTest : public RulesTest {
 protected:
  std::vector<v1::TransferTask> transfers(v1::TransferType type) const {
    std::vector<v1::TransferTask> out;
    for (const auto& [id, t] : tasks_) {
      if (t.kind() == v1::TASK_KIND_TRANSFER && t.transfer().type() == type) {
        out.push_back(t.transfer());
      }
    }
    return out;
  }
  Result<bool> child_started(int64_t initiated, const std::string& run_id) {
    bool applied = false;
    Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) -> Status {
      CAIRN_ASSIGN_OR_RETURN(applied, record_child_started(ms, initiated, run_id, env, out));
      return Status();
    });
    if (!st.ok()) {
      return st;
    }
    return applied;
  }
  Result<bool> child_closed(int64_t initiated, const v1::HistoryEvent& close) {
    bool applied = false;
    Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) -> Status {
      CAIRN_ASSIGN_OR_RETURN(applied, record_child_closed(ms, initiated, "child-run", close, env, out));
      return Status();
    });
    if (!st.ok()) {
      return st;
    }
    return applied;
  }
  static v1::HistoryEvent completed_event(const std::string& result) {
    v1::HistoryEvent e;
    e.set_event_type(v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    *e.mutable_workflow_execution_completed_event_attributes()->mutable_result() = payloads(result);
    return e;
  }
};

TEST_F(ChildRulesTest, StartChildWritesInitiatedEventAndATransferTaskInTheSameTransition) {
  start();
  run_wft({start_child("kid-1", v1::PARENT_CLOSE_POLICY_UNSPECIFIED)});
  ASSERT_EQ(types_of(last_events()),
            (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                            v1::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED}));
  int64_t initiated = last_events()[1].event_id();
  const auto& a = last_events()[1].start_child_workflow_execution_initiated_event_attributes();
  EXPECT_EQ(a.parent_close_policy(), v1::PARENT_CLOSE_POLICY_TERMINATE);  // the default
  EXPECT_EQ(a.task_queue(), ms_.state().task_queue());                   // the parent's
  auto t = transfers(v1::TRANSFER_TYPE_START_CHILD);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].target_workflow_id(), "kid-1");
  EXPECT_EQ(t[0].initiated_event_id(), initiated);
  EXPECT_EQ(t[0].request_id(), ms_.state().run_id() + ":" + std::to_string(initiated));
  EXPECT_EQ(t[0].new_run().parent_workflow_execution().run_id(), ms_.state().run_id());
  EXPECT_EQ(t[0].new_run().parent_initiated_event_id(), initiated);
  EXPECT_EQ(ms_.state().children_size(), 1);
}

TEST_F(ChildRulesTest, ChildStartAndCloseReachTheParentOnceEach) {
  start();
  run_wft({start_child("kid-1", v1::PARENT_CLOSE_POLICY_TERMINATE)});
  int64_t initiated = last_events()[1].event_id();
  auto started = child_started(initiated, "child-run");
  ASSERT_TRUE(started.ok()) << started.status().to_string();
  EXPECT_TRUE(*started);
  EXPECT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
                                                     v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  // A redo of the transfer (after a crash) changes nothing.
  auto again = child_started(initiated, "child-run");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);

  auto closed = child_closed(initiated, completed_event("42"));
  ASSERT_TRUE(closed.ok()) << closed.status().to_string();
  EXPECT_TRUE(*closed);
  ASSERT_EQ(types_of(last_events()),
            (std::vector<T>{v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED}));
  const auto& c = last_events()[0].child_workflow_execution_completed_event_attributes();
  EXPECT_EQ(c.result().payloads(0).data(), "42");
  EXPECT_EQ(c.workflow_execution().run_id(), "child-run");
  EXPECT_EQ(ms_.state().children_size(), 0);
  auto redo = child_closed(initiated, completed_event("42"));
  ASSERT_TRUE(redo.ok());
  EXPECT_FALSE(*redo);
}

TEST_F(ChildRulesTest, CloseBeforeTheStartWasRecordedWritesBoth) {
  start();
  run_wft({start_child("kid-1", v1::PARENT_CLOSE_POLICY_TERMINATE)});
  int64_t initiated = last_events()[1].event_id();
  auto closed = child_closed(initiated, completed_event("r"));
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(types_of(last_events()),
            (std::vector<T>{v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
                            v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
                            v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
}

TEST_F(ChildRulesTest, OutcomesWhileAWorkflowTaskRunsAreBuffered) {
  start();
  run_wft({start_child("kid-1", v1::PARENT_CLOSE_POLICY_TERMINATE)});
  int64_t initiated = last_events()[1].event_id();
  ASSERT_TRUE(transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
                return signal_workflow(ms, "wake", payloads("w"), "c", "", env, out);
              }).ok());
  v1::TaskToken token = start_wft();
  auto started = child_started(initiated, "child-run");
  ASSERT_TRUE(started.ok());
  EXPECT_TRUE(last_events().empty());
  EXPECT_EQ(ms_.state().buffered_events_size(), 1);
  ASSERT_TRUE(complete_wft(token, {}).ok());
  EXPECT_EQ(types_of(last_events()), (std::vector<T>{v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                                     v1::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
                                                     v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  EXPECT_EQ(ms_.state().children().begin()->second.run_id(), "child-run");
}

TEST_F(ChildRulesTest, PendingChildrenAndSignalsAreLimited) {
  limits_.max_pending_children = 1;
  limits_.max_pending_signals = 1;
  start();
  v1::TaskToken token = start_wft();
  Status st = complete_wft(token, {start_child("a", v1::PARENT_CLOSE_POLICY_ABANDON),
                                   start_child("b", v1::PARENT_CLOSE_POLICY_ABANDON)});
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.to_string();
  EXPECT_NE(st.message().find("pending child workflows (limit 1)"), std::string::npos);
  st = complete_wft(token, {signal_external("a"), signal_external("b")});
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.to_string();
  EXPECT_EQ(ms_.state().children_size(), 0);
}

TEST_F(ChildRulesTest, ParentCloseAppliesEachChildsPolicyButAbandon) {
  start();
  run_wft({start_child("kill-me", v1::PARENT_CLOSE_POLICY_TERMINATE),
           start_child("cancel-me", v1::PARENT_CLOSE_POLICY_REQUEST_CANCEL),
           start_child("leave-me", v1::PARENT_CLOSE_POLICY_ABANDON)});
  ASSERT_TRUE(child_started(last_events()[1].event_id(), "kill-run").ok());  // a new task
  run_wft({complete_workflow("done")});
  auto t = transfers(v1::TRANSFER_TYPE_PARENT_CLOSE_POLICY);
  ASSERT_EQ(t.size(), 2u);
  std::map<std::string, v1::ParentClosePolicy> got;
  for (const auto& x : t) {
    got[x.target_workflow_id()] = x.parent_close_policy();
  }
  EXPECT_EQ(got["kill-me"], v1::PARENT_CLOSE_POLICY_TERMINATE);
  EXPECT_EQ(got["cancel-me"], v1::PARENT_CLOSE_POLICY_REQUEST_CANCEL);
  EXPECT_EQ(got.count("leave-me"), 0u);
  EXPECT_EQ(ms_.state().children_size(), 0);
}

TEST_F(ChildRulesTest, AChildReportsItsCloseToItsParent) {
  v1::WorkflowExecutionStartedEventAttributes attrs;
  attrs.mutable_workflow_type()->set_name("child");
  attrs.set_task_queue("q");
  attrs.set_parent_workflow_namespace("default");
  attrs.mutable_parent_workflow_execution()->set_workflow_id("mom");
  attrs.mutable_parent_workflow_execution()->set_run_id("mom-run");
  attrs.set_parent_initiated_event_id(5);
  ASSERT_TRUE(transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
                return start_run_from(attrs, key_, env, ms, out);
              }).ok());
  EXPECT_EQ(ms_.state().parent().workflow_id(), "mom");
  EXPECT_EQ(ms_.state().workflow_task_timeout_ms(), limits_.default_workflow_task_timeout_ms);
  run_wft({complete_workflow("bye")});
  auto t = transfers(v1::TRANSFER_TYPE_CHILD_CLOSED);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].target_run_id(), "mom-run");
  EXPECT_EQ(t[0].initiated_event_id(), 5);
  EXPECT_EQ(t[0].event().event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
}

TEST_F(ChildRulesTest, ContinueAsNewClosesTheRunAndCarriesTheMemo) {
  v1::StartWorkflowExecutionRequest req = start_request();
  (*req.mutable_memo())["k"].set_data("v");
  start(req);
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION);
  *c.mutable_continue_as_new_workflow_execution_command_attributes()->mutable_input() =
      payloads("next");
  run_wft({c});
  ASSERT_EQ(last_events().back().event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
  EXPECT_EQ(ms_.state().status(), v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW);
  ASSERT_TRUE(last_.current.has_value());
  EXPECT_EQ(last_.current->status(), v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW);
  const auto& a = last_events().back().workflow_execution_continued_as_new_event_attributes();
  auto t = transfers(v1::TRANSFER_TYPE_CONTINUE_AS_NEW);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].target_run_id(), a.new_execution_run_id());
  EXPECT_NE(a.new_execution_run_id(), ms_.state().run_id());
  EXPECT_EQ(t[0].new_run().continued_from_run_id(), ms_.state().run_id());
  EXPECT_EQ(t[0].new_run().input().payloads(0).data(), "next");
  EXPECT_EQ(t[0].new_run().memo().at("k").data(), "v");
  EXPECT_EQ(t[0].new_run().workflow_type().name(), ms_.state().workflow_type().name());
}

TEST_F(ChildRulesTest, SignalAndCancelExternalRecordTheirOutcomes) {
  start();
  run_wft({signal_external("other"), cancel_external("gone")});
  int64_t signal_id = last_events()[1].event_id();
  int64_t cancel_id = last_events()[2].event_id();
  EXPECT_EQ(transfers(v1::TRANSFER_TYPE_SIGNAL_EXTERNAL).size(), 1u);
  EXPECT_EQ(transfers(v1::TRANSFER_TYPE_CANCEL_EXTERNAL).size(), 1u);
  ASSERT_TRUE(transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
                return record_external_outcome(
                           ms, true, signal_id,
                           v1::EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_UNSPECIFIED, env, out)
                    .status();
              }).ok());
  EXPECT_EQ(last_events()[0].event_type(), v1::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED);
  ASSERT_TRUE(transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
                return record_external_outcome(
                           ms, false, cancel_id,
                           v1::EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
                           env, out)
                    .status();
              }).ok());
  EXPECT_EQ(last_events()[0].event_type(),
            v1::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
  EXPECT_EQ(ms_.state().pending_signals_size() + ms_.state().pending_cancels_size(), 0);
}

TEST_F(ChildRulesTest, WorkflowTaskStartedSuggestsContinueAsNewPastTheThreshold) {
  limits_.history_suggest_events = 6;
  start();
  v1::TaskToken first = start_wft();
  EXPECT_FALSE(event(first.started_event_id())
                   .workflow_task_started_event_attributes()
                   .suggest_continue_as_new());
  ASSERT_TRUE(complete_wft(first, {start_timer("t", 1000)}).ok());
  ASSERT_TRUE(fire(*find_timer(v1::TIMER_KIND_USER_TIMER)).ok());
  v1::TaskToken second = start_wft();
  EXPECT_GE(second.started_event_id(), 7);
  EXPECT_TRUE(event(second.started_event_id())
                  .workflow_task_started_event_attributes()
                  .suggest_continue_as_new());
}

TEST_F(ChildRulesTest, HistoryPastTheHardLimitTerminatesTheRun) {
  limits_.history_max_events = 5;
  start();
  HistoryLimitCheck check;
  for (int i = 0; i < 10 && ms_.is_open(); ++i) {
    ASSERT_TRUE(transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) -> Status {
                  CAIRN_RETURN_IF_ERROR(
                      signal_workflow(ms, "s", payloads("x"), "c", "", env, out));
                  CAIRN_ASSIGN_OR_RETURN(check, enforce_history_limits(ms, env, out));
                  return Status();
                }).ok());
  }
  EXPECT_TRUE(check.terminated);
  EXPECT_EQ(ms_.state().status(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  const auto& reason = last_events().back().workflow_execution_terminated_event_attributes().reason();
  EXPECT_NE(reason.find("over the limit of 5"), std::string::npos) << reason;
}

}  // namespace
}  // namespace cairn::rules_test
