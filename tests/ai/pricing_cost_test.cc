// Cost math: integer micro-dollars, rounded up once, cached tokens priced once, per-hour tiers
// priced by duration, the maximum a budget reserves, and the default table.
#include <limits>

#include <gtest/gtest.h>

#include "cairn/ai/pricing.h"
#include "cairn/errors.h"

namespace cairn::ai {
namespace {

Usage usage(int64_t prompt, int64_t completion, int64_t cached = 0) {
  Usage u;
  u.prompt_tokens = prompt;
  u.completion_tokens = completion;
  u.cached_tokens = cached;
  return u;
}

TEST(PricingCost, SonnetMillionTokens) {
  Price sonnet = *PriceTable::defaults().find("claude-3-5-sonnet");
  // 1M prompt tokens at $3 + 1M completion tokens at $15.
  EXPECT_EQ(cost(sonnet, usage(1'000'000, 1'000'000), 0), 18 * kMicrosPerDollar);
  // 1,000 prompt + 500 completion: 3,000 + 7,500 micro-dollars.
  EXPECT_EQ(cost(sonnet, usage(1000, 500), 0), 10'500);
}

TEST(PricingCost, RoundedUpOnceNotPerPart) {
  Price haiku = *PriceTable::defaults().find("claude-3-haiku");  // $0.25 / $1.25
  // 1 prompt token = 0.25 µ$, 1 completion = 1.25 µ$: exact sum 1.5 → 2 (per part: 1 + 2 = 3).
  EXPECT_EQ(cost(haiku, usage(1, 1), 0), 2);
  EXPECT_EQ(cost(haiku, usage(4, 0), 0), 1);  // exactly 1
  EXPECT_EQ(cost(haiku, usage(5, 0), 0), 2);  // 1.25 → 2
  EXPECT_EQ(cost(haiku, usage(0, 0), 0), 0);
}

TEST(PricingCost, CachedTokensArePricedOnceInsidePrompt) {
  Price p{1'000'000, 0, 0, std::nullopt};  // $1 per 1M input, no discount
  // 1,000 prompt tokens of which 400 cached: still 1,000 tokens at $1/M = 1,000 µ$.
  EXPECT_EQ(cost(p, usage(1000, 0, 400), 0), 1000);
  p.cached_input_per_million = 500'000;  // cached at half price
  EXPECT_EQ(cost(p, usage(1000, 0, 400), 0), 600 + 200);
  // More cached than prompt tokens (a bad report): clamped to the prompt.
  EXPECT_EQ(cost(p, usage(1000, 0, 5000), 0), 500);
}

TEST(PricingCost, PerHourByDuration) {
  Price a100 = *PriceTable::defaults().find("self-hosted-a100");  // $3.00 per hour
  EXPECT_EQ(cost(a100, usage(100, 100), 3'600'000), 3 * kMicrosPerDollar);
  EXPECT_EQ(cost(a100, usage(0, 0), 1000), 834);   // 3e6 / 3600 = 833.33 → 834
  EXPECT_EQ(cost(a100, usage(0, 0), 1200), 1000);  // exact
  // Tokens and time together are summed before rounding.
  Price both{250'000, 0, 3'000'000, std::nullopt};
  EXPECT_EQ(cost(both, usage(2, 0), 1000), 834);  // 0.5 + 833.33 = 833.83 → 834
}

TEST(PricingCost, NegativeInputsCountAsZero) {
  Price p{1'000'000, 1'000'000, 1'000'000, std::nullopt};
  EXPECT_EQ(cost(p, usage(-5, -5, -5), -100), 0);
}

TEST(PricingCost, SaturatesInsteadOfOverflowing) {
  Price p{std::numeric_limits<Micros>::max(), std::numeric_limits<Micros>::max(), 0, std::nullopt};
  EXPECT_EQ(cost(p, usage(std::numeric_limits<int64_t>::max(), 1), 0),
            std::numeric_limits<Micros>::max());
}

TEST(PricingCost, MaxCostBoundsEveryUsageWithinIt) {
  Price p = *PriceTable::defaults().find("gpt-4o");
  Micros reserve = max_cost(p, 2000, 500, 0);
  EXPECT_EQ(reserve, 5'000 + 5'000);  // 2,000 × $2.50/M + 500 × $10/M
  for (int64_t prompt : {0, 1, 999, 2000}) {
    for (int64_t completion : {0, 1, 250, 500}) {
      for (int64_t cached : {int64_t{0}, prompt / 2, prompt}) {
        EXPECT_LE(cost(p, usage(prompt, completion, cached), 0), reserve);
      }
    }
  }
  Price odd{100, 100, 0, 1000};  // cached dearer than input: the reservation covers it
  EXPECT_GE(max_cost(odd, 10, 0, 0), cost(odd, usage(10, 0, 10), 0));
  Price hourly{0, 0, 800'000, std::nullopt};
  EXPECT_EQ(max_cost(hourly, 10, 10, 120'000), 26'667);  // 2 minutes of $0.80/h, rounded up
}

TEST(PricingTable, DefaultsAndLookup) {
  PriceTable t = PriceTable::defaults();
  EXPECT_EQ(t.find("claude-3-5-sonnet")->output_per_million, 15'000'000);
  EXPECT_EQ(t.find("claude-3-haiku")->input_per_million, 250'000);
  EXPECT_EQ(t.find("gpt-4o")->output_per_million, 10'000'000);
  EXPECT_EQ(t.find("gpt-4o-mini")->input_per_million, 150'000);
  EXPECT_EQ(t.find("gpt-4o-mini")->output_per_million, 600'000);
  // Dated ids find their family; the longest prefix wins.
  EXPECT_EQ(t.find("gpt-4o-2024-08-06")->input_per_million, 2'500'000);
  EXPECT_EQ(t.find("gpt-4o-mini-2024-07-18")->input_per_million, 150'000);
  EXPECT_EQ(t.find("claude-3-5-sonnet-20241022")->input_per_million, 3'000'000);
  EXPECT_FALSE(t.find("gpt-4").has_value());
  EXPECT_FALSE(t.find("gpt-4ox").has_value());
  EXPECT_FALSE(t.find("cairn-echo").has_value());  // unpriced: a budget refuses it
}

TEST(PricingTable, SetMergeAndRefuseNegative) {
  PriceTable t = PriceTable::defaults();
  PriceTable overrides;
  overrides.set("gpt-4o", Price{1, 2, 0, std::nullopt});
  overrides.set("cairn-echo", Price{0, 0, 100, std::nullopt});
  t.merge(overrides);
  EXPECT_EQ(t.find("gpt-4o")->input_per_million, 1);
  EXPECT_EQ(t.find("cairn-echo")->per_hour, 100);
  EXPECT_EQ(t.find("claude-3-haiku")->input_per_million, 250'000);
  EXPECT_THROW(t.set("bad", Price{-1, 0, 0, std::nullopt}), OptionsError);
}

}  // namespace
}  // namespace cairn::ai
