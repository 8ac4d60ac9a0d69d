// The `redis` provider: a redis-server on 127.0.0.1 from a config file in the key's directory.
//   inputs:  the schema's (types.cc redis_type): port (0: allocate), maxmemory ("64mb" or
//            bytes; 0: no limit), maxmemory_policy, persistence (none | rdb | aof),
//            startup_timeout_seconds (30), stop_grace_seconds (10), cost_per_hour (plans only),
//            password (a secret reference: refused by create until requirepass is supported —
//            loudly, never ignored)
//   outputs: url (redis://127.0.0.1:PORT), host, port, pid
// read() compares CONFIG GET of maxmemory, maxmemory-policy, appendonly and save with what was
// recorded; revert_drift() and update() put them back with CONFIG SET (and rewrite the file, so
// a recreate starts as recorded). A port change is a replace.
#include <algorithm>
#include <cctype>
#include <fstream>

#include "cairn/deploy/provider.h"
#include "providers/local_process.h"
#include "providers/resp.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kRdbSave = "3600 1 300 100 60 10000";
// The settings read back for drift, in this order.
const std::vector<std::string> kTracked = {"maxmemory", "maxmemory-policy", "appendonly", "save"};

// Bytes of "64mb" / "1g" / 1048576 as Redis reads them (k = 1000, kb = 1024); nullopt if invalid.
std::optional<unsigned long long> parse_memory(const json& v) {
  if (v.is_number_unsigned() || (v.is_number_integer() && v.get<long long>() >= 0)) {
    return v.get<unsigned long long>();
  }
  if (!v.is_string()) {
    return std::nullopt;
  }
  std::string s = v.get<std::string>();
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    ++i;
  }
  if (i == 0) {
    return std::nullopt;
  }
  unsigned long long n = std::stoull(s.substr(0, i));
  std::string unit = s.substr(i);
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::vector<std::pair<std::string, unsigned long long>> kUnits = {
      {"", 1},           {"b", 1},           {"k", 1000ULL},       {"kb", 1024ULL},
      {"m", 1000000ULL}, {"mb", 1ULL << 20}, {"g", 1000000000ULL}, {"gb", 1ULL << 30}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      return n * factor;
    }
  }
  return std::nullopt;
}

// The settings the inputs ask for, as CONFIG GET reports them.
json expected_config(const json& inputs) {
  std::string persistence = inputs.value("persistence", "none");
  return {
      {"maxmemory", std::to_string(parse_memory(inputs.value("maxmemory", json(0))).value_or(0))},
      {"maxmemory-policy", inputs.value("maxmemory_policy", "noeviction")},
      {"appendonly", persistence == "aof" ? "yes" : "no"},
      {"save", persistence == "rdb" ? kRdbSave : ""}};
}

std::string config_file_text(const json& config, const std::filesystem::path& data_dir) {
  std::string save = config["save"].get<std::string>();
  return "# Written by cairn's redis provider; the port is given on the command line.\n"
         "bind 127.0.0.1\n"
         "protected-mode yes\n"
         "daemonize no\n"
         "logfile \"\"\n"
         "dir " +
         data_dir.string() +
         "\n"
         "maxmemory " +
         config["maxmemory"].get<std::string>() +
         "\n"
         "maxmemory-policy " +
         config["maxmemory-policy"].get<std::string>() +
         "\n"
         "appendonly " +
         config["appendonly"].get<std::string>() + "\n" +
         (save.empty() ? "save \"\"\n" : "save " + save + "\n");
}

void write_config(const std::filesystem::path& dir, const json& config) {
  std::filesystem::path data = dir / "data";
  std::filesystem::create_directories(data);
  std::filesystem::path tmp = dir / "redis.conf.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << config_file_text(config, data);
  }
  std::filesystem::rename(tmp, dir / "redis.conf");
}

class RedisProvider : public Provider {
 public:
  explicit RedisProvider(LocalProviderOptions options) : options_(std::move(options)) {}

  std::string type() const override { return "redis"; }

  std::vector<InputError> check(const json& inputs) const override {
    std::vector<InputError> errors = local::schema_errors("redis", inputs);
    // The semantic rule: maxmemory is a size Redis reads.
    if (inputs.is_object() && inputs.contains("maxmemory") &&
        (inputs["maxmemory"].is_string() || inputs["maxmemory"].is_number()) &&
        !parse_memory(inputs["maxmemory"])) {
      errors.push_back({"maxmemory", "maxmemory: expected bytes or a size such as 64mb, 1gb"});
    }
    return errors;
  }

  Diff diff(const json& old_inputs, const json& new_inputs,
            const ProviderState& recorded) const override {
    return diff_by_schema(*find_type("redis"), old_inputs, new_inputs);
  }

