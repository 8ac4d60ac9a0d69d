// Per-run cost accounting: tokens and cost by model from the recorded results of the chat and
// embedding activities, visible as search attributes (CostMicros, PromptTokens,
// CompletionTokens, CostAlert), a query ("cairn.ai.usage") and in `cairnctl workflow describe /
// usage` (which compute the same report from history with usage_from_history). An alert fires
// once per run when the run's cost passes a threshold; a per-run budget refuses a call that
// would pass it. A CostTracker belongs to one workflow run (its fiber); the free functions are
// thread-safe. See ai/docs/budgets.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/types.h"
#include "cairn/client.h"
#include "cairn/workflow.h"

namespace cairn::ai {

// Names users query by and histories hold: never rename.
inline constexpr char kCostMicrosAttribute[] = "CostMicros";              // Int
inline constexpr char kPromptTokensAttribute[] = "PromptTokens";          // Int
inline constexpr char kCompletionTokensAttribute[] = "CompletionTokens";  // Int
inline constexpr char kCostAlertAttribute[] = "CostAlert";                // Bool
inline constexpr char kUsageQuery[] = "cairn.ai.usage";
inline constexpr Micros kDefaultAlertThreshold = 500'000;  // $0.50

// Tokens and cost of one model within a run.
struct ModelUsage {
  std::string model;
  Usage usage;
  Micros cost_micros = 0;
  int64_t calls = 0;       // chat and embedding calls answered by this model
  int64_t cache_hits = 0;  // of those, answered from the response cache
  int64_t embeddings = 0;  // of those, embedding calls
};

// A run's usage: by model (sorted by name) and in total.
struct UsageReport {
  std::map<std::string, ModelUsage> by_model;
  Usage total;
  Micros cost_micros = 0;
  int64_t calls = 0;
  int64_t cache_hits = 0;
  bool alert_fired = false;  // the cost alert fired in this run

  // Adds one recorded chat / embedding result.
  void add(const ChatResult& result);
  void add(const EmbedResult& result);
  bool empty() const { return calls == 0; }
};

struct CostOptions {
  // The alert fires once when the run's cost passes this (strictly above); 0: never.
  Micros alert_threshold = kDefaultAlertThreshold;
  // Called once per run, in workflow code, when the alert fires (on replay too, at the same
  // point, so it may schedule activities or signal: deterministic). Gets the run's cost.
  std::function<void(WorkflowContext&, Micros cost)> on_alert;
  // Upsert the search attributes after each record (they must be registered in the namespace:
  // register_cost_search_attributes). false: only the query and the report.
  bool upsert_search_attributes = true;
};

// Per-run usage and cost. Construct once at the start of the workflow (it registers the query
// "cairn.ai.usage", answering the UsageReport); record every chat / embedding result. Must be
// used from the run's workflow fiber only, and outlive the query's use (keep it for the whole
// workflow function).
class CostTracker {
 public:
  // Throws OptionsError (field "alert_threshold") for a negative threshold.
  CostTracker(WorkflowContext& ctx, CostOptions options = {});
  CostTracker(const CostTracker&) = delete;
  CostTracker& operator=(const CostTracker&) = delete;

  // Adds the result's usage and cost, upserts CostMicros / PromptTokens / CompletionTokens,
  // and fires the alert (CostAlert = true, a warning log outside replay, on_alert) the first
  // time the run's cost passes the threshold.
  void record(WorkflowContext& ctx, const ChatResult& result);
  void record(WorkflowContext& ctx, const EmbedResult& result);

  // Throws BudgetExceeded (scope "run") when this run's recorded cost plus `next_max_cost`
  // would pass `run_limit`. run_limit 0: no per-run budget.
  void check_run_budget(Micros run_limit, Micros next_max_cost) const;

  const UsageReport& report() const { return report_; }
  Micros cost_micros() const { return report_.cost_micros; }
  bool alert_fired() const { return report_.alert_fired; }

 private:
  void after_record(WorkflowContext& ctx);

  CostOptions options_;
  UsageReport report_;
};

// The usage of a run computed from its history: every completed "cairn.ai.chat" /
// "cairn.ai.embed" activity's recorded result (ActivityTaskScheduled type +
// ActivityTaskCompleted result). Payloads must be decoded already (decode_payloads_in); a
// result that does not parse is skipped and counted in `unreadable` when given.
UsageReport usage_from_history(const std::vector<v1::HistoryEvent>& events,
                               int64_t* unreadable = nullptr);

// Registers CostMicros, PromptTokens, CompletionTokens (Int) and CostAlert (Bool) in the
// client's namespace. Idempotent. Throws RpcError (ALREADY_EXISTS when a name exists with
// another type).
void register_cost_search_attributes(Client& client);

void to_json(nlohmann::json& j, const ModelUsage& v);
void from_json(const nlohmann::json& j, ModelUsage& v);
void to_json(nlohmann::json& j, const UsageReport& v);
void from_json(const nlohmann::json& j, UsageReport& v);

}  // namespace cairn::ai
