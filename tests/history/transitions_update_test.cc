// Workflow update rules on the server: admission (and deduplication), delivery with a workflow
// task, rejection without events, accept / complete commands and their events, and what happens
// to updates a task did not handle.
#include <gtest/gtest.h>

#include "history/mutable_state_apply.h"
#include "history/update_rules.h"
#include "tests/history/rules_test_util.h"

namespace cairn::rules_test {
namespace {

v1::Command accept(const std::string& id) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_ACCEPT_WORKFLOW_UPDATE);
  c.mutable_accept_workflow_update_command_attributes()->set_update_id(id);
  return c;
}

v1::Command complete(const std::string& id, const std::string& result) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_UPDATE);
  c.mutable_complete_workflow_update_command_attributes()->set_update_id(id);
  *c.mutable_complete_workflow_update_command_attributes()->mutable_result() = payloads(result);
  return c;
}

class UpdateRulesTest : public RulesTest {
 protected:
  // A started run whose first task completed with a timer: the workflow is waiting.
  void SetUp() override {
    start();
    run_wft({start_timer("t1", 60'000)});
  }

  Result<bool> admit(const std::string& id, const std::string& name = "set") {
    bool admitted = false;
    Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) -> Status {
      CAIRN_ASSIGN_OR_RETURN(admitted, admit_update(ms, id, name, payloads("\"v\""), env, out));
      return Status();
    });
    CAIRN_RETURN_IF_ERROR(st);
    return admitted;
  }

  // Starts the pending workflow task and delivers the admitted updates with it.
  v1::TaskToken start_with_updates(std::vector<std::string>* ids) {
    v1::TaskToken token = start_wft();
    google::protobuf::RepeatedPtrField<v1::WorkflowUpdateRequest> requests;
    EXPECT_TRUE(transact([&](MutableState* ms, const TransitionEnv&, Effects*) {
                  deliver_updates(ms, token.started_event_id(), &requests);
                  return Status();
                }).ok());
    for (const auto& r : requests) {
      ids->push_back(r.update_id());
    }
    return token;
  }

  Status finish(const v1::TaskToken& token, const std::vector<v1::Command>& commands,
                const std::vector<v1::WorkflowUpdateRejection>& rejections = {}) {
    google::protobuf::RepeatedPtrField<v1::Command> cmds(commands.begin(), commands.end());
    google::protobuf::RepeatedPtrField<v1::WorkflowUpdateRejection> rej(rejections.begin(),
                                                                        rejections.end());
    return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) -> Status {
      CAIRN_RETURN_IF_ERROR(reject_updates(ms, rej));
      CAIRN_RETURN_IF_ERROR(complete_workflow_task(ms, token, cmds, "worker-1", env, out));
      return finish_update_delivery(ms, token.started_event_id(), env, out);
    });
  }

  v1::UpdateState state_of(const std::string& id) const {
    auto it = ms_.state().updates().find(id);
    return it == ms_.state().updates().end() ? v1::UPDATE_STATE_UNSPECIFIED : it->second.state();
  }
};

TEST_F(UpdateRulesTest, AdmittingSchedulesAWorkflowTaskAndWritesNoUpdateEvent) {
  size_t before = history_.size();
  auto admitted = admit("u1");
  ASSERT_TRUE(admitted.ok()) << admitted.status().to_string();
  EXPECT_TRUE(*admitted);
  EXPECT_EQ(state_of("u1"), v1::UPDATE_STATE_ADMITTED);
  EXPECT_EQ(types_of(last_events()),
            std::vector<v1::EventType>{v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED});
  EXPECT_EQ(history_.size(), before + 1);
}

TEST_F(UpdateRulesTest, ARepeatedUpdateIdIsNotAdmittedTwice) {
  ASSERT_TRUE(admit("u1").ok());
  auto again = admit("u1");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(ms_.state().updates_size(), 1);
}

TEST_F(UpdateRulesTest, AcceptAndCompleteWriteEvents41And43) {
  ASSERT_TRUE(admit("u1").ok());
  std::vector<std::string> ids;
  v1::TaskToken token = start_with_updates(&ids);
  ASSERT_EQ(ids, std::vector<std::string>{"u1"});
  Status st = finish(token, {accept("u1"), complete("u1", "\"done\"")});
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(types_of(last_events()),
            (std::vector<v1::EventType>{v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                        v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
                                        v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}));
  const auto& accepted = last_events()[1].workflow_execution_update_accepted_event_attributes();
  EXPECT_EQ(accepted.name(), "set");
  EXPECT_EQ(accepted.accepted_request_sequencing_event_id(), token.started_event_id());
  EXPECT_EQ(state_of("u1"), v1::UPDATE_STATE_COMPLETED);
  EXPECT_EQ(ms_.state().updates().at("u1").result().payloads(0).data(), "\"done\"");
}

