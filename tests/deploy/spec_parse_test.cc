// Valid stack specs: what parse_stack gives back (resources in order, defaults, policy,
// references, secrets), and the support agent's own stack.yaml.
#include <string>

#include <gtest/gtest.h>

#include "cairn/deploy/graph.h"
#include "cairn/deploy/spec.h"
#include "spec_test_util.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;
using testing::parse_ok;

// The repository root, from this file's absolute path (CMake compiles it by absolute path).
std::string repo_root() {
  std::string f = __FILE__;
  return f.substr(0, f.rfind("/tests/deploy/"));
}

TEST(SpecParse, AnAgentStackWithTiersRouterCacheAndIndex) {
  const char* text = R"(name: agent
resources:
  economy:
    type: model_endpoint
    inputs:
      tier: economy
      model: lumen-small
      replicas: 2
      price_per_hour: 0.12
  premium:
    type: model_endpoint
    inputs: {tier: premium, model: lumen-large, price_per_hour: 0.85}
  router:
    type: router
    inputs:
      default_tier: economy
      tiers:
        - {name: "${economy.tier}", model: "${economy.model}", urls: "${economy.urls}"}
        - {name: premium, model: lumen-large, urls: "${premium.urls}", fallback: [economy]}
  cache:
    type: redis
    inputs: {maxmemory: 64mb, maxmemory_policy: allkeys-lru}
  index:
    type: vector_index
    inputs: {dim: 384, source: kb, embedding_endpoint: "${economy.url}"}
    depends_on: [cache]
)";
  StackSpec spec = parse_ok(text);
  EXPECT_EQ(spec.name, "agent");
  EXPECT_EQ(spec.version, 1);
  ASSERT_EQ(spec.resources.size(), 5u);
  // File order is kept (not sorted by name).
  std::vector<std::string> names;
  for (const auto& r : spec.resources) {
    names.push_back(r.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"economy", "premium", "router", "cache", "index"}));

  const ResourceSpec& economy = *spec.find("economy");
  EXPECT_EQ(economy.type, "model_endpoint");
  EXPECT_EQ(economy.inputs["replicas"], 2);
  EXPECT_EQ(economy.inputs["price_per_hour"], 0.12);
  EXPECT_EQ(economy.location, (Location{"stack.yaml", 3, 3}));
  EXPECT_EQ(economy.input_locations.at("/model"), (Location{"stack.yaml", 7, 14}));
  // Defaults are filled in.
  EXPECT_EQ(spec.find("premium")->inputs["replicas"], 1);
  EXPECT_EQ(spec.find("cache")->inputs["persistence"], "none");
  EXPECT_EQ(spec.find("cache")->inputs["port"], 0);
  EXPECT_EQ(spec.find("index")->inputs["chunk_chars"], 1000);
  const json& tiers = spec.find("router")->inputs["tiers"];
  EXPECT_EQ(tiers[0]["fallback"], json::array());  // nested default
  EXPECT_EQ(tiers[0]["input_per_million"], 0);
  EXPECT_EQ(tiers[1]["fallback"], json::array({"economy"}));

  // Dependencies: references first, then depends_on, each once.
  EXPECT_EQ(spec.find("router")->dependencies(), (std::vector<std::string>{"economy", "premium"}));
  EXPECT_EQ(spec.find("index")->dependencies(), (std::vector<std::string>{"economy", "cache"}));
  EXPECT_TRUE(spec.find("cache")->dependencies().empty());

  // Policy defaults: no cost limit, data loss needs approval.
  EXPECT_FALSE(spec.policy.max_added_cost_per_hour.has_value());
  EXPECT_TRUE(spec.policy.approve_data_loss);
}

