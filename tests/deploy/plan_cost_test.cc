// Plans: cost per hour and per month, the approval policy, the plan hash, the renderings, cloud
// types, and secrets that never appear in any of them.
#include <cstdlib>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cairn/deploy/plan.h"
#include "spec_test_util.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;
using testing::applied;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::parse_ok;

std::string repo_root() {
  std::string f = __FILE__;
  return f.substr(0, f.rfind("/tests/deploy/"));
}

StackSpec agent_stack() {
  auto r = load_stack(repo_root() + "/examples/support-agent/stack.yaml");
  EXPECT_TRUE(r.ok()) << r.errors.report();
  return *r.spec;
}

TEST(PlanCost, TheSupportAgentStackCostsExactly) {
  Plan plan = make_plan(agent_stack(), StackState{});
  // economy 2 × $0.12 + premium 1 × $0.85; router, cache and index cost nothing by default.
  EXPECT_EQ(plan.find("economy")->cost_after, 240'000);
  EXPECT_EQ(plan.find("premium")->cost_after, 850'000);
  EXPECT_EQ(plan.find("cache")->cost_after, 0);
  EXPECT_EQ(plan.cost_before, 0);
  EXPECT_EQ(plan.cost_after, 1'090'000);
  EXPECT_EQ(plan.cost_delta(), 1'090'000);
  json j = to_json(plan);
  EXPECT_EQ(j["cost"]["after_per_month_micros"], 795'700'000);  // × 730 h
  EXPECT_EQ(j["cost"]["after_per_hour"], "$1.09");
  EXPECT_EQ(j["cost"]["delta_per_month"], "+$795.70");
}

TEST(PlanCost, DeltasCountScalingAndDeletes) {
  StackSpec before = parse_ok(R"(name: s
resources:
  e: {type: model_endpoint, inputs: {tier: t, model: m, replicas: 2, price_per_hour: 0.125}}
  old: {type: redis, inputs: {cost_per_hour: 0.01}}
)");
  StackSpec after = parse_ok(R"(name: s
resources:
  e: {type: model_endpoint, inputs: {tier: t, model: m, replicas: 3, price_per_hour: 0.125}}
  bucket: {type: "aws:s3_bucket", inputs: {cost_per_hour: 0.000023}}
)");
  Plan plan = make_plan(after, applied(before, {}));
  EXPECT_EQ(plan.find("e")->cost_before, 250'000);
  EXPECT_EQ(plan.find("e")->cost_after, 375'000);
  EXPECT_EQ(plan.find("old")->action, Action::kDelete);
  EXPECT_EQ(plan.find("old")->cost_before, 10'000);
  EXPECT_EQ(plan.find("bucket")->cost_after, 23);
  EXPECT_EQ(plan.cost_before, 260'000);
  EXPECT_EQ(plan.cost_after, 375'023);
  EXPECT_EQ(plan.cost_delta(), 115'023);
  EXPECT_EQ(format_money(plan.cost_delta()), "$0.115023");
  EXPECT_EQ(format_money(plan.cost_delta() * kHoursPerMonth), "$83.96679");
}

TEST(PlanCost, CloudTypesArePlannedWithCostButFlaggedUnsupported) {
  StackSpec spec = parse_ok(R"(name: s
resources:
  db:
    type: "aws:rds_instance"
    inputs: {engine: postgres, instance_class: db.t3.micro, cost_per_hour: 0.017, holds_data: true}
  cache: {type: redis}
)");
  Plan plan = make_plan(spec, StackState{});
  const ResourcePlan& db = *plan.find("db");
  EXPECT_EQ(db.action, Action::kCreate);
  EXPECT_FALSE(db.apply_supported);
  EXPECT_EQ(db.cost_after, 17'000);
  EXPECT_TRUE(plan.find("cache")->apply_supported);
  EXPECT_EQ(plan.unsupported(), (std::vector<std::string>{"db"}));
  EXPECT_THAT(render_plan(plan), HasSubstr("! planned only: apply does not support "
                                           "aws:rds_instance yet"));
  EXPECT_EQ(to_json(plan)["resources"][0]["apply_supported"], false);
}

TEST(PlanApproval, CostAboveTheThresholdNeedsApproval) {
  StackSpec spec = agent_stack();  // its policy: $1.00/h
  ApprovalCheck check = needs_approval(make_plan(spec, StackState{}), spec.policy);
  EXPECT_TRUE(check.required);
  EXPECT_EQ(check.reasons,
            (std::vector<std::string>{"adds $1.09 per hour ($795.70 per month), above the policy's "
                                      "$1.00 per hour without approval"}));
  ApprovalPolicy generous;
  generous.max_added_cost_per_hour = 1'090'000;  // equal is allowed
  EXPECT_FALSE(needs_approval(make_plan(spec, StackState{}), generous).required);
  EXPECT_FALSE(needs_approval(make_plan(spec, StackState{}), ApprovalPolicy{}).required);
}

TEST(PlanApproval, DeletingOrReplacingDataNeedsApproval) {
  StackSpec before = parse_ok(R"(name: s
resources:
  store: {type: redis, inputs: {persistence: aof}}
  cache: {type: redis}
  index: {type: vector_index, inputs: {dim: 8, source: kb, embedding_endpoint: "http://e/v1"}}
)");
  StackSpec after = parse_ok(R"(name: s
resources:
  index: {type: vector_index, inputs: {dim: 16, source: kb, embedding_endpoint: "http://e/v1"}}
)");
  Plan plan = make_plan(after, applied(before, {}));
  ApprovalCheck check = needs_approval(plan, ApprovalPolicy{});
  EXPECT_TRUE(check.required);
  // cache has no persistence: deleting it loses nothing worth an approval.
  EXPECT_EQ(check.reasons,
            (std::vector<std::string>{
                "replaces index (vector_index, dim changed), which holds data: its data is lost "
                "or rebuilt",
                "deletes store (redis), which holds data: its data is lost"}));
  ApprovalPolicy relaxed;
  relaxed.approve_data_loss = false;
  EXPECT_FALSE(needs_approval(plan, relaxed).required);
}

TEST(PlanHash, StableAcrossRunsAndChangedByAnyInput) {
  StackSpec spec = agent_stack();
  Plan a = make_plan(spec, StackState{});
  Plan b = make_plan(agent_stack(), StackState{});
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.hash, plan_hash(a));
  EXPECT_EQ(a.hash.size(), 64u);
  // The same on every run and machine: the canonical JSON does not depend on memory or time.
  Plan small = make_plan(parse_ok("name: s\nresources:\n  cache: {type: redis}\n"), StackState{});
  // SHA-256 of (checked with Python's json.dumps(sort_keys=True, separators=(",", ":"))):
  // {"resources":[{"action":"create","inputs":{"cost_per_hour":0,"maxmemory":"0",
  // "maxmemory_policy":"noeviction","persistence":"none","port":0,
  // "startup_timeout_seconds":30,"stop_grace_seconds":10},"name":"cache","type":"redis"}],
  // "stack":"s"}
  EXPECT_EQ(small.hash, "f8bcce69151fc18fb0a31a99e4d11ed9c40fe9a96a09271902dc27aee7797065");

  std::set<std::string> hashes{a.hash};
  auto with = [&](const std::string& resource, const std::string& input, json value) {
    StackSpec changed = spec;
    for (auto& r : changed.resources) {
      if (r.name == resource) {
        r.inputs[input] = value;
      }
    }
    return make_plan(changed, StackState{}).hash;
  };
  hashes.insert(with("economy", "replicas", 3));
  hashes.insert(with("economy", "price_per_hour", 0.13));
  hashes.insert(with("cache", "maxmemory", "65mb"));
  hashes.insert(with("kb", "source", "kb2"));
  hashes.insert(with("router", "default_tier", "premium"));
  EXPECT_EQ(hashes.size(), 6u);
  // A different action on the same inputs changes it too.
  Plan none = make_plan(spec, applied(spec, {}));
  EXPECT_NE(none.hash, a.hash);
}

TEST(PlanRender, LikeTerraformPlan) {
  StackSpec before = parse_ok(R"(name: s
resources:
  e: {type: model_endpoint, inputs: {tier: t, model: m, replicas: 1, price_per_hour: 0.5}}
  cache: {type: redis, inputs: {maxmemory_policy: allkeys-lru}}
  gone: {type: redis, inputs: {cost_per_hour: 0.25}}
)");
  StackSpec after = parse_ok(R"(name: s
resources:
  e: {type: model_endpoint, inputs: {tier: t, model: m2, replicas: 1, price_per_hour: 0.5}}
  cache: {type: redis, inputs: {maxmemory_policy: noeviction}}
  app: {type: process, inputs: {command: /bin/app, args: ["${cache.url}"]}}
)");
  Plan plan = make_plan(after, applied(before, {{"cache", {{"url", "redis://h:1"}}}}));
  std::string text = render_plan(plan);
  EXPECT_EQ(text,
            "Plan for stack s: 1 to create, 1 to update, 1 to replace, 1 to delete, 0 unchanged.\n"
            "\n"
            "-/+ e (model_endpoint)  replace: model changed\n"
            "    model: \"m\" -> \"m2\"  # forces replacement\n"
            "    cost: $0.50/h -> $0.50/h (+$0.00/h)\n"
            "\n"
            "~ cache (redis)  update\n"
            "    maxmemory_policy: \"allkeys-lru\" -> \"noeviction\"\n"
            "\n"
            "+ app (process)  create\n"
            "    args:                    [\"redis://h:1\"]\n"
            "    command:                 \"/bin/app\"\n"
            "    cost_per_hour:           0\n"
            "    env:                     {}\n"
            "    port:                    0\n"
            "    startup_timeout_seconds: 30\n"
            "    stop_grace_seconds:      10\n"
            "\n"
            "- gone (redis)  delete\n"
            "    cost: $0.25/h -> $0.00/h (-$0.25/h)\n"
            "\n"
            "Cost per hour:  $0.75 -> $0.50 (-$0.25)\n"
            "Cost per month: $547.50 -> $365.00 (-$182.50, 730 h)\n"
            "Plan hash: " +
                plan.hash + "\n");
}

TEST(PlanSecrets, APlantedSecretNeverAppearsInThePlanItsTextOrItsJson) {
  const std::string planted = "sk-live-PLANTED-SECRET-4c1d";
  ASSERT_EQ(setenv("CAIRN_TEST_PREMIUM_KEY", planted.c_str(), 1), 0);
  StackSpec spec = parse_ok(R"(name: s
resources:
  premium:
    type: model_endpoint
    inputs: {tier: premium, model: m, api_key: {secret: "env:CAIRN_TEST_PREMIUM_KEY"}}
)");
  const std::string key = "stack-hmac-key";
  PlanOptions options;
  options.secret_digest = [&](const SecretRef& ref) -> std::optional<std::string> {
    return secret_digest(resolve_secret(ref), key);
  };
  Plan plan = make_plan(spec, StackState{}, options);
  const json& api_key = plan.find("premium")->inputs["api_key"];
  EXPECT_EQ(api_key["secret"], "env:CAIRN_TEST_PREMIUM_KEY");
  EXPECT_EQ(api_key["digest"], secret_digest(planted, key));
  std::string text = render_plan(plan);
  std::string js = to_json(plan).dump();
  EXPECT_THAT(text, ::testing::ContainsRegex("api_key: +\\(secret env:CAIRN_TEST_PREMIUM_KEY\\)"));
  EXPECT_THAT(text, Not(HasSubstr("PLANTED")));
  EXPECT_THAT(js, Not(HasSubstr("PLANTED")));

  // Recorded with the same digest: nothing to do. The value behind the reference changes: the
  // digest differs and api_key (replace_on_change) replaces the endpoint — still unquoted.
  StackState state = applied(spec, {}, secret_digest(planted, key));
  EXPECT_FALSE(make_plan(spec, state, options).has_changes());
  ASSERT_EQ(setenv("CAIRN_TEST_PREMIUM_KEY", "sk-live-PLANTED-ROTATED", 1), 0);
  Plan rotated = make_plan(spec, state, options);
  EXPECT_EQ(rotated.find("premium")->action, Action::kReplace);
  EXPECT_EQ(rotated.find("premium")->reason, "api_key changed");
  EXPECT_THAT(render_plan(rotated), Not(HasSubstr("PLANTED")));
  EXPECT_THAT(to_json(rotated).dump(), Not(HasSubstr("PLANTED")));
  // Without a digest function, the references are compared: unchanged.
  EXPECT_FALSE(make_plan(spec, state).has_changes());
  unsetenv("CAIRN_TEST_PREMIUM_KEY");
}

TEST(PlanSecrets, TheHashLeavesDigestsOutSoAClientWithoutSecretsComputesIt) {
  ASSERT_EQ(setenv("CAIRN_TEST_HASH_KEY", "sk-live-hash-test", 1), 0);
  StackSpec spec = parse_ok(R"(name: s
resources:
  premium:
    type: model_endpoint
    inputs: {tier: premium, model: m, api_key: {secret: "env:CAIRN_TEST_HASH_KEY"}}
)");
  PlanOptions options;
  options.secret_digest = [&](const SecretRef& ref) -> std::optional<std::string> {
    return secret_digest(resolve_secret(ref), "stack-hmac-key");
  };
  Plan worker = make_plan(spec, StackState{}, options);  // can read secrets
  Plan cli = make_plan(spec, StackState{});              // cannot
  // The worker's plan records the digest (a rotated key shows as a change) ...
  EXPECT_TRUE(worker.find("premium")->inputs["api_key"].contains("digest"));
  EXPECT_FALSE(cli.find("premium")->inputs["api_key"].contains("digest"));
  // ... and both hash the same.
  EXPECT_EQ(worker.hash, cli.hash);
  EXPECT_EQ(plan_hash(worker), cli.hash);
  // The reference itself is covered: another reference, another hash.
  StackSpec other = parse_ok(R"(name: s
resources:
  premium:
    type: model_endpoint
    inputs: {tier: premium, model: m, api_key: {secret: "env:CAIRN_TEST_OTHER_KEY"}}
)");
  EXPECT_NE(make_plan(other, StackState{}).hash, cli.hash);
  unsetenv("CAIRN_TEST_HASH_KEY");
}

}  // namespace
}  // namespace cairn::deploy
