// Plans: the action per resource (create, update in place, replace, delete, none), the changed
// inputs, and values known only after apply.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cairn/deploy/plan.h"
#include "spec_test_util.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;
using testing::applied;
using testing::parse_ok;

// {economy, premium} → router; economy → index; cache → app (its port input is cache's port).
std::string stack(const std::string& economy_model = "lumen-small", int replicas = 2,
                  const std::string& policy = "allkeys-lru", int dim = 384, int cache_port = 0) {
  return R"(name: agent
resources:
  economy:
    type: model_endpoint
    inputs: {tier: economy, model: )" +
         economy_model + R"(, replicas: )" + std::to_string(replicas) + R"(, price_per_hour: 0.12}
  premium:
    type: model_endpoint
    inputs: {tier: premium, model: lumen-large, price_per_hour: 0.85}
  router:
    type: router
    inputs:
      default_tier: economy
      tiers:
        - {name: economy, model: "${economy.model}", urls: "${economy.urls}"}
        - {name: premium, model: lumen-large, urls: "${premium.urls}"}
  cache:
    type: redis
    inputs: {maxmemory: 64mb, maxmemory_policy: )" +
         policy + R"(, port: )" + std::to_string(cache_port) + R"(}
  index:
    type: vector_index
    inputs: {dim: )" +
         std::to_string(dim) + R"(, source: kb, embedding_endpoint: "${economy.url}"}
  app:
    type: process
    inputs: {command: /bin/app, port: "${cache.port}", args: ["--redis=${cache.url}"]}
)";
}

std::map<std::string, json> outputs() {
  return {
      {"economy",
       {{"urls", {"http://127.0.0.1:9001/v1", "http://127.0.0.1:9002/v1"}},
        {"url", "http://127.0.0.1:9001/v1"},
        {"tier", "economy"},
        {"model", "lumen-small"}}},
      {"premium",
       {{"urls", {"http://127.0.0.1:9003/v1"}},
        {"url", "http://127.0.0.1:9003/v1"},
        {"tier", "premium"},
        {"model", "lumen-large"}}},
      {"router", {{"url", "http://127.0.0.1:9100"}, {"router_config", "tiers: []"}}},
      {"cache", {{"url", "redis://127.0.0.1:6390"}, {"host", "127.0.0.1"}, {"port", 6390}}},
      {"index", {{"path", "/tmp/index"}, {"count", 12}}},
      {"app",
       {{"url", "http://127.0.0.1:6390"}, {"host", "127.0.0.1"}, {"port", 6390}, {"pid", 7}}},
  };
}

std::map<std::string, Action> actions(const Plan& plan) {
  std::map<std::string, Action> out;
  for (const auto& r : plan.resources) {
    out[r.name] = r.action;
  }
  return out;
}

TEST(PlanActions, EverythingIsCreatedInWaveOrderOnAnEmptyState) {
  StackSpec spec = parse_ok(stack());
  Plan plan = make_plan(spec, StackState{});
  std::vector<std::string> order;
  for (const auto& r : plan.resources) {
    EXPECT_EQ(r.action, Action::kCreate) << r.name;
    order.push_back(r.name + "@" + std::to_string(r.wave));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"economy@0", "premium@0", "cache@0", "router@1",
                                             "index@1", "app@1"}));
  // Inputs that reference resources not made yet are known after apply.
  const ResourcePlan& app = *plan.find("app");
  EXPECT_TRUE(is_known_after_apply(app.inputs["port"]));
  EXPECT_EQ(app.inputs["command"], "/bin/app");
  auto port = std::find_if(app.changes.begin(), app.changes.end(),
                           [](const FieldChange& c) { return c.input == "port"; });
  ASSERT_NE(port, app.changes.end());
  EXPECT_TRUE(port->known_after_apply);
  EXPECT_EQ(plan.count(Action::kCreate), 6u);
  EXPECT_TRUE(plan.has_changes());
}

TEST(PlanActions, NothingToDoWhenTheStateMatches) {
  StackSpec spec = parse_ok(stack());
  Plan plan = make_plan(spec, applied(spec, outputs()));
  for (const auto& r : plan.resources) {
    EXPECT_EQ(r.action, Action::kNone) << r.name;
    EXPECT_TRUE(r.changes.empty()) << r.name;
  }
  EXPECT_FALSE(plan.has_changes());
  // References resolved against the recorded outputs, keeping their JSON type.
  EXPECT_EQ(plan.find("app")->inputs["port"], 6390);
  EXPECT_EQ(plan.find("app")->inputs["args"][0], "--redis=redis://127.0.0.1:6390");
  EXPECT_EQ(plan.find("router")->inputs["tiers"][0]["urls"], outputs()["economy"]["urls"]);
}

TEST(PlanActions, AnInputWithoutReplaceOnChangeUpdatesInPlace) {
  StackSpec before = parse_ok(stack());
  StackSpec after = parse_ok(stack("lumen-small", 2, "noeviction"));
  Plan plan = make_plan(after, applied(before, outputs()));
  const ResourcePlan& cache = *plan.find("cache");
  EXPECT_EQ(cache.action, Action::kUpdate);
  ASSERT_EQ(cache.changes.size(), 1u);
  EXPECT_EQ(cache.changes[0].input, "maxmemory_policy");
  EXPECT_EQ(cache.changes[0].before, "allkeys-lru");
  EXPECT_EQ(cache.changes[0].after, "noeviction");
  EXPECT_FALSE(cache.changes[0].forces_replace);
  // cache's outputs do not change with maxmemory_policy: its dependents stay as they are.
  EXPECT_EQ(plan.find("app")->action, Action::kNone);
  EXPECT_EQ(plan.count(Action::kNone), 5u);
}

