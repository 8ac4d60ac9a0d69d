// End to end: visibility through cairnctl and the raw RPCs against a real cairn-server — list
// filters with every operator and search attribute type, ordering, memo, paging over 1,000 runs,
// count, malformed filters, search attribute registration, namespace retention.
#include <chrono>
#include <ctime>
#include <functional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "e2e/ctl_fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 3339 in UTC, whole seconds.
std::string format_time(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime(&secs));
  return buf;
}

class VisibilityTest : public CtlTest {
 protected:
  // Workflow ids listed by `cairnctl -o json workflow list -q <query>`, in output order.
  std::vector<std::string> list(const std::string& query, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"-o", "json", "workflow", "list", "-q", query};
    args.insert(args.end(), extra.begin(), extra.end());
    Run r = ctl(args);
    EXPECT_EQ(r.exit, 0) << query << "\n" << r.output;
    std::vector<std::string> ids;
    if (r.exit != 0) {
      return ids;
    }
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    EXPECT_TRUE(j.is_array()) << r.output;
    if (!j.is_array()) {
      return ids;
    }
    last_list_ = j;
    for (const auto& e : j) {
      ids.push_back(e["execution"]["workflowId"].get<std::string>());
    }
    return ids;
  }
  std::set<std::string> list_set(const std::string& query) {
    auto ids = list(query);
    return std::set<std::string>(ids.begin(), ids.end());
  }

  void add_attribute(const std::string& name, const std::string& type) {
    Run r = ctl({"search-attribute", "add", "--name", name, "--type", type});
    ASSERT_EQ(r.exit, 0) << r.output;
  }

  nlohmann::json last_list_;
};

