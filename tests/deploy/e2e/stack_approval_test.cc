// Approval of a deploy: bound to the plan's hash, answered through the AI batteries' approval
// update, refused for a stale plan, expiring with nothing changed.
#include "cairn/ai/approval.h"
#include "deploy/e2e/stack_fixture.h"

namespace cairn::deploy::testing {
namespace {

using ::testing::HasSubstr;

// An endpoint adding $1/h against a $0.50/h limit: the policy wants a person.
std::string costly(int replicas) {
  return "name: costly\n"
         "policy:\n  max_added_cost_per_hour: 0.50\n"
         "resources:\n"
         "  llm:\n    type: model_endpoint\n    inputs:\n"
         "      tier: premium\n      model: lumen-large\n      price_per_hour: 1.00\n"
         "      replicas: " +
         std::to_string(replicas) + "\n";
}

class StackApprovalTest : public StackTest {
 protected:
  DeployRecord await_awaiting(const std::string& stack) {
    StackStatus s = await_status(stack, [](const StackStatus& s) {
      return s.running && s.running->state == "awaiting_approval";
    });
    EXPECT_TRUE(s.running.has_value());
    return s.running.value_or(DeployRecord{});
  }
};

TEST_F(StackApprovalTest, APlanThePolicyFlagsWaitsForApprovalThenApplies) {
  StackAccepted a = submit("costly", apply_request(costly(1)));
  DeployRecord waiting = await_awaiting("costly");
  ASSERT_EQ(waiting.approval_id, "plan-" + waiting.plan_hash.substr(0, 16));
  EXPECT_EQ(running_processes(), 0);  // nothing changes before the answer

  ai::ApprovalStatus pending = ai::approval_status(*client_, stack_workflow_id("costly"));
  EXPECT_TRUE(pending.pending());
  EXPECT_EQ(pending.approvers, (std::vector<std::string>{"alice"}));  // requested_by
  EXPECT_EQ(pending.details["plan_hash"], waiting.plan_hash);

  ai::ApprovalDecision decision = ai::answer_approval(
      *client_, stack_workflow_id("costly"), {waiting.approval_id, true, "alice", "ok"});
  EXPECT_TRUE(decision.approved);
  DeployRecord d = wait_deploy("costly", a.deploy_id);
  ASSERT_EQ(d.state, "succeeded") << dump(d) << worker_logs();
  EXPECT_EQ(d.approved_by, "alice");
  EXPECT_EQ(running_processes(), 1);
}

TEST_F(StackApprovalTest, AStalePlansApprovalIsRefused) {
  // The plan someone was shown earlier (two replicas), not the one now waiting (one).
  StackParseResult shown = parse_stack(costly(2), "stack.yaml");
  ASSERT_TRUE(shown.ok());
  Plan stale = plan_against_recorded(*client_, *shown.spec);

  // An apply carrying the stale plan's hash fails before it changes anything.
  StackRequest r = apply_request(costly(1));
  r.approved_plan_hash = stale.hash;
  DeployRecord refused = wait_deploy("costly", submit("costly", r).deploy_id);
  EXPECT_EQ(refused.state, "failed");
  EXPECT_THAT(refused.error, HasSubstr("the plan changed since it was shown (shown " +
                                       stale.hash.substr(0, 16) + ", now "));
  EXPECT_EQ(running_processes(), 0);

  // An answer to the stale plan's approval id is refused by the approval machinery.
  StackAccepted a = submit("costly", apply_request(costly(1)));
  DeployRecord waiting = await_awaiting("costly");
  try {
    ai::answer_approval(*client_, stack_workflow_id("costly"),
                        {"plan-" + stale.hash.substr(0, 16), true, "alice", ""});
    ADD_FAILURE() << "the stale plan's approval was taken";
  } catch (const ai::ApprovalError& e) {
    EXPECT_EQ(e.type(), "ApprovalNotFound") << e.what();
  }
  EXPECT_EQ(stack_status(*client_, "costly").running->state, "awaiting_approval");
  EXPECT_EQ(running_processes(), 0);
  // The right one applies.
  ai::answer_approval(*client_, stack_workflow_id("costly"),
                      {waiting.approval_id, true, "alice", ""});
  EXPECT_EQ(wait_deploy("costly", a.deploy_id).state, "succeeded");
  EXPECT_EQ(running_processes(), 1);
}

TEST_F(StackApprovalTest, AnApprovalNobodyAnswersExpiresWithNothingChanged) {
  StackRequest r = apply_request(costly(1));
  r.approval_timeout = std::chrono::milliseconds(1500);
  DeployRecord d = wait_deploy("costly", submit("costly", r).deploy_id);
  EXPECT_EQ(d.state, "expired") << dump(d);
  EXPECT_THAT(d.error, HasSubstr("nothing was changed"));
  EXPECT_EQ(running_processes(), 0);
  EXPECT_TRUE(stack_status(*client_, "costly").resources.empty());
  // The lock is free again.
  StackRequest again = apply_request(costly(1));
  again.approval_timeout = std::chrono::milliseconds(1500);
  EXPECT_NO_THROW(submit("costly", again));
}

TEST_F(StackApprovalTest, ARejectedPlanChangesNothing) {
  StackAccepted a = submit("costly", apply_request(costly(1)));
  DeployRecord waiting = await_awaiting("costly");
  ai::answer_approval(*client_, stack_workflow_id("costly"),
                      {waiting.approval_id, false, "alice", "too expensive"});
  DeployRecord d = wait_deploy("costly", a.deploy_id);
  EXPECT_EQ(d.state, "rejected");
  EXPECT_THAT(d.error, HasSubstr("too expensive"));
  EXPECT_EQ(running_processes(), 0);
}

}  // namespace
}  // namespace cairn::deploy::testing
