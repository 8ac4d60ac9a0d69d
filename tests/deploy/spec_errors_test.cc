// Invalid stack specs: every kind of error with its exact line:column, several at once, the
// compiler-style report, and secrets that never reach a message.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cairn/deploy/spec.h"
#include "spec_test_util.h"

namespace cairn::deploy {
namespace {

using testing::errors_of;
using ::testing::HasSubstr;

std::string only_error(const std::string& text) {
  auto errors = errors_of(text);
  EXPECT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  return errors.empty() ? "" : errors[0];
}

TEST(SpecErrors, UnknownTypeWithSuggestion) {
  EXPECT_EQ(only_error("name: s\n"
                       "resources:\n"
                       "  cache:\n"
                       "    type: reddis\n"),
            "4:11: resource \"cache\": unknown type \"reddis\" (did you mean \"redis\"?)");
  EXPECT_THAT(only_error("name: s\n"
                         "resources:\n"
                         "  x:\n"
                         "    type: \"azure:vm\"\n"),
              HasSubstr("unknown type \"azure:vm\" (expected one of: process, model_endpoint, "
                        "redis, router, vector_index, command, aws:*, gcp:*, k8s:*)"));
}

TEST(SpecErrors, UnknownFieldWithDidYouMean) {
  EXPECT_EQ(only_error("name: s\n"
                       "resources:\n"
                       "  cache:\n"
                       "    type: redis\n"
                       "    inputs:\n"
                       "      maxmemroy: 64mb\n"),
            "6:7: resource \"cache\" (redis): unknown input \"maxmemroy\" (did you mean "
            "\"maxmemory\"?)");
  // At the resource level and at the top level too; a nested field is named by its path.
  auto errors = errors_of(
      "name: s\n"
      "resourses: {}\n"
      "resources:\n"
      "  app:\n"
      "    type: process\n"
      "    depend_on: [x]\n"
      "    inputs:\n"
      "      command: /bin/true\n"
      "      health: {htp: /healthz}\n");
  ASSERT_EQ(errors.size(), 4u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0],
            "2:1: unknown field \"resourses\" in the stack (did you mean \"resources\"?)");
  EXPECT_EQ(errors[1],
            "6:5: unknown field \"depend_on\" in resource \"app\" (did you mean \"depends_on\"?)");
  EXPECT_EQ(errors[2],
            "9:15: resource \"app\" (process): health checks one way: give either "
            "http: /path or tcp: true");
  EXPECT_EQ(errors[3],
            "9:16: resource \"app\" (process): unknown field \"health.htp\" (did you mean "
            "\"http\"?)");
}

TEST(SpecErrors, MissingRequiredInput) {
  EXPECT_EQ(only_error("name: s\n"
                       "resources:\n"
                       "  economy:\n"
                       "    type: model_endpoint\n"
                       "    inputs:\n"
                       "      tier: economy\n"),
            "5:5: resource \"economy\" (model_endpoint): missing required input \"model\" (a "
            "string: the served model id)");
  // Without an inputs map the resource's name is the place.
  EXPECT_EQ(only_error("name: s\n"
                       "resources:\n"
                       "  app: {type: process}\n"),
            "3:3: resource \"app\" (process): missing required input \"command\" (a string: "
            "program to run)");
}

TEST(SpecErrors, WrongValueTypes) {
  auto errors = errors_of(
      "name: s\n"
      "resources:\n"
      "  cache:\n"
      "    type: redis\n"
      "    inputs:\n"
      "      port: \"6379\"\n"
      "      maxmemory_policy: allkeys-lru2\n"
      "  e:\n"
      "    type: model_endpoint\n"
      "    inputs: {tier: t, model: m, replicas: 100, price_per_hour: 0.1234567}\n");
  ASSERT_EQ(errors.size(), 4u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0],
            "6:13: resource \"cache\" (redis): \"port\" must be an integer, not a string");
  EXPECT_EQ(errors[1],
            "7:25: resource \"cache\" (redis): \"maxmemory_policy\" cannot be "
            "\"allkeys-lru2\" (did you mean \"allkeys-lru\"?)");
  EXPECT_EQ(errors[2],
            "10:43: resource \"e\" (model_endpoint): \"replicas\" must be between 0 "
            "and 64, not 100");
  EXPECT_EQ(errors[3],
            "10:64: resource \"e\" (model_endpoint): \"price_per_hour\" must be "
            "dollars: a number >= 0 with at most 6 decimals");
}