TEST_F(VisibilityTest, FiltersWithEveryOperatorAndSearchAttributeType) {
  add_attribute("CustomerId", "Keyword");
  add_attribute("Notes", "Text");
  add_attribute("Priority", "Int");
  add_attribute("Score", "Double");
  add_attribute("Urgent", "Bool");
  add_attribute("DueAt", "Datetime");
  add_attribute("Tags", "KeywordList");
  Run listed = ctl({"search-attribute", "list"});
  ASSERT_EQ(listed.exit, 0) << listed.output;
  EXPECT_NE(listed.output.find("Tags                         KeywordList  custom"),
            std::string::npos)
      << listed.output;
  EXPECT_NE(listed.output.find("ExecutionStatus"), std::string::npos) << listed.output;

  Worker& w = new_worker("vis-q");
  w.register_workflow("ticket", [](WorkflowContext& ctx) {
    return ctx.signal<std::string>("close").wait();
  });
  w.register_workflow("upserter", [](WorkflowContext& ctx) {
    ctx.upsert_search_attributes({{"CustomerId", to_payload(std::string("c-3"))},
                                  {"Priority", to_payload(9)}});
    return ctx.signal<std::string>("close").wait();
  });
  w.start();
  const int64_t before = now_ms() - 1000;
  auto start = [&](const std::string& id, const std::string& type, PayloadMap attrs,
                   PayloadMap memo = {}) {
    StartWorkflowOptions o = start_options(id, "vis-q");
    o.search_attributes = std::move(attrs);
    o.memo = std::move(memo);
    client_->start(type, o);
  };
  using Tags = std::vector<std::string>;
  start("vis-1", "ticket",
        {{"CustomerId", to_payload(std::string("c-1"))},
         {"Notes", to_payload(std::string("Refund requested by phone"))},
         {"Priority", to_payload(1)},
         {"Score", to_payload(0.5)},
         {"Urgent", to_payload(false)},
         {"DueAt", to_payload(std::string("2026-01-01T00:00:00Z"))},
         {"Tags", to_payload(Tags{"billing", "phone"})}},
        {{"owner", to_payload(std::string("team-a"))}});
  start("vis-2", "ticket",
        {{"CustomerId", to_payload(std::string("c-2"))},
         {"Notes", to_payload(std::string("password reset"))},
         {"Priority", to_payload(5)},
         {"Score", to_payload(2.5)},
         {"Urgent", to_payload(true)},
         {"DueAt", to_payload(std::string("2026-06-01T00:00:00Z"))},
         {"Tags", to_payload(Tags{"auth"})}});
  start("vis-3", "ticket",
        {{"CustomerId", to_payload(std::string("c-10"))},
         {"Priority", to_payload(3)},
         {"Score", to_payload(1.0)},
         {"Urgent", to_payload(true)},
         {"DueAt", to_payload(std::string("2026-03-01T12:00:00+02:00"))},
         {"Tags", to_payload(Tags{"billing"})}});
  start("vis-4", "upserter", {});
  client_->handle("vis-2").signal("close", std::string("done"));
  client_->handle("vis-2").result<std::string>(30s);
  ASSERT_TRUE(eventually([&] { return list("CustomerId = 'c-3'").size() == 1; }))
      << "the upsert from workflow code never became visible";

  using Set = std::set<std::string>;
  // Keyword.
  EXPECT_EQ(list_set("CustomerId = 'c-1'"), (Set{"vis-1"}));
  EXPECT_EQ(list_set("CustomerId != 'c-1'"), (Set{"vis-2", "vis-3", "vis-4"}));
  EXPECT_EQ(list_set("CustomerId IN ('c-1', 'c-3')"), (Set{"vis-1", "vis-4"}));
  EXPECT_EQ(list_set("CustomerId NOT IN ('c-1', 'c-3')"), (Set{"vis-2", "vis-3"}));
  EXPECT_EQ(list_set("CustomerId STARTS_WITH 'c-1'"), (Set{"vis-1", "vis-3"}));
  EXPECT_EQ(list_set("CustomerId > 'c-1'"), (Set{"vis-2", "vis-3", "vis-4"}));
  EXPECT_EQ(list_set("CustomerId <= 'c-10'"), (Set{"vis-1", "vis-3"}));
  // Text: every word, any case.
  EXPECT_EQ(list_set("Notes = 'refund PHONE'"), (Set{"vis-1"}));
  EXPECT_EQ(list_set("Notes != 'refund'"), (Set{"vis-2"}));
  // Int (vis-4's Priority 9 came from its upsert).
  EXPECT_EQ(list_set("Priority >= 3"), (Set{"vis-2", "vis-3", "vis-4"}));
  EXPECT_EQ(list_set("Priority < 3"), (Set{"vis-1"}));
  EXPECT_EQ(list_set("Priority <= 1"), (Set{"vis-1"}));
  EXPECT_EQ(list_set("Priority > 5"), (Set{"vis-4"}));
  EXPECT_EQ(list_set("Priority BETWEEN 2 AND 5"), (Set{"vis-2", "vis-3"}));
  EXPECT_EQ(list_set("Priority NOT BETWEEN 2 AND 5"), (Set{"vis-1", "vis-4"}));
  EXPECT_EQ(list_set("Priority IN (1, 9)"), (Set{"vis-1", "vis-4"}));
  // Double.
  EXPECT_EQ(list_set("Score > 1.0"), (Set{"vis-2"}));
  EXPECT_EQ(list_set("Score = 1"), (Set{"vis-3"}));
  // Bool.
  EXPECT_EQ(list_set("Urgent = true"), (Set{"vis-2", "vis-3"}));
  EXPECT_EQ(list_set("Urgent != true"), (Set{"vis-1"}));
  // Datetime (vis-3's is 10:00 UTC).
  EXPECT_EQ(list_set("DueAt < '2026-02-01T00:00:00Z'"), (Set{"vis-1"}));
  EXPECT_EQ(list_set("DueAt BETWEEN '2026-03-01T10:00:00Z' AND '2026-12-31T00:00:00Z'"),
            (Set{"vis-2", "vis-3"}));
  EXPECT_EQ(list_set("DueAt > '2026-03-01T10:00:00Z'"), (Set{"vis-2"}));
  // Keyword list: any element.
  EXPECT_EQ(list_set("Tags = 'billing'"), (Set{"vis-1", "vis-3"}));
  EXPECT_EQ(list_set("Tags IN ('auth', 'phone')"), (Set{"vis-1", "vis-2"}));
  EXPECT_EQ(list_set("Tags != 'billing'"), (Set{"vis-2"}));
  // System attributes, AND / OR precedence, parentheses, null.
  EXPECT_EQ(list_set("ExecutionStatus = 'Completed'"), (Set{"vis-2"}));
  EXPECT_EQ(list_set("ExecutionStatus = 'Running' AND Urgent = true"), (Set{"vis-3"}));
  EXPECT_EQ(list_set("WorkflowType = 'upserter'"), (Set{"vis-4"}));
  EXPECT_EQ(list_set("(Priority = 1 OR Priority = 5) AND Urgent = true"), (Set{"vis-2"}));
  EXPECT_EQ(list_set("Priority = 1 OR Priority = 5 AND Urgent = true"), (Set{"vis-1", "vis-2"}));
  EXPECT_EQ(list_set("WorkflowId STARTS_WITH 'vis-' AND TaskQueue = 'vis-q'").size(), 4u);
  EXPECT_EQ(list_set("CloseTime IS NULL"), (Set{"vis-1", "vis-3", "vis-4"}));
  EXPECT_EQ(list_set("Notes IS NULL"), (Set{"vis-3", "vis-4"}));
  EXPECT_EQ(list_set("StartTime > '" + format_time(before) + "' AND HistoryLength > 0").size(),
            4u);
  EXPECT_EQ(list_set("ORDER BY CloseTime DESC"), (Set{"vis-2"}));  // closed runs only

  // Newest first by default, oldest first when asked; the memo comes with each run.
  auto start_times = [&](const std::string& query) {
    list(query);
    std::vector<int64_t> times;
    for (const auto& e : last_list_) {
      times.push_back(std::stoll(e["startTimeMs"].get<std::string>()));
    }
    return times;
  };
  auto desc = start_times("");
  ASSERT_EQ(desc.size(), 4u);
  EXPECT_TRUE(std::is_sorted(desc.rbegin(), desc.rend()));
  auto asc = start_times("ORDER BY StartTime ASC");
  EXPECT_TRUE(std::is_sorted(asc.begin(), asc.end()));
  list("WorkflowId = 'vis-1'");
  ASSERT_EQ(last_list_.size(), 1u);
  EXPECT_EQ(last_list_[0]["memo"]["owner"]["data"], "InRlYW0tYSI=");  // base64 of "team-a"

  Run counted = ctl({"workflow", "count", "-q", "Urgent = true"});
  ASSERT_EQ(counted.exit, 0) << counted.output;
  EXPECT_EQ(counted.output, "2\n");

  Run described = ctl({"workflow", "describe", "-w", "vis-1"});
  ASSERT_EQ(described.exit, 0) << described.output;
  EXPECT_NE(described.output.find("search attributes:\n  CustomerId = \"c-1\"\n  DueAt = "),
            std::string::npos)
      << described.output;
  EXPECT_NE(described.output.find("memo:\n  owner = \"team-a\""), std::string::npos)
      << described.output;

  // The table view a person reads.
  Run table = ctl({"workflow", "list", "-q", "WorkflowId = 'vis-2'"});
  ASSERT_EQ(table.exit, 0) << table.output;
  EXPECT_NE(table.output.find("WORKFLOW ID"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("COMPLETED"), std::string::npos) << table.output;
  for (const char* id : {"vis-1", "vis-3", "vis-4"}) {
    client_->handle(id).signal("close", std::string("done"));
  }
}

TEST_F(VisibilityTest, StartsWithUnregisteredOrMistypedAttributesAreRefusedAndStartNothing) {
  add_attribute("Priority", "Int");
  StartWorkflowOptions o = start_options("bad-1", "nobody");
  o.search_attributes = {{"Colour", to_payload(std::string("red"))}};
  try {
    client_->start("any", o);
    ADD_FAILURE() << "a start with an unregistered search attribute was accepted";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("Colour is not registered"), std::string::npos)
        << e.what();
  }
  o.search_attributes = {{"Priority", to_payload(std::string("high"))}};
  try {
    client_->start("any", o);
    ADD_FAILURE() << "a start with a string for an Int attribute was accepted";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("Priority"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(list("").empty());
  Run d = ctl({"workflow", "describe", "-w", "bad-1"});
  EXPECT_EQ(d.exit, 1) << d.output;

  // A registered name keeps its type.
  Run again = ctl({"search-attribute", "add", "--name", "Priority", "--type", "Keyword"});
  EXPECT_EQ(again.exit, 1) << again.output;
  EXPECT_NE(again.output.find("registered already as Int"), std::string::npos) << again.output;
  Run same = ctl({"search-attribute", "add", "--name", "Priority", "--type", "int"});
  EXPECT_EQ(same.exit, 0) << same.output;
  Run bad_type = ctl({"search-attribute", "add", "--name", "X", "--type", "Colour"});
  EXPECT_EQ(bad_type.exit, 2) << bad_type.output;

  // cairnctl sets them at start, after checking each is NAME=JSON.
  Run malformed = ctl({"workflow", "start", "-t", "any", "-q", "nobody", "-w", "sa-1", "-a",
                       "Priority=seven"});
  EXPECT_EQ(malformed.exit, 2) << malformed.output;
  EXPECT_NE(malformed.output.find("is not NAME=JSON"), std::string::npos) << malformed.output;
  Run mistyped = ctl({"workflow", "start", "-t", "any", "-q", "nobody", "-w", "sa-1", "-a",
                      "Priority=\"seven\""});
  EXPECT_EQ(mistyped.exit, 1) << mistyped.output;
  EXPECT_TRUE(list("").empty());
  Run started = ctl({"workflow", "start", "-t", "any", "-q", "nobody", "-w", "sa-1", "-a",
                     "Priority=7", "--memo", "owner=\"ops\""});
  ASSERT_EQ(started.exit, 0) << started.output;
  EXPECT_EQ(list_set("Priority = 7"), (std::set<std::string>{"sa-1"}));
  EXPECT_EQ(last_list_[0]["memo"]["owner"]["data"], "Im9wcyI=");  // base64 of "ops"
}

TEST_F(VisibilityTest, AnUpsertOfAnUnregisteredAttributeFailsTheTaskUntilItIsRegistered) {
  Worker& w = new_worker("tag-q");
  w.register_workflow("tagger", [](WorkflowContext& ctx) {
    ctx.upsert_search_attributes({{"Stage", to_payload(std::string("review"))}});
    return ctx.info().search_attributes.count("Stage") == 1 ? std::string("tagged")
                                                            : std::string("not seen");
  });
  w.start();
  client_->start("tagger", start_options("tag-1", "tag-q"));
  auto failed_for_attributes = [&] {
    for (const auto& e : client_->handle("tag-1").history()) {
      if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_FAILED &&
          e.workflow_task_failed_event_attributes().cause() ==
              v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES) {
        EXPECT_NE(e.workflow_task_failed_event_attributes().failure().message().find(
                      "Stage is not registered"),
                  std::string::npos);
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(eventually(failed_for_attributes));
  EXPECT_EQ(client_->handle("tag-1").describe().workflow_execution_info().status(),
            v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  EXPECT_EQ(list("").size(), 1u);

  // Registering it is the fix: the retried task goes through.
  add_attribute("Stage", "Keyword");
  EXPECT_EQ(client_->handle("tag-1").result<std::string>(60s), "tagged");
  EXPECT_EQ(list_set("Stage = 'review'"), (std::set<std::string>{"tag-1"}));
}

TEST_F(VisibilityTest, TheIndexSurvivesAKill9OfTheServer) {
  add_attribute("Stage", "Keyword");
  for (int i = 0; i < 20; ++i) {
    StartWorkflowOptions o = start_options("crash-" + std::to_string(i), "nobody");
    o.search_attributes = {{"Stage", to_payload(std::string(i % 2 == 0 ? "even" : "odd"))}};
    client_->start("any", o);
  }
  client_->handle("crash-0").terminate("done with it");
  server_->kill9();
  std::string error;
  ASSERT_TRUE(server_->start(server_->port(), 30s, &error)) << error;
  EXPECT_EQ(list("Stage = 'even'").size(), 10u);
  EXPECT_EQ(list_set("ExecutionStatus = 'Terminated'"), (std::set<std::string>{"crash-0"}));
  // The open-runs index (walked for this filter) lost crash-0 at its close, across the crash.
  auto open = list_set("ExecutionStatus = 'Running'");
  EXPECT_EQ(open.size(), 19u);
  EXPECT_EQ(open.count("crash-0"), 0u);
  EXPECT_EQ(list("ExecutionStatus = 'Running' AND Stage = 'odd'", {"--page-size", "3"}).size(), 10u);
  Run counted = ctl({"workflow", "count"});
  EXPECT_EQ(counted.output, "20\n");
}

TEST_F(VisibilityTest, MalformedFiltersNameThePositionOfTheProblem) {
  add_attribute("Priority", "Int");
  struct Case {
    std::string query;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"Priority >=", "at position 12: expected a value after '>='"},
      {"Bogus = 1", "at position 1: unknown attribute 'Bogus'"},
      {"Priority = 'high'", "at position 12"},
      {"(Priority = 1 OR Priority = 2", "at position 30: expected ')'"},
      {"WorkflowId = 'abc", "at position 14: unterminated string"},
      {"Priority = 1 AND", "at position 17"},
  };
  for (const auto& c : cases) {
    Run r = ctl({"workflow", "list", "-q", c.query});
    EXPECT_EQ(r.exit, 1) << c.query << "\n" << r.output;
    EXPECT_NE(r.output.find("list filter: " + c.expected), std::string::npos)
        << c.query << "\n" << r.output;
    Run counted = ctl({"workflow", "count", "-q", c.query});
    EXPECT_EQ(counted.exit, 1) << c.query << "\n" << counted.output;
  }
}

TEST_F(VisibilityTest, PagesOverAThousandRuns) {
  constexpr int kRuns = 1000;
  std::set<std::string> started;
  for (int i = 0; i < kRuns; ++i) {
    std::string id = "page-" + std::to_string(i);
    client_->start("idle", start_options(id, "paging"));
    started.insert(id);
  }
  // Through the RPC: ten full pages, each token continuing where the last page stopped.
  v1::ListWorkflowExecutionsRequest req;
  req.set_query("TaskQueue = 'paging'");
  req.set_page_size(100);
  std::vector<std::string> seen;
  int pages = 0;
  int64_t previous_start = INT64_MAX;
  std::string token;
  do {
    v1::ListWorkflowExecutionsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 30s);
    grpc::Status st = client_->stub().ListWorkflowExecutions(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ++pages;
    ASSERT_LE(pages, 11) << "paging does not end";
    for (const auto& info : resp.executions()) {
      seen.push_back(info.execution().workflow_id());
      EXPECT_LE(info.start_time_ms(), previous_start) << "not newest first";
      previous_start = info.start_time_ms();
    }
    token = resp.next_page_token();
    if (pages == 1) {
      // A token is tied to its query and must come back unchanged.
      v1::ListWorkflowExecutionsRequest other = req;
      other.set_query("TaskQueue != 'paging'");
      other.set_next_page_token(token);
      v1::ListWorkflowExecutionsResponse ignored;
      grpc::ClientContext c2;
      grpc::Status refused = client_->stub().ListWorkflowExecutions(&c2, other, &ignored);
      EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_NE(refused.error_message().find("another query"), std::string::npos);
      other = req;
      other.set_next_page_token("\xff garbage");
      grpc::ClientContext c3;
      refused = client_->stub().ListWorkflowExecutions(&c3, other, &ignored);
      EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    }
    req.set_next_page_token(token);
  } while (!token.empty());
  EXPECT_EQ(pages, 10);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kRuns));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), started);

  // Through cairnctl, which follows the tokens itself.
  auto ids = list("TaskQueue = 'paging'", {"--page-size", "75"});
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), started);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kRuns));
  EXPECT_EQ(list("", {"--limit", "42"}).size(), 42u);
  Run counted = ctl({"workflow", "count", "-q", "WorkflowId STARTS_WITH 'page-'"});
  ASSERT_EQ(counted.exit, 0) << counted.output;
  EXPECT_EQ(counted.output, std::to_string(kRuns) + "\n");
}

