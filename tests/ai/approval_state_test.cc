// The rules of a human approval without a server: which answers are taken, the refusal
// messages people see, the option checks, and the encodings of the webhook notice.
#include "ai/src/approval_state.h"

#include <gtest/gtest.h>

#include "cairn/ai/approval.h"

namespace cairn::ai::approval_internal {
namespace {

ApprovalStatus waiting() {
  ApprovalStatus s;
  s.approval_id = "refund-17";
  s.what = "refund $420";
  s.state = "waiting";
  s.approvers = {"alice", "bob"};
  s.escalation_approvers = {"carol"};
  return s;
}

ApprovalRequest valid_request() {
  ApprovalRequest r;
  r.what = "refund $420";
  r.approvers = {"alice"};
  r.timeout = std::chrono::minutes(5);
  return r;
}

std::string field_of(const ApprovalRequest& r) {
  try {
    check_request(r);
  } catch (const OptionsError& e) {
    return e.field();
  }
  return "";
}

TEST(ApprovalRules, AnApproverInTheListIsTaken) {
  EXPECT_FALSE(check_answer(waiting(), {"", true, "bob", "ok"}));
  EXPECT_FALSE(check_answer(waiting(), {"refund-17", false, "alice", ""}));
}

TEST(ApprovalRules, AnUnknownApproverIsRefusedNamingTheApprovers) {
  auto r = check_answer(waiting(), {"", true, "mallory", ""});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, "UnknownApprover");
  EXPECT_EQ(r->message,
            "mallory may not answer approval refund-17: its approvers are alice, bob (carol may "
            "answer once it is escalated)");
  // Before the escalation, an escalation approver is not yet an approver.
  EXPECT_EQ(check_answer(waiting(), {"", true, "carol", ""})->type, "UnknownApprover");
}

TEST(ApprovalRules, ASecondAnswerIsAConflictNamingTheFirst) {
  ApprovalStatus s = waiting();
  s.state = "approved";
  s.decision = ApprovalDecision{true, "alice", "", "update", 1'796'613'000'123, "refund-17"};
  auto r = check_answer(s, {"", false, "bob", ""});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, "ApprovalConflict");
  EXPECT_EQ(r->message,
            "approval refund-17 already approved by alice at 2026-12-07T03:10:00.123Z via update");
  // Even the same approver cannot answer twice.
  EXPECT_EQ(check_answer(s, {"", true, "alice", ""})->type, "ApprovalConflict");
}

TEST(ApprovalRules, AnswersAfterTheTimeoutAreRefused) {
  ApprovalStatus s = waiting();
  s.state = "timed_out";
  s.decision = ApprovalDecision{false, "", "no answer within 5m", "timeout", 1'796'613'000'000};
  auto r = check_answer(s, {"", true, "alice", ""});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, "ApprovalTimedOut");
  EXPECT_NE(r->message.find("timed out at 2026-12-07T03:10:00.000Z"), std::string::npos)
      << r->message;
}

TEST(ApprovalRules, AnotherApprovalIdOrNoApproverIsRefused) {
  EXPECT_EQ(check_answer(waiting(), {"refund-18", true, "alice", ""})->type, "ApprovalNotFound");
  EXPECT_EQ(check_answer(waiting(), {"", true, "", ""})->type, "InvalidAnswer");
  ApprovalStatus canceled = waiting();
  canceled.state = "canceled";
  EXPECT_EQ(check_answer(canceled, {"", true, "alice", ""})->type, "ApprovalNotFound");
}

TEST(ApprovalRules, TheRefusalTypeSurvivesInTheMessage) {
  ApprovalError e = to_error({"ApprovalConflict", "approval a already approved by x"});
  EXPECT_EQ(e.type(), "ApprovalConflict");
  EXPECT_TRUE(e.non_retryable());
  std::string rejected = std::string("update cairn.approval.answer rejected: ") + e.what();
  EXPECT_EQ(approval_refusal_type(rejected), "ApprovalConflict");
  EXPECT_EQ(approval_refusal_type("update cairn.approval.answer rejected: closing"), "");
}