TEST(SpecErrors, ReferencesToNothing) {
  auto errors = errors_of(
      "name: s\n"
      "resources:\n"
      "  cache: {type: redis}\n"
      "  app:\n"
      "    type: process\n"
      "    inputs:\n"
      "      command: /bin/app\n"
      "      args: [\"--redis=${cahce.url}\", \"--x=${cache.uri}\"]\n"
      "      env: {A: \"${a.b\", B: \"${nodot}\"}\n"
      "    depends_on: [cach]\n");
  ASSERT_EQ(errors.size(), 5u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0],
            "8:23: resource \"app\" (process): reference ${cahce.url}: there is no "
            "resource \"cahce\" (did you mean \"cache\"?)");
  EXPECT_EQ(errors[1],
            "8:43: resource \"app\" (process): reference ${cache.uri}: resource "
            "\"cache\" (redis) has no output \"uri\" (did you mean \"url\"?)");
  EXPECT_EQ(errors[2],
            "9:17: resource \"app\" (process): reference \"${a.b\" is not closed: "
            "write ${resource.output}");
  EXPECT_EQ(errors[3],
            "9:29: resource \"app\" (process): malformed reference \"${nodot}\": "
            "write ${resource.output} (a resource name, a dot, an output name)");
  EXPECT_EQ(errors[4],
            "10:18: resource \"app\": depends_on names \"cach\", which is not a "
            "resource (did you mean \"cache\"?)");
}

TEST(SpecErrors, ReferenceTypesAreChecked) {
  auto errors = errors_of(
      "name: s\n"
      "resources:\n"
      "  cache: {type: redis}\n"
      "  app:\n"
      "    type: process\n"
      "    inputs:\n"
      "      command: /bin/app\n"
      "      port: \"${cache.url}\"\n"
      "      working_dir: ${cache.port}\n"
      "  r:\n"
      "    type: router\n"
      "    inputs:\n"
      "      default_tier: t\n"
      "      tiers: [{name: t, model: m, urls: \"${cache.url}\"}]\n"
      "  c:\n"
      "    type: command\n"
      "    inputs: {create: x, outputs: [id]}\n"
      "  d:\n"
      "    type: process\n"
      "    inputs: {command: \"${c.id}\", args: [\"${c.name}\"]}\n");
  ASSERT_EQ(errors.size(), 5u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0],
            "8:14: resource \"app\" (process): \"port\" must be an integer, but "
            "${cache.url} is a string");
  EXPECT_EQ(errors[1],
            "9:20: resource \"app\" (process): \"working_dir\" must be a string, but "
            "${cache.port} is an integer");
  EXPECT_EQ(errors[2],
            "14:42: resource \"r\" (router): \"tiers[0].urls\" must be a list, but "
            "${cache.url} is a string");
  EXPECT_EQ(errors[3],
            "14:42: resource \"r\" (router): \"tiers[0].urls\" takes an output of a "
            "model_endpoint, but \"cache\" is a redis");
  EXPECT_EQ(errors[4],
            "20:42: resource \"d\" (process): reference ${c.name}: resource \"c\" "
            "(command) has no output \"name\" (expected one of: id)");
}

TEST(SpecErrors, DuplicateNameNamesBothLines) {
  EXPECT_EQ(only_error("name: s\n"
                       "resources:\n"
                       "  cache: {type: redis}\n"
                       "  app: {type: process, inputs: {command: x}}\n"
                       "  cache: {type: redis}\n"),
            "5:3: duplicate resource name \"cache\" (first defined at stack.yaml:3:3)");
  EXPECT_EQ(only_error("name: s\n"
                       "resources:\n"
                       "  cache:\n"
                       "    type: redis\n"
                       "    inputs: {port: 1, port: 2}\n"),
            "5:23: field \"port\" given twice (first at stack.yaml:5:14)");
}

TEST(SpecErrors, CycleIsNamed) {
  EXPECT_EQ(only_error("name: s\n"
                       "resources:\n"
                       "  a:\n"
                       "    type: process\n"
                       "    inputs: {command: \"${b.url}\"}\n"
                       "  b:\n"
                       "    type: process\n"
                       "    inputs: {command: x}\n"
                       "    depends_on: [c]\n"
                       "  c:\n"
                       "    type: process\n"
                       "    inputs: {command: x, args: [\"${a.host}\"]}\n"),
            "3:3: dependency cycle: a -> b -> c -> a (break it: a resource cannot depend on "
            "itself, directly or through others)");
  EXPECT_THAT(only_error("name: s\n"
                         "resources:\n"
                         "  self:\n"
                         "    type: process\n"
                         "    inputs: {command: x, port: \"${self.port}\"}\n"),
              HasSubstr("3:3: dependency cycle: self -> self"));
}

