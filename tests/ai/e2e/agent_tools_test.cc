// The agent loop against a real endpoint process that emits tool calls when tools are offered:
// each tool call is a "tool.<name>" activity, its result goes back to the model, and the model
// answers from it; limits on steps and cost stop the loop.
#include <mutex>

#include "ai/e2e/session_fixture.h"
#include "cairn/ai/agent.h"

namespace cairn::testing {
namespace {

ai::ToolSpec lookup_order_spec() {
  ai::ToolSpec spec;
  spec.name = "lookup_order";
  spec.description = "Look up the shipping status of an order by its order id.";
  spec.parameters = {{"type", "object"},
                     {"properties", {{"order_id", {{"type", "string"}}}}},
                     {"required", {"order_id"}}};
  return spec;
}

class AgentToolsTest : public SessionE2eTest {
 protected:
  // A worker on `queue` with the AI activities, the tool and workflow "test.agent" running
  // run_agent with `options` over the question it is given.
  void start_worker(const std::string& queue, ai::AgentOptions options) {
    ai::RouterConfig config;
    config.tiers = {tier("standard", *endpoint_)};
    config.default_tier = "standard";
    ai::AiRuntime& runtime = make_runtime(config);
    Worker& w = new_worker(queue);
    ai::register_all(w, *client_, runtime);
    ai::register_tool(w, lookup_order_spec(), [this](ActivityContext&, const nlohmann::json& args) {
      std::lock_guard lock(mu_);
      ++tool_calls_;
      seen_args_ = args;
      return "Order " + args.value("order_id", std::string("?")) +
             " shipped on December 3 by courier and arrives on December 9.";
    });
    options.tool_activity.retry.initial_interval = std::chrono::milliseconds(50);
    w.register_workflow("test.agent", [options](WorkflowContext& ctx, const std::string& q) {
      ai::SessionOptions so;
      so.chat_activity = fast_chat_activity();
      ai::Session session(ctx, so);
      return ai::run_agent(session,
                           {{.role = "system", .content = "You answer questions about orders."},
                            {.role = "user", .content = q}},
                           options);
    });
    w.start();
  }

  void SetUp() override {
    SessionE2eTest::SetUp();
    if (!HasFatalFailure()) {
      endpoint_ = &start_endpoint();
    }
  }

  EndpointProcess* endpoint_ = nullptr;
  std::mutex mu_;
  int tool_calls_ = 0;        // GUARDED_BY(mu_)
  nlohmann::json seen_args_;  // GUARDED_BY(mu_)
};

TEST_F(AgentToolsTest, ToolCallRunsAsAnActivityAndTheModelAnswersFromItsResult) {
  ai::AgentOptions options;
  options.tools = {lookup_order_spec()};
  start_worker("agent", options);

  auto run = client_->start("test.agent", start_options("agent-1", "agent"),
                            std::string("What is the status of order 12345? Use lookup_order."));
  auto result = run.result<ai::AgentResult>(std::chrono::seconds(60));
  EXPECT_EQ(result.stopped, "answered");
  EXPECT_EQ(result.steps, 2);
  std::lock_guard lock(mu_);
  EXPECT_EQ(tool_calls_, 1);
  EXPECT_NE(seen_args_.dump().find("12345"), std::string::npos) << seen_args_.dump();

  // system, user, assistant (tool call), tool result, assistant (answer).
  ASSERT_EQ(result.conversation.size(), 5u);
  const ai::Message& call_turn = result.conversation[2];
  ASSERT_EQ(call_turn.tool_calls.size(), 1u);
  EXPECT_EQ(call_turn.tool_calls[0].name, "lookup_order");
  const ai::Message& tool = result.conversation[3];
  EXPECT_EQ(tool.role, "tool");
  EXPECT_EQ(tool.tool_call_id, call_turn.tool_calls[0].id);
  EXPECT_NE(tool.content.find("shipped on December 3"), std::string::npos) << tool.content;
  EXPECT_EQ(result.answer, result.conversation[4]);
  EXPECT_TRUE(result.answer.tool_calls.empty());
  EXPECT_NE(result.answer.content.find("December"), std::string::npos) << result.answer.content;

  // In history: two model turns and one tool activity between them.
  auto events = run.history();
  EXPECT_EQ(chat_tiers(events).size(), 2u);
  auto tool_inputs = scheduled_inputs(events, "tool.lookup_order");
  ASSERT_EQ(tool_inputs.size(), 1u);
  EXPECT_EQ(tool_inputs[0]["name"], "lookup_order");
  EXPECT_EQ(stat(*endpoint_, "chat_requests"), 2);
  EXPECT_GT(result.usage.prompt_tokens, 0);
  EXPECT_GT(result.cost_micros, 0);
}

TEST_F(AgentToolsTest, StepLimitStopsTheLoop) {
  ai::AgentOptions options;
  options.tools = {lookup_order_spec()};
  options.max_steps = 1;
  start_worker("agent-steps", options);
  auto run = client_->start("test.agent", start_options("agent-steps-1", "agent-steps"),
                            std::string("What is the status of order 777? Use lookup_order."));
  auto result = run.result<ai::AgentResult>(std::chrono::seconds(60));
  EXPECT_EQ(result.stopped, "max_steps");
  EXPECT_EQ(result.steps, 1);
  EXPECT_EQ(stat(*endpoint_, "chat_requests"), 1);
  // The last turn's tool call still ran, so the conversation can be continued.
  ASSERT_FALSE(result.conversation.empty());
  EXPECT_EQ(result.conversation.back().role, "tool");
}

TEST_F(AgentToolsTest, CostLimitStopsTheLoopBeforeAnyModelCall) {
  ai::AgentOptions options;
  options.tools = {lookup_order_spec()};
  options.max_cost = 1;  // one micro-dollar: no turn fits
  start_worker("agent-cost", options);
  auto run = client_->start("test.agent", start_options("agent-cost-1", "agent-cost"),
                            std::string("What is the status of order 5? Use lookup_order."));
  auto result = run.result<ai::AgentResult>(std::chrono::seconds(60));
  EXPECT_EQ(result.stopped, "budget");
  EXPECT_EQ(result.steps, 0);
  EXPECT_EQ(stat(*endpoint_, "chat_requests"), 0);
  auto events = run.history();
  EXPECT_TRUE(chat_tiers(events).empty());
  // The refusal is recorded in history and counted in the worker's metrics.
  auto rejections = marker_results(events, ai::kBudgetRejectionActivity);
  ASSERT_EQ(rejections.size(), 1u);
  EXPECT_EQ(rejections[0]["scope"], "agent");
  EXPECT_EQ(rejections[0]["tier"], "standard");
  EXPECT_EQ(metrics_->budget_rejections("agent"), 1);
}

}  // namespace
}  // namespace cairn::testing