  ProviderState create(ProviderContext& ctx, const std::string& key, const json& inputs) override {
    if (inputs.contains("password")) {
      // A password silently dropped would leave the cache open to anyone on the machine.
      throw ProviderError(ProviderErrorKind::kInvalidInputs,
                          "redis " + key +
                              ": password (requirepass) is not supported by the local redis "
                              "provider yet; leave it out (the server binds 127.0.0.1 only)");
    }
    std::filesystem::path dir = ctx.key_dir(key);
    local::KeyLock lock(dir);
    json config = expected_config(inputs);
    write_config(dir, config);
    local::LocalProcessSpec spec;
    spec.program =
        options_.redis_server_binary.empty() ? "redis-server" : options_.redis_server_binary;
    spec.args = {(dir / "redis.conf").string(), "--port", "{port}"};
    spec.port = inputs.value("port", 0);
    spec.health = HealthCheck{HealthCheck::Kind::kTcp, ""};
    spec.startup_timeout = local::seconds_input(inputs, "startup_timeout_seconds", 30);
    spec.dir = dir;
    spec.name = "redis";
    local::RunningProcess p = local::ensure_running(ctx, spec);
    ProviderState s;
    s.provider_id = "redis:" + dir.filename().string();
    s.outputs = {{"url", "redis://127.0.0.1:" + std::to_string(p.port)},
                 {"host", "127.0.0.1"},
                 {"port", p.port},
                 {"pid", p.record.pid}};
    s.private_state = {
        {"dir", dir.string()},
        {"process", local::running_to_json(p)},
        {"adopted", p.adopted},
        {"config", config},
        {"stop_grace_ms", local::seconds_input(inputs, "stop_grace_seconds", 10).count()}};
    return s;
  }

  ReadResult read(ProviderContext& ctx, const ProviderState& recorded) override {
    ReadResult result;
    local::RunningProcess p = local::running_from_json(recorded.private_state.at("process"));
    if (!alive(p.record)) {
      return result;
    }
    result.exists = true;
    result.outputs = recorded.outputs;
    const json& config = recorded.private_state.at("config");
    for (const std::string& name : kTracked) {
      std::string error;
      std::optional<resp::Reply> reply =
          resp::command(p.port, {"CONFIG", "GET", name}, milliseconds(2000), &error);
      if (!reply || reply->kind != resp::Reply::Kind::kArray || reply->elements.size() != 2) {
        result.drift.push_back(
            {"reachable", true, reply ? "unexpected reply: " + reply->text : error});
        break;
      }
      const std::string& actual = reply->elements[1].text;
      if (actual != config.value(name, "")) {
        result.drift.push_back({name, config.value(name, ""), actual});
      }
    }
    return result;
  }

  ProviderState update(ProviderContext& ctx, const ProviderState& recorded,
                       const json& new_inputs) override {
    ProviderState next = recorded;
    next.private_state["config"] = expected_config(new_inputs);
    next.private_state["stop_grace_ms"] =
        local::seconds_input(new_inputs, "stop_grace_seconds", 10).count();
    apply_config(next);
    return next;
  }

  ProviderState revert_drift(ProviderContext& ctx, const ProviderState& recorded) override {
    apply_config(recorded);
    return recorded;
  }

  void destroy(ProviderContext& ctx, const ProviderState& recorded) override {
    json processes = json::array();
    if (recorded.private_state.contains("process")) {
      processes.push_back(recorded.private_state["process"]);
    }
    local::destroy_recorded(recorded, processes, "");
  }

 private:
  // CONFIG SET every tracked setting to the recorded value, then the file.
  static void apply_config(const ProviderState& state) {
    local::RunningProcess p = local::running_from_json(state.private_state.at("process"));
    std::filesystem::path dir = state.private_state.value("dir", "");
    if (!alive(p.record)) {
      throw ProviderError(ProviderErrorKind::kUnavailable,
                          "redis " + state.provider_id + ": not running (recreate it)");
    }
    local::KeyLock lock(dir);
    const json& config = state.private_state.at("config");
    for (const std::string& name : kTracked) {
      std::string error;
      std::optional<resp::Reply> reply = resp::command(
          p.port, {"CONFIG", "SET", name, config.value(name, "")}, milliseconds(2000), &error);
      if (!reply || reply->kind == resp::Reply::Kind::kError) {
        throw ProviderError(ProviderErrorKind::kUnavailable, "redis " + state.provider_id +
                                                                 ": CONFIG SET " + name + ": " +
                                                                 (reply ? reply->text : error));
      }
    }
    write_config(dir, config);
  }

  LocalProviderOptions options_;
};

}  // namespace

std::unique_ptr<Provider> make_redis_provider(const LocalProviderOptions& options) {
  return std::make_unique<RedisProvider>(options);
}

}  // namespace cairn::deploy
