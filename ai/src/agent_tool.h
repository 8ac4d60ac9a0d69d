// The parts of the agent loop that run outside workflow code, kept apart for unit tests: the
// check of AgentOptions and one tool call as the "tool.<name>" activity runs it. Stateless.
#pragma once

#include "cairn/ai/agent.h"

namespace cairn::ai::agent_internal {

// Throws OptionsError naming the field: max_steps < 1, a negative max_cost, a tool name that is
// empty, too long or holds other than letters, digits, '_' and '-', a tool offered twice, tools
// without a tool_activity timeout.
void check_agent_options(const AgentOptions& options);

// Whether the OpenAI API accepts `name` as a function name (1 to 64 of [A-Za-z0-9_-]).
bool valid_tool_name(const std::string& name);

// A tool message answering `call` (role "tool", tool_call_id and name set).
Message tool_message(const ToolCall& call, std::string content);

// Runs `fn` for `call`: the tool message for the model (role "tool", tool_call_id, name), its
// content offloaded to options.blob_store when above the threshold. Malformed arguments are
// answered with an "error: ..." message without calling `fn`. Throws what `fn` throws.
Message invoke_tool(const ToolFunction& fn, const ToolOptions& options, ActivityContext& ctx,
                    const ToolCall& call);

}  // namespace cairn::ai::agent_internal
