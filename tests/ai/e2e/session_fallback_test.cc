// Session fallback across cost tiers against real endpoint processes: the order is the plan's,
// each tier tried is one "cairn.ai.chat" activity in history with its retries counted by the
// endpoint, the number of tiers is bounded by max_attempts, a context-length refusal moves to a
// larger context, a refusal moves on, and the shared budget reserves and settles (or releases)
// around each tier.
#include "ai/e2e/session_fixture.h"
#include "cairn/ai/budget.h"

namespace cairn::testing {
namespace {

class SessionFallbackTest : public SessionE2eTest {
 protected:
  // Registers "test.chat" (one Session::chat of a question with a short context) and the
  // ledger, and starts a worker on `queue`.
  void start_worker(ai::AiRuntime& runtime, const std::string& queue,
                    const std::string& budget_scope = "") {
    Worker& w = new_worker(queue);
    ai::register_all(w, *client_, runtime);
    ai::SessionOptions so;
    so.chat_activity = fast_chat_activity();
    so.budget_scope = budget_scope;
    w.register_workflow("test.chat", [so](WorkflowContext& ctx, const std::string& question) {
      ai::Session session(ctx, so);
      ai::ChatRequest r;
      r.temperature = 0;
      r.messages = {{.role = "system",
                     .content = "Refunds are accepted within 30 days. Shipping takes 5 days."},
                    {.role = "user", .content = question}};
      return session.chat(r);
    });
    w.start();
  }

  static std::string failure_type(WorkflowHandle& run) {
    try {
      run.result<ai::ChatResult>(std::chrono::seconds(60));
    } catch (const WorkflowFailedError& e) {
      const v1::Failure* f = &e.failure();
      while (!f->has_application_failure_info() && f->has_cause()) {
        f = &f->cause();
      }
      return f->application_failure_info().type();
    }
    return "";
  }
};

TEST_F(SessionFallbackTest, FailingTierIsRetriedThenTheNextTierServesAndTheBudgetSettlesOnce) {
  EndpointProcess& economy = start_endpoint();
  EndpointProcess& standard = start_endpoint();
  economy.set_fault({{"mode", "status"}, {"status", 503}, {"count", -1}});
  ai::RouterConfig config;
  config.tiers = {tier("economy", economy, {"standard"}), tier("standard", standard)};
  config.default_tier = "economy";
  config.cooldown = std::chrono::milliseconds(1);  // each retry finds the endpoint free
  ai::AiRuntime& runtime = make_runtime(config);
  start_worker(runtime, "fallback", "team-a");
  ai::LedgerOptions lo;
  lo.task_queue = "fallback";
  ai::ensure_budget(*client_, "team-a", 5 * ai::kMicrosPerDollar, lo);

  auto run = client_->start("test.chat", start_options("fallback-1", "fallback"),
                            std::string("How long does shipping take?"));
  ai::ChatResult result = run.result<ai::ChatResult>(std::chrono::seconds(60));
  EXPECT_EQ(result.tier, "standard");
  EXPECT_EQ(result.endpoint, "standard-endpoint");
  EXPECT_NE(result.response.message.content.find("5 days"), std::string::npos)
      << result.response.message.content;

  // Three attempts (the activity's retry policy) at economy, then one call at standard.
  EXPECT_EQ(stat(economy, "chat_requests"), 3);
  EXPECT_EQ(stat(standard, "chat_requests"), 1);
  auto events = run.history();
  EXPECT_EQ(chat_tiers(events), (std::vector<std::string>{"economy", "standard"}));
  auto plans = marker_results(events, ai::kRouteActivity);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0]["plan"]["chain"], nlohmann::json({"economy", "standard"}));
  auto fallbacks = marker_results(events, ai::kFallbackActivity);
  ASSERT_EQ(fallbacks.size(), 1u);
  EXPECT_EQ(fallbacks[0]["from"], "economy");
  EXPECT_EQ(fallbacks[0]["to"], "standard");
  EXPECT_EQ(fallbacks[0]["reason"], "exhausted");
  EXPECT_EQ(metrics_->fallbacks("economy", "standard", "exhausted"), 1);

