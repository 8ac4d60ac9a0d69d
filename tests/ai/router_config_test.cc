// Router config loading: the example file, YAML and JSON forms, and every refusal with its
// line and field.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "cairn/ai/router.h"

namespace cairn::ai {
namespace {

const char* kBase = R"(default_tier: economy
tiers:
  - name: economy
    model: m-small
    input_per_million: 0.25
    output_per_million: 1.25
    context_window: 4096
    fallback: [standard]
    endpoints:
      - name: e1
        base_url: http://127.0.0.1:9001/v1
  - name: standard
    model: m-large
    endpoints:
      - base_url: http://127.0.0.1:9002/v1
        api_key_env: STANDARD_KEY
)";

// The ConfigError of parsing `text`, or fails the test.
ConfigError parse_error(const std::string& text) {
  try {
    parse_router_config(text, "router.yaml");
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "config was accepted:\n" << text;
  return ConfigError("", 0, "", "");
}

// The repository's ai/config/router.example.yaml. __FILE__ is relative to the directory the test
// was compiled in, which is the directory of the test binary.
std::filesystem::path example_config() {
  std::filesystem::path file(__FILE__);
  if (file.is_relative()) {
    file = std::filesystem::read_symlink("/proc/self/exe").parent_path() / file;
  }
  return file.parent_path() / "../../ai/config/router.example.yaml";
}

TEST(RouterConfig, LoadsTheExampleFile) {
  auto path = example_config();
  RouterConfig c = load_router_config(path.string());
  ASSERT_EQ(c.tiers.size(), 5u);
  EXPECT_EQ(c.default_tier, "standard");
  EXPECT_EQ(c.embedding_tier, "embed");
  EXPECT_EQ(c.max_attempts, 3);
  EXPECT_EQ(c.cooldown, std::chrono::seconds(30));
  const TierConfig* economy = c.tier("economy");
  ASSERT_NE(economy, nullptr);
  EXPECT_EQ(economy->input_per_million, 250'000);
  EXPECT_EQ(economy->output_per_million, 1'250'000);
  ASSERT_EQ(economy->endpoints.size(), 2u);
  EXPECT_EQ(economy->endpoints[0].api_key_env, "CAIRN_ECONOMY_KEY");
  EXPECT_EQ(economy->endpoints[0].model, "claude-3-haiku");  // the tier's model
  EXPECT_EQ(economy->endpoints[0].request_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c.tier("self-hosted")->endpoints[0].name, "self-hosted-1");
  EXPECT_EQ(c.tier("standard")->cached_input_per_million, 75'000);
  EXPECT_EQ(c.rules.complexity.at("high"), "premium");
  ASSERT_EQ(c.rules.prompt_size.size(), 2u);
  EXPECT_EQ(c.rules.prompt_size[1].max_prompt_tokens, 12000);
  EXPECT_EQ(c.prices.find("llama-3.1-8b-instruct")->per_hour, 800'000);
  EXPECT_EQ(c.prices.find("gpt-4o")->input_per_million, 2'500'000);  // defaults kept
  EXPECT_EQ(c.price_for("self-hosted")->per_hour, 800'000);
  EXPECT_EQ(c.tier_of_endpoint("standard-a"), c.tier("standard"));
}

TEST(RouterConfig, TheDocsShowTheExampleFileAsItIs) {
  auto read = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  std::string example = read(example_config());
  std::string docs = read(example_config().parent_path() / "../docs/router.md");
  ASSERT_FALSE(example.empty());
  EXPECT_NE(docs.find("```yaml\n" + example + "```"), std::string::npos)
      << "ai/docs/router.md must quote ai/config/router.example.yaml unchanged";
}

TEST(RouterConfig, JsonWithTabsIsRead) {
  std::string json =
      "{\n\t\"default_tier\": \"a\",\n\t\"tiers\": [{\"name\": \"a\", \"model\": \"m\",\n\t\t"
      "\"input_per_million\": \"3\", \"endpoints\": [{\"base_url\": \"http://h:1/v1\"}]}]\n}\n";
  RouterConfig c = parse_router_config(json, "router.json");
  ASSERT_EQ(c.tiers.size(), 1u);
  EXPECT_EQ(c.tiers[0].input_per_million, 3'000'000);
  EXPECT_EQ(c.tiers[0].endpoints[0].name, "a-1");
}

TEST(RouterConfig, RelativeKeyFileIsRelativeToTheConfigFile) {
  auto dir =
      std::filesystem::temp_directory_path() / ("cairn-router-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string text = kBase;
  text.replace(text.find("api_key_env: STANDARD_KEY"), 25, "api_key_file: keys/standard.key");
  text += "      - name: abs\n        base_url: http://h:1/v1\n        api_key_file: /etc/k\n";
  {
    std::ofstream out(dir / "router.yaml");
    out << text;
  }
  RouterConfig c = load_router_config((dir / "router.yaml").string());
  EXPECT_EQ(c.tiers[1].endpoints[0].api_key_file, (dir / "keys/standard.key").string());
  EXPECT_EQ(c.tiers[1].endpoints[1].api_key_file, "/etc/k");
  // Parsed from text there is no file to be relative to: kept as written.
  EXPECT_EQ(parse_router_config(text, "x").tiers[1].endpoints[0].api_key_file, "keys/standard.key");
  std::filesystem::remove_all(dir);
}

TEST(RouterConfig, MissingFileNamesIt) {
  try {
    load_router_config("/nonexistent/router.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/router.yaml"), std::string::npos);
  }
}

TEST(RouterConfig, SyntaxErrorHasItsLine) {
  ConfigError e = parse_error("default_tier: a\ntiers: [\n  {name: a\n");
  EXPECT_GT(e.line(), 1);
  EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos);
}

TEST(RouterConfig, UnknownFallbackTargetNamesLineAndField) {
  std::string text = kBase;
  text.replace(text.find("[standard]"), 10, "[premum]");
  ConfigError e = parse_error(text);
  EXPECT_EQ(e.line(), 8);
  EXPECT_EQ(e.field(), "tiers[0].fallback[0]");
  EXPECT_NE(std::string(e.what()).find("unknown tier \"premum\""), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("router.yaml:8:"), std::string::npos) << e.what();
}

TEST(RouterConfig, CycleIsRejectedWithItsPath) {
  std::string text = kBase;
  text += "    fallback: [economy]\n";
  ConfigError e = parse_error(text);
  EXPECT_NE(std::string(e.what()).find("economy → standard → economy"), std::string::npos)
      << e.what();
  EXPECT_EQ(e.field(), "tiers[1].fallback[0]");
  EXPECT_EQ(e.line(), 17);
}

TEST(RouterConfig, SelfFallbackIsACycle) {
  std::string text = kBase;
  text.replace(text.find("[standard]"), 10, "[economy]");
  ConfigError e = parse_error(text);
  EXPECT_NE(std::string(e.what()).find("economy → economy"), std::string::npos) << e.what();
}

TEST(RouterConfig, LongerCycleIsNamedInOrder) {
  RouterConfig c = parse_router_config(kBase, "x");
  c.tiers[1].fallback = {"premium"};
  TierConfig premium = c.tiers[1];
  premium.name = "premium";
  premium.endpoints[0].name = "p1";
  premium.fallback = {"standard"};
  c.tiers.push_back(premium);
  try {
    validate_router_config(c);
    FAIL() << "cycle accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("standard → premium → standard"), std::string::npos)
        << e.what();
    EXPECT_EQ(e.line(), 0);
  }
}

struct Refusal {
  std::string find;
  std::string replace;
  std::string field;
  std::string message;
};

class RouterConfigRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(RouterConfigRefusal, NamesFieldAndProblem) {
  const Refusal& r = GetParam();
  std::string text = kBase;
  size_t at = text.find(r.find);
  ASSERT_NE(at, std::string::npos) << r.find;
  text.replace(at, r.find.size(), r.replace);
  ConfigError e = parse_error(text);
  EXPECT_EQ(e.field(), r.field) << e.what();
  EXPECT_GT(e.line(), 0) << e.what();
  EXPECT_NE(std::string(e.what()).find(r.message), std::string::npos) << e.what();
}

INSTANTIATE_TEST_SUITE_P(
    RouterConfig, RouterConfigRefusal,
    ::testing::Values(
        Refusal{"- name: standard", "- name: economy", "tiers[1].name", "duplicate tier name"},
        Refusal{"default_tier: economy", "default_tier: nope", "default_tier",
                "unknown tier \"nope\""},
        Refusal{"    endpoints:\n      - base_url: http://127.0.0.1:9002/v1\n"
                "        api_key_env: STANDARD_KEY\n",
                "    endpoints: []\n", "tiers[1].endpoints", "has no endpoints"},
        Refusal{"http://127.0.0.1:9001/v1", "ftp://127.0.0.1/v1", "tiers[0].endpoints[0].base_url",
                "must start with http://"},
        Refusal{"http://127.0.0.1:9001/v1", "http://:9001/v1", "tiers[0].endpoints[0].base_url",
                "has no host"},
        Refusal{"http://127.0.0.1:9001/v1", "http://127.0.0.1:99999/v1",
                "tiers[0].endpoints[0].base_url", "bad port"},
        Refusal{"http://127.0.0.1:9001/v1", "http://user:hunter2@127.0.0.1:9001/v1",
                "tiers[0].endpoints[0].base_url", "must not carry credentials"},
        Refusal{"input_per_million: 0.25", "input_per_million: -0.25", "tiers[0].input_per_million",
                "must not be negative"},
        Refusal{"input_per_million: 0.25", "input_per_million: 0.1234567",
                "tiers[0].input_per_million", "at most 6 decimals"},
        Refusal{"input_per_million: 0.25", "input_per_million: cheap", "tiers[0].input_per_million",
                "expected a price in dollars"},
        Refusal{"default_tier: economy", "default_tier: economy\nmax_attempts: 0", "max_attempts",
                "max_attempts must be at least 1"},
        Refusal{"default_tier: economy", "default_tier: economy\ncooldown: 30", "cooldown",
                "with a unit"},
        Refusal{"        api_key_env: STANDARD_KEY", "        api_key: sk-secret-value",
                "tiers[1].endpoints[0].api_key", "use api_key_env"},
        Refusal{"        api_key_env: STANDARD_KEY", "        api_key_env: 1BAD",
                "tiers[1].endpoints[0].api_key_env", "not an environment variable name"},
        Refusal{"    model: m-large", "    modle: m-large", "tiers[1].modle",
                "unknown field \"modle\""},
        Refusal{"    context_window: 4096", "    context_window: -1", "tiers[0].context_window",
                "must not be negative"},
        Refusal{"      - name: e1", "      - name: standard-1", "tiers[1].endpoints[0].name",
                "duplicate endpoint name"},
        Refusal{"    fallback: [standard]", "    fallback: [standard, standard]",
                "tiers[0].fallback[1]", "twice"},
        Refusal{"default_tier: economy",
                "default_tier: economy\nrules:\n  complexity:\n    high: premium",
                "rules.complexity.high", "unknown tier \"premium\""},
        Refusal{"default_tier: economy",
                "default_tier: economy\nrules:\n  prompt_size:\n    - max_prompt_tokens: 100\n"
                "      tier: economy\n    - max_prompt_tokens: 50\n      tier: standard",
                "rules.prompt_size[1].max_prompt_tokens", "larger than the rule before"},
        Refusal{"default_tier: economy", "default_tier: economy\nprices:\n  x:\n    per_hour: -1",
                "prices.x.per_hour", "must not be negative"}));

TEST(RouterConfig, InlineKeyValueNeverInTheMessage) {
  std::string text = kBase;
  text.replace(text.find("        api_key_env: STANDARD_KEY"), 33,
               "        api_key: sk-live-12345");
  ConfigError e = parse_error(text);
  EXPECT_EQ(std::string(e.what()).find("sk-live-12345"), std::string::npos) << e.what();
}

TEST(RouterConfig, CredentialsInUrlNeverInTheMessage) {
  std::string text = kBase;
  text.replace(text.find("http://127.0.0.1:9001/v1"), 24, "http://u:hunter2@127.0.0.1:9001/v1");
  ConfigError e = parse_error(text);
  EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
}

TEST(RouterConfig, DurationsAndIntegers) {
  std::string text = kBase;
  text.insert(0, "cooldown: 1.5s\nmax_retry_after: 2m\n");
  RouterConfig c = parse_router_config(text, "x.yaml");
  EXPECT_EQ(c.cooldown, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.max_retry_after, std::chrono::minutes(2));
}

TEST(RouterConfig, PriceSetMeansFreeNotUnpriced) {
  std::string text = kBase;
  text.replace(text.find("    model: m-large\n"), 19, "    model: m-large\n    per_hour: 0\n");
  RouterConfig c = parse_router_config(text, "x.yaml");
  ASSERT_TRUE(c.price_for("standard").has_value());
  EXPECT_EQ(c.price_for("standard")->per_hour, 0);
  c.tiers[1].price_set = false;
  EXPECT_FALSE(c.price_for("standard").has_value());  // m-large is in no table
}

}  // namespace
}  // namespace cairn::ai

namespace cairn::ai {
namespace {

// Any damage to a config is a ConfigError with a line, never another exception: every prefix
// of the example file, and the example with each line replaced by something else.
TEST(RouterConfig, DamagedConfigsAreConfigErrors) {
  std::ifstream in(example_config());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  auto check = [](const std::string& t) {
    try {
      parse_router_config(t, "damaged.yaml");
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("damaged.yaml", 0), 0u) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a ConfigError: " << e.what() << "\nfor:\n" << t;
    }
  };
  for (size_t n = 0; n < text.size(); n += 5) {
    check(text.substr(0, n));
  }
  std::vector<std::string> lines;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    lines.push_back(text.substr(at, end - at));
    at = end == std::string::npos ? text.size() : end + 1;
  }
  for (const char* replacement : {"  - [1, 2]", "tiers: 3", "    endpoints: {a: b}", "  x: {",
                                  "    fallback: {a: 1}", "    model: [a]"}) {
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string t;
      for (size_t j = 0; j < lines.size(); ++j) {
        t += (j == i ? std::string(replacement) : lines[j]) + "\n";
      }
      check(t);
    }
  }
}

}  // namespace
}  // namespace cairn::ai
