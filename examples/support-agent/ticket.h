// The support agent's workflow and its values: a ticket in, an answer out. The workflow
// ("support.ticket") searches the knowledge base, lets the model answer with the retrieved
// context (routed by the ticket's complexity, calling the invoice tool when it needs to), and
// holds an answer it is not confident about for a person's approval. See README.md.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "cairn/ai/types.h"

namespace cairn {
class Client;
class WorkflowContext;
class Worker;
}  // namespace cairn

namespace cairn::ai {
class AiRuntime;
class VectorRegistry;
}  // namespace cairn::ai

namespace support {

inline constexpr char kTaskQueue[] = "support-agent";
inline constexpr char kTicketWorkflow[] = "support.ticket";
inline constexpr char kIndex[] = "kb";                       // the knowledge-base vector index
inline constexpr char kBudgetScope[] = "support/2026-12";    // the team's shared monthly budget
inline constexpr cairn::ai::Micros kBudgetMicros = 5'000'000;  // $5 a month
inline constexpr cairn::ai::Micros kTicketBudgetMicros = 200'000;  // $0.20 a ticket
// Below this retrieval score the answer waits for a person (cosine similarity of the ticket
// and its best knowledge-base chunk).
inline constexpr double kMinConfidence = 0.18;

struct Ticket {
  std::string id;
  std::string customer;
  std::string question;
  std::string complexity;  // "low" | "medium" | "high" (the router's rules); empty: by size
};

struct TicketAnswer {
  std::string id;
  std::string answer;
  std::vector<std::string> models;  // the models that served the model turns
  double confidence = 0;            // the best retrieval score
  int steps = 0;                    // model turns
  std::vector<std::string> tools;   // tools the model called
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  cairn::ai::Micros cost_micros = 0;
  int64_t calls = 0;
  int64_t cache_hits = 0;
  std::string approval;  // "" (not needed), "approved by X", "rejected by X", "timed out"
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Ticket, id, customer, question, complexity)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TicketAnswer, id, answer, models, confidence,
                                                steps, tools, prompt_tokens, completion_tokens,
                                                cost_micros, calls, cache_hits, approval)

// The workflow function (registered as kTicketWorkflow).
TicketAnswer answer_ticket(cairn::WorkflowContext& ctx, const Ticket& ticket);

// The invoice tool ("lookup_invoice"): looks an invoice up in the JSON file `invoices_path`
// (examples/support-agent/invoices.json), as a billing system would answer.
cairn::ai::ToolSpec invoice_tool_spec();
void register_invoice_tool(cairn::Worker& worker, const std::string& invoices_path);

}  // namespace support
