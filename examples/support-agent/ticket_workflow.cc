// The support.ticket workflow: retrieve, answer (with tools), and hold an unsure answer for a
// person. Every step is an activity or a durable wait in the run's history, so a crash of the
// worker or the server resumes the ticket where it was — without calling the model again for
// turns already answered — and the run's cost is exact (from the recorded usage).
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "cairn/ai/agent.h"
#include "cairn/ai/approval.h"
#include "cairn/ai/session.h"
#include "cairn/ai/vector_activities.h"
#include "cairn/workflow.h"
#include "ticket.h"

namespace support {
namespace {

using namespace std::chrono_literals;
namespace ai = cairn::ai;

constexpr char kSystemPrompt[] =
    "You are the support assistant of Lumen Cloud. Answer the customer's question from the "
    "context below, briefly and exactly; if the context does not cover it, say so. Use the "
    "lookup_invoice tool for questions about a specific invoice.\n\nContext:\n";

}  // namespace

TicketAnswer answer_ticket(cairn::WorkflowContext& ctx, const Ticket& ticket) {
  ai::SessionOptions options;
  options.budget_scope = kBudgetScope;
  options.run_budget = kTicketBudgetMicros;
  options.prompt_version = "support-v1";
  ai::Session session(ctx, options);

  // 1. The knowledge base: the three chunks nearest to the question.
  std::vector<ai::VectorHit> hits = ai::search(ctx, kIndex, ticket.question, 3);
  TicketAnswer out;
  out.id = ticket.id;
  out.confidence = hits.empty() ? 0.0 : hits.front().score;
  std::string context;
  for (const ai::VectorHit& hit : hits) {
    context += "- " + hit.metadata.value("text", std::string()) + "\n";
  }

  // 2. The model, with the invoice tool, routed by the ticket's complexity.
  std::vector<ai::Message> conversation{
      {.role = "system", .content = kSystemPrompt + context},
      {.role = "user", .content = ticket.question},
  };
  ai::AgentOptions agent;
  agent.tools = {invoice_tool_spec()};
  agent.max_steps = 4;
  agent.request.temperature = 0;  // deterministic: answers may come from the response cache
  agent.route.complexity = ticket.complexity;
  ai::AgentResult result = ai::run_agent(session, conversation, agent);
  out.answer = session.content(result.answer);
  out.steps = result.steps;
  for (const ai::Message& m : result.conversation) {
    for (const ai::ToolCall& call : m.tool_calls) {
      out.tools.push_back(call.name);
    }
  }
  if (result.stopped != "answered") {
    out.answer = "(no answer: " + result.stopped + ") " + out.answer;
  }

  // 3. Not sure? A person approves before the answer goes out (a durable wait: no worker is
  // held, the run survives restarts while it waits).
  if (out.confidence < kMinConfidence) {
    ai::ApprovalRequest request;
    request.id = "answer-" + ticket.id;
    request.what = "send a low-confidence answer to " + ticket.customer + " (" + ticket.id + ")";
    request.details = {{"ticket", ticket.id},
                       {"question", ticket.question},
                       {"answer", out.answer},
                       {"confidence", out.confidence}};
    request.approvers = {"support-lead"};
    request.timeout = 24h;
    ai::ApprovalDecision decision = ai::request_approval(ctx, request);
    if (decision.via == "timeout") {
      out.approval = "timed out";
      out.answer = "A support engineer will get back to you shortly.";
    } else {
      out.approval = (decision.approved ? "approved by " : "rejected by ") + decision.by;
      if (!decision.approved) {
        out.answer = "A support engineer will get back to you shortly.";
      }
    }
  }

  const ai::UsageReport& usage = session.cost().report();
  for (const auto& [model, m] : usage.by_model) {
    if (m.embeddings < m.calls) {
      out.models.push_back(model);
    }
  }
  out.prompt_tokens = usage.total.prompt_tokens;
  out.completion_tokens = usage.total.completion_tokens;
  out.cost_micros = usage.cost_micros;
  out.calls = usage.calls;
  out.cache_hits = usage.cache_hits;
  return out;
}

}  // namespace support
