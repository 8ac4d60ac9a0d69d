// The pure parts of a Session call: the recorded routing decision (chain, reservation bounds,
// claim check of large contents), the fallback rules, next-tier choice and reservation keys.
#include "ai/src/session_plan.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "cairn/ai/pricing.h"

namespace cairn::ai::session_internal {
namespace {

class TempDirectory {
 public:
  TempDirectory() {
    char tmpl[] = "/tmp/cairn-session-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDirectory() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TierConfig tier(const std::string& name, const std::string& model, int64_t context_window,
                std::vector<std::string> fallback) {
  TierConfig t;
  t.name = name;
  t.model = model;
  t.context_window = context_window;
  t.max_output_tokens = 200;
  t.fallback = std::move(fallback);
  EndpointConfig e;
  e.name = name + "-1";
  e.base_url = "http://127.0.0.1:9/v1";
  e.model = model;
  t.endpoints.push_back(e);
  return t;
}

RouterConfig three_tiers() {
  RouterConfig c;
  c.tiers.push_back(tier("economy", "claude-3-haiku", 1000, {"standard"}));
  c.tiers.push_back(tier("standard", "claude-3-5-sonnet", 100000, {"premium"}));
  c.tiers.push_back(tier("premium", "unpriced-model", 200000, {}));
  c.default_tier = "economy";
  c.max_attempts = 3;
  return c;
}

ChatRequest question(const std::string& text) {
  ChatRequest r;
  r.messages.push_back({.role = "user", .content = text});
  return r;
}

TEST(SessionPlan, DecisionListsTheChainWithModelsAndReservationBounds) {
  Router router(three_tiers());
  RouteInput input{question("What is the refund policy for damaged items?"), {}, 120000};
  RouteDecision d = decide_route(router, nullptr, 0, input);
  ASSERT_EQ(d.plan.chain, (std::vector<std::string>{"economy", "standard", "premium"}));
  ASSERT_EQ(d.tiers.size(), 3u);
  EXPECT_EQ(d.tiers[0].tier, "economy");
  EXPECT_EQ(d.tiers[0].model, "claude-3-haiku");
  EXPECT_EQ(d.tiers[0].context_window, 1000);
  EXPECT_EQ(d.tiers[0].max_output_tokens, 200);
  EXPECT_EQ(d.max_attempts, 3);
  // Reservation: twice the prompt estimate + 64 prompt tokens, the whole completion bound.
  Price haiku = *router.config().price_for("economy");
  int64_t prompt = router.prompt_tokens(input.request);
  ASSERT_TRUE(d.tiers[0].max_cost.has_value());
  EXPECT_EQ(*d.tiers[0].max_cost, max_cost(haiku, 2 * prompt + 64, 200, 120000));
  EXPECT_GT(*d.tiers[1].max_cost, *d.tiers[0].max_cost);  // sonnet costs more
  EXPECT_FALSE(d.tiers[2].max_cost.has_value());          // unpriced
  EXPECT_TRUE(d.offloaded.empty());
}

TEST(SessionPlan, ReservationNeverExceedsTheContextWindowAndHonoursMaxTokens) {
  RouterConfig c = three_tiers();
  c.tiers[0].context_window = 0;  // unknown window: no filter, no cap
  Router router(c);
  ChatRequest r = question(std::string(3000, 'a') + " end");
  r.max_tokens = 50;
  RouteDecision d = decide_route(router, nullptr, 0, RouteInput{r, {}, 0});
  ASSERT_GE(d.tiers.size(), 2u);
  EXPECT_EQ(d.tiers[0].max_output_tokens, 50);  // the request's bound is lower than the tier's
  int64_t prompt = router.prompt_tokens(r);
  Price sonnet = *router.config().price_for("standard");
  Price haiku = *router.config().price_for("economy");
  EXPECT_EQ(*d.tiers[0].max_cost, max_cost(haiku, 2 * prompt + 64, 50, 0));
  EXPECT_EQ(*d.tiers[1].max_cost,
            max_cost(sonnet, std::min<int64_t>(2 * prompt + 64, 100000), 50, 0));
  EXPECT_EQ(tier_max_cost(router.config(), router.config().tiers[1], 10'000'000, 10, 0),
            max_cost(sonnet, 100000, 10, 0));
}

TEST(SessionPlan, LargeContentsAreOffloadedAndStillCountedForTheRoute) {
  TempDirectory tmp;
  FileBlobStore blobs(tmp.path());
  RouterConfig c = three_tiers();
  c.rules.prompt_size.push_back({.max_prompt_tokens = 100, .tier = "economy"});
  c.rules.prompt_size.push_back({.max_prompt_tokens = 1000000, .tier = "standard"});
  Router router(c);

  std::string doc;
  for (int i = 0; i < 300; ++i) {
    doc += "Sentence number " + std::to_string(i) + " of the manual. ";
  }
  ChatRequest r;
  r.messages.push_back({.role = "system", .content = "Answer from the manual."});
  r.messages.push_back({.role = "user", .content = doc});
  r.messages.push_back({.role = "user", .content_ref = blobs.put(doc + " second copy")});

  RouteDecision d = decide_route(router, &blobs, 1024, RouteInput{r, {}, 0});
  ASSERT_EQ(d.offloaded.size(), 1u);
  EXPECT_EQ(d.offloaded[0].index, 1);
  EXPECT_EQ(d.offloaded[0].ref, blob_ref_for(doc));
  EXPECT_EQ(blobs.get(d.offloaded[0].ref), doc);
  // The prompt (both copies of the manual) is too big for economy's size rule or window.
  EXPECT_EQ(d.plan.chain.front(), "standard");

  // Without a store nothing is offloaded.
  EXPECT_TRUE(
      decide_route(router, nullptr, 1024, RouteInput{question(doc), {}, 0}).offloaded.empty());
}

TEST(SessionPlan, ForcedTierAndDeclaredComplexity) {
  RouterConfig c = three_tiers();
  c.rules.complexity = {{"high", "standard"}};
  Router router(c);
  RouteDecision forced =
      decide_route(router, nullptr, 0, RouteInput{question("hi"), {.tier = "premium"}, 0});
  EXPECT_EQ(forced.plan.chain, (std::vector<std::string>{"premium"}));
  RouteDecision high =
      decide_route(router, nullptr, 0, RouteInput{question("hi"), {.complexity = "high"}, 0});
  EXPECT_EQ(high.plan.chain, (std::vector<std::string>{"standard", "premium"}));
}

TEST(SessionPlan, RecordedDecisionRoundTripsThroughJson) {
  Router router(three_tiers());
  RouteDecision d = decide_route(router, nullptr, 0, RouteInput{question("hello"), {}, 1000});
  d.offloaded.push_back({2, blob_ref_for("x")});
  nlohmann::json j = d;
  EXPECT_EQ(j.get<RouteDecision>(), d);
  FallbackNote note{"economy", "standard", "exhausted", "ServerError: 503"};
  EXPECT_EQ(nlohmann::json(note).get<FallbackNote>(), note);
  RouteInput in{question("q"), {.complexity = "low"}, 5};
  EXPECT_EQ(nlohmann::json(in).get<RouteInput>(), in);
}

TEST(SessionPlan, FallbackRules) {
  using v1::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED;
  using v1::RETRY_STATE_NON_RETRYABLE_FAILURE;
  using v1::RETRY_STATE_TIMEOUT;
  // Exhausted retries of a retryable error: next tier.
  for (std::string type : {"ServerError", "Timeout", "NetworkError", "Conflict"}) {
    FailureVerdict v = classify_failure(type, RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, false);
    EXPECT_TRUE(v.fall_back) << type;
    EXPECT_EQ(v.reason, "exhausted") << type;
  }
  EXPECT_EQ(classify_failure("", RETRY_STATE_TIMEOUT, false).reason, "timeout");
  EXPECT_EQ(classify_failure("TierCoolingDown", RETRY_STATE_NON_RETRYABLE_FAILURE, false).reason,
            "cooling_down");
  EXPECT_EQ(classify_failure("RateLimited", RETRY_STATE_NON_RETRYABLE_FAILURE, false).reason,
            "rate_limited");
  EXPECT_EQ(classify_failure("ContentFiltered", RETRY_STATE_NON_RETRYABLE_FAILURE, false).reason,
            "content_filter");
  FailureVerdict ctx =
      classify_failure("ContextLengthExceeded", RETRY_STATE_NON_RETRYABLE_FAILURE, false);
  EXPECT_TRUE(ctx.fall_back);
  EXPECT_TRUE(ctx.larger_context);
  // Errors another tier would repeat, budgets and cancellation: no fallback.
  for (std::string type : {"InvalidRequest", "AuthenticationFailed", "PermissionDenied",
                           "BudgetExceeded", "PayloadError", "BlobNotFound"}) {
    EXPECT_FALSE(classify_failure(type, RETRY_STATE_NON_RETRYABLE_FAILURE, false).fall_back)
        << type;
  }
  EXPECT_FALSE(
      classify_failure("ServerError", RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, true).fall_back);
}

TEST(SessionPlan, NextTierIsBoundedAndSkipsSmallerContextsOnContextErrors) {
  RouteDecision d;
  d.tiers = {{.tier = "a", .context_window = 8000},
             {.tier = "b", .context_window = 8000},
             {.tier = "c", .context_window = 0},
             {.tier = "d", .context_window = 32000}};
  d.max_attempts = 4;
  EXPECT_EQ(next_tier(d, 0, false), 1u);
  EXPECT_EQ(next_tier(d, 0, true), 2u);  // b is no larger; c's window is unknown: tried
  EXPECT_EQ(next_tier(d, 2, true), 3u);
  EXPECT_EQ(next_tier(d, 3, false), std::nullopt);
  d.max_attempts = 2;
  EXPECT_EQ(next_tier(d, 0, false), 1u);
  EXPECT_EQ(next_tier(d, 1, false), std::nullopt);  // two tiers tried: the bound
  EXPECT_EQ(next_tier(d, 0, true), std::nullopt);   // the only larger ones are past the bound
}

TEST(SessionPlan, ReservationKeysAreDeterministicAndDistinct) {
  EXPECT_EQ(reservation_key("run-1", "chat", 3, 1), "run-1/chat/3/1");
  EXPECT_NE(reservation_key("run-1", "chat", 3, 1), reservation_key("run-1", "chat", 3, 2));
  EXPECT_NE(reservation_key("run-1", "chat", 3, 1), reservation_key("run-2", "chat", 3, 1));
  EXPECT_NE(reservation_key("run-1", "chat", 3, 1), reservation_key("run-1", "other", 3, 1));
}

}  // namespace
}  // namespace cairn::ai::session_internal