class RetentionTest : public VisibilityTest {
 protected:
  std::vector<std::string> server_args() override {
    return {"--retention-sweep-interval-ms", "100"};
  }
};

TEST_F(RetentionTest, DeletesOnlyClosedRunsPastTheRetentionPeriod) {
  Run updated = ctl({"namespace", "update", "default", "--retention", "2s"});
  ASSERT_EQ(updated.exit, 0) << updated.output;
  EXPECT_NE(updated.output.find("retention    2s"), std::string::npos) << updated.output;
  Worker& w = new_worker("ret-q");
  w.register_workflow("quick", [](WorkflowContext&) { return std::string("ok"); });
  w.register_workflow("waits", [](WorkflowContext& ctx) {
    return ctx.signal<std::string>("go").wait();
  });
  w.start();
  client_->start("waits", start_options("open-1", "ret-q"));
  client_->start("quick", start_options("done-1", "ret-q"));
  client_->handle("done-1").result<std::string>(30s);
  const int64_t close_ms =
      client_->handle("done-1").describe().workflow_execution_info().close_time_ms();
  ASSERT_GT(close_ms, 0);

  // The closed run stays for the whole period, then goes: state, history and listing.
  int64_t gone_at = 0;
  const bool gone = eventually([&] {
    try {
      client_->handle("done-1").describe();
      return false;
    } catch (const RpcError& e) {
      EXPECT_EQ(e.code(), grpc::StatusCode::NOT_FOUND) << e.what();
      gone_at = now_ms();
      return true;
    }
  });
  EXPECT_GE(gone_at, close_ms + 2000) << "deleted before its retention period ended";
  ASSERT_TRUE(gone) << "the closed run was never deleted";
  v1::GetWorkflowExecutionHistoryRequest hreq;
  hreq.mutable_execution()->set_workflow_id("done-1");
  v1::GetWorkflowExecutionHistoryResponse hresp;
  grpc::ClientContext ctx;
  grpc::Status st = client_->stub().GetWorkflowExecutionHistory(&ctx, hreq, &hresp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_EQ(list_set(""), (std::set<std::string>{"open-1"}));

  // The open run is untouched however old it is, and still completes.
  auto info = client_->handle("open-1").describe().workflow_execution_info();
  EXPECT_EQ(info.status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  EXPECT_LT(info.start_time_ms(), now_ms() - 2000);
  client_->handle("open-1").signal("go", std::string("late"));
  EXPECT_EQ(client_->handle("open-1").result<std::string>(30s), "late");
}

}  // namespace
}  // namespace cairn::testing
