// Routing decisions: forced tier, declared complexity, prompt size, classifier, the context
// window filter, fallback chain order and its bound.
#include <string>

#include <gtest/gtest.h>

#include "cairn/ai/router.h"

namespace cairn::ai {
namespace {

TierConfig tier(std::string name, int64_t context_window, std::vector<std::string> fallback) {
  TierConfig t;
  t.name = name;
  t.model = "model-" + name;
  t.context_window = context_window;
  t.fallback = std::move(fallback);
  EndpointConfig e;
  e.name = name + "-a";
  e.base_url = "http://127.0.0.1:1/v1";
  t.endpoints.push_back(e);
  return t;
}

RouterConfig config() {
  RouterConfig c;
  c.tiers = {tier("economy", 100, {"standard"}), tier("standard", 1000, {"premium"}),
             tier("premium", 0, {}), tier("side", 0, {"economy", "premium"})};
  c.default_tier = "standard";
  c.rules.complexity = {{"low", "economy"}, {"medium", "standard"}, {"high", "premium"}};
  c.rules.prompt_size = {{50, "economy"}, {500, "standard"}};
  return c;
}

// A request whose prompt counts `tokens` with the counter below.
ChatRequest prompt_of(int64_t tokens) {
  ChatRequest r;
  r.messages.push_back(Message{"user", std::string(static_cast<size_t>(tokens), 'x')});
  return r;
}

int64_t length_counter(const ChatRequest& r) {
  return static_cast<int64_t>(r.messages.empty() ? 0 : r.messages[0].content.size());
}

using Chain = std::vector<std::string>;

TEST(RouterPlan, DeclaredComplexityPicksItsTier) {
  Router router(config(), length_counter);
  EXPECT_EQ(router.plan(prompt_of(10), {"high", ""}).chain, Chain{"premium"});
  RoutePlan low = router.plan(prompt_of(10), {"low", ""});
  EXPECT_EQ(low.chain, (Chain{"economy", "standard", "premium"}));
  EXPECT_NE(low.reason.find("complexity low → economy"), std::string::npos) << low.reason;
  // A complexity may name a tier directly.
  EXPECT_EQ(router.plan(prompt_of(10), {"standard", ""}).chain, (Chain{"standard", "premium"}));
}

TEST(RouterPlan, PromptSizeThresholds) {
  Router router(config(), length_counter);
  EXPECT_EQ(router.plan(prompt_of(50)).chain.front(), "economy");
  EXPECT_EQ(router.plan(prompt_of(51)).chain.front(), "standard");
  EXPECT_EQ(router.plan(prompt_of(500)).chain.front(), "standard");
  RoutePlan big = router.plan(prompt_of(501));  // above every rule: the default tier
  EXPECT_EQ(big.chain, (Chain{"standard", "premium"}));
  EXPECT_NE(big.reason.find("default tier standard"), std::string::npos) << big.reason;
  EXPECT_EQ(big.prompt_tokens, 501);
}

TEST(RouterPlan, ForcedTierWinsOverRules) {
  Router router(config(), length_counter);
  RoutePlan p = router.plan(prompt_of(10), {"low", "side"});
  EXPECT_EQ(p.chain, (Chain{"side", "economy", "standard"}));  // bounded by max_attempts 3
  EXPECT_NE(p.reason.find("forced tier side"), std::string::npos);
  EXPECT_NE(p.reason.find("max_attempts 3"), std::string::npos) << p.reason;
}

TEST(RouterPlan, FallbackOrderIsDepthFirstEachTierOnce) {
  RouterConfig c = config();
  c.max_attempts = 10;
  Router router(c, length_counter);
  EXPECT_EQ(router.plan(prompt_of(10), {"", "side"}).chain,
            (Chain{"side", "economy", "standard", "premium"}));
}

TEST(RouterPlan, ChainBoundedByMaxAttempts) {
  RouterConfig c = config();
  c.max_attempts = 1;
  Router router(c, length_counter);
  EXPECT_EQ(router.plan(prompt_of(10), {"low", ""}).chain, Chain{"economy"});
  c.max_attempts = 2;
  Router two(c, length_counter);
  EXPECT_EQ(two.plan(prompt_of(10), {"low", ""}).chain, (Chain{"economy", "standard"}));
}

TEST(RouterPlan, ContextWindowFilterSkipsSmallTiers) {
  Router router(config(), length_counter);
  // Forced to economy (window 100) with a 300-token prompt: economy is skipped, its fallbacks
  // with larger windows are kept.
  RoutePlan p = router.plan(prompt_of(300), {"", "economy"});
  EXPECT_EQ(p.chain, (Chain{"standard", "premium"}));
  EXPECT_NE(p.reason.find("skipped economy (context window 100)"), std::string::npos) << p.reason;
  // Skipped tiers do not use up attempts.
  EXPECT_EQ(router.plan(prompt_of(5000), {"", "economy"}).chain, Chain{"premium"});
}

TEST(RouterPlan, NoTierFitsIsContextLengthExceeded) {
  RouterConfig c = config();
  c.tiers[1].fallback.clear();  // standard (1000) has no fallback now
  Router router(c, length_counter);
  try {
    router.plan(prompt_of(5000), {"", "economy"});
    FAIL() << "planned";
  } catch (const ApplicationError& e) {
    EXPECT_EQ(e.type(), "ContextLengthExceeded");
    EXPECT_TRUE(e.non_retryable());
    EXPECT_NE(std::string(e.what()).find("5000 tokens"), std::string::npos) << e.what();
  }
}

TEST(RouterPlan, UnknownForcedTierOrComplexity) {
  Router router(config(), length_counter);
  try {
    router.plan(prompt_of(1), {"", "gold"});
    FAIL();
  } catch (const ApplicationError& e) {
    EXPECT_EQ(e.type(), "UnknownTier");
    EXPECT_NE(std::string(e.what()).find("\"gold\""), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("economy, standard, premium, side"), std::string::npos);
  }
  EXPECT_THROW(router.plan(prompt_of(1), {"extreme", ""}), ApplicationError);
}

TEST(RouterPlan, ClassifierMarksThePlan) {
  RouterConfig c = config();
  c.rules.classifier_tier = "economy";
  Router router(c, length_counter);
  RoutePlan p = router.plan(prompt_of(10));
  EXPECT_TRUE(p.needs_classifier);
  EXPECT_EQ(p.classifier_tier, "economy");
  EXPECT_EQ(p.chain.front(), "economy");  // the provisional plan: prompt size
  // With the classifier's answer declared, no classifier is needed.
  RoutePlan after = router.plan(prompt_of(10), {"high", ""});
  EXPECT_FALSE(after.needs_classifier);
  EXPECT_EQ(after.chain, Chain{"premium"});
}

TEST(RouterPlan, ClassifierRequestAndAnswer) {
  ChatRequest r;
  r.messages = {Message{"system", "be nice"}, Message{"user", "first"}, Message{"assistant", "ok"},
                Message{"user", "prove the theorem"}};
  ChatRequest c = Router::classifier_request(r);
  ASSERT_EQ(c.messages.size(), 2u);
  EXPECT_EQ(c.messages[1].content, "prove the theorem");
  EXPECT_EQ(c.temperature, 0.0);
  ChatResponse answer;
  answer.message.content = "High.";
  EXPECT_EQ(Router::parse_classification(answer), "high");
  answer.message.content = "I think it is medium";
  EXPECT_EQ(Router::parse_classification(answer), "medium");
  answer.message.content = "lowish?";
  EXPECT_EQ(Router::parse_classification(answer), "");
}

TEST(RouterPlan, DeterministicAndRecordable) {
  Router router(config());  // the default estimate
  ChatRequest r;
  r.messages = {Message{"user", "How do I reset my password, please?"}};
  RoutePlan a = router.plan(r);
  RoutePlan b = router.plan(r);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.prompt_tokens, estimate_prompt_tokens(r));
  nlohmann::json j = a;
  EXPECT_EQ(j.get<RoutePlan>(), a);
  RouteHints h{"low", "economy"};
  EXPECT_EQ(nlohmann::json(h).get<RouteHints>(), h);
}

TEST(RouterPlan, DefaultCounterIsTheEndpointsTokenRule) {
  ChatRequest r;
  r.messages = {Message{"user", "hi, internationalization!"}};
  // 3 reply + 4 per message + "hi" 1 + "," 1 + 20 letters in 5 pieces + "!" 1.
  EXPECT_EQ(estimate_prompt_tokens(r), 3 + 4 + 1 + 1 + 5 + 1);
  EXPECT_EQ(Router(config()).prompt_tokens(r), estimate_prompt_tokens(r));
}

TEST(RouterPlan, InvalidConfigIsRefusedByTheRouter) {
  RouterConfig c = config();
  c.tiers[2].fallback = {"economy"};  // premium → economy → standard → premium
  try {
    Router router(c);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("economy → standard → premium → economy"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cairn::ai
