// The resource type registry: which types exist, their outputs, holds_data, the cost model and
// exact money.
#include <gtest/gtest.h>

#include "cairn/deploy/types.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;

TEST(SpecTypes, CloudFamiliesMatchAnyNameWithTheirPrefix) {
  const TypeSchema* t = find_type("aws:s3_bucket");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t, find_type("aws:anything_else"));
  EXPECT_FALSE(t->apply_supported);
  EXPECT_TRUE(t->free_form);
  EXPECT_NE(find_type("gcp:network"), nullptr);
  EXPECT_NE(find_type("k8s:deployment"), nullptr);
  EXPECT_EQ(find_type("aws:"), nullptr);
  EXPECT_EQ(find_type("azure:vm"), nullptr);
  EXPECT_EQ(find_type("Redis"), nullptr);
  for (const char* local :
       {"process", "model_endpoint", "redis", "router", "vector_index", "command"}) {
    ASSERT_NE(find_type(local), nullptr) << local;
    EXPECT_TRUE(find_type(local)->apply_supported) << local;
  }
}

TEST(SpecTypes, SchemasCarryReplaceOnChangeSecretsAndOutputs) {
  const TypeSchema& e = *find_type("model_endpoint");
  EXPECT_TRUE(e.input("model")->replace_on_change);
  EXPECT_FALSE(e.input("replicas")->replace_on_change);
  EXPECT_TRUE(e.input("api_key")->secret);
  EXPECT_EQ(e.output_names(json::object()),
            (std::vector<std::string>{"urls", "url", "tier", "model"}));
  EXPECT_EQ(e.output("urls", json::object())->changes_with, (std::vector<std::string>{"replicas"}));
  EXPECT_FALSE(e.output("nope", json::object()).has_value());
  const TypeSchema& c = *find_type("command");
  json inputs = {{"outputs", {"id", "arn"}}};
  EXPECT_EQ(c.output_names(inputs), (std::vector<std::string>{"id", "arn"}));
  EXPECT_TRUE(c.output("arn", inputs).has_value());
  EXPECT_FALSE(c.output("other", inputs).has_value());
  // A cloud type without a list of outputs accepts any output name.
  EXPECT_TRUE(find_type("aws:x")->output("whatever", json::object()).has_value());
}

TEST(SpecTypes, HoldsData) {
  EXPECT_TRUE(holds_data(*find_type("vector_index"), json::object()));
  EXPECT_FALSE(holds_data(*find_type("redis"), {{"persistence", "none"}}));
  EXPECT_TRUE(holds_data(*find_type("redis"), {{"persistence", "aof"}}));
  EXPECT_TRUE(holds_data(*find_type("redis"), {{"persistence", "rdb"}}));
  EXPECT_FALSE(holds_data(*find_type("model_endpoint"), json::object()));
  EXPECT_TRUE(holds_data(*find_type("command"), {{"holds_data", true}}));
  EXPECT_TRUE(holds_data(*find_type("gcp:sql"), {{"holds_data", true}}));
}

TEST(SpecTypes, CostModel) {
  EXPECT_EQ(
      cost_per_hour(*find_type("model_endpoint"), {{"price_per_hour", 0.35}, {"replicas", 3}}),
      1'050'000);
  EXPECT_EQ(
      cost_per_hour(*find_type("model_endpoint"), {{"price_per_hour", 0.35}, {"replicas", 0}}), 0);
  EXPECT_EQ(cost_per_hour(*find_type("redis"), {{"cost_per_hour", 0.02}}), 20'000);
  EXPECT_EQ(cost_per_hour(*find_type("router"), json::object()), 0);
  EXPECT_EQ(cost_per_hour(*find_type("aws:x"), {{"cost_per_hour", 2}}), 2'000'000);
  // Not known yet: counts as nothing.
  EXPECT_EQ(cost_per_hour(*find_type("redis"), {{"cost_per_hour", {{"known_after_apply", "x"}}}}),
            0);
}

TEST(SpecTypes, MoneyIsExact) {
  EXPECT_EQ(money_micros(json(0.1)), 100'000);
  EXPECT_EQ(money_micros(json(0.3)), 300'000);  // 0.1 + 0.2 style errors do not creep in
  EXPECT_EQ(money_micros(json(1.000001)), 1'000'001);
  EXPECT_EQ(money_micros(json(3)), 3'000'000);
  EXPECT_EQ(money_micros(json(-0.25)), -250'000);
  EXPECT_FALSE(money_micros(json(0.0000001)).has_value());
  EXPECT_FALSE(money_micros(json(1.1234567)).has_value());
  EXPECT_FALSE(money_micros(json("1.00")).has_value());
  EXPECT_EQ(format_money(1'090'000), "$1.09");
  EXPECT_EQ(format_money(500), "$0.0005");
  EXPECT_EQ(format_money(0), "$0.00");
  EXPECT_EQ(format_money(-250'000), "-$0.25");
  EXPECT_EQ(format_money(795'700'000), "$795.70");
}

}  // namespace
}  // namespace cairn::deploy
