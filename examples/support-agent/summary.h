// What a pass of tickets printed, kept as JSON so that the demo can sum several passes.
#pragma once

#include <nlohmann/json.hpp>

#include <ostream>
#include <vector>

#include "cairn/ai/budget.h"
#include "ticket.h"

namespace support {

struct PassSummary {
  int pass = 0;
  std::vector<TicketAnswer> answers;
  cairn::ai::LedgerSnapshot budget;  // the shared budget after the pass
};

void to_json(nlohmann::json& j, const PassSummary& v);
void from_json(const nlohmann::json& j, PassSummary& v);

// Per ticket: the answer, the models (tiers) that served it, tokens, cost, cache hits and the
// approval; then the pass's totals and the shared budget.
void print_pass(std::ostream& out, const PassSummary& summary);
// Each pass's totals side by side, and what the cache saved.
void print_totals(std::ostream& out, const std::vector<PassSummary>& passes);

}  // namespace support
