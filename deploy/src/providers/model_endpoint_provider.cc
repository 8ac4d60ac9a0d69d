// The `model_endpoint` provider: N replicas of an OpenAI-compatible server, each on its own port,
// health on /v1/models (/health when an api_key is required). By default the repository's
// deterministic cairn-model-endpoint; with `command`, any server (vLLM, llama.cpp's server)
// whose args take "{port}", "{model}", "{context_window}" and "{embedding_dim}".
//   inputs:  the schema's (types.cc model_endpoint_type): tier, model, replicas (1),
//            price_per_hour, command, args, context_window (0: no limit), input_per_million,
//            output_per_million, embedding_dim, api_key (a secret reference), env,
//            startup_timeout_seconds (30), stop_grace_seconds (10)
//   outputs: urls, url (the first; "" at 0 replicas), ports, tier, model, price_per_hour,
//            replicas, context_window, input_per_million, output_per_million
// The default binary gets --context-window and --embedding-dim; the api_key's value reaches
// every replica only as the environment variable CAIRN_MODEL_API_KEY (the default binary is
// told --api-key-env CAIRN_MODEL_API_KEY): never on a command line, in a log, in outputs or in
// private_state. Prices are not the server's business: they are recorded as outputs.
// Replicas change in place (start / stop the difference); a model, command, args or env change
// is a replace (blue/green is the workflow's job).
#include <algorithm>
#include <cstdlib>

#include "cairn/deploy/provider.h"
#include "providers/local_process.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::string replica_name(int i) { return "replica-" + std::to_string(i); }

constexpr char kApiKeyEnv[] = "CAIRN_MODEL_API_KEY";

std::string replace_all(std::string text, const std::string& needle, const std::string& value) {
  size_t at = 0;
  while ((at = text.find(needle, at)) != std::string::npos) {
    text.replace(at, needle.size(), value);
    at += value.size();
  }
  return text;
}

class ModelEndpointProvider : public Provider {
 public:
  explicit ModelEndpointProvider(LocalProviderOptions options) : options_(std::move(options)) {}

  std::string type() const override { return "model_endpoint"; }

  std::vector<InputError> check(const json& inputs) const override {
    std::vector<InputError> errors = local::schema_errors("model_endpoint", inputs);
    if (inputs.is_object() && inputs.contains("env") && inputs["env"].is_object() &&
        inputs["env"].contains(kApiKeyEnv)) {
      errors.push_back({std::string("env.") + kApiKeyEnv,
                        std::string("env.") + kApiKeyEnv + ": set by the provider from api_key"});
    }
    return errors;
  }

  Diff diff(const json& old_inputs, const json& new_inputs,
            const ProviderState& recorded) const override {
    return diff_by_schema(*find_type("model_endpoint"), old_inputs, new_inputs);
  }

  ProviderState create(ProviderContext& ctx, const std::string& key,
                       const json& raw_inputs) override {
    json inputs = ctx.resolve_secrets(raw_inputs);
    std::filesystem::path dir = ctx.key_dir(key);
    local::KeyLock lock(dir);
    try {
      return converge(ctx, dir, raw_inputs, inputs);
    } catch (const ProviderError&) {
      // A failed create leaves nothing running: replicas that did come up (a blue/green whose
      // later replica failed health) are stopped, their ports freed. The caller never recorded
      // this key, so nothing else would stop them; a retry starts them again.
      local::stop_recorded(dir, "replica-", local::seconds_input(inputs, "stop_grace_seconds", 10));
      throw;
    }
  }

  ReadResult read(ProviderContext& ctx, const ProviderState& recorded) override {
    ReadResult result;
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    int want = recorded.outputs.value("replicas", 0);
    json urls = json::array();
    int live = 0;
    for (const json& r : recorded.private_state.value("replicas", json::array())) {
      local::RunningProcess p = local::running_from_json(r);
      if (alive(p.record)) {
        ++live;
        urls.push_back("http://127.0.0.1:" + std::to_string(p.port));
      }
    }
    result.exists = live > 0 || (want == 0 && !dir.empty() && std::filesystem::exists(dir));
    if (!result.exists) {
      return result;
    }
    result.outputs = recorded.outputs;
    result.outputs["urls"] = urls;
    result.outputs["url"] = urls.empty() ? "" : urls[0];
    if (live != want) {
      result.drift.push_back({"replicas", want, live});
    }
    return result;
  }

  ProviderState update(ProviderContext& ctx, const ProviderState& recorded,
                       const json& raw_inputs) override {
    json inputs = ctx.resolve_secrets(raw_inputs);
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    if (dir.empty()) {
      throw ProviderError(ProviderErrorKind::kInvalidInputs,
                          "model_endpoint " + recorded.provider_id + ": no directory recorded");
    }
    std::filesystem::create_directories(dir);
    local::KeyLock lock(dir);
    return converge(ctx, dir, raw_inputs, inputs);
  }

  // Recreates the replicas that died (the recorded count).
  ProviderState revert_drift(ProviderContext& ctx, const ProviderState& recorded) override {
    return update(ctx, recorded, recorded.private_state.value("inputs", json::object()));
  }

