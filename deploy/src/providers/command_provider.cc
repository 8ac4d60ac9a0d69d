// The `command` provider: create / read / update / delete are user commands — how a Terraform
// or Pulumi program, or a cloud CLI, plugs in.
//   inputs: the schema's (types.cc command_type): create (required), read, update, delete: shell
//           command lines (run by /bin/sh -c); outputs (the names create must print);
//           parameters (a map, handed to the commands); env (map, secret refs allowed);
//           working_dir (where the commands run; absent: the key's directory); timeout_seconds
//           (300); holds_data and cost_per_hour (plans only)
// Each command runs in working_dir (else the key's directory) with, on stdin,
//   {"operation": "create", "key": KEY, "parameters": {...}, "outputs": {... recorded ...}}
// and in its environment `env` plus CAIRN_OPERATION, CAIRN_IDEMPOTENCY_KEY, CAIRN_STATE_DIR,
// CAIRN_PARAMETERS and CAIRN_OUTPUTS (JSON). create / update print the outputs as one JSON
// object; read prints the actual outputs, or nothing / null when the thing is gone. A non-zero
// exit is a ProviderError(kFailed) carrying the command's stderr tail, secrets redacted.
// create must itself be idempotent on CAIRN_IDEMPOTENCY_KEY (as cloud APIs' client tokens are):
// a crash while it runs is retried with the same key.
#include <algorithm>
#include <cctype>
#include <fstream>

#include "cairn/deploy/process.h"
#include "cairn/deploy/provider.h"
#include "providers/local_process.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;

constexpr const char* kOutputsFile = "outputs.json";

class CommandProvider : public Provider {
 public:
  std::string type() const override { return "command"; }

  std::vector<InputError> check(const json& inputs) const override {
    std::vector<InputError> errors = local::schema_errors("command", inputs);
    if (!inputs.is_object()) {
      return errors;
    }
    // The semantic rule: a command line is not empty.
    for (const char* op : {"create", "read", "update", "delete"}) {
      if (inputs.contains(op) && inputs[op].is_string() && inputs[op].get<std::string>().empty()) {
        errors.push_back({op, std::string(op) + ": expected a command line, not \"\""});
      }
    }
    return errors;
  }

  Diff diff(const json& old_inputs, const json& new_inputs,
            const ProviderState& recorded) const override {
    // What only future runs read changes in place; what the thing was made from changes in
    // place only through an update command.
    std::vector<std::string> updatable = {"read",        "update",       "delete",
                                          "working_dir", "outputs",      "timeout_seconds",
                                          "holds_data",  "cost_per_hour"};
    if (new_inputs.contains("update")) {
      updatable.push_back("parameters");
      updatable.push_back("env");
    }
    return diff_fields(old_inputs, new_inputs, updatable);
  }

  ProviderState create(ProviderContext& ctx, const std::string& key,
                       const json& raw_inputs) override {
    json inputs = ctx.resolve_secrets(raw_inputs);
    std::filesystem::path dir = ctx.key_dir(key);
    local::KeyLock lock(dir);
    // Adopt what an earlier attempt under this key made, if it is still there.
    std::ifstream previous(dir / kOutputsFile);
    if (previous) {
      json outputs = json::parse(previous, nullptr, /*allow_exceptions=*/false);
      if (outputs.is_object()) {
        ProviderState s = state_of(dir, key, outputs, raw_inputs);
        if (!inputs.contains("read")) {
          return s;
        }
        std::optional<json> actual = run(ctx, "read", inputs, key, dir, outputs);
        if (actual) {
          s.outputs = *actual;
          return s;
        }
      }
    }
    std::optional<json> outputs = run(ctx, "create", inputs, key, dir, json::object());
    if (!outputs) {
      throw ProviderError(
          ProviderErrorKind::kFailed,
          "command create (" + key + "): printed no outputs (expected a JSON object)");
    }
    require_listed(inputs, *outputs, "create (" + key + ")");
    write_outputs(dir, *outputs);
    return state_of(dir, key, *outputs, raw_inputs);
  }

  ReadResult read(ProviderContext& ctx, const ProviderState& recorded) override {
    json inputs = ctx.resolve_secrets(recorded.private_state.value("inputs", json::object()));
    ReadResult result;
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    std::string key = recorded.private_state.value("key", "");
    if (!inputs.contains("read")) {
      result.exists = true;
      result.outputs = recorded.outputs;
      return result;
    }
    std::optional<json> actual = run(ctx, "read", inputs, key, dir, recorded.outputs);
    if (!actual) {
      return result;
    }
    result.exists = true;
    result.outputs = *actual;
    for (auto it = recorded.outputs.begin(); it != recorded.outputs.end(); ++it) {
      json now = actual->value(it.key(), json());
      if (now != *it) {
        result.drift.push_back({it.key(), *it, now});
      }
    }
    return result;
  }

