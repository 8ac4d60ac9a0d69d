// End to end: human approval answered by update — through cairnctl (approval list | show |
// approve | reject with -o json and as tables), across a kill -9 of the server, with a second
// answer and an unknown approver refused, and the timeout and escalation paths on durable timers.
#include <chrono>

#include "ai/e2e/approval_fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

int updates_accepted(WorkflowHandle& h) {
  int n = 0;
  for (const auto& e : h.history()) {
    n += e.event_type() == v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED ? 1 : 0;
  }
  return n;
}

TEST_F(ApprovalTest, ApprovedThroughCairnctl) {
  ai::register_approval_search_attributes(*client_);  // again: a no-op
  auto h = start_approval("refund-1", {{"id", "refund-17"}, {"details", {{"amount", 420}}}});
  ASSERT_TRUE(eventually([&] { return awaiting_ids() == std::vector<std::string>{"refund-1"}; }));

  json listed = ctl_json({"approval", "list"});
  ASSERT_TRUE(listed.is_array() && listed.size() == 1) << listed;
  EXPECT_EQ(listed[0]["workflow_id"], "refund-1");
  EXPECT_EQ(listed[0]["approval_id"], "refund-17");
  EXPECT_EQ(listed[0]["what"], "refund $420 to customer c-17");
  EXPECT_EQ(listed[0]["approvers"], json({"alice", "bob"}));
  EXPECT_EQ(listed[0]["since"].get<std::string>().size(), 24u) << listed[0];  // RFC 3339, ms
  EXPECT_EQ(ctl_json({"approval", "list", "--approver", "bob"}).size(), 1u);
  EXPECT_EQ(ctl_json({"approval", "list", "--approver", "carol"}), json::array());
  Run table = ctl({"approval", "list"});
  EXPECT_EQ(table.exit, 0);
  EXPECT_NE(table.output.find("refund-17"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("refund $420 to customer c-17"), std::string::npos);

  json shown = ctl_json({"approval", "show", "-w", "refund-1"});
  EXPECT_EQ(shown["approval"]["state"], "waiting") << shown;
  EXPECT_EQ(shown["approval"]["pending"], true);
  EXPECT_EQ(shown["approval"]["details"]["amount"], 420);
  EXPECT_EQ(shown["approval"]["approvers"], json({"alice", "bob"}));
  EXPECT_GT(shown["approval"]["deadline_ms"].get<int64_t>(),
            shown["approval"]["requested_at_ms"].get<int64_t>());

  json approved =
      ctl_json({"approval", "approve", "-w", "refund-1", "--by", "alice", "--comment", "ok"});
  EXPECT_EQ(approved["decision"]["approved"], true) << approved;
  EXPECT_EQ(approved["decision"]["by"], "alice");
  EXPECT_EQ(approved["decision"]["via"], "update");
  EXPECT_EQ(approved["decision"]["approval_id"], "refund-17");

  auto d = h.result<ai::ApprovalDecision>(30s);
  EXPECT_TRUE(d.approved);
  EXPECT_EQ(d.by, "alice");
  EXPECT_EQ(d.comment, "ok");
  EXPECT_EQ(d.via, "update");
  EXPECT_FALSE(d.escalated);
  ASSERT_TRUE(eventually([&] { return awaiting_ids().empty(); }));
  EXPECT_EQ(ctl_json({"approval", "list"}), json::array());
  // The closed run still shows how its approval ended.
  Run card = ctl({"approval", "show", "-w", "refund-1"});
  EXPECT_EQ(card.exit, 0) << card.output;
  EXPECT_NE(card.output.find("approved by alice"), std::string::npos) << card.output;
  // The wait time went to the worker's hook once.
  ASSERT_EQ(waits().size(), 1u);
  EXPECT_GE(waits()[0], 0.0);
  expect_replays("refund-1");
}

TEST_F(ApprovalTest, ASecondAnswerIsRefusedNamingTheFirst) {
  auto h = start_approval("refund-2", {{"hold", true}});
  await_state("refund-2", "waiting");
  ai::ApprovalDecision first = ai::answer_approval(*client_, "refund-2", {"", true, "alice", ""});
  EXPECT_EQ(first.by, "alice");
  const int accepted = updates_accepted(h);

  json refused = ctl_json({"approval", "reject", "-w", "refund-2", "--by", "bob"}, 1);
  EXPECT_EQ(refused["error"]["code"], "APPROVAL_CONFLICT") << refused;
  const std::string message = refused["error"]["message"];
  EXPECT_NE(message.find("already approved by alice at "), std::string::npos) << message;
  EXPECT_NE(message.find("via update"), std::string::npos) << message;
  try {
    ai::answer_approval(*client_, "refund-2", {"", true, "alice", "again"});
    ADD_FAILURE() << "a second answer was taken";
  } catch (const ai::ApprovalError& e) {
    EXPECT_EQ(e.type(), "ApprovalConflict");
  }
  EXPECT_EQ(updates_accepted(h), accepted) << "a refused answer must not write history";
  h.signal("done", std::string("ok"));
  EXPECT_EQ(h.result<ai::ApprovalDecision>(30s), first);
}

TEST_F(ApprovalTest, AnUnknownApproverIsRefusedAndTheApprovalStaysOpen) {
  auto h = start_approval("refund-3", {});
  await_state("refund-3", "waiting");
  json refused = ctl_json({"approval", "approve", "-w", "refund-3", "--by", "mallory"}, 1);
  EXPECT_EQ(refused["error"]["code"], "UNKNOWN_APPROVER") << refused;
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("mallory may not answer approval"),
            std::string::npos)
      << refused;
  Run plain = ctl({"approval", "approve", "-w", "refund-3", "--by", "mallory"});
  EXPECT_EQ(plain.exit, 1);
  EXPECT_NE(plain.output.find("its approvers are alice, bob"), std::string::npos) << plain.output;
  EXPECT_EQ(updates_accepted(h), 0);
  EXPECT_EQ(ai::approval_status(*client_, "refund-3").state, "waiting");

  json rejected = ctl_json({"approval", "reject", "-w", "refund-3", "--by", "bob"});
  EXPECT_EQ(rejected["decision"]["approved"], false);
  auto d = h.result<ai::ApprovalDecision>(30s);
  EXPECT_FALSE(d.approved);
  EXPECT_EQ(d.by, "bob");
  // A run without an approval, and one that is gone.
  json none = ctl_json({"approval", "approve", "-w", "no-such-run", "--by", "bob"}, 1);
  EXPECT_EQ(none["error"]["code"], "NOT_FOUND") << none;
  json closed = ctl_json({"approval", "approve", "-w", "refund-3", "--by", "alice"}, 1);
  EXPECT_EQ(closed["error"]["code"], "APPROVAL_CONFLICT") << closed;
  EXPECT_NE(closed["error"]["message"].get<std::string>().find("already rejected by bob"),
            std::string::npos)
      << closed;
}