  void destroy(ProviderContext& ctx, const ProviderState& recorded) override {
    local::destroy_recorded(recorded, recorded.private_state.value("replicas", json::array()),
                            "replica-");
  }

 private:
  // Brings <dir> to inputs.replicas healthy replicas: replicas 0..N-1 adopted or started, any
  // replica N.. stopped (highest first). Idempotent, so a retry after a crash in the middle of a
  // scale finishes it.
  ProviderState converge(ProviderContext& ctx, const std::filesystem::path& dir,
                         const json& raw_inputs, const json& inputs) {
    int replicas = inputs.value("replicas", 1);
    std::string model = inputs.value("model", "");
    milliseconds grace = local::seconds_input(inputs, "stop_grace_seconds", 10);
    int64_t context_window = inputs.value("context_window", int64_t{0});
    int64_t embedding_dim = inputs.value("embedding_dim", int64_t{0});
    // `inputs` has the secrets resolved: the key, when there is one, is a plain string here and
    // already in ctx.secrets (redacted from every message and log line).
    bool api_key = inputs.contains("api_key") && inputs["api_key"].is_string();
    local::LocalProcessSpec base;
    base.env = local::string_map(inputs, "env");
    local::note_secret_env(ctx, base.env);
    if (api_key) {
      base.env[kApiKeyEnv] = inputs["api_key"].get<std::string>();
    }
    // /v1/models answers 401 without the key; /health answers anyone.
    base.health = HealthCheck{HealthCheck::Kind::kHttp, api_key ? "/health" : "/v1/models"};
    base.startup_timeout = local::seconds_input(inputs, "startup_timeout_seconds", 30);
    base.dir = dir;
    if (inputs.contains("command")) {
      base.program = inputs["command"].get<std::string>();
      for (const std::string& a : local::string_list(inputs, "args")) {
        std::string arg = replace_all(a, "{model}", model);
        arg = replace_all(arg, "{context_window}", std::to_string(context_window));
        base.args.push_back(replace_all(arg, "{embedding_dim}", std::to_string(embedding_dim)));
      }
    } else {
      base.program = endpoint_binary();
      base.args = {"--listen", "127.0.0.1:{port}", "--model", model};
      if (context_window > 0) {
        base.args.push_back("--context-window");
        base.args.push_back(std::to_string(context_window));
      }
      if (embedding_dim > 0) {
        base.args.push_back("--embedding-dim");
        base.args.push_back(std::to_string(embedding_dim));
      }
      if (api_key) {
        base.args.push_back("--api-key-env");
        base.args.push_back(kApiKeyEnv);
      }
      for (const std::string& a : local::string_list(inputs, "args")) {
        base.args.push_back(a);
      }
    }
    // Stop the surplus first: a scale-in frees its ports before anything new starts.
    std::vector<int> surplus;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      std::string file = entry.path().filename().string();
      if (file.rfind("replica-", 0) == 0 && file.size() > 12 &&
          file.compare(file.size() - 4, 4, ".pid") == 0) {
        int i = std::atoi(file.c_str() + 8);
        if (i >= replicas) {
          surplus.push_back(i);
        }
      }
    }
    std::sort(surplus.rbegin(), surplus.rend());
    for (int i : surplus) {
      local::stop_named(dir, replica_name(i), grace);
    }
    json records = json::array();
    json urls = json::array();
    json ports = json::array();
    for (int i = 0; i < replicas; ++i) {
      local::LocalProcessSpec spec = base;
      spec.name = replica_name(i);
      local::RunningProcess p = local::ensure_running(ctx, spec);
      records.push_back(local::running_to_json(p));
      urls.push_back("http://127.0.0.1:" + std::to_string(p.port));
      ports.push_back(p.port);
      ctx.report({{"replicas_ready", i + 1}, {"replicas", replicas}});
    }
    ProviderState s;
    s.provider_id = "model_endpoint:" + dir.filename().string();
    s.outputs = {{"urls", urls},
                 {"url", urls.empty() ? "" : urls[0]},
                 {"ports", ports},
                 {"tier", inputs.value("tier", "default")},
                 {"model", model},
                 {"price_per_hour", inputs.value("price_per_hour", json(0))},
                 {"replicas", replicas},
                 {"context_window", context_window},
                 {"input_per_million", inputs.value("input_per_million", json(0))},
                 {"output_per_million", inputs.value("output_per_million", json(0))}};
    s.private_state = {{"dir", dir.string()},
                       {"replicas", records},
                       {"stop_grace_ms", grace.count()},
                       // Secret references stay references: what is recorded holds no value.
                       {"inputs", ctx.redact(raw_inputs)}};
    return s;
  }

  std::string endpoint_binary() const {
    if (!options_.model_endpoint_binary.empty()) {
      return options_.model_endpoint_binary;
    }
    if (const char* env = std::getenv("CAIRN_MODEL_ENDPOINT")) {
      return env;
    }
    return "cairn-model-endpoint";
  }

  LocalProviderOptions options_;
};

}  // namespace

std::unique_ptr<Provider> make_model_endpoint_provider(const LocalProviderOptions& options) {
  return std::make_unique<ModelEndpointProvider>(options);
}

}  // namespace cairn::deploy