  // economy's reservation was released, standard's settled at the recorded cost.
  ai::LedgerSnapshot ledger = ai::ledger_state(*client_, "team-a");
  EXPECT_EQ(ledger.released, 1);
  EXPECT_EQ(ledger.settled, 1);
  EXPECT_EQ(ledger.spent, result.cost_micros);
  EXPECT_EQ(ledger.reserved, 0);
  EXPECT_GT(result.cost_micros, 0);
}

TEST_F(SessionFallbackTest, TiersTriedAreBoundedByMaxAttempts) {
  EndpointProcess& economy = start_endpoint();
  EndpointProcess& standard = start_endpoint();
  EndpointProcess& premium = start_endpoint();
  economy.set_fault({{"mode", "status"}, {"status", 500}, {"count", -1}});
  standard.set_fault({{"mode", "status"}, {"status", 503}, {"count", -1}});
  ai::RouterConfig config;
  config.tiers = {tier("economy", economy, {"standard"}), tier("standard", standard, {"premium"}),
                  tier("premium", premium)};
  config.default_tier = "economy";
  config.max_attempts = 2;
  config.cooldown = std::chrono::milliseconds(1);
  start_worker(make_runtime(config), "bounded");

  auto run = client_->start("test.chat", start_options("bounded-1", "bounded"),
                            std::string("How long does shipping take?"));
  EXPECT_EQ(failure_type(run), ai::kAllTiersFailedType);
  EXPECT_EQ(stat(economy, "chat_requests"), 3);
  EXPECT_EQ(stat(standard, "chat_requests"), 3);
  EXPECT_EQ(stat(premium, "chat_requests"), 0);
  EXPECT_EQ(chat_tiers(run.history()), (std::vector<std::string>{"economy", "standard"}));
}

TEST_F(SessionFallbackTest, TierCoolingDownFallsBackWithoutWaitingOutTheCooldown) {
  EndpointProcess& economy = start_endpoint();
  EndpointProcess& standard = start_endpoint();
  economy.set_fault({{"mode", "status"}, {"status", 503}, {"count", -1}});
  ai::RouterConfig config;
  config.tiers = {tier("economy", economy, {"standard"}), tier("standard", standard)};
  config.default_tier = "economy";
  config.cooldown = std::chrono::minutes(10);  // the failed endpoint rests past the test
  start_worker(make_runtime(config), "cooling");

  auto started = std::chrono::steady_clock::now();
  auto run = client_->start("test.chat", start_options("cooling-1", "cooling"),
                            std::string("How long does shipping take?"));
  ai::ChatResult result = run.result<ai::ChatResult>(std::chrono::seconds(60));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  EXPECT_EQ(result.tier, "standard");
  // One request: the retry found the endpoint cooling down and the session moved on.
  EXPECT_EQ(stat(economy, "chat_requests"), 1);
  auto fallbacks = marker_results(run.history(), ai::kFallbackActivity);
  ASSERT_EQ(fallbacks.size(), 1u);
  EXPECT_EQ(fallbacks[0]["reason"], "cooling_down");
}

TEST_F(SessionFallbackTest, ClassifierCallDecidesTheTierAndIsRecorded) {
  EndpointProcess& economy = start_endpoint();
  EndpointProcess& premium = start_endpoint();
  ai::RouterConfig config;
  config.tiers = {tier("economy", economy), tier("premium", premium)};
  config.default_tier = "economy";
  config.rules.classifier_tier = "economy";
  config.rules.complexity = {{"low", "economy"}, {"medium", "economy"}, {"high", "premium"}};
  start_worker(make_runtime(config), "classifier");

  auto run = client_->start("test.chat", start_options("classifier-1", "classifier"),
                            std::string("How hard is it to classify this complex request?"));
  ai::ChatResult result = run.result<ai::ChatResult>(std::chrono::seconds(60));
  auto events = run.history();
  // The classifier's call on economy, then the call on the tier its answer names.
  std::vector<std::string> tiers = chat_tiers(events);
  ASSERT_EQ(tiers.size(), 2u);
  EXPECT_EQ(tiers[0], "economy");
  auto plans = marker_results(events, ai::kRouteActivity);
  ASSERT_EQ(plans.size(), 3u);  // provisional, the classifier's own, the classified one
  EXPECT_EQ(plans[0]["plan"].value("needs_classifier", false), true);
  EXPECT_EQ(plans[1]["plan"]["chain"], nlohmann::json({"economy"}));
  EXPECT_EQ(plans[2]["plan"]["chain"][0], result.tier);
  EXPECT_EQ(result.tier, "premium") << plans[2].dump();
  EXPECT_EQ(stat(economy, "chat_requests"), 1);
  EXPECT_EQ(stat(premium, "chat_requests"), 1);
}