TEST_F(ApprovalTest, ApprovalAfterAServerRestart) {
  auto h = start_approval("refund-4", {{"timeout_ms", 120'000}});
  await_state("refund-4", "waiting");
  const int port = server_->port();
  server_->kill9();
  std::string error;
  ASSERT_TRUE(server_->start(port, 30s, &error)) << error;
  ASSERT_TRUE(client_->wait_until_ready(30s));
  // Still listed after the crash: the upsert was committed with its workflow task.
  ASSERT_TRUE(eventually([&] { return awaiting_ids() == std::vector<std::string>{"refund-4"}; }));
  json approved = ctl_json(
      {"approval", "approve", "-w", "refund-4", "--by", "bob", "--retry-unavailable", "30"});
  EXPECT_EQ(approved["decision"]["by"], "bob") << approved;
  auto d = h.result<ai::ApprovalDecision>(60s);
  EXPECT_TRUE(d.approved);
  EXPECT_EQ(d.by, "bob");
  EXPECT_EQ(updates_accepted(h), 1);
}

TEST_F(ApprovalTest, NoAnswerInTimeTakesTheTimeoutPathAndRefusesLateAnswers) {
  auto h = start_approval("refund-5", {{"timeout_ms", 1000}, {"hold", true}});
  ai::ApprovalStatus s = await_state("refund-5", "timed_out");
  ASSERT_TRUE(s.decision) << nlohmann::json(s);
  EXPECT_FALSE(s.decision->approved);
  EXPECT_EQ(s.decision->via, "timeout");
  EXPECT_EQ(s.decision->comment, "no answer within 1s");
  EXPECT_GE(s.decision->decided_at_ms - s.requested_at_ms, 1000);
  EXPECT_GE(count(h.history(), v1::EVENT_TYPE_TIMER_FIRED), 1);
  ASSERT_TRUE(eventually([&] { return awaiting_ids().empty(); }));

  json late = ctl_json({"approval", "approve", "-w", "refund-5", "--by", "alice"}, 1);
  EXPECT_EQ(late["error"]["code"], "APPROVAL_TIMED_OUT") << late;
  EXPECT_NE(late["error"]["message"].get<std::string>().find("answers are no longer accepted"),
            std::string::npos);
  h.signal("done", std::string("ok"));
  EXPECT_EQ(h.result<ai::ApprovalDecision>(30s).via, "timeout");
}

TEST_F(ApprovalTest, EscalationLetsTheEscalationApproversAnswer) {
  auto h = start_approval(
      "refund-6",
      {{"timeout_ms", 1000}, {"escalation", {"carol"}}, {"escalation_timeout_ms", 120'000}});
  await_state("refund-6", "waiting");
  // Before the escalation carol is not an approver yet (unless the first wait just ended).
  try {
    ai::answer_approval(*client_, "refund-6", {"", true, "carol", ""});
    EXPECT_EQ(ai::approval_status(*client_, "refund-6").state, "approved");
  } catch (const ai::ApprovalError& e) {
    EXPECT_EQ(e.type(), "UnknownApprover");
    EXPECT_NE(std::string(e.what()).find("carol may answer once it is escalated"),
              std::string::npos)
        << e.what();
    ai::ApprovalStatus s = await_state("refund-6", "escalated");
    EXPECT_EQ(s.approvers, (std::vector<std::string>{"alice", "bob", "carol"}));
    json shown = ctl_json({"approval", "list", "--approver", "carol"});
    EXPECT_EQ(shown.size(), 1u) << shown;
    json approved = ctl_json({"approval", "approve", "-w", "refund-6", "--by", "carol"});
    EXPECT_EQ(approved["decision"]["via"], "escalation") << approved;
  }
  auto d = h.result<ai::ApprovalDecision>(30s);
  EXPECT_TRUE(d.approved);
  EXPECT_EQ(d.by, "carol");
  EXPECT_TRUE(d.escalated);
  expect_replays("refund-6");
}

TEST_F(ApprovalTest, AnUnansweredEscalationTimesOut) {
  auto h = start_approval(
      "refund-7", {{"timeout_ms", 500}, {"escalation", {"carol"}}, {"escalation_timeout_ms", 500}});
  auto d = h.result<ai::ApprovalDecision>(30s);
  EXPECT_FALSE(d.approved);
  EXPECT_EQ(d.via, "timeout");
  EXPECT_TRUE(d.escalated);
  EXPECT_EQ(d.comment, "no answer within 500ms and 500ms after escalation");
  EXPECT_EQ(count(h.history(), v1::EVENT_TYPE_TIMER_FIRED), 2);
  expect_replays("refund-7");
}

TEST_F(ApprovalTest, ACanceledRunStopsAwaitingApproval) {
  auto h = start_approval("refund-9", {});
  await_state("refund-9", "waiting");
  ASSERT_TRUE(eventually([&] { return awaiting_ids() == std::vector<std::string>{"refund-9"}; }));
  h.cancel("not needed any more");
  EXPECT_THROW(h.result<ai::ApprovalDecision>(30s), WorkflowFailedError);
  // Cleared before the run closed: a canceled run is not left in `approval list`.
  EXPECT_TRUE(awaiting_ids().empty());
  EXPECT_EQ(ai::approval_status(*client_, "refund-9").state, "canceled");
  json late = ctl_json({"approval", "approve", "-w", "refund-9", "--by", "alice"}, 1);
  EXPECT_EQ(late["error"]["code"], "NOT_PENDING") << late;
}

TEST_F(ApprovalTest, BadRequestsFailTheRunNamingTheField) {
  auto h = start_approval("refund-8", {{"approvers", json::array()}});
  try {
    h.result<ai::ApprovalDecision>(30s);
    ADD_FAILURE() << "a request without approvers was accepted";
  } catch (const WorkflowFailedError& e) {
    EXPECT_NE(std::string(e.what()).find("approvers is empty"), std::string::npos) << e.what();
  }
  json missing = ctl_json({"approval", "approve", "-w", "refund-8"}, 2);
  EXPECT_EQ(missing["error"]["code"], "USAGE");
}

}  // namespace
}  // namespace cairn::testing