TEST(PlanActions, AReplaceOnChangeInputReplaces) {
  StackSpec before = parse_ok(stack());
  Plan plan =
      make_plan(parse_ok(stack("lumen-small", 2, "allkeys-lru", 768)), applied(before, outputs()));
  const ResourcePlan& index = *plan.find("index");
  EXPECT_EQ(index.action, Action::kReplace);
  EXPECT_EQ(index.reason, "dim changed");
  ASSERT_EQ(index.changes.size(), 1u);
  EXPECT_TRUE(index.changes[0].forces_replace);
  EXPECT_EQ(index.changes[0].before, 384);
  EXPECT_EQ(index.changes[0].after, 768);
  EXPECT_TRUE(index.holds_data);
}

TEST(PlanActions, ATypeChangeReplaces) {
  StackSpec before = parse_ok("name: s\nresources:\n  cache: {type: redis}\n");
  StackSpec after =
      parse_ok("name: s\nresources:\n  cache: {type: process, inputs: {command: /bin/kv}}\n");
  Plan plan = make_plan(after, applied(before, {}));
  EXPECT_EQ(plan.find("cache")->action, Action::kReplace);
  EXPECT_EQ(plan.find("cache")->reason, "type changed from redis to process");
}

TEST(PlanActions, ResourcesGoneFromTheSpecAreDeletedLastInReverseOrder) {
  StackSpec before = parse_ok(stack());
  StackSpec after = parse_ok(R"(name: agent
resources:
  premium:
    type: model_endpoint
    inputs: {tier: premium, model: lumen-large, price_per_hour: 0.85}
)");
  Plan plan = make_plan(after, applied(before, outputs()));
  std::vector<std::string> order;
  for (const auto& r : plan.resources) {
    order.push_back(std::string(action_name(r.action)) + " " + r.name + "@" +
                    std::to_string(r.wave));
  }
  // Dependents go first (router, index and app before economy and cache), by name in a wave.
  EXPECT_EQ(order,
            (std::vector<std::string>{"none premium@0", "delete app@1", "delete index@1",
                                      "delete router@1", "delete cache@2", "delete economy@2"}));
  EXPECT_EQ(plan.find("cache")->inputs, applied(before, outputs()).resources["cache"].inputs);
}

TEST(PlanActions, AnOutputThatChangesWithAnUpdatedInputIsKnownAfterApply) {
  // replicas 2 → 3 updates economy in place; its urls change with replicas, so the router's
  // tiers are not known before the apply: the router is updated (tiers is not
  // replace_on_change). Its url does not change with replicas: the index keeps its input.
  StackSpec before = parse_ok(stack());
  Plan plan = make_plan(parse_ok(stack("lumen-small", 3)), applied(before, outputs()));
  EXPECT_EQ(plan.find("economy")->action, Action::kUpdate);
  const ResourcePlan& router = *plan.find("router");
  EXPECT_EQ(router.action, Action::kUpdate);
  ASSERT_EQ(router.changes.size(), 1u);
  EXPECT_EQ(router.changes[0].input, "tiers");
  EXPECT_TRUE(router.changes[0].known_after_apply);
  EXPECT_TRUE(is_known_after_apply(router.inputs["tiers"][0]["urls"]));
  EXPECT_EQ(router.inputs["tiers"][1]["urls"], outputs()["premium"]["urls"]);
  EXPECT_EQ(plan.find("index")->action, Action::kNone);
  EXPECT_EQ(plan.find("premium")->action, Action::kNone);
}

TEST(PlanActions, DependentsOfAReplacedResourceAreUpdatedOrReplacedConservatively) {
  StackSpec before = parse_ok(stack());
  // The economy model changes: economy is replaced, so everything referencing it is not known:
  // the router (tiers: update) and the index (embedding_endpoint: update).
  Plan plan = make_plan(parse_ok(stack("lumen-small-v2")), applied(before, outputs()));
  auto a = actions(plan);
  EXPECT_EQ(a["economy"], Action::kReplace);
  EXPECT_EQ(plan.find("economy")->reason, "model changed");
  EXPECT_EQ(a["router"], Action::kUpdate);
  EXPECT_EQ(a["index"], Action::kUpdate);
  EXPECT_TRUE(plan.find("index")->changes[0].known_after_apply);
  EXPECT_EQ(a["premium"], Action::kNone);
  EXPECT_EQ(a["cache"], Action::kNone);

  // A fixed cache port replaces the cache (port is replace_on_change); app's port input uses
  // it, and port is replace_on_change for a process too: app is replaced.
  Plan ports = make_plan(parse_ok(stack("lumen-small", 2, "allkeys-lru", 384, 6400)),
                         applied(before, outputs()));
  EXPECT_EQ(ports.find("cache")->action, Action::kReplace);
  EXPECT_EQ(ports.find("app")->action, Action::kReplace);
  EXPECT_EQ(ports.find("app")->reason, "args, port changed");
}

TEST(PlanActions, StateRoundTripsThroughJson) {
  StackSpec spec = parse_ok(stack());
  StackState state = applied(spec, outputs());
  json j = state;
  StackState back = j.get<StackState>();
  EXPECT_EQ(json(back), j);
  EXPECT_FALSE(make_plan(spec, back).has_changes());
}

}  // namespace
}  // namespace cairn::deploy