TEST_F(SessionFallbackTest, ContextLengthErrorMovesToALargerContextTier) {
  // economy and mid claim 4,000 tokens but their servers take only 20; large takes 100,000.
  EndpointProcess& economy = start_endpoint({"--context-window", "20"});
  EndpointProcess& mid = start_endpoint({"--context-window", "20"});
  EndpointProcess& large = start_endpoint({"--context-window", "100000"});
  ai::RouterConfig config;
  config.tiers = {tier("economy", economy, {"mid", "large"}, 4000), tier("mid", mid, {}, 4000),
                  tier("large", large, {}, 100000)};
  config.default_tier = "economy";
  start_worker(make_runtime(config), "context");

  auto run = client_->start("test.chat", start_options("context-1", "context"),
                            std::string("Within how many days are refunds accepted, and how "
                                        "long does shipping take for an order?"));
  ai::ChatResult result = run.result<ai::ChatResult>(std::chrono::seconds(60));
  EXPECT_EQ(result.tier, "large");
  EXPECT_EQ(stat(economy, "chat_requests"), 1);  // not retryable: asked once
  EXPECT_EQ(stat(mid, "chat_requests"), 0);      // no larger than economy: skipped
  EXPECT_EQ(stat(large, "chat_requests"), 1);
  auto events = run.history();
  EXPECT_EQ(chat_tiers(events), (std::vector<std::string>{"economy", "large"}));
  auto fallbacks = marker_results(events, ai::kFallbackActivity);
  ASSERT_EQ(fallbacks.size(), 1u);
  EXPECT_EQ(fallbacks[0]["reason"], "context_length");
  EXPECT_EQ(fallbacks[0]["to"], "large");
}

TEST_F(SessionFallbackTest, RefusalMovesToTheNextTier) {
  EndpointProcess& economy = start_endpoint();
  EndpointProcess& standard = start_endpoint();
  economy.set_fault({{"mode", "refuse"}, {"count", -1}});
  ai::RouterConfig config;
  config.tiers = {tier("economy", economy, {"standard"}), tier("standard", standard)};
  config.default_tier = "economy";
  start_worker(make_runtime(config), "refusal");

  auto run = client_->start("test.chat", start_options("refusal-1", "refusal"),
                            std::string("How long does shipping take?"));
  ai::ChatResult result = run.result<ai::ChatResult>(std::chrono::seconds(60));
  EXPECT_EQ(result.tier, "standard");
  EXPECT_EQ(stat(economy, "chat_requests"), 1);
  auto fallbacks = marker_results(run.history(), ai::kFallbackActivity);
  ASSERT_EQ(fallbacks.size(), 1u);
  EXPECT_EQ(fallbacks[0]["reason"], "content_filter");
}

TEST_F(SessionFallbackTest, InvalidRequestIsNotFallenBackFrom) {
  EndpointProcess& economy = start_endpoint();
  EndpointProcess& standard = start_endpoint();
  economy.set_fault({{"mode", "status"}, {"status", 400}, {"count", -1}});
  ai::RouterConfig config;
  config.tiers = {tier("economy", economy, {"standard"}), tier("standard", standard)};
  config.default_tier = "economy";
  start_worker(make_runtime(config), "invalid");

  auto run = client_->start("test.chat", start_options("invalid-1", "invalid"),
                            std::string("How long does shipping take?"));
  EXPECT_EQ(failure_type(run), "InvalidRequest");
  EXPECT_EQ(stat(economy, "chat_requests"), 1);
  EXPECT_EQ(stat(standard, "chat_requests"), 0);
}

}  // namespace
}  // namespace cairn::testing
