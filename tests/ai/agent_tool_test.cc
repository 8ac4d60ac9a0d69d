// The agent's parts outside workflow code: option checks and one tool call as the tool activity
// runs it (argument parsing, the tool message, claim check of large results).
#include "ai/src/agent_tool.h"

#include <filesystem>

#include <gtest/gtest.h>

namespace cairn::ai::agent_internal {
namespace {

ActivityContext activity_context() {
  ActivityInfo info;
  info.activity_type = "tool.lookup";
  return ActivityContext(info, {}, nullptr);
}

ToolCall call(const std::string& arguments) {
  return ToolCall{.id = "call_1", .name = "lookup", .arguments = arguments};
}

std::string field_of(const AgentOptions& o) {
  try {
    check_agent_options(o);
  } catch (const OptionsError& e) {
    return e.field();
  }
  return "";
}

TEST(AgentTool, ParsedArgumentsReachTheToolAndItsTextBecomesTheToolMessage) {
  nlohmann::json seen;
  ToolFunction fn = [&](ActivityContext&, const nlohmann::json& args) {
    seen = args;
    return "order " + args.at("order_id").get<std::string>() + " shipped";
  };
  auto ctx = activity_context();
  Message m = invoke_tool(fn, {}, ctx, call(R"({"order_id": "A-17"})"));
  EXPECT_EQ(seen, nlohmann::json({{"order_id", "A-17"}}));
  EXPECT_EQ(m.role, "tool");
  EXPECT_EQ(m.tool_call_id, "call_1");
  EXPECT_EQ(m.name, "lookup");
  EXPECT_EQ(m.content, "order A-17 shipped");
  EXPECT_TRUE(m.content_ref.empty());
  // No arguments at all are an empty object.
  ToolFunction count = [](ActivityContext&, const nlohmann::json& args) {
    return std::to_string(args.size());
  };
  EXPECT_EQ(invoke_tool(count, {}, ctx, call("")).content, "0");
}

TEST(AgentTool, MalformedArgumentsAreAnsweredWithoutCallingTheTool) {
  int calls = 0;
  ToolFunction fn = [&](ActivityContext&, const nlohmann::json&) {
    ++calls;
    return std::string("ran");
  };
  auto ctx = activity_context();
  Message bad = invoke_tool(fn, {}, ctx, call("{\"order_id\": "));
  EXPECT_EQ(bad.content.rfind("error: the arguments are not valid JSON", 0), 0u) << bad.content;
  Message array = invoke_tool(fn, {}, ctx, call("[1, 2]"));
  EXPECT_EQ(array.content, "error: the arguments must be a JSON object, got array");
  EXPECT_EQ(array.tool_call_id, "call_1");
  EXPECT_EQ(calls, 0);
}

TEST(AgentTool, LargeResultsTravelByReference) {
  char tmpl[] = "/tmp/cairn-agent-test-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto store = std::make_shared<FileBlobStore>(dir);
  std::string big(5000, 'r');
  ToolFunction fn = [&](ActivityContext&, const nlohmann::json&) { return big; };
  auto ctx = activity_context();
  Message m = invoke_tool(fn, {.blob_store = store, .blob_threshold_bytes = 4096}, ctx, call("{}"));
  EXPECT_TRUE(m.content.empty());
  EXPECT_EQ(m.content_ref, blob_ref_for(big));
  EXPECT_EQ(store->get(m.content_ref), big);
  Message small =
      invoke_tool([](ActivityContext&, const nlohmann::json&) { return std::string("ok"); },
                  {.blob_store = store, .blob_threshold_bytes = 4096}, ctx, call("{}"));
  EXPECT_EQ(small.content, "ok");
  std::filesystem::remove_all(dir);
}

TEST(AgentTool, ToolErrorsPropagateForTheRetryPolicy) {
  ToolFunction fn = [](ActivityContext&, const nlohmann::json&) -> std::string {
    throw ApplicationError("inventory service down", "Unavailable");
  };
  auto ctx = activity_context();
  EXPECT_THROW(invoke_tool(fn, {}, ctx, call("{}")), ApplicationError);
}

TEST(AgentTool, OptionsAreCheckedNamingTheField) {
  AgentOptions ok;
  ok.tools.push_back({.name = "lookup_order"});
  ok.tools.push_back({.name = "kb-search"});
  EXPECT_EQ(field_of(ok), "");

  AgentOptions steps = ok;
  steps.max_steps = 0;
  EXPECT_EQ(field_of(steps), "max_steps");
  AgentOptions cost = ok;
  cost.max_cost = -1;
  EXPECT_EQ(field_of(cost), "max_cost");
  AgentOptions name = ok;
  name.tools[1].name = "kb search";
  EXPECT_EQ(field_of(name), "tools[1].name");
  AgentOptions twice = ok;
  twice.tools[1].name = "lookup_order";
  EXPECT_EQ(field_of(twice), "tools[1].name");
  AgentOptions timeout = ok;
  timeout.tool_activity = {};
  EXPECT_EQ(field_of(timeout), "tool_activity.start_to_close");

  EXPECT_TRUE(valid_tool_name(std::string(64, 'a')));
  EXPECT_FALSE(valid_tool_name(std::string(65, 'a')));
  EXPECT_FALSE(valid_tool_name(""));
  EXPECT_EQ(tool_activity_name("lookup_order"), "tool.lookup_order");
}

}  // namespace
}  // namespace cairn::ai::agent_internal
