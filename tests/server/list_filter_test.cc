#include "server/list_filter.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cairn {
namespace {

using Ids = std::vector<std::string>;

v1::Payload json_payload(std::string data) {
  v1::Payload p;
  (*p.mutable_metadata())["encoding"] = "json/plain";
  p.set_data(std::move(data));
  return p;
}

const SearchAttributeTypes& custom_types() {
  static const SearchAttributeTypes kTypes = {
      {"Customer", v1::INDEXED_VALUE_TYPE_KEYWORD},  {"Description", v1::INDEXED_VALUE_TYPE_TEXT},
      {"Priority", v1::INDEXED_VALUE_TYPE_INT},      {"Score", v1::INDEXED_VALUE_TYPE_DOUBLE},
      {"Urgent", v1::INDEXED_VALUE_TYPE_BOOL},       {"Deadline", v1::INDEXED_VALUE_TYPE_DATETIME},
      {"Tags", v1::INDEXED_VALUE_TYPE_KEYWORD_LIST}, {"Order", v1::INDEXED_VALUE_TYPE_KEYWORD},
      {"ship-to", v1::INDEXED_VALUE_TYPE_KEYWORD},
  };
  return kTypes;
}

constexpr int64_t kStartA = 1796184900000;  // 2026-12-02T04:15:00Z
constexpr int64_t kDay = 86'400'000;

// a: running, every custom attribute set. b: completed, every custom attribute set.
// c: failed, no custom attributes at all.
std::vector<v1::VisibilityRecord> records() {
  std::vector<v1::VisibilityRecord> out(3);
  v1::VisibilityRecord& a = out[0];
  a.set_workflow_id("a");
  a.set_run_id("run-a");
  a.set_workflow_type("OrderWorkflow");
  a.set_task_queue("orders");
  a.set_status(v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  a.set_start_time_ms(kStartA);
  a.set_history_length(10);
  auto& sa = *a.mutable_search_attributes();
  sa["Customer"] = json_payload("\"acme\"");
  sa["Description"] = json_payload("\"Ship the big Order\"");
  sa["Priority"] = json_payload("3");
  sa["Score"] = json_payload("2.5");
  sa["Urgent"] = json_payload("true");
  sa["Deadline"] = json_payload("\"2026-12-03T00:00:00Z\"");
  sa["Tags"] = json_payload("[\"red\", \"blue\"]");
  sa["Order"] = json_payload("\"first\"");
  sa["ship-to"] = json_payload("\"Oslo\"");

  v1::VisibilityRecord& b = out[1];
  b.set_workflow_id("b");
  b.set_run_id("run-b");
  b.set_workflow_type("RefundWorkflow");
  b.set_task_queue("refunds");
  b.set_status(v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  b.set_start_time_ms(kStartA - kDay);
  b.set_close_time_ms(kStartA + 1000);
  b.set_history_length(42);
  auto& sb = *b.mutable_search_attributes();
  sb["Customer"] = json_payload("\"globex\"");
  sb["Description"] = json_payload("\"refund a small ORDER\"");
  sb["Priority"] = json_payload("7");
  sb["Score"] = json_payload("9");
  sb["Urgent"] = json_payload("false");
  sb["Deadline"] = json_payload("\"2026-12-01T00:00:00+01:00\"");
  sb["Tags"] = json_payload("[\"green\"]");

  v1::VisibilityRecord& c = out[2];
  c.set_workflow_id("c");
  c.set_run_id("run-c");
  c.set_workflow_type("OrderWorkflow");
  c.set_task_queue("orders");
  c.set_status(v1::WORKFLOW_EXECUTION_STATUS_FAILED);
  c.set_start_time_ms(kStartA + kDay);
  c.set_close_time_ms(kStartA + 2 * kDay);
  c.set_history_length(5);
  return out;
}

// The workflow ids of records() that `query` matches, in record order. Fails the test (and
// returns {"<parse error>"}) when the query does not parse.
Ids ids(const std::string& query, const std::vector<v1::VisibilityRecord>& recs = records()) {
  Result<ListFilter> f = ListFilter::parse(query, custom_types());
  EXPECT_TRUE(f.ok()) << query << ": " << f.status().to_string();
  if (!f.ok()) {
    return {"<parse error>"};
  }
  Ids out;
  for (const auto& r : recs) {
    if (f->matches(r)) {
      out.push_back(r.workflow_id());
    }
  }
  return out;
}

// The error message of a query that must not parse.
std::string error(const std::string& query) {
  Result<ListFilter> f = ListFilter::parse(query, custom_types());
  EXPECT_FALSE(f.ok()) << query << " parsed";
  if (f.ok()) {
    return "<parsed>";
  }
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << query;
  return f.status().message();
}

TEST(ListFilterTest, EmptyFilterMatchesEverythingWithDefaultOrder) {
  for (const char* q : {"", "   ", " \t\n "}) {
    Result<ListFilter> f = ListFilter::parse(q, custom_types());
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ(f->order().field, ListOrderField::kStartTime);
    EXPECT_TRUE(f->order().descending);
  }
  EXPECT_EQ(ids(""), (Ids{"a", "b", "c"}));
  EXPECT_TRUE(ListFilter().matches(records()[2]));
}

TEST(ListFilterTest, KeywordOperators) {
  EXPECT_EQ(ids("Customer = 'acme'"), (Ids{"a"}));
  EXPECT_EQ(ids("Customer != 'acme'"), (Ids{"b"}));
  EXPECT_EQ(ids("Customer < 'b'"), (Ids{"a"}));
  EXPECT_EQ(ids("Customer <= 'acme'"), (Ids{"a"}));
  EXPECT_EQ(ids("Customer > 'acme'"), (Ids{"b"}));
  EXPECT_EQ(ids("Customer >= 'acme'"), (Ids{"a", "b"}));
  EXPECT_EQ(ids("Customer IN ('globex', 'initech')"), (Ids{"b"}));
  EXPECT_EQ(ids("Customer NOT IN ('globex', 'initech')"), (Ids{"a"}));
  EXPECT_EQ(ids("Customer BETWEEN 'acme' AND 'b'"), (Ids{"a"}));
  EXPECT_EQ(ids("Customer NOT BETWEEN 'acme' AND 'b'"), (Ids{"b"}));
  EXPECT_EQ(ids("Customer STARTS_WITH 'glo'"), (Ids{"b"}));
  EXPECT_EQ(ids("Customer STARTS_WITH 'Glo'"), (Ids{}));
  EXPECT_EQ(ids("Customer IS NULL"), (Ids{"c"}));
  EXPECT_EQ(ids("Customer IS NOT NULL"), (Ids{"a", "b"}));
}

TEST(ListFilterTest, KeywordOrdersByBytes) {
  std::vector<v1::VisibilityRecord> recs = records();
  (*recs[0].mutable_search_attributes())["Customer"] = json_payload("\"Zed\"");
  (*recs[1].mutable_search_attributes())["Customer"] =
      json_payload("\"\u00e9clair\"");                 // UTF-8 0xC3
  EXPECT_EQ(ids("Customer < 'a'", recs), (Ids{"a"}));  // 'Z' (0x5A) < 'a' (0x61)
  EXPECT_EQ(ids("Customer > 'z'", recs), (Ids{"b"}));  // 0xC3 > 'z'
  EXPECT_EQ(ids("Customer = '\u00e9clair'", recs), (Ids{"b"}));
}

TEST(ListFilterTest, TextMatchesEveryWordCaseInsensitively) {
  EXPECT_EQ(ids("Description = 'order'"), (Ids{"a", "b"}));
  EXPECT_EQ(ids("Description = 'BIG  ship'"), (Ids{"a"}));
  EXPECT_EQ(ids("Description = 'big refund'"), (Ids{}));
  EXPECT_EQ(ids("Description = 'ord'"), (Ids{}));  // whole words only
  EXPECT_EQ(ids("Description != 'refund'"), (Ids{"a"}));
  EXPECT_EQ(ids("Description STARTS_WITH 'ship t'"), (Ids{"a"}));
  EXPECT_EQ(ids("Description STARTS_WITH 'REFUND'"), (Ids{"b"}));
  EXPECT_EQ(ids("Description IS NULL"), (Ids{"c"}));
  EXPECT_EQ(ids("Description IS NOT NULL"), (Ids{"a", "b"}));
}

TEST(ListFilterTest, IntOperators) {
  EXPECT_EQ(ids("Priority = 3"), (Ids{"a"}));
  EXPECT_EQ(ids("Priority != 3"), (Ids{"b"}));
  EXPECT_EQ(ids("Priority < 7"), (Ids{"a"}));
  EXPECT_EQ(ids("Priority <= 7"), (Ids{"a", "b"}));
  EXPECT_EQ(ids("Priority > 3"), (Ids{"b"}));
  EXPECT_EQ(ids("Priority >= 3"), (Ids{"a", "b"}));
  EXPECT_EQ(ids("Priority > -1"), (Ids{"a", "b"}));
  EXPECT_EQ(ids("Priority IN (1, 7)"), (Ids{"b"}));
  EXPECT_EQ(ids("Priority NOT IN (1, 7)"), (Ids{"a"}));
  EXPECT_EQ(ids("Priority BETWEEN 3 AND 6"), (Ids{"a"}));
  EXPECT_EQ(ids("Priority BETWEEN 3 AND 7"), (Ids{"a", "b"}));  // inclusive
  EXPECT_EQ(ids("Priority NOT BETWEEN 4 AND 7"), (Ids{"a"}));
  EXPECT_EQ(ids("Priority IS NULL"), (Ids{"c"}));
  EXPECT_EQ(ids("Priority IS NOT NULL"), (Ids{"a", "b"}));
}

TEST(ListFilterTest, DoubleOperatorsAcceptIntegerLiterals) {
  EXPECT_EQ(ids("Score = 2.5"), (Ids{"a"}));
  EXPECT_EQ(ids("Score = 9"), (Ids{"b"}));  // stored as the JSON integer 9
  EXPECT_EQ(ids("Score != 2.5"), (Ids{"b"}));
  EXPECT_EQ(ids("Score < 2.5"), (Ids{}));
  EXPECT_EQ(ids("Score <= 2.5"), (Ids{"a"}));
  EXPECT_EQ(ids("Score > 2.49"), (Ids{"a", "b"}));
  EXPECT_EQ(ids("Score >= 9.0"), (Ids{"b"}));
  EXPECT_EQ(ids("Score IN (2.5, 3)"), (Ids{"a"}));
  EXPECT_EQ(ids("Score NOT IN (2.5, 3)"), (Ids{"b"}));
  EXPECT_EQ(ids("Score BETWEEN 2.5 AND 9"), (Ids{"a", "b"}));
  EXPECT_EQ(ids("Score NOT BETWEEN -1.5e1 AND 5"), (Ids{"b"}));
  EXPECT_EQ(ids("Score IS NULL"), (Ids{"c"}));
}

TEST(ListFilterTest, BoolOperators) {
  EXPECT_EQ(ids("Urgent = true"), (Ids{"a"}));
  EXPECT_EQ(ids("Urgent = FALSE"), (Ids{"b"}));
  EXPECT_EQ(ids("Urgent != true"), (Ids{"b"}));
  EXPECT_EQ(ids("Urgent IN (True)"), (Ids{"a"}));
  EXPECT_EQ(ids("Urgent NOT IN (true)"), (Ids{"b"}));
  EXPECT_EQ(ids("Urgent IN (true, false)"), (Ids{"a", "b"}));
  EXPECT_EQ(ids("Urgent IS NULL"), (Ids{"c"}));
  EXPECT_EQ(ids("Urgent IS NOT NULL"), (Ids{"a", "b"}));
}

TEST(ListFilterTest, DatetimeOperatorsCompareInstants) {
  // a: 2026-12-03T00:00:00Z. b: 2026-12-01T00:00:00+01:00 = 2026-11-30T23:00:00Z.
  EXPECT_EQ(ids("Deadline = '2026-12-03T01:00:00+01:00'"), (Ids{"a"}));
  EXPECT_EQ(ids("Deadline != '2026-12-03T00:00:00Z'"), (Ids{"b"}));
  EXPECT_EQ(ids("Deadline < '2026-12-01T00:00:00Z'"), (Ids{"b"}));
  EXPECT_EQ(ids("Deadline <= '2026-11-30T23:00:00Z'"), (Ids{"b"}));
  EXPECT_EQ(ids("Deadline > '2026-11-30T23:00:00Z'"), (Ids{"a"}));
  EXPECT_EQ(ids("Deadline >= '2026-11-30T23:00:00Z'"), (Ids{"a", "b"}));
  EXPECT_EQ(ids("Deadline IN ('2026-11-30T23:00:00Z')"), (Ids{"b"}));
  EXPECT_EQ(ids("Deadline NOT IN ('2026-11-30T23:00:00Z')"), (Ids{"a"}));
  EXPECT_EQ(ids("Deadline BETWEEN '2026-11-30T23:00:00Z' AND '2026-12-03T00:00:00Z'"),
            (Ids{"a", "b"}));
  EXPECT_EQ(ids("Deadline NOT BETWEEN '2026-12-01T00:00:00Z' AND '2026-12-04T00:00:00Z'"),
            (Ids{"b"}));
  EXPECT_EQ(ids("Deadline IS NULL"), (Ids{"c"}));
}

TEST(ListFilterTest, KeywordListMatchesAnyElement) {
  EXPECT_EQ(ids("Tags = 'blue'"), (Ids{"a"}));
  EXPECT_EQ(ids("Tags != 'blue'"), (Ids{"b"}));
  EXPECT_EQ(ids("Tags IN ('green', 'red')"), (Ids{"a", "b"}));
  EXPECT_EQ(ids("Tags IN ('yellow')"), (Ids{}));
  EXPECT_EQ(ids("Tags NOT IN ('red', 'yellow')"), (Ids{"b"}));
  EXPECT_EQ(ids("Tags IS NULL"), (Ids{"c"}));
  std::vector<v1::VisibilityRecord> recs = records();
  (*recs[1].mutable_search_attributes())["Tags"] = json_payload("[]");  // empty = missing
  EXPECT_EQ(ids("Tags IS NULL", recs), (Ids{"b", "c"}));
  EXPECT_EQ(ids("Tags != 'red'", recs), (Ids{}));
}

TEST(ListFilterTest, SystemKeywordAttributes) {
  EXPECT_EQ(ids("WorkflowId = 'b'"), (Ids{"b"}));
  EXPECT_EQ(ids("WorkflowId >= 'b'"), (Ids{"b", "c"}));
  EXPECT_EQ(ids("RunId IN ('run-a', 'run-c')"), (Ids{"a", "c"}));
  EXPECT_EQ(ids("RunId STARTS_WITH 'run-'"), (Ids{"a", "b", "c"}));
  EXPECT_EQ(ids("WorkflowType = 'OrderWorkflow'"), (Ids{"a", "c"}));
  EXPECT_EQ(ids("WorkflowType STARTS_WITH 'Ref'"), (Ids{"b"}));
  EXPECT_EQ(ids("TaskQueue != 'orders'"), (Ids{"b"}));
  EXPECT_EQ(ids("TaskQueue BETWEEN 'o' AND 'p'"), (Ids{"a", "c"}));
  EXPECT_EQ(ids("WorkflowId IS NULL"), (Ids{}));
}

TEST(ListFilterTest, ExecutionStatusValuesAreCaseInsensitive) {
  EXPECT_EQ(ids("ExecutionStatus = 'Running'"), (Ids{"a"}));
  EXPECT_EQ(ids("ExecutionStatus = 'running'"), (Ids{"a"}));
  EXPECT_EQ(ids("ExecutionStatus != 'Running'"), (Ids{"b", "c"}));
  EXPECT_EQ(ids("ExecutionStatus IN ('COMPLETED', \"failed\")"), (Ids{"b", "c"}));
  EXPECT_EQ(ids("ExecutionStatus NOT IN ('Completed', 'TimedOut')"), (Ids{"a", "c"}));
  EXPECT_EQ(ids("ExecutionStatus = 'ContinuedAsNew'"), (Ids{}));
}

TEST(ListFilterTest, TaskFailureFindsStuckRunsAndNamesTheValidValues) {
  std::vector<v1::VisibilityRecord> recs = records();
  recs[0].set_task_failure("BadCommand");  // a: running, its workflow tasks fail
  recs[0].set_task_failure_message("command 0 (ScheduleActivityTask, activity \"1\"): ...");
  recs[0].set_task_failure_attempt(3);
  EXPECT_EQ(ids("TaskFailure IS NOT NULL", recs), (Ids{"a"}));
  EXPECT_EQ(ids("TaskFailure IS NULL", recs), (Ids{"b", "c"}));
  EXPECT_EQ(ids("TaskFailure = 'BadCommand'", recs), (Ids{"a"}));
  EXPECT_EQ(ids("TaskFailure = 'badcommand'", recs), (Ids{"a"}));
  EXPECT_EQ(ids("TaskFailure = 'TimedOut'", recs), (Ids{}));
  EXPECT_EQ(ids("TaskFailure != 'TimedOut'", recs), (Ids{"a"}));  // null matches no comparison
  EXPECT_EQ(ids("TaskFailure IN ('TimedOut', 'BadCommand')", recs), (Ids{"a"}));
  EXPECT_EQ(ids("TaskFailure STARTS_WITH 'Bad'", recs), (Ids{"a"}));
  std::string bad = error("TaskFailure = 'Stuck'");
  EXPECT_NE(bad.find("is not a TaskFailure; valid values: TimedOut,"), std::string::npos) << bad;
  EXPECT_NE(bad.find("NonDeterministicError"), std::string::npos) << bad;
  auto f = ListFilter::parse("TaskFailure IS NOT NULL", custom_types());
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->only_open_runs());  // a closed run has none
  f = ListFilter::parse("TaskFailure IS NULL", custom_types());
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->only_open_runs());
}

TEST(ListFilterTest, StartTimeCloseTimeAndHistoryLength) {
  EXPECT_EQ(ids("StartTime = '2026-12-02T04:15:00Z'"), (Ids{"a"}));
  EXPECT_EQ(ids("StartTime > '2026-12-02T04:15:00Z'"), (Ids{"c"}));
  EXPECT_EQ(ids("StartTime BETWEEN '2026-12-01T04:15:00Z' AND '2026-12-02T04:15:00.000Z'"),
            (Ids{"a", "b"}));
  EXPECT_EQ(ids("StartTime < '2026-12-02T05:15:00+01:00'"), (Ids{"b"}));
  EXPECT_EQ(ids("CloseTime IS NULL"), (Ids{"a"}));
  EXPECT_EQ(ids("CloseTime IS NOT NULL"), (Ids{"b", "c"}));
  EXPECT_EQ(ids("CloseTime != '2026-12-02T04:15:01Z'"), (Ids{"c"}));  // not the running one
  EXPECT_EQ(ids("CloseTime <= '2026-12-02T04:15:01Z'"), (Ids{"b"}));
  EXPECT_EQ(ids("CloseTime NOT IN ('2026-12-02T04:15:01Z')"), (Ids{"c"}));
  EXPECT_EQ(ids("HistoryLength > 5"), (Ids{"a", "b"}));
  EXPECT_EQ(ids("HistoryLength NOT BETWEEN 6 AND 41"), (Ids{"b", "c"}));
  EXPECT_EQ(ids("HistoryLength IN (5, 10)"), (Ids{"a", "c"}));
}

TEST(ListFilterTest, AbsentAttributeMatchesNoComparison) {
  // c has no custom attributes: only IS NULL matches it.
  for (const char* q :
       {"Customer != 'acme'", "Customer NOT IN ('acme')", "Customer NOT BETWEEN 'a' AND 'b'",
        "Priority != 1", "Priority < 100", "Urgent != true", "Tags != 'red'", "Tags NOT IN ('red')",
        "Description != 'x'",
        "Deadline NOT BETWEEN '2000-01-01T00:00:00Z' AND '2000-01-02T00:00:00Z'"}) {
    Ids got = ids(q);
    EXPECT_EQ(std::count(got.begin(), got.end(), "c"), 0) << q;
  }
  EXPECT_EQ(ids("Priority IS NULL"), (Ids{"c"}));
}

TEST(ListFilterTest, ValueThatDoesNotDecodeAsItsTypeCountsAsAbsent) {
  std::vector<v1::VisibilityRecord> recs = records();
  auto& sa = *recs[0].mutable_search_attributes();
  sa["Priority"] = json_payload("\"high\"");  // a string in an Int attribute
  sa["Customer"].mutable_metadata()->at("encoding") = "binary/plain";
  sa["Urgent"] = json_payload("not json");
  sa["Deadline"] = json_payload("\"tomorrow\"");
  sa["Tags"] = json_payload("[\"red\", 1]");
  EXPECT_EQ(ids("Priority != 100", recs), (Ids{"b"}));
  EXPECT_EQ(ids("Priority IS NULL", recs), (Ids{"a", "c"}));
  EXPECT_EQ(ids("Customer IS NULL", recs), (Ids{"a", "c"}));
  EXPECT_EQ(ids("Urgent IS NULL", recs), (Ids{"a", "c"}));
  EXPECT_EQ(ids("Deadline IS NOT NULL", recs), (Ids{"b"}));
  EXPECT_EQ(ids("Tags IS NULL", recs), (Ids{"a", "c"}));
}

TEST(ListFilterTest, AndBindsTighterThanOr) {
  // a OR (b AND c-ish): WorkflowId = 'a' OR (Priority = 7 AND Urgent = true) -> a only.
  EXPECT_EQ(ids("WorkflowId = 'a' OR Priority = 7 AND Urgent = true"), (Ids{"a"}));
  EXPECT_EQ(ids("(WorkflowId = 'a' OR Priority = 7) AND Urgent = true"), (Ids{"a"}));
  EXPECT_EQ(ids("(WorkflowId = 'a' OR Priority = 7) AND Urgent = false"), (Ids{"b"}));
  EXPECT_EQ(ids("Urgent = false AND WorkflowId = 'a' OR WorkflowId = 'c'"), (Ids{"c"}));
  EXPECT_EQ(ids("Urgent = false AND (WorkflowId = 'a' OR WorkflowId = 'c')"), (Ids{}));
  EXPECT_EQ(ids("WorkflowId = 'a' or WorkflowId = 'b' and HistoryLength > 100"), (Ids{"a"}));
}

TEST(ListFilterTest, NestedParentheses) {
  EXPECT_EQ(ids("((WorkflowId = 'a' OR (WorkflowId = 'b')) AND ((HistoryLength > 20)))"),
            (Ids{"b"}));
  std::string deep = std::string(32, '(') + "WorkflowId = 'c'" + std::string(32, ')');
  EXPECT_EQ(ids(deep), (Ids{"c"}));
  std::string too_deep = std::string(33, '(') + "WorkflowId = 'c'" + std::string(33, ')');
  EXPECT_EQ(error(too_deep), "list filter: at position 33: parentheses nested more than 32 deep");
}

TEST(ListFilterTest, KeywordsAreCaseInsensitiveAndBackticksQuoteNames) {
  EXPECT_EQ(ids("Priority in (3) AnD Customer not between 'b' and 'z' Or Urgent Is Null"),
            (Ids{"a", "c"}));
  EXPECT_EQ(ids("`Customer` = 'acme'"), (Ids{"a"}));
  EXPECT_EQ(ids("`WorkflowId` = 'b'"), (Ids{"b"}));
  EXPECT_EQ(ids("`ship-to` = 'Oslo'"), (Ids{"a"}));
  EXPECT_EQ(ids("`Order` = 'first'"), (Ids{"a"}));
  EXPECT_EQ(ids("Order = 'first' ORDER BY CloseTime"), (Ids{"a"}));  // a registered name
  EXPECT_EQ(error("customer = 'acme'"),
            "list filter: at position 1: unknown attribute 'customer': not a system attribute nor "
            "one registered in the namespace; see `cairnctl search-attribute list` (did you mean "
            "'Customer'? attribute names are case-sensitive)");
}

TEST(ListFilterTest, StringLiteralsTakeEitherQuoteAndBackslashEscapes) {
  std::vector<v1::VisibilityRecord> recs = records();
  (*recs[0].mutable_search_attributes())["Customer"] = json_payload(R"("it's \"ok\"\\")");
  (*recs[1].mutable_search_attributes())["Customer"] = json_payload(R"("tab\there\nnew")");
  EXPECT_EQ(ids(R"(Customer = 'it\'s "ok"\\')", recs), (Ids{"a"}));
  EXPECT_EQ(ids(R"(Customer = "it's \"ok\"\\")", recs), (Ids{"a"}));
  EXPECT_EQ(ids(R"(Customer = 'tab\there\nnew')", recs), (Ids{"b"}));
  EXPECT_EQ(ids("Customer = ''", recs), (Ids{}));
}

TEST(ListFilterTest, OrderBy) {
  struct Case {
    const char* query;
    ListOrderField field;
    bool descending;
  };
  for (const Case& c : {
           Case{"WorkflowId = 'a'", ListOrderField::kStartTime, true},
           Case{"ORDER BY StartTime", ListOrderField::kStartTime, true},
           Case{"order by StartTime asc", ListOrderField::kStartTime, false},
           Case{"ORDER BY CloseTime", ListOrderField::kCloseTime, true},
           Case{"ORDER BY `CloseTime` ASC", ListOrderField::kCloseTime, false},
           Case{"HistoryLength > 1 ORDER BY CloseTime DESC", ListOrderField::kCloseTime, true},
           Case{"(HistoryLength > 1) order BY StartTime Asc", ListOrderField::kStartTime, false},
       }) {
    Result<ListFilter> f = ListFilter::parse(c.query, custom_types());
    ASSERT_TRUE(f.ok()) << c.query << ": " << f.status().to_string();
    EXPECT_EQ(f->order().field, c.field) << c.query;
    EXPECT_EQ(f->order().descending, c.descending) << c.query;
  }
  EXPECT_EQ(ids("ORDER BY CloseTime ASC"), (Ids{"a", "b", "c"}));  // order alone filters nothing
  EXPECT_EQ(ids("HistoryLength > 6 ORDER BY StartTime"), (Ids{"a", "b"}));
}

TEST(ListFilterTest, FilterOutlivesItsQueryAndIsCopyable) {
  ListFilter copy;
  {
    std::string query = "Customer = 'globex' AND Tags IN ('green')";
    SearchAttributeTypes custom = custom_types();
    Result<ListFilter> f = ListFilter::parse(query, custom);
    ASSERT_TRUE(f.ok());
    copy = *f;
    query.assign(query.size(), 'x');
  }
  std::vector<v1::VisibilityRecord> recs = records();
  EXPECT_FALSE(copy.matches(recs[0]));
  EXPECT_TRUE(copy.matches(recs[1]));
}

// Malformed filters: the whole message, so the position and wording are pinned.
TEST(ListFilterTest, MalformedFiltersReportThePosition) {
  struct Case {
    const char* query;
    const char* message;
  };
  const Case kCases[] = {
      {"WorkflowId =", "at position 13: expected a value after '=', found the end of the filter"},
      {"WorkflowId = 'abc",
       "at position 14: unterminated string: no closing ' before the end of the filter"},
      {"WorkflowId = \"a\\",
       "at position 14: unterminated string: no closing \" before the end of the filter"},
      {"WorkflowId = 'a\\q'",
       "at position 16: unknown escape sequence '\\q' in a string; use \\\\, \\', \\\", \\n, \\t "
       "or \\r"},
      {"WorkflowId = 'a' AND",
       "at position 21: expected an attribute name after 'AND', found the end of the filter"},
      {"WorkflowId = 'a' AND AND Priority = 1",
       "at position 22: expected an attribute name after 'AND', found 'AND' (an attribute named "
       "like a keyword is written in backticks)"},
      {"NOT WorkflowId = 'a'",
       "at position 1: expected an attribute name, found 'NOT' (NOT before a condition is not "
       "supported; use !=, NOT IN or NOT BETWEEN)"},
      {"= 'a'", "at position 1: expected an attribute name, found '='"},
      {"()", "at position 2: expected an attribute name after '(', found ')'"},
      {"(WorkflowId = 'a'",
       "at position 18: expected ')' to close the '(' at position 1, found the end of the filter"},
      {"(WorkflowId = 'a'))",
       "at position 19: expected AND, OR, ORDER BY or the end of the filter after ')', found ')'"},
      {"WorkflowId = 'a' extra",
       "at position 18: expected AND, OR, ORDER BY or the end of the filter after 'a', found "
       "'extra'"},
      {"WorkflowId = 'a';", "at position 17: unexpected character ';'"},
      {"WorkflowId ! 'a'", "at position 12: unexpected character '!'; did you mean '!='?"},
      {"WorkflowId == 'a'", "at position 13: expected a value after '=', found '='"},
      {"WorkflowId LIKE 'a'",
       "at position 12: expected an operator (=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, NOT "
       "BETWEEN, STARTS_WITH, IS NULL, IS NOT NULL) after 'WorkflowId', found 'LIKE'"},
      {"WorkflowId NOT LIKE 'a'",
       "at position 16: expected IN or BETWEEN after 'NOT', found 'LIKE'"},
      {"CloseTime IS 5", "at position 14: expected NULL or NOT NULL after 'IS', found '5'"},
      {"CloseTime IS NOT",
       "at position 17: expected NULL after 'NOT', found the end of the filter"},
      {"WorkflowId IN 'a'", "at position 15: expected '(' after 'IN', found 'a'"},
      {"WorkflowId IN ()", "at position 16: the IN list is empty; give at least one value"},
      {"WorkflowId IN ('a' 'b')", "at position 20: expected ',' or ')' after 'a', found 'b'"},
      {"WorkflowId IN ('a',",
       "at position 20: expected a value after ',', found the end of the filter"},
      {"HistoryLength BETWEEN 1 5", "at position 25: expected AND after '1', found '5'"},
      {"HistoryLength BETWEEN 1 AND",
       "at position 28: expected a value after 'AND', found the end of the filter"},
      {"WorkflowId = Running",
       "at position 14: expected a value after '=', found 'Running'; quote string values: "
       "'Running'"},
      {"`Customer = 'a'", "at position 1: unterminated attribute name: no closing '`'"},
      {"`` = 'a'", "at position 1: empty attribute name in backticks"},
      {"HistoryLength = 12abc", "at position 17: malformed number '12abc'"},
      {"HistoryLength = 1.", "at position 17: malformed number '1.'"},
      {"HistoryLength = 99999999999999999999",
       "at position 17: number 99999999999999999999 is out of range"},
      {"Score = 1e999", "at position 9: number 1e999 is out of range"},
      {"Customer = '\u00e9' x",  // é is one position, two bytes
       "at position 16: expected AND, OR, ORDER BY or the end of the filter after '\u00e9', found "
       "'x'"},
      {"Nope = 1",
       "at position 1: unknown attribute 'Nope': not a system attribute nor one registered in the "
       "namespace; see `cairnctl search-attribute list`"},
      {"ORDER BY WorkflowId",
       "at position 10: cannot order by 'WorkflowId': only StartTime and CloseTime are supported"},
      {"ORDER BY starttime",
       "at position 10: cannot order by 'starttime': only StartTime and CloseTime are supported"},
      {"ORDER StartTime", "at position 7: expected BY after 'ORDER', found 'StartTime'"},
      {"WorkflowId = 'a' ORDER BY",
       "at position 26: expected StartTime or CloseTime after 'BY', found the end of the filter"},
      {"WorkflowId = 'a' ORDER BY StartTime x",
       "at position 37: expected ASC, DESC or the end of the filter after 'StartTime', found 'x'"},
      {"ORDER BY StartTime DESC x",
       "at position 25: expected the end of the filter after 'DESC', found 'x'"},
      {"ORDER BY StartTime AND WorkflowId = 'a'",
       "at position 20: expected ASC, DESC or the end of the filter after 'StartTime', found "
       "'AND'"},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(error(c.query), std::string("list filter: ") + c.message) << c.query;
  }
}

TEST(ListFilterTest, TypeErrorsReportTheLiteral) {
  struct Case {
    const char* query;
    const char* message;
  };
  const Case kCases[] = {
      {"HistoryLength = 'ten'",
       "at position 17: 'HistoryLength' is an Int attribute: expected an integer, found 'ten'"},
      {"Priority IN (1, 2.5)",
       "at position 17: 'Priority' is an Int attribute: expected an integer, found '2.5'"},
      {"Score = 'x'", "at position 9: 'Score' is a Double attribute: expected a number, found 'x'"},
      {"Customer = 5",
       "at position 12: 'Customer' is a Keyword attribute: expected a string, found '5'"},
      {"Tags = true",
       "at position 8: 'Tags' is a KeywordList attribute: expected a string, found 'true'"},
      {"Description = 1",
       "at position 15: 'Description' is a Text attribute: expected a string, found '1'"},
      {"Description = '  '",
       "at position 15: 'Description' is a Text attribute: expected at least one word, found '  '"},
      {"Urgent = 'true'",
       "at position 10: 'Urgent' is a Bool attribute: expected true or false, found 'true'"},
      {"Urgent = yes",
       "at position 10: 'Urgent' is a Bool attribute: expected true or false, found 'yes'"},
      {"StartTime > '2026-13-01T00:00:00Z'",
       "at position 13: 'StartTime' is a Datetime attribute: expected an RFC 3339 datetime string "
       "such "
       "as '2026-12-02T04:15:00Z', found '2026-13-01T00:00:00Z'"},
      {"Deadline BETWEEN '2026-01-01T00:00:00Z' AND 1700000000000",
       "at position 45: 'Deadline' is a Datetime attribute: expected an RFC 3339 datetime string "
       "such "
       "as '2026-12-02T04:15:00Z', found '1700000000000'"},
      {"ExecutionStatus = 'Runing'",
       "at position 19: 'Runing' is not an ExecutionStatus; valid values: Running, Completed, "
       "Failed, "
       "Canceled, Terminated, ContinuedAsNew, TimedOut"},
      {"ExecutionStatus = 1",
       "at position 19: 'ExecutionStatus' is a Keyword attribute: expected a string, found '1'"},
      {"ExecutionStatus > 'Running'",
       "at position 17: 'ExecutionStatus' is a Keyword attribute: '>' is not supported; use =, !=, "
       "IN, "
       "NOT IN, IS NULL or IS NOT NULL"},
      {"Urgent > true",
       "at position 8: 'Urgent' is a Bool attribute: '>' is not supported; use =, !=, IN, NOT IN, "
       "IS "
       "NULL or IS NOT NULL"},
      {"Urgent BETWEEN false AND true",
       "at position 8: 'Urgent' is a Bool attribute: 'BETWEEN' is not supported; use =, !=, IN, "
       "NOT "
       "IN, IS NULL or IS NOT NULL"},
      {"Description < 'x'",
       "at position 13: 'Description' is a Text attribute: '<' is not supported; use =, !=, "
       "STARTS_WITH, IS NULL or IS NOT NULL"},
      {"Description IN ('x')",
       "at position 13: 'Description' is a Text attribute: 'IN' is not supported; use =, !=, "
       "STARTS_WITH, IS NULL or IS NOT NULL"},
      {"Tags NOT BETWEEN 'a' AND 'b'",
       "at position 6: 'Tags' is a KeywordList attribute: 'NOT BETWEEN' is not supported; use =, "
       "!=, "
       "IN, NOT IN, IS NULL or IS NOT NULL"},
      {"Tags STARTS_WITH 'r'",
       "at position 6: 'Tags' is a KeywordList attribute: 'STARTS_WITH' is not supported; use =, "
       "!=, "
       "IN, NOT IN, IS NULL or IS NOT NULL"},
      {"Priority STARTS_WITH '1'",
       "at position 10: 'Priority' is an Int attribute: 'STARTS_WITH' is not supported; use =, !=, "
       "<, "
       "<=, >, >=, IN, NOT IN, BETWEEN, NOT BETWEEN, IS NULL or IS NOT NULL"},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(error(c.query), std::string("list filter: ") + c.message) << c.query;
  }
}

TEST(ListFilterTest, RejectsFiltersLongerThanTheLimit) {
  std::string ok = "WorkflowId = '" + std::string(kMaxListFilterBytes - 15, 'x') + "'";
  ASSERT_EQ(ok.size(), kMaxListFilterBytes);
  EXPECT_TRUE(ListFilter::parse(ok, custom_types()).ok());
  EXPECT_EQ(error(ok + " "),
            "list filter: the filter is 4097 bytes long; at most 4096 are allowed");
}

TEST(ListFilterTest, UnknownRegisteredTypeIsAnError) {
  SearchAttributeTypes custom = {{"Broken", v1::INDEXED_VALUE_TYPE_UNSPECIFIED}};
  Result<ListFilter> f = ListFilter::parse("Broken = 'x'", custom);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(
      f.status().message(),
      "list filter: at position 1: attribute 'Broken' is registered with an invalid type (0)");
}

TEST(SystemSearchAttributesTest, ListsTheBuiltInAttributes) {
  const SearchAttributeTypes expected = {
      {"WorkflowId", v1::INDEXED_VALUE_TYPE_KEYWORD},
      {"RunId", v1::INDEXED_VALUE_TYPE_KEYWORD},
      {"WorkflowType", v1::INDEXED_VALUE_TYPE_KEYWORD},
      {"TaskQueue", v1::INDEXED_VALUE_TYPE_KEYWORD},
      {"ExecutionStatus", v1::INDEXED_VALUE_TYPE_KEYWORD},
      {"StartTime", v1::INDEXED_VALUE_TYPE_DATETIME},
      {"CloseTime", v1::INDEXED_VALUE_TYPE_DATETIME},
      {"HistoryLength", v1::INDEXED_VALUE_TYPE_INT},
      {"TaskFailure", v1::INDEXED_VALUE_TYPE_KEYWORD},
  };
  EXPECT_EQ(system_search_attributes(), expected);
}

TEST(ListFilterOpenRunsTest, KnowsWhenOnlyOpenRunsCanMatch) {
  auto only_open = [](const std::string& q) {
    auto f = ListFilter::parse(q, {{"Stage", v1::INDEXED_VALUE_TYPE_KEYWORD}});
    EXPECT_TRUE(f.ok()) << q << ": " << f.status().to_string();
    return f.ok() && f->only_open_runs();
  };
  EXPECT_TRUE(only_open("ExecutionStatus = 'Running'"));
  EXPECT_TRUE(only_open("Stage = 'x' AND ExecutionStatus = 'running'"));
  EXPECT_TRUE(only_open("CloseTime IS NULL AND Stage = 'x'"));
  EXPECT_TRUE(only_open("(ExecutionStatus = 'Running' AND Stage = 'a') OR CloseTime IS NULL"));
  EXPECT_TRUE(only_open("ExecutionStatus IN ('Running')"));
  EXPECT_FALSE(only_open(""));
  EXPECT_FALSE(only_open("Stage = 'x'"));
  EXPECT_FALSE(only_open("ExecutionStatus != 'Running'"));
  EXPECT_FALSE(only_open("ExecutionStatus IN ('Running', 'Failed')"));
  EXPECT_FALSE(only_open("ExecutionStatus = 'Running' OR Stage = 'x'"));
  EXPECT_FALSE(only_open("CloseTime IS NOT NULL"));
}

}  // namespace
}  // namespace cairn
