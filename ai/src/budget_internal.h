// Private parts of the budget area shared by its sources: the ledger workflow function and the
// activities' input.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cairn/ai/budget.h"

namespace cairn::ai {

// The ledger workflow registered as "cairn.ai.ledger" (budget_workflow.cc).
LedgerSnapshot ledger_workflow(WorkflowContext& ctx, LedgerState state);

// Input of the budget activities (recorded in histories: keep the field names).
struct BudgetCall {
  std::string scope;
  std::string key;
  Micros amount = 0;  // reserve: the amount; settle: the actual cost
};
void to_json(nlohmann::json& j, const BudgetCall& v);
void from_json(const nlohmann::json& j, BudgetCall& v);

}  // namespace cairn::ai
