// AiMetrics: counters equal the sums of the recorded results; labels, readers, the text format.
#include "cairn/ai/metrics.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "cairn/errors.h"

namespace cairn::ai {
namespace {

ChatResult chat_result(std::string tier, std::string model, int64_t prompt, int64_t completion,
                       int64_t cached, Micros cost, bool cache_hit = false) {
  ChatResult r;
  r.tier = std::move(tier);
  r.endpoint = r.tier + "-1";
  r.model = std::move(model);
  r.usage = {.prompt_tokens = prompt, .completion_tokens = completion, .cached_tokens = cached};
  r.response.usage = r.usage;
  r.cost_micros = cost;
  r.cache_hit = cache_hit;
  return r;
}

TEST(AiMetricsTest, CountersEqualTheSumOfRecordedChatResults) {
  AiMetrics metrics;
  std::vector<ChatResult> results;
  for (int i = 0; i < 25; ++i) {
    bool premium = i % 5 == 0;
    results.push_back(chat_result(premium ? "premium" : "economy",
                                  premium ? "claude-3-5-sonnet" : "gpt-4o-mini", 100 + i, 20 + i,
                                  i % 3 == 0 ? 50 : 0, premium ? 1500 + i : 30 + i));
  }
  // Cache hits carry the original call's usage but cost nothing and used no tokens now.
  results.push_back(chat_result("economy", "gpt-4o-mini", 999, 999, 0, 0, /*cache_hit=*/true));
  results.push_back(chat_result("economy", "gpt-4o-mini", 999, 999, 0, 0, /*cache_hit=*/true));

  std::map<std::string, Usage> usage;
  std::map<std::string, Micros> cost;
  std::map<std::string, int64_t> ok;
  for (const ChatResult& r : results) {
    metrics.record_chat(r);
    if (!r.cache_hit) {
      usage[r.model] += r.usage;
      cost[r.model] += r.cost_micros;
      ++ok[r.tier];
    }
  }
  for (const auto& [model, u] : usage) {
    EXPECT_EQ(metrics.tokens(model, "prompt"), u.prompt_tokens) << model;
    EXPECT_EQ(metrics.tokens(model, "completion"), u.completion_tokens) << model;
    EXPECT_EQ(metrics.tokens(model, "cached"), u.cached_tokens) << model;
    EXPECT_EQ(metrics.cost_micros(model), cost[model]) << model;
  }
  EXPECT_EQ(metrics.requests("premium", "premium-1", "ok"), ok["premium"]);
  EXPECT_EQ(metrics.requests("economy", "economy-1", "ok"), ok["economy"]);
  EXPECT_EQ(metrics.requests("economy", "economy-1", "cache_hit"), 2);
  EXPECT_EQ(metrics.cost_micros("unknown-model"), 0);
}

TEST(AiMetricsTest, ModelFallsBackToTheResponseModel) {
  AiMetrics metrics;
  ChatResult r = chat_result("standard", "", 10, 5, 0, 77);
  r.response.model = "gpt-4o";
  metrics.record_chat(r);
  EXPECT_EQ(metrics.cost_micros("gpt-4o"), 77);
  EXPECT_EQ(metrics.tokens("gpt-4o", "completion"), 5);
}

TEST(AiMetricsTest, EmbeddingsFailuresCacheFallbacksBudgets) {
  AiMetrics metrics;
  EmbedResult e;
  e.tier = "embeddings";
  e.endpoint = "embed-1";
  e.model = "text-embedding-3-small";
  e.usage.prompt_tokens = 1234;
  e.cost_micros = 25;
  metrics.record_embed(e);
  metrics.record_embed(e);
  EXPECT_EQ(metrics.tokens("text-embedding-3-small", "prompt"), 2468);
  EXPECT_EQ(metrics.cost_micros("text-embedding-3-small"), 50);
  EXPECT_EQ(metrics.requests("embeddings", "embed-1", "ok"), 2);

  metrics.record_failure("economy", "economy-1", "RateLimited");
  metrics.record_failure("economy", "economy-1", "RateLimited");
  metrics.record_failure("economy", "economy-2", "ServerError");
  EXPECT_EQ(metrics.requests("economy", "economy-1", "RateLimited"), 2);
  EXPECT_EQ(metrics.requests("economy", "economy-2", "ServerError"), 1);

  for (const char* result : {"hit", "hit", "miss", "bypass"}) {
    metrics.record_cache(result);
  }
  EXPECT_EQ(metrics.cache("hit"), 2);
  EXPECT_EQ(metrics.cache("miss"), 1);
  EXPECT_EQ(metrics.cache("bypass"), 1);
  try {
    metrics.record_cache("maybe");
    FAIL() << "an unknown cache result was accepted";
  } catch (const OptionsError& err) {
    EXPECT_EQ(err.field(), "result");
    EXPECT_NE(std::string(err.what()).find("maybe"), std::string::npos);
  }

  metrics.record_fallback("economy", "standard", "exhausted");
  metrics.record_fallback("economy", "standard", "exhausted");
  metrics.record_fallback("standard", "premium", "context_length");
  EXPECT_EQ(metrics.fallbacks("economy", "standard", "exhausted"), 2);
  EXPECT_EQ(metrics.fallbacks("standard", "premium", "context_length"), 1);
  EXPECT_EQ(metrics.fallbacks("standard", "premium", "exhausted"), 0);

  metrics.record_budget_rejection("team:support");
  EXPECT_EQ(metrics.budget_rejections("team:support"), 1);
  EXPECT_EQ(metrics.budget_rejections("run"), 0);
}

TEST(AiMetricsTest, ApprovalWaitHistogram) {
  AiMetrics metrics;
  metrics.record_approval_wait(5);
  metrics.record_approval_wait(7200);
  metrics.record_approval_wait(0.5);
  EXPECT_EQ(metrics.approval_waits(), 3);
  EXPECT_DOUBLE_EQ(metrics.approval_wait_seconds_sum(), 7205.5);
  EXPECT_THROW(metrics.record_approval_wait(-1), OptionsError);
  std::string text = metrics.serialize();
  EXPECT_NE(text.find("cairn_ai_approval_wait_seconds_count 3"), std::string::npos) << text;
  EXPECT_NE(text.find("cairn_ai_approval_wait_seconds_bucket{le=\"10\"} 2"), std::string::npos)
      << text;
}

TEST(AiMetricsTest, SerializesInTheTextFormatIntoASharedRegistry) {
  auto registry = std::make_shared<prometheus::Registry>();
  AiMetrics metrics(registry);
  metrics.record_chat(chat_result("economy", "gpt-4o-mini", 100, 20, 0, 27));
  metrics.record_cache("miss");
  metrics.record_fallback("economy", "standard", "refused");
  metrics.record_budget_rejection("run");
  std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
  EXPECT_EQ(text, metrics.serialize());
  for (const char* line :
       {"# TYPE cairn_ai_tokens_total counter",
        "cairn_ai_tokens_total{kind=\"prompt\",model=\"gpt-4o-mini\"} 100",
        "cairn_ai_tokens_total{kind=\"completion\",model=\"gpt-4o-mini\"} 20",
        "cairn_ai_cost_micros_total{model=\"gpt-4o-mini\"} 27",
        "cairn_ai_requests_total{endpoint=\"economy-1\",outcome=\"ok\",tier=\"economy\"} 1",
        "cairn_ai_cache_total{result=\"miss\"} 1",
        "cairn_ai_fallbacks_total{from=\"economy\",reason=\"refused\",to=\"standard\"} 1",
        "cairn_ai_budget_rejections_total{scope=\"run\"} 1",
        "# TYPE cairn_ai_approval_wait_seconds histogram"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
}

}  // namespace
}  // namespace cairn::ai