TEST(ApprovalRules, RequestOptionsAreCheckedNamingTheField) {
  EXPECT_EQ(field_of(valid_request()), "");
  ApprovalRequest r = valid_request();
  r.what.clear();
  EXPECT_EQ(field_of(r), "what");
  r = valid_request();
  r.approvers.clear();
  EXPECT_EQ(field_of(r), "approvers");
  r = valid_request();
  r.approvers = {"alice", " "};
  EXPECT_EQ(field_of(r), "approvers[1]");
  r = valid_request();
  r.timeout = std::chrono::milliseconds(0);
  EXPECT_EQ(field_of(r), "timeout");
  r = valid_request();
  r.escalation.approvers = {"carol"};
  EXPECT_EQ(field_of(r), "escalation.timeout");
  r.escalation.timeout = std::chrono::hours(1);
  EXPECT_EQ(field_of(r), "");
  r = valid_request();
  r.escalation.timeout = std::chrono::hours(1);
  EXPECT_EQ(field_of(r), "escalation.approvers");
  r = valid_request();
  r.webhook_url = "ftp://example";
  EXPECT_EQ(field_of(r), "webhook_url");
  r.webhook_url = "http://127.0.0.1:1/hook";
  EXPECT_EQ(field_of(r), "");
}

TEST(ApprovalRules, EscalationAddsApproversOnce) {
  EXPECT_EQ(merged({"alice", "bob"}, {"bob", "carol"}),
            (std::vector<std::string>{"alice", "bob", "carol"}));
}

TEST(ApprovalEncoding, Base64RoundTripsEveryLengthAndRefusesGarbage) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes) << i;
    bytes.push_back(static_cast<char>(i * 37 + 200));
  }
  EXPECT_EQ(base64_encode("Man"), "TWFu");
  EXPECT_EQ(base64_encode("Ma"), "TWE=");
  EXPECT_EQ(base64_encode("M"), "TQ==");
  EXPECT_FALSE(base64_decode("TWF"));
  EXPECT_FALSE(base64_decode("T!Fu"));
  EXPECT_FALSE(base64_decode("T=Fu"));
}

TEST(ApprovalEncoding, TimesAndDurationsForPeople) {
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339(1'796'613'000'123), "2026-12-07T03:10:00.123Z");
  EXPECT_EQ(duration_words(250), "250ms");
  EXPECT_EQ(duration_words(30'000), "30s");
  EXPECT_EQ(duration_words(90'000), "1m30s");
  EXPECT_EQ(duration_words(7'200'000), "2h");
}

TEST(ApprovalEncoding, JsonRoundTrips) {
  ApprovalDecision d{true, "alice", "fine", "webhook", 42, "a-1", true};
  EXPECT_EQ(nlohmann::json(d).get<ApprovalDecision>(), d);
  ApprovalAnswer a{"a-1", false, "bob", "no"};
  EXPECT_EQ(nlohmann::json(a).get<ApprovalAnswer>(), a);
  ApprovalNotice n;
  n.approval_id = "a-1";
  n.workflow_id = "wf";
  n.task_token = base64_encode(std::string("\x00\x01\xff", 3));
  n.details = {{"amount", 420}};
  n.approvers = {"alice"};
  n.deadline_ms = 99;
  EXPECT_EQ(parse_approval_notice(nlohmann::json(n).dump()), n);
  EXPECT_THROW(parse_approval_notice("[1]"), PayloadError);
  ApprovalStatus s = waiting();
  s.decision = d;
  s.ignored.push_back({{"by", "x"}});
  nlohmann::json j = s;
  EXPECT_EQ(j["pending"], true);
  ApprovalStatus back = j.get<ApprovalStatus>();
  EXPECT_EQ(back.decision, s.decision);
  EXPECT_EQ(back.approvers, s.approvers);
  EXPECT_EQ(back.ignored, s.ignored);
}

}  // namespace
}  // namespace cairn::ai::approval_internal