TEST(SpecErrors, StructureAndNames) {
  auto errors = errors_of(
      "name: My Stack\n"
      "version: 2\n"
      "policy: {max_added_cost_per_hour: lots}\n"
      "resources:\n"
      "  Cache: {type: redis}\n"
      "  app: [process]\n"
      "  job: {inputs: {}}\n");
  ASSERT_EQ(errors.size(), 6u) << ::testing::PrintToString(errors);
  EXPECT_THAT(errors[0], HasSubstr("1:7: the stack's name must match [a-z][a-z0-9_-]*"));
  EXPECT_EQ(errors[1], "2:10: unsupported version 2 (this Cairn reads version 1)");
  EXPECT_THAT(errors[2], HasSubstr("3:35: policy.max_added_cost_per_hour must be dollars"));
  EXPECT_THAT(errors[3], HasSubstr("5:3: resource name \"Cache\" must match"));
  EXPECT_EQ(errors[4], "6:8: resource \"app\" must be a map with type and inputs, not a list");
  EXPECT_THAT(errors[5], HasSubstr("7:3: resource \"job\" has no type (expected one of: process"));
}

TEST(SpecErrors, YamlSyntaxErrorIsReportedWithItsPosition) {
  auto errors = errors_of(
      "name: s\n"
      "resources:\n"
      "  cache: {type: redis\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("YAML syntax"));
  EXPECT_THAT(errors[0], ::testing::StartsWith("4:"));
}

TEST(SpecErrors, AllErrorsAtOnceInFileOrderAsACompilerStyleReport) {
  StackParseResult r = parse_stack(
      "name: s\n"
      "resources:\n"
      "  cache:\n"
      "    type: redis\n"
      "    inputs: {maxmemory_polcy: x, port: -1}\n"
      "  e:\n"
      "    type: model_endpoint\n"
      "    inputs: {tier: t}\n"
      "  z: {type: nope}\n",
      "stacks/bad.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors.report(),
            "stacks/bad.yaml:5:14: error: resource \"cache\" (redis): unknown input "
            "\"maxmemory_polcy\" (did you mean \"maxmemory_policy\"?)\n"
            "stacks/bad.yaml:5:40: error: resource \"cache\" (redis): \"port\" must be between 0 "
            "and 65535, not -1\n"
            "stacks/bad.yaml:8:5: error: resource \"e\" (model_endpoint): missing required input "
            "\"model\" (a string: the served model id)\n"
            "stacks/bad.yaml:9:13: error: resource \"z\": unknown type \"nope\" (expected one of: "
            "process, model_endpoint, redis, router, vector_index, command, aws:*, gcp:*, k8s:*)\n"
            "4 errors");
  StackSpecError thrown(r.errors);
  EXPECT_EQ(std::string(thrown.what()), r.errors.report());
}

TEST(SpecErrors, SecretsOnlyByReferenceAndNeverQuoted) {
  const std::string planted = "sk-live-PLANTED-7f3a9c";
  auto errors = errors_of(
      "name: s\n"
      "resources:\n"
      "  e:\n"
      "    type: model_endpoint\n"
      "    inputs:\n"
      "      tier: t\n"
      "      model: m\n"
      "      api_key: " +
      planted +
      "\n"
      "  app:\n"
      "    type: process\n"
      "    inputs:\n"
      "      command: x\n"
      "      env: {OPENAI_API_KEY: " +
      planted +
      ", OK: \"${e.url}\"}\n"
      "  db:\n"
      "    type: \"aws:rds_instance\"\n"
      "    inputs: {engine: postgres, master_password: " +
      planted +
      "}\n"
      "  r:\n"
      "    type: redis\n"
      "    inputs: {password: {secret: \"" +
      planted + "\"}}\n");
  ASSERT_EQ(errors.size(), 4u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0],
            "8:16: resource \"e\" (model_endpoint): input \"api_key\" is a secret: give "
            "it as {secret: \"env:NAME\"} or {secret: \"file:PATH\"}; secrets are "
            "accepted only by reference, never written in the spec");
  EXPECT_THAT(errors[1], HasSubstr("13:29: resource \"app\" (process): \"env.OPENAI_API_KEY\" "
                                   "looks like a secret"));
  EXPECT_THAT(errors[2], HasSubstr("16:49: resource \"db\" (aws:rds_instance): "
                                   "\"master_password\" looks like a secret"));
  EXPECT_EQ(errors[3],
            "19:33: resource \"r\" (redis): \"password\": a secret reference must be "
            "\"env:NAME\" (an environment variable name) or \"file:PATH\"");
  for (const auto& e : errors) {
    EXPECT_THAT(e, ::testing::Not(HasSubstr("PLANTED"))) << e;
  }
}

}  // namespace
}  // namespace cairn::deploy