TEST(SpecParse, PolicyIsRead) {
  StackSpec spec = parse_ok(R"(name: s
policy:
  max_added_cost_per_hour: 0.5
  approve_data_loss: false
resources:
  cache: {type: redis}
)");
  ASSERT_TRUE(spec.policy.max_added_cost_per_hour.has_value());
  EXPECT_EQ(*spec.policy.max_added_cost_per_hour, 500'000);
  EXPECT_FALSE(spec.policy.approve_data_loss);
}

TEST(SpecParse, ScalarsFollowTheYamlCoreSchemaAndQuotesMakeStrings) {
  StackSpec spec = parse_ok(R"(name: s
resources:
  job:
    type: "aws:batch_job"
    inputs:
      count: 3
      ratio: 0.5
      enabled: true
      quoted_number: "3"
      nothing: ~
      words: hello world
      nested: {list: [1, two, false]}
)");
  const json& in = spec.find("job")->inputs;
  EXPECT_EQ(in["count"], 3);
  EXPECT_EQ(in["ratio"], 0.5);
  EXPECT_EQ(in["enabled"], true);
  EXPECT_EQ(in["quoted_number"], "3");
  EXPECT_TRUE(in["nothing"].is_null());
  EXPECT_EQ(in["words"], "hello world");
  EXPECT_EQ(in["nested"], json::parse(R"({"list": [1, "two", false]})"));
}

TEST(SpecParse, WholeStringReferencesKeepTheOutputTypeEmbeddedOnesInterpolateText) {
  StackSpec spec = parse_ok(R"(name: s
resources:
  cache: {type: redis}
  app:
    type: process
    inputs:
      command: /bin/app
      port: ${cache.port}
      args: ["--redis=${cache.host}:${cache.port}", "$${literal}"]
      env: {REDIS_URL: "${cache.url}"}
)");
  const ResourceSpec& app = *spec.find("app");
  EXPECT_EQ(app.dependencies(), (std::vector<std::string>{"cache"}));
  EXPECT_EQ(references_in(app.inputs).size(), 4u);
  EXPECT_EQ(whole_reference(app.inputs["port"].get<std::string>()),
            (Reference{"cache", "port", 0, 13}));
  EXPECT_EQ(parse_references(app.inputs["args"][0].get<std::string>()),
            (std::vector<Reference>{{"cache", "host", 8, 13}, {"cache", "port", 22, 13}}));
  EXPECT_FALSE(whole_reference(app.inputs["args"][0].get<std::string>()).has_value());

  json outputs = {{"port", 6390}, {"host", "127.0.0.1"}, {"url", "redis://127.0.0.1:6390"}};
  OutputLookup lookup = [&](const Reference& r) -> std::optional<json> {
    return outputs[r.output];
  };
  json resolved = substitute(app.inputs, lookup);
  EXPECT_EQ(resolved["port"], 6390);  // a number, not "6390"
  EXPECT_EQ(resolved["args"][0], "--redis=127.0.0.1:6390");
  EXPECT_EQ(resolved["args"][1], "${literal}");
  EXPECT_EQ(resolved["env"]["REDIS_URL"], "redis://127.0.0.1:6390");

  // A list output interpolated into text reads as compact JSON.
  json lists = {{"urls", json::array({"http://a", "http://b"})}};
  EXPECT_EQ(substitute("urls=${e.urls}",
                       [&](const Reference& r) -> std::optional<json> { return lists[r.output]; }),
            R"(urls=["http://a","http://b"])");
}

TEST(SpecParse, UnknownOutputsBecomeKnownAfterApplyMarkers) {
  bool unknown = false;
  json v = substitute(
      json{{"a", "${x.url}/v1"}, {"b", 1}},
      [](const Reference&) -> std::optional<json> { return std::nullopt; }, &unknown);
  EXPECT_TRUE(unknown);
  EXPECT_TRUE(is_known_after_apply(v["a"]));
  EXPECT_EQ(v["a"]["known_after_apply"], "${x.url}/v1");
  EXPECT_EQ(v["b"], 1);
}

TEST(SpecParse, SecretsAreKeptAsReferences) {
  StackSpec spec = parse_ok(R"(name: s
resources:
  premium:
    type: model_endpoint
    inputs:
      tier: premium
      model: m
      api_key: {secret: "env:PREMIUM_KEY"}
  app:
    type: process
    inputs:
      command: /bin/app
      env:
        OPENAI_API_KEY: {secret: "file:keys/openai"}
        MODE: fast
)");
  const json& key = spec.find("premium")->inputs["api_key"];
  auto ref = as_secret_ref(key);
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->source, SecretRef::Source::kEnv);
  EXPECT_EQ(ref->target, "PREMIUM_KEY");
  EXPECT_EQ(as_secret_ref(spec.find("app")->inputs["env"]["OPENAI_API_KEY"])->to_string(),
            "file:keys/openai");
}

TEST(SpecParse, CommandOutputsAreTheDeclaredOnes) {
  StackSpec spec = parse_ok(R"(name: s
resources:
  bucket:
    type: command
    inputs:
      create: ./make-bucket.sh
      delete: ./drop-bucket.sh
      outputs: [bucket_url, region]
  app:
    type: process
    inputs: {command: /bin/app, args: ["${bucket.bucket_url}"]}
  vpc:
    type: "gcp:network"
    inputs: {cidr: 10.0.0.0/16, cost_per_hour: 0.01}
  svc:
    type: "k8s:deployment"
    inputs: {network: "${vpc.self_link}"}
)");
  EXPECT_EQ(spec.find("app")->dependencies(), (std::vector<std::string>{"bucket"}));
  EXPECT_EQ(spec.find("svc")->dependencies(), (std::vector<std::string>{"vpc"}));
}

TEST(SpecParse, TheSupportAgentStackParses) {
  StackParseResult r = load_stack(repo_root() + "/examples/support-agent/stack.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.report();
  const StackSpec& spec = *r.spec;
  EXPECT_EQ(spec.name, "support-agent");
  EXPECT_EQ(spec.find("economy")->inputs["replicas"], 2);
  EXPECT_EQ(spec.find("premium")->inputs["replicas"], 1);
  EXPECT_EQ(spec.find("cache")->inputs["maxmemory"], "64mb");
  EXPECT_EQ(spec.find("cache")->inputs["maxmemory_policy"], "allkeys-lru");
  EXPECT_EQ(spec.find("kb")->type, "vector_index");
  EXPECT_EQ(spec.find("kb")->inputs["source"], "kb");
  EXPECT_EQ(spec.base_dir, repo_root() + "/examples/support-agent");
  // The endpoints come first, the router and the index after them.
  auto waves = graph_of(spec).waves();
  ASSERT_EQ(waves.size(), 2u);
  EXPECT_EQ(waves[0], (std::vector<std::string>{"economy", "premium", "cache"}));
  EXPECT_EQ(waves[1], (std::vector<std::string>{"router", "kb"}));
}

TEST(SpecParse, LoadStackOrThrowReportsEverything) {
  EXPECT_THROW(load_stack_or_throw("/nonexistent/stack.yaml"), StackSpecError);
  StackParseResult r = load_stack("/nonexistent/stack.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors.all()[0].where.line, 0);
  EXPECT_NE(r.errors.report().find("cannot read the stack spec /nonexistent/stack.yaml"),
            std::string::npos);
}

}  // namespace
}  // namespace cairn::deploy
