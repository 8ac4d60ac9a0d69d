// The `process` provider: any command, started detached on a port, health by HTTP or TCP.
//   inputs:  the schema's (types.cc process_type): command, args, env, port (0: allocate;
//            "{port}" in args / env), health ({http: "/path"} | {tcp: true}), working_dir (the
//            child's cwd; absent: the key's directory), startup_timeout_seconds (30),
//            stop_grace_seconds (10), cost_per_hour (plans only)
//   outputs: pid, port, host, url (http://127.0.0.1:PORT), log_path
#include "cairn/deploy/provider.h"
#include "providers/local_process.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;

class ProcessProvider : public Provider {
 public:
  std::string type() const override { return "process"; }

  std::vector<InputError> check(const json& inputs) const override {
    std::vector<InputError> errors = local::schema_errors("process", inputs);
    // The one semantic rule: health checks one way.
    if (inputs.is_object() && inputs.contains("health") && inputs["health"].is_object()) {
      try {
        health_from_json(inputs["health"]);
      } catch (const ProviderError& e) {
        errors.push_back({"health", e.what()});
      }
    }
    return errors;
  }

  Diff diff(const json& old_inputs, const json& new_inputs,
            const ProviderState& recorded) const override {
    return diff_by_schema(*find_type("process"), old_inputs, new_inputs);
  }

  ProviderState create(ProviderContext& ctx, const std::string& key,
                       const json& raw_inputs) override {
    json inputs = ctx.resolve_secrets(raw_inputs);
    std::filesystem::path dir = ctx.key_dir(key);
    local::KeyLock lock(dir);
    local::LocalProcessSpec spec;
    spec.program = inputs.value("command", "");
    spec.args = local::string_list(inputs, "args");
    spec.env = local::string_map(inputs, "env");
    local::note_secret_env(ctx, spec.env);
    spec.port = inputs.value("port", 0);
    spec.health = health_from_json(inputs.value("health", json()));
    spec.startup_timeout = local::seconds_input(inputs, "startup_timeout_seconds", 30);
    spec.dir = dir;
    spec.working_dir = local::directory_input(inputs, "working_dir", "process " + key);
    spec.name = "process";
    local::RunningProcess p = local::ensure_running(ctx, spec);
    return state_of(dir, p, inputs);
  }

  ReadResult read(ProviderContext& ctx, const ProviderState& recorded) override {
    ReadResult result;
    local::RunningProcess p = local::running_from_json(recorded.private_state.at("process"));
    if (!alive(p.record)) {
      return result;
    }
    result.exists = true;
    result.outputs = recorded.outputs;
    HealthCheck check = health_from_json(recorded.private_state.value("health", json()));
    if (check.kind == HealthCheck::Kind::kHttp) {
      int status = http_get_status(p.port, check.path, std::chrono::milliseconds(2000));
      if (status < 200 || status >= 300) {
        result.drift.push_back({"health", "2xx on " + check.path, status});
      }
    } else if (check.kind == HealthCheck::Kind::kTcp &&
               !tcp_open(p.port, std::chrono::milliseconds(2000))) {
      result.drift.push_back({"health", "accepting on port " + std::to_string(p.port), "refused"});
    }
    return result;
  }

  ProviderState update(ProviderContext& ctx, const ProviderState& recorded,
                       const json& new_inputs) override {
    // Only health and timeouts change in place: nothing to do to the process itself.
    ProviderState next = recorded;
    next.private_state["health"] = new_inputs.value("health", json());
    next.private_state["stop_grace_ms"] =
        local::seconds_input(new_inputs, "stop_grace_seconds", 10).count();
    return next;
  }

  void destroy(ProviderContext& ctx, const ProviderState& recorded) override {
    json processes = json::array();
    if (recorded.private_state.contains("process")) {
      processes.push_back(recorded.private_state["process"]);
    }
    local::destroy_recorded(recorded, processes, "");
  }

 private:
  static ProviderState state_of(const std::filesystem::path& dir, const local::RunningProcess& p,
                                const json& inputs) {
    ProviderState s;
    s.provider_id = "pid:" + std::to_string(p.record.pid);
    s.outputs = {{"pid", p.record.pid},
                 {"port", p.port},
                 {"host", "127.0.0.1"},
                 {"url", p.port > 0 ? "http://127.0.0.1:" + std::to_string(p.port) : ""},
                 {"log_path", p.record.log_path}};
    s.private_state = {
        {"dir", dir.string()},
        {"process", local::running_to_json(p)},
        {"adopted", p.adopted},
        {"health", inputs.value("health", json())},
        {"stop_grace_ms", local::seconds_input(inputs, "stop_grace_seconds", 10).count()}};
    return s;
  }
};

}  // namespace

std::unique_ptr<Provider> make_process_provider() { return std::make_unique<ProcessProvider>(); }

}  // namespace cairn::deploy
