// The providers against the type schemas (types.cc): whatever parse_stack accepts — every field
// of every type, defaults applied, references replaced by plausible outputs, secrets as
// references — passes each provider's check() as is; a field the schema does not have is
// refused with its path; the fields the schema declares are used (working_dir is the child's
// cwd, context_window / embedding_dim / api_key reach cairn-model-endpoint, the key never lands
// in a record).
#include <gtest/gtest.h>
#include <stdlib.h>

#include "cairn/ai/openai.h"
#include "cairn/deploy/process.h"
#include "cairn/deploy/provider.h"
#include "cairn/deploy/spec.h"
#include "tests/deploy/provider_support.h"

namespace cairn::deploy {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::TempStateDir;

std::string repo_root() {
  std::string f = __FILE__;
  return f.substr(0, f.rfind("/tests/deploy/"));
}

// What an apply of `r` could plausibly report: a model_endpoint its tier and model, every other
// output a value of its kind.
json plausible_outputs(const ResourceSpec& r) {
  const TypeSchema& type = *find_type(r.type);
  json out = json::object();
  for (const std::string& name : type.output_names(r.inputs)) {
    std::optional<OutputSchema> o = type.output(name, r.inputs);
    switch (o->kind) {
      case ValueKind::kInt:
        out[name] = 4100;
        break;
      case ValueKind::kList:
        out[name] = json::array({"http://127.0.0.1:4101", "http://127.0.0.1:4102"});
        break;
      default:
        out[name] = "http://127.0.0.1:4100";
    }
  }
  if (r.type == "model_endpoint") {
    out["tier"] = r.inputs["tier"];
    out["model"] = r.inputs["model"];
  }
  return out;
}

// The inputs each resource of `spec` would reach its provider with: references replaced by the
// plausible outputs of the resources they name, a relative path resolved against base_dir (the
// stack workflow's job), secrets left as references.
std::map<std::string, json> provider_inputs(const StackSpec& spec) {
  std::map<std::string, json> outputs;
  for (const ResourceSpec& r : spec.resources) {
    outputs[r.name] = plausible_outputs(r);
  }
  OutputLookup lookup = [&](const Reference& ref) -> std::optional<json> {
    return outputs.at(ref.resource).at(ref.output);
  };
  std::map<std::string, json> out;
  for (const ResourceSpec& r : spec.resources) {
    json in = substitute(r.inputs, lookup);
    for (const char* path : {"source", "working_dir"}) {
      if (in.contains(path) && std::filesystem::path(in[path].get<std::string>()).is_relative()) {
        in[path] = (std::filesystem::path(spec.base_dir) / in[path].get<std::string>()).string();
      }
    }
    out[r.name] = in;
  }
  return out;
}

std::string errors_text(const std::vector<InputError>& errors) {
  std::string text;
  for (const InputError& e : errors) {
    text += e.field + ": " + e.message + "\n";
  }
  return text;
}

// Every field of every type the local providers make, once.
constexpr const char* kEveryField = R"(name: every-field
resources:
  llm:
    type: model_endpoint
    inputs:
      tier: economy
      model: m
      replicas: 2
      price_per_hour: 0.12
      command: /usr/bin/vllm-serve
      args: ["--port", "{port}", "--max-model-len", "{context_window}"]
      context_window: 8192
      input_per_million: 0.25
      output_per_million: 1.25
      embedding_dim: 64
      api_key: {secret: "env:LLM_KEY"}
      env: {HF_HOME: /tmp/hf}
      startup_timeout_seconds: 60
      stop_grace_seconds: 5
  cache:
    type: redis
    inputs:
      maxmemory: 64mb
      maxmemory_policy: allkeys-lru
      persistence: rdb
      port: 0
      password: {secret: "env:REDIS_PASSWORD"}
      startup_timeout_seconds: 10
      stop_grace_seconds: 2
      cost_per_hour: 0.01
  app:
    type: process
    inputs:
      command: ./agent
      args: ["--redis", "${cache.url}"]
      env: {LLM_URL: "${llm.url}", OPENAI_API_KEY: {secret: "env:OPENAI_API_KEY"}}
      port: 0
      health: {http: /healthz}
      working_dir: /tmp
      startup_timeout_seconds: 20
      stop_grace_seconds: 3
      cost_per_hour: 0.02
  router:
    type: router
    inputs:
      tiers:
        - name: ${llm.tier}
          model: ${llm.model}
          urls: ${llm.urls}
          input_per_million: 0.25
          output_per_million: 1.25
          context_window: 8192
          fallback: []
      default_tier: economy
      embedding_tier: economy
      rules: {complexity: {low: economy}}
      port: 0
      startup_timeout_seconds: 15
      stop_grace_seconds: 5
      cost_per_hour: 0
  kb:
    type: vector_index
    inputs:
      dim: 64
      source: /tmp
      embedding_endpoint: ${llm.url}
      index: kb
      chunk_chars: 500
      overlap: 50
      batch_size: 16
      build_timeout_seconds: 120
      cost_per_hour: 0
  dns:
    type: command
    inputs:
      create: ./dns create
      read: ./dns read
      update: ./dns update
      delete: ./dns delete
      outputs: [record]
      parameters: {zone: example.test, ttl: 60}
      env: {DNS_TOKEN: {secret: "env:DNS_TOKEN"}}
      working_dir: /tmp
      timeout_seconds: 30
      holds_data: false
      cost_per_hour: 0
)";

