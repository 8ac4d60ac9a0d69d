// The agent loop (run_agent) and the tool activity wrapper (register_tool).
#include "cairn/ai/agent.h"

#include <map>
#include <set>

#include "agent_tool.h"
#include "cairn/ai/budget.h"
#include "cairn/ai/session.h"
#include "cairn/worker.h"
#include "cairn/workflow.h"

namespace cairn::ai {
namespace agent_internal {

bool valid_tool_name(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

void check_agent_options(const AgentOptions& o) {
  if (o.max_steps < 1) {
    throw OptionsError(
        "agent options: max_steps must be at least 1 (got " + std::to_string(o.max_steps) + ")",
        "max_steps");
  }
  if (o.max_cost < 0) {
    throw OptionsError(
        "agent options: max_cost must not be negative (got " + std::to_string(o.max_cost) + ")",
        "max_cost");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < o.tools.size(); ++i) {
    const std::string& name = o.tools[i].name;
    std::string field = "tools[" + std::to_string(i) + "].name";
    if (!valid_tool_name(name)) {
      throw OptionsError("agent options: " + field + " \"" + name +
                             "\" is not a valid tool name (1 to 64 letters, digits, '_' or '-')",
                         field);
    }
    if (!seen.insert(name).second) {
      throw OptionsError("agent options: " + field + ": tool \"" + name + "\" is offered twice",
                         field);
    }
  }
  if (!o.tools.empty() && o.tool_activity.start_to_close.count() <= 0 &&
      o.tool_activity.schedule_to_close.count() <= 0) {
    throw OptionsError("agent options: tool_activity needs start_to_close or schedule_to_close",
                       "tool_activity.start_to_close");
  }
}

Message tool_message(const ToolCall& call, std::string content) {
  Message m;
  m.role = "tool";
  m.tool_call_id = call.id;
  m.name = call.name;
  m.content = std::move(content);
  return m;
}

Message invoke_tool(const ToolFunction& fn, const ToolOptions& options, ActivityContext& ctx,
                    const ToolCall& call) {
  nlohmann::json args;
  std::string text = call.arguments.empty() ? "{}" : call.arguments;
  try {
    args = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return tool_message(call, std::string("error: the arguments are not valid JSON (") + e.what() +
                                  "); send a JSON object");
  }
  if (!args.is_object()) {
    return tool_message(
        call, "error: the arguments must be a JSON object, got " + std::string(args.type_name()));
  }
  Message m = tool_message(call, fn(ctx, args));
  if (options.blob_store) {
    offload_large(*options.blob_store, m, options.blob_threshold_bytes);
  }
  return m;
}

}  // namespace agent_internal

using agent_internal::check_agent_options;
using agent_internal::tool_message;
using agent_internal::valid_tool_name;

std::string tool_activity_name(const std::string& tool_name) {
  return kToolActivityPrefix + tool_name;
}

ActivityOptions default_tool_activity_options() {
  ActivityOptions o;
  o.start_to_close = std::chrono::seconds(60);
  o.retry.maximum_attempts = 3;
  o.retry.initial_interval = std::chrono::seconds(1);
  o.retry.backoff_coefficient = 2.0;
  return o;
}

void to_json(nlohmann::json& j, const AgentResult& v) {
  j = nlohmann::json{{"answer", v.answer},   {"conversation", v.conversation}, {"steps", v.steps},
                     {"stopped", v.stopped}, {"cost_micros", v.cost_micros},   {"usage", v.usage}};
}

void from_json(const nlohmann::json& j, AgentResult& v) {
  v = AgentResult{};
  if (j.contains("answer")) {
    j.at("answer").get_to(v.answer);
  }
  if (j.contains("conversation")) {
    j.at("conversation").get_to(v.conversation);
  }
  v.steps = j.value("steps", 0);
  v.stopped = j.value("stopped", "");
  v.cost_micros = j.value("cost_micros", Micros{0});
  if (j.contains("usage")) {
    j.at("usage").get_to(v.usage);
  }
}

AgentResult run_agent(Session& session, std::vector<Message> conversation,
                      const AgentOptions& options) {
  check_agent_options(options);
  WorkflowContext& ctx = session.context();
  std::set<std::string> offered;
  for (const ToolSpec& t : options.tools) {
    offered.insert(t.name);
  }

  AgentResult out;
  // The limit is on the loop's own spending: what the session spent before it does not count.
  const Micros spent_before = session.cost().cost_micros();
  const Micros limit = options.max_cost > 0 ? spent_before + options.max_cost : 0;
  out.stopped = "max_steps";
  while (out.steps < options.max_steps) {
    ChatRequest request = options.request;
    request.messages = std::move(conversation);
    request.tools = options.tools;
    ChatResult turn;
    try {
      turn = session.chat_within(request, options.route, limit);
    } catch (const BudgetExceeded&) {
      conversation = std::move(request.messages);
      out.stopped = "budget";
      break;
    }
    conversation = std::move(request.messages);  // large contents now by reference
    ++out.steps;
    out.cost_micros += turn.cost_micros;
    out.usage += turn.usage;
    Message reply = turn.response.message;
    if (reply.role.empty()) {
      reply.role = "assistant";
    }
    conversation.push_back(reply);
    out.answer = reply;
    if (reply.tool_calls.empty()) {
      out.stopped = "answered";
      break;
    }

    // All tool calls of a turn run at once; their results go back in the model's order.
    std::vector<std::optional<Future<Message>>> pending;
    for (const ToolCall& call : reply.tool_calls) {
      if (offered.count(call.name) == 0) {
        pending.emplace_back(std::nullopt);
        continue;
      }
      pending.emplace_back(
          ctx.activity<Message>(tool_activity_name(call.name), call, options.tool_activity));
    }
    for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
      const ToolCall& call = reply.tool_calls[i];
      if (!pending[i]) {
        conversation.push_back(
            tool_message(call, "error: no tool named \"" + call.name + "\" is offered"));
        continue;
      }
      try {
        Message result = pending[i]->get();
        result.role = "tool";
        result.tool_call_id = call.id;
        conversation.push_back(std::move(result));
      } catch (const ActivityError& e) {
        if (e.cause().has_canceled_failure_info()) {
          throw;
        }
        conversation.push_back(
            tool_message(call, "error: tool " + call.name + " failed: " + e.cause().message()));
      }
    }
  }
  out.conversation = std::move(conversation);
  return out;
}

void register_tool(Worker& worker, ToolSpec spec, ToolFunction fn, ToolOptions options) {
  if (!valid_tool_name(spec.name)) {
    throw OptionsError("register_tool: spec.name \"" + spec.name +
                           "\" is not a valid tool name (1 to 64 letters, digits, '_' or '-')",
                       "spec.name");
  }
  if (!fn) {
    throw OptionsError("register_tool: tool \"" + spec.name + "\" has no function", "fn");
  }
  worker.register_activity(
      tool_activity_name(spec.name),
      [fn = std::move(fn), options](ActivityContext& actx, const ToolCall& call) -> Message {
        return agent_internal::invoke_tool(fn, options, actx, call);
      });
}

}  // namespace cairn::ai