TEST_F(UpdateRulesTest, ARejectionWritesNoUpdateEventAndKeepsTheOutcome) {
  ASSERT_TRUE(admit("u1").ok());
  std::vector<std::string> ids;
  v1::TaskToken token = start_with_updates(&ids);
  v1::WorkflowUpdateRejection r;
  r.set_update_id("u1");
  r.mutable_failure()->set_message("negative amounts are not allowed");
  ASSERT_TRUE(finish(token, {}, {r}).ok());
  EXPECT_EQ(types_of(last_events()),
            std::vector<v1::EventType>{v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED});
  EXPECT_EQ(state_of("u1"), v1::UPDATE_STATE_REJECTED);
  EXPECT_EQ(ms_.state().updates().at("u1").failure().message(), "negative amounts are not allowed");
  EXPECT_FALSE(ms_.has_workflow_task());
}

TEST_F(UpdateRulesTest, CompletingAnUpdateThatWasNotAcceptedIsABadCommand) {
  ASSERT_TRUE(admit("u1").ok());
  std::vector<std::string> ids;
  v1::TaskToken token = start_with_updates(&ids);
  Status st = finish(token, {complete("u1", "1")});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("not accepted"), std::string::npos) << st.to_string();
  EXPECT_EQ(state_of("u1"), v1::UPDATE_STATE_ADMITTED);  // nothing changed
}

TEST_F(UpdateRulesTest, AnUpdateTheTaskDidNotHandleIsRejectedInsteadOfLooping) {
  ASSERT_TRUE(admit("u1").ok());
  std::vector<std::string> ids;
  v1::TaskToken token = start_with_updates(&ids);
  ASSERT_TRUE(finish(token, {}).ok());
  EXPECT_EQ(state_of("u1"), v1::UPDATE_STATE_REJECTED);
  EXPECT_FALSE(ms_.has_workflow_task());
}

TEST_F(UpdateRulesTest, AnUpdateAdmittedWhileATaskRunsGetsTheNextTask) {
  ASSERT_TRUE(admit("u1").ok());
  std::vector<std::string> ids;
  v1::TaskToken token = start_with_updates(&ids);
  ASSERT_TRUE(admit("u2").ok());  // arrives while the task runs: no new task yet
  ASSERT_TRUE(finish(token, {accept("u1"), complete("u1", "1")}).ok());
  EXPECT_EQ(state_of("u2"), v1::UPDATE_STATE_ADMITTED);
  ASSERT_TRUE(ms_.has_workflow_task());
  EXPECT_EQ(last_events().back().event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
}

TEST_F(UpdateRulesTest, AClosedRunAdmitsNothing) {
  ASSERT_TRUE(admit("u0").ok());
  std::vector<std::string> ids;
  v1::TaskToken token = start_with_updates(&ids);
  ASSERT_TRUE(finish(token, {accept("u0"), complete("u0", "1"), complete_workflow("\"r\"")}).ok());
  auto st = admit("u1");
  EXPECT_EQ(st.status().code(), StatusCode::kNotFound);
  // A known id still answers (deduplication outlives the run).
  auto again = admit("u0");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
}

}  // namespace
}  // namespace cairn::rules_test

namespace cairn::rules_test {
namespace {

TEST_F(UpdateRulesTest, OnlyTheNewestCompletedOutcomesAreKeptAndARebuildKeepsTheSame) {
  const int total = state_apply::kMaxCompletedUpdates + 5;
  for (int i = 0; i < total; ++i) {
    std::string id = "u" + std::to_string(i);
    ASSERT_TRUE(admit(id).ok());
    std::vector<std::string> ids;
    v1::TaskToken token = start_with_updates(&ids);
    ASSERT_TRUE(finish(token, {accept(id), complete(id, "\"done\"")}).ok());
  }
  EXPECT_EQ(ms_.state().updates_size(), state_apply::kMaxCompletedUpdates);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(state_of("u" + std::to_string(i)), v1::UPDATE_STATE_UNSPECIFIED) << i;
  }
  EXPECT_EQ(state_of("u5"), v1::UPDATE_STATE_COMPLETED);
  EXPECT_FALSE(ms_.state().updates().at("u5").has_input());  // outcome only
  EXPECT_EQ(ms_.state().updates().at("u5").result().payloads(0).data(), "\"done\"");
  // The same updates are forgotten when the state is rebuilt from the history.
  MutableState rebuilt;
  for (const auto& e : history_) {
    ASSERT_TRUE(rebuilt.apply(e).ok());
  }
  EXPECT_EQ(rebuilt.state().updates_size(), state_apply::kMaxCompletedUpdates);
  EXPECT_EQ(rebuilt.state().updates().count("u4"), 0u);
  EXPECT_EQ(rebuilt.state().updates().count("u5"), 1u);
}

}  // namespace
}  // namespace cairn::rules_test