class ProviderSchemaTest : public ::testing::Test {
 protected:
  ProviderSchemaTest() {
    LocalProviderOptions options;
    options.model_endpoint_binary = testing::kEndpointBinary;
    register_local_providers(registry_, options);
  }

  ProviderRegistry registry_;
};

TEST_F(ProviderSchemaTest, TheSupportAgentStackPassesEveryProvidersCheck) {
  StackParseResult r = load_stack(repo_root() + "/examples/support-agent/stack.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.report();
  std::map<std::string, json> inputs = provider_inputs(*r.spec);
  ASSERT_EQ(inputs.size(), r.spec->resources.size());
  for (const ResourceSpec& res : r.spec->resources) {
    EXPECT_EQ(errors_text(registry_.get(res.type).check(inputs[res.name])), "")
        << res.name << " (" << res.type << "): " << inputs[res.name].dump();
  }
}

TEST_F(ProviderSchemaTest, EveryFieldOfEveryTypePassesItsProvidersCheck) {
  StackParseResult r = parse_stack(kEveryField, "stack.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.report();
  // The spec above does write every field the schemas declare.
  for (const ResourceSpec& res : r.spec->resources) {
    for (const InputSchema& field : find_type(res.type)->inputs) {
      EXPECT_TRUE(res.inputs.contains(field.name)) << res.type << "." << field.name;
    }
  }
  std::map<std::string, json> inputs = provider_inputs(*r.spec);
  std::set<std::string> types;
  for (const ResourceSpec& res : r.spec->resources) {
    types.insert(res.type);
    EXPECT_EQ(errors_text(registry_.get(res.type).check(inputs[res.name])), "")
        << res.name << " (" << res.type << "): " << inputs[res.name].dump();
  }
  std::vector<std::string> registered = registry_.types();
  EXPECT_EQ(types, std::set<std::string>(registered.begin(), registered.end()));
}

TEST_F(ProviderSchemaTest, AFieldTheSchemaDoesNotHaveIsRefusedWithItsPath) {
  StackParseResult r = parse_stack(kEveryField, "stack.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.report();
  std::map<std::string, json> inputs = provider_inputs(*r.spec);
  for (const ResourceSpec& res : r.spec->resources) {
    json in = inputs[res.name];
    in["startup_timeout_s"] = 30;  // the providers' old name: gone
    std::vector<InputError> errors = registry_.get(res.type).check(in);
    ASSERT_EQ(errors.size(), 1u) << res.type << ": " << errors_text(errors);
    EXPECT_EQ(errors[0].field, "startup_timeout_s");
    EXPECT_NE(errors[0].message.find("unknown input \"startup_timeout_s\""), std::string::npos)
        << errors[0].message;
  }
  // In nested maps too.
  json app = inputs["app"];
  app["health"]["tcpp"] = true;
  std::vector<InputError> errors = registry_.get("process").check(app);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].field, "health.tcpp");
  EXPECT_NE(errors[0].message.find("(did you mean \"tcp\"?)"), std::string::npos)
      << errors[0].message;
  json router = inputs["router"];
  router["tiers"][0]["colour"] = "blue";
  errors = registry_.get("router").check(router);
  ASSERT_EQ(errors.size(), 1u) << errors_text(errors);
  EXPECT_EQ(errors[0].field, "tiers[0].colour");
}

TEST_F(ProviderSchemaTest, ShapeProblemsAreTheSchemasMessages) {
  json in = {{"tier", "t"},
             {"model", "m"},
             {"replicas", 65},
             {"price_per_hour", 0.1234567},
             {"api_key", "sk-literal"},
             {"env", {{"A", 1}}}};
  std::map<std::string, std::string> by_field;
  for (const InputError& e : registry_.get("model_endpoint").check(in)) {
    by_field[e.field] = e.message;
  }
  EXPECT_EQ(by_field["replicas"], "\"replicas\" must be between 0 and 64, not 65");
  EXPECT_EQ(by_field["price_per_hour"],
            "\"price_per_hour\" must be dollars: a number >= 0 with at most 6 decimals");
  EXPECT_NE(by_field["api_key"].find("is a secret"), std::string::npos);
  EXPECT_EQ(by_field["api_key"].find("sk-literal"), std::string::npos);
  EXPECT_EQ(by_field["env.A"], "\"env.A\" must be a string, not an integer");
  EXPECT_EQ(by_field.size(), 4u);

  std::vector<InputError> missing = registry_.get("model_endpoint").check(json::object());
  ASSERT_EQ(missing.size(), 2u);
  EXPECT_EQ(missing[0].field, "tier");
  EXPECT_EQ(missing[1].field, "model");
  EXPECT_EQ(registry_.get("redis").check({{"persistence", "tape"}})[0].message.rfind(
                "\"persistence\" cannot be \"tape\"", 0),
            0u);
}

TEST_F(ProviderSchemaTest, ProcessWorkingDirIsTheChildsCwd) {
  TempStateDir state;
  TempStateDir work;
  ProviderContext c = testing::make_context(state.path());
  json in = {{"command", testing::kEndpointBinary},
             {"args", {"--listen", "127.0.0.1:{port}", "--port-file", "port.txt"}},
             {"health", {{"http", "/v1/models"}}},
             {"working_dir", work.path().string()},
             {"startup_timeout_seconds", 20}};
  ASSERT_EQ(errors_text(registry_.get("process").check(in)), "");
  ProviderState s = registry_.get("process").create(c, "wd", in);
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(s.outputs["pid"].get<int>()) +
                                          "/cwd"),
            work.path());
  EXPECT_TRUE(
      testing::await_until([&] { return std::filesystem::exists(work.path() / "port.txt"); }));
  registry_.get("process").destroy(c, s);

  in["working_dir"] = "relative/dir";
  EXPECT_EQ(errors_text(registry_.get("process").check(in)), "");  // the spec's to resolve
  try {
    registry_.get("process").create(c, "wd-relative", in);
    FAIL() << "a relative working_dir was accepted";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind(), ProviderErrorKind::kInvalidInputs);
    EXPECT_NE(std::string(e.what()).find("base_dir"), std::string::npos) << e.what();
  }
}

