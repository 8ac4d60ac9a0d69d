// Per-run cost accounting against a real cairn-server: the cost alert fires once per run (also
// when every workflow task replays the whole history), the usage query equals what history
// says and what `cairnctl workflow usage` prints, `cairnctl workflow list -q "CostMicros >
// 500000"` finds the expensive run, describe shows the AI usage, a per-run budget refuses the
// call that would pass it.
#include "ai/e2e/budget_fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using ai::Micros;

// $0.30 exactly on gpt-4o: 40,000 prompt ($0.10) + 20,000 completion ($0.20).
CallSpec thirty_cents(int calls) {
  CallSpec s;
  s.prompt_tokens = 40'000;
  s.completion_tokens = 20'000;
  s.calls = calls;
  return s;
}

class BudgetCostTest : public BudgetTest {
 protected:
  void SetUp() override {
    BudgetTest::SetUp();
    ai::register_cost_search_attributes(*client_);  // again: idempotent
  }

  int scheduled(const std::vector<v1::HistoryEvent>& events, const std::string& type) {
    int n = 0;
    for (const auto& e : events) {
      n += e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
                   e.activity_task_scheduled_event_attributes().activity_type().name() == type
               ? 1
               : 0;
    }
    return n;
  }

  int alert_upserts(const std::vector<v1::HistoryEvent>& events) {
    int n = 0;
    for (const auto& e : events) {
      if (e.event_type() == v1::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) {
        n += e.upsert_workflow_search_attributes_event_attributes().search_attributes().contains(
                 "CostAlert")
                 ? 1
                 : 0;
      }
    }
    return n;
  }

  void check_alert_once(const std::string& id) {
    auto run = start_call(id, thirty_cents(4));  // $0.30, $0.60 (alert), $0.90, $1.20
    EXPECT_EQ(run.result<std::string>(60s), "admitted 4");
    auto events = run.history();
    EXPECT_EQ(alert_upserts(events), 1);
    EXPECT_EQ(scheduled(events, "test.alert"), 1) << "the alert callback ran more than once";
    EXPECT_EQ(scheduled(events, "cairn.ai.chat"), 4);
    auto attrs = run.describe().workflow_execution_info().search_attributes();
    ASSERT_TRUE(attrs.contains("CostAlert"));
    EXPECT_EQ(attrs.at("CostAlert").data(), "true");
    EXPECT_EQ(attrs.at("CostMicros").data(), "1200000");
    EXPECT_EQ(attrs.at("PromptTokens").data(), "160000");
    EXPECT_EQ(attrs.at("CompletionTokens").data(), "80000");
    ai::UsageReport from_history = ai::usage_from_history(events);
    EXPECT_TRUE(from_history.alert_fired);
    EXPECT_EQ(from_history.cost_micros, 1'200'000);
  }
};

TEST_F(BudgetCostTest, TheCostAlertFiresOncePerRun) {
  start_worker();
  check_alert_once("pricey");
  EXPECT_EQ(alerts_run_.load(), 1);
}

TEST_F(BudgetCostTest, TheCostAlertFiresOnceWhenEveryTaskReplaysTheHistory) {
  start_worker(/*cache=*/0);
  check_alert_once("pricey-replayed");
  EXPECT_EQ(alerts_run_.load(), 1);
}

TEST_F(BudgetCostTest, UsageQueryHistoryAndCairnctlAgree) {
  start_worker();
  auto run = start_call("usage", thirty_cents(2));
  ASSERT_EQ(run.result<std::string>(60s), "admitted 2");
  ai::UsageReport queried = run.query<ai::UsageReport>(ai::kUsageQuery);
  EXPECT_EQ(queried.cost_micros, 600'000);
  EXPECT_EQ(queried.by_model.at("gpt-4o").calls, 2);
  EXPECT_EQ(nlohmann::json(ai::usage_from_history(run.history())), nlohmann::json(queried));

  Run ctl_usage = ctl({"workflow", "usage", "-w", "usage", "-o", "json"});
  ASSERT_EQ(ctl_usage.exit, 0) << ctl_usage.output;
  nlohmann::json printed = nlohmann::json::parse(ctl_usage.output);
  EXPECT_EQ(printed["cost_micros"], 600'000);
  EXPECT_EQ(printed["by_model"], nlohmann::json(queried)["by_model"]);
  EXPECT_EQ(printed["workflow_id"], "usage");

  Run table = ctl({"workflow", "usage", "-w", "usage"});
  ASSERT_EQ(table.exit, 0) << table.output;
  EXPECT_NE(table.output.find("gpt-4o"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("$0.600000"), std::string::npos) << table.output;

  Run described = ctl({"workflow", "describe", "-w", "usage"});
  ASSERT_EQ(described.exit, 0) << described.output;
  EXPECT_NE(described.output.find("AI usage:"), std::string::npos) << described.output;
  EXPECT_NE(described.output.find("$0.600000"), std::string::npos) << described.output;
  Run described_json = ctl({"workflow", "describe", "-w", "usage", "-o", "json"});
  ASSERT_EQ(described_json.exit, 0) << described_json.output;
  nlohmann::json dj = nlohmann::json::parse(described_json.output);
  EXPECT_EQ(dj["ai_usage"]["cost_micros"], 600'000);
  EXPECT_TRUE(dj.contains("workflowExecutionInfo") || dj.contains("workflow_execution_info"))
      << "describe's own fields are still there";
}

TEST_F(BudgetCostTest, ListFindsTheExpensiveRunByCostMicros) {
  start_worker();
  CallSpec cheap = thirty_cents(1);
  cheap.prompt_tokens = 400;
  cheap.completion_tokens = 200;  // $0.003
  ASSERT_EQ(start_call("cheap-run", cheap).result<std::string>(60s), "admitted 1");
  ASSERT_EQ(start_call("costly-run", thirty_cents(2)).result<std::string>(60s), "admitted 2");
  Run listed;
  ASSERT_TRUE(eventually([&] {
    listed = ctl({"workflow", "list", "-q", "CostMicros > 500000", "-o", "json"});
    return listed.exit == 0 && listed.output.find("costly-run") != std::string::npos;
  })) << listed.output;
  EXPECT_EQ(listed.output.find("cheap-run"), std::string::npos) << listed.output;
  Run all_costed = ctl({"workflow", "list", "-q", "CostMicros > 0", "-o", "json"});
  EXPECT_NE(all_costed.output.find("cheap-run"), std::string::npos) << all_costed.output;
  Run alerted = ctl({"workflow", "list", "-q", "CostAlert = true", "-o", "json"});
  EXPECT_NE(alerted.output.find("costly-run"), std::string::npos) << alerted.output;
  EXPECT_EQ(alerted.output.find("cheap-run"), std::string::npos) << alerted.output;
}

TEST_F(BudgetCostTest, ARunBudgetRefusesTheCallThatWouldPassIt) {
  start_worker();
  CallSpec spec = thirty_cents(3);
  spec.run_limit = 700'000;  // $0.30 + $0.30 fit; a third $0.30 would pass $0.70
  EXPECT_EQ(start_call("run-budget", spec).result<std::string>(60s), "refused:run after 2");
  EXPECT_EQ(model_calls_.load(), 2);
}

}  // namespace
}  // namespace cairn::testing