  ProviderState update(ProviderContext& ctx, const ProviderState& recorded,
                       const json& raw_inputs) override {
    json inputs = ctx.resolve_secrets(raw_inputs);
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    std::string key = recorded.private_state.value("key", "");
    json outputs = recorded.outputs;
    if (inputs.contains("update")) {
      std::filesystem::create_directories(dir);
      local::KeyLock lock(dir);
      std::optional<json> changed = run(ctx, "update", inputs, key, dir, recorded.outputs);
      if (changed) {
        outputs.update(*changed);
      }
      require_listed(inputs, outputs, "update (" + key + ")");
      write_outputs(dir, outputs);
    }
    return state_of(dir, key, outputs, raw_inputs);
  }

  void destroy(ProviderContext& ctx, const ProviderState& recorded) override {
    json inputs = ctx.resolve_secrets(recorded.private_state.value("inputs", json::object()));
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    std::string key = recorded.private_state.value("key", "");
    if (inputs.contains("delete")) {
      std::filesystem::create_directories(dir);
      local::KeyLock lock(dir);
      run(ctx, "delete", inputs, key, dir, recorded.outputs);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

 private:
  // Runs inputs[op]; returns its stdout as JSON (nullopt when empty or null). Throws on a
  // non-zero exit, a timeout, or output that is not a JSON object.
  static std::optional<json> run(ProviderContext& ctx, const std::string& op, const json& inputs,
                                 const std::string& key, const std::filesystem::path& dir,
                                 const json& outputs) {
    ProcessSpec spec;
    spec.program = "/bin/sh";
    spec.args = {"-c", inputs[op].get<std::string>()};
    spec.env = local::string_map(inputs, "env");
    local::note_secret_env(ctx, spec.env);
    json parameters = inputs.value("parameters", json::object());
    spec.env["CAIRN_OPERATION"] = op;
    spec.env["CAIRN_IDEMPOTENCY_KEY"] = key;
    spec.env["CAIRN_STATE_DIR"] = dir.string();
    spec.env["CAIRN_PARAMETERS"] = parameters.dump();
    spec.env["CAIRN_OUTPUTS"] = outputs.dump();
    // In working_dir; else in the key's directory, and once that is destroyed (a read after
    // delete), in the temp directory.
    std::error_code ec;
    spec.working_dir = local::directory_input(inputs, "working_dir", "command " + op);
    if (spec.working_dir.empty()) {
      spec.working_dir =
          std::filesystem::is_directory(dir, ec) ? dir : std::filesystem::temp_directory_path();
    }
    json request = {
        {"operation", op}, {"key", key}, {"parameters", parameters}, {"outputs", outputs}};
    std::chrono::milliseconds timeout = local::seconds_input(inputs, "timeout_seconds", 300);
    ctx.report({{"command", op}, {"key", key}});
    CommandResult r = run_command(spec, request.dump() + "\n", timeout);
    std::string what = "command " + op + " (" + key + ")";
    if (r.timed_out) {
      throw ProviderError(
          ProviderErrorKind::kTimeout,
          ctx.redact(what + ": no answer within " + std::to_string(timeout.count()) +
                     " ms; stderr ends:\n" + tail(r.err)));
    }
    if (r.exit_code != 0) {
      throw ProviderError(ProviderErrorKind::kFailed,
                          ctx.redact(what + ": exited with " + std::to_string(r.exit_code) +
                                     "; stderr ends:\n" + tail(r.err)));
    }
    std::string out = r.out;
    while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) {
      out.pop_back();
    }
    if (out.empty() || out == "null") {
      return std::nullopt;
    }
    json parsed = json::parse(out, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) {
      throw ProviderError(ProviderErrorKind::kFailed,
                          ctx.redact(what + ": stdout is not a JSON object: " + tail(out, 200)));
    }
    // Outputs are recorded (history, state files): no secret value may stay in them.
    return ctx.redact(parsed);
  }

  // The names the `outputs` input lists are what other resources may reference: each must be
  // printed.
  static void require_listed(const json& inputs, const json& outputs, const std::string& what) {
    for (const json& name : inputs.value("outputs", json::array())) {
      if (name.is_string() && !outputs.contains(name.get<std::string>())) {
        throw ProviderError(ProviderErrorKind::kFailed, "command " + what + ": printed no \"" +
                                                            name.get<std::string>() +
                                                            "\" (its outputs input lists it)");
      }
    }
  }

  static std::string tail(const std::string& text, size_t max = 1024) {
    return text.size() > max ? text.substr(text.size() - max) : text;
  }

  static void write_outputs(const std::filesystem::path& dir, const json& outputs) {
    std::filesystem::path tmp = dir / "outputs.json.tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << outputs.dump() << "\n";
    }
    std::filesystem::rename(tmp, dir / kOutputsFile);
  }

  static ProviderState state_of(const std::filesystem::path& dir, const std::string& key,
                                const json& outputs, const json& raw_inputs) {
    ProviderState s;
    s.provider_id = outputs.contains("id") && outputs["id"].is_string()
                        ? outputs["id"].get<std::string>()
                        : "command:" + key;
    s.outputs = outputs;
    // The raw inputs keep secret references as references: nothing resolved is recorded.
    s.private_state = {{"dir", dir.string()}, {"key", key}, {"inputs", raw_inputs}};
    return s;
  }
};

}  // namespace

std::unique_ptr<Provider> make_command_provider() { return std::make_unique<CommandProvider>(); }

}  // namespace cairn::deploy
