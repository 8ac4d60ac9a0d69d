// The tool-calling agent loop, as a workflow helper: send the conversation to the model (a
// Session call), run each tool call the model asks for as an activity named "tool.<name>",
// append the results, and repeat until the model answers or a step or cost limit is reached.
// Every model turn and every tool result is an activity result in history, so a crashed worker
// resumes mid-conversation without calling the model again for finished turns. run_agent runs
// on the workflow's fiber; register_tool is called on a Worker before start(). See
// ai/docs/agent.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/activity.h"
#include "cairn/ai/claim_check.h"
#include "cairn/ai/router.h"
#include "cairn/ai/types.h"
#include "cairn/options.h"

namespace cairn {
class Worker;
}

namespace cairn::ai {

class Session;

// The activity a tool runs as: "tool." + its name.
inline constexpr char kToolActivityPrefix[] = "tool.";
std::string tool_activity_name(const std::string& tool_name);

// A tool activity's default options: start_to_close 60 s, 3 attempts, 1 s then ×2.
ActivityOptions default_tool_activity_options();

struct AgentOptions {
  // The tools offered to the model. Names unique, non-empty, letters, digits, '_' and '-'
  // (the OpenAI rule); each must be registered with register_tool on the workers.
  std::vector<ToolSpec> tools;
  int max_steps = 8;    // model turns at most (>= 1)
  // The parameters of every model turn: model, temperature (0 makes a turn cacheable),
  // max_tokens, stop, seed, tool_choice, response_format. Its messages and tools are ignored
  // (the conversation and `tools` are used).
  ChatRequest request;
  Micros max_cost = 0;  // the loop's cost limit (this session's cost); 0: none
  RouteHints route;     // how every model turn is routed
  ActivityOptions tool_activity = default_tool_activity_options();
};

struct AgentResult {
  // The model's final answer ("answered"); otherwise the last assistant message, if any.
  Message answer;
  // Everything: the given messages, then each assistant turn and tool result, in order.
  // Contents above the worker's blob threshold are references (content_ref).
  std::vector<Message> conversation;
  int steps = 0;           // model turns made
  std::string stopped;     // "answered" | "max_steps" | "budget"
  Micros cost_micros = 0;  // cost of the loop's model calls
  Usage usage;             // their tokens
};

void to_json(nlohmann::json& j, const AgentResult& v);
void from_json(const nlohmann::json& j, AgentResult& v);

// Runs the loop. Each step: session.chat_within(conversation, options.route, max_cost) — the
// routed, budgeted, recorded model call — then, when the reply has tool calls, one "tool.<name>"
// activity per call (all scheduled at once, results appended in the model's order). A call of
// an unoffered tool or a tool whose activity finally failed becomes a tool message starting
// "error: " so the model can recover. Stops "budget" when a budget refuses the next turn
// (BudgetExceeded from the run's, the loop's or the shared budget). Throws OptionsError naming
// the field for bad options (before any call), and what Session::chat throws otherwise.
AgentResult run_agent(Session& session, std::vector<Message> conversation,
                      const AgentOptions& options);

// A tool's implementation: parsed arguments in, text for the model out. May throw: an
// ApplicationError fails the attempt (retried per the tool activity's policy unless
// non-retryable); once it finally fails, the model sees "error: <message>".
using ToolFunction = std::function<std::string(ActivityContext&, const nlohmann::json& args)>;

struct ToolOptions {
  // Results longer than blob_threshold_bytes are stored here and travel by reference
  // (null: always inline). The store must be shared by every worker of the task queue.
  std::shared_ptr<BlobStore> blob_store;
  size_t blob_threshold_bytes = kDefaultBlobThresholdBytes;
};

// Registers activity "tool.<spec.name>" on `worker`: it takes the model's ToolCall, parses its
// arguments (malformed JSON, or arguments that are not an object, are answered with an
// "error: ..." tool message without calling `fn`), calls `fn` and returns the tool message
// (role "tool", tool_call_id and name set). Throws OptionsError (field "spec.name") for a name
// the OpenAI API refuses, or (field "fn") for an empty function. REQUIRES: before start().
void register_tool(Worker& worker, ToolSpec spec, ToolFunction fn, ToolOptions options = {});

}  // namespace cairn::ai