TEST_F(ProviderSchemaTest, CommandsRunInWorkingDirAndMustPrintTheirListedOutputs) {
  TempStateDir state;
  TempStateDir work;
  ProviderContext c = testing::make_context(state.path());
  json in = {{"create", "printf '{\"cwd\":\"%s\"}' \"$(pwd)\""},
             {"outputs", {"cwd"}},
             {"working_dir", work.path().string()},
             {"timeout_seconds", 10}};
  ASSERT_EQ(errors_text(registry_.get("command").check(in)), "");
  ProviderState s = registry_.get("command").create(c, "cwd", in);
  EXPECT_EQ(s.outputs["cwd"], work.path().string());
  registry_.get("command").destroy(c, s);

  in["outputs"] = {"cwd", "url"};
  try {
    registry_.get("command").create(c, "cwd-missing", in);
    FAIL() << "an output listed but not printed was accepted";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind(), ProviderErrorKind::kFailed);
    EXPECT_NE(std::string(e.what()).find("printed no \"url\""), std::string::npos) << e.what();
  }
}

TEST_F(ProviderSchemaTest, ModelEndpointPassesContextWindowEmbeddingDimAndApiKey) {
  const std::string planted = "sk-test-PLANTED-endpoint-key-7e1";
  ASSERT_EQ(::setenv("CAIRN_TEST_ENDPOINT_KEY", planted.c_str(), 1), 0);
  TempStateDir state;
  ProviderContext c = testing::make_context(state.path());
  std::vector<std::string> logged;
  c.logger = [&](LogLevel, const std::string& line) { logged.push_back(line); };
  json in = {{"tier", "small"},
             {"model", "ctx-model"},
             {"replicas", 1},
             {"context_window", 16},
             {"input_per_million", 0.25},
             {"output_per_million", 1.25},
             {"embedding_dim", 24},
             {"api_key", {{"secret", "env:CAIRN_TEST_ENDPOINT_KEY"}}},
             {"startup_timeout_seconds", 20}};
  Provider& p = registry_.get("model_endpoint");
  ASSERT_EQ(errors_text(p.check(in)), "");
  ProviderState s = p.create(c, "ctx", in);
  EXPECT_EQ(s.outputs["context_window"], 16);
  EXPECT_EQ(s.outputs["output_per_million"], 1.25);

  ai::EndpointConfig config;
  config.name = "small";
  config.base_url = s.outputs["url"].get<std::string>() + "/v1";
  config.model = "ctx-model";
  ai::ChatRequest shortp;
  shortp.messages.push_back({"user", "hi"});
  // Without the key: 401.
  try {
    ai::OpenAiClient(config).chat(shortp);
    FAIL() << "the endpoint answered without its api_key";
  } catch (const ai::LlmError& e) {
    EXPECT_EQ(e.http_status(), 401);
  }
  config.api_key_env = "CAIRN_TEST_ENDPOINT_KEY";
  ai::OpenAiClient client(config);
  EXPECT_EQ(client.chat(shortp).model, "ctx-model");
  // A prompt longer than context_window tokens is refused by the endpoint.
  ai::ChatRequest longp;
  longp.messages.push_back(
      {"user",
       "one two three four five six seven eight nine ten eleven twelve thirteen "
       "fourteen fifteen sixteen seventeen eighteen nineteen twenty twenty-one"});
  try {
    client.chat(longp);
    FAIL() << "a prompt over the context window was answered";
  } catch (const ai::LlmError& e) {
    EXPECT_EQ(e.error_code(), "context_length_exceeded") << e.what();
  }
  ai::EmbeddingRequest embed;
  embed.input = {"a document"};
  EXPECT_EQ(client.embed(embed).data.at(0).size(), 24u);

  // The key's value is in no record, log line or command line.
  EXPECT_EQ(to_json(s).dump().find(planted), std::string::npos);
  for (const std::string& line : logged) {
    EXPECT_EQ(line.find(planted), std::string::npos) << line;
  }
  EXPECT_EQ(testing::count_processes(planted), 0);
  p.destroy(c, s);
  ::unsetenv("CAIRN_TEST_ENDPOINT_KEY");
}

TEST_F(ProviderSchemaTest, CostPerHourIsForPlansOnly) {
  json in = {{"command", "/bin/true"}, {"cost_per_hour", 0.5}};
  EXPECT_EQ(errors_text(registry_.get("process").check(in)), "");
  json cheaper = in;
  cheaper["cost_per_hour"] = 0.25;
  EXPECT_EQ(registry_.get("process").diff(in, cheaper, ProviderState{}).kind, DiffKind::kUpdate);
}

}  // namespace
}  // namespace cairn::deploy
