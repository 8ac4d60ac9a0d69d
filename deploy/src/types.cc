// The resource type registry (cairn/deploy/types.h). The schemas are data: a provider reads its
// type's schema from here, and docs/deploy.md lists the same fields.
#include "cairn/deploy/types.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cairn::deploy {
namespace {

using nlohmann::json;

InputSchema in(std::string name, ValueKind kind, std::string doc) {
  InputSchema s;
  s.name = std::move(name);
  s.kind = kind;
  s.doc = std::move(doc);
  return s;
}
InputSchema required(InputSchema s) {
  s.required = true;
  return s;
}
InputSchema replaces(InputSchema s) {
  s.replace_on_change = true;
  return s;
}
InputSchema with_default(InputSchema s, json value) {
  s.default_value = std::move(value);
  return s;
}
InputSchema secret(InputSchema s) {
  s.secret = true;
  return s;
}
InputSchema one_of(InputSchema s, std::vector<std::string> allowed) {
  s.allowed = std::move(allowed);
  return s;
}
InputSchema list_of(InputSchema s, InputSchema element) {
  s.element = {std::move(element)};
  return s;
}
InputSchema ref_to(InputSchema s, std::string type) {
  s.ref_type = std::move(type);
  return s;
}

InputSchema range(InputSchema s, std::optional<int64_t> min, std::optional<int64_t> max) {
  s.min = min;
  s.max = max;
  return s;
}
InputSchema port_input() {
  return with_default(
      range(replaces(in("port", ValueKind::kInt, "port; 0: allocate one")), 0, 65535), 0);
}

// How long a started process may take to become healthy, and how long a stop waits between
// SIGTERM and SIGKILL: one name for every type that runs processes (process, model_endpoint,
// redis, router). Changed in place.
InputSchema startup_timeout_input(int64_t seconds) {
  return with_default(range(in("startup_timeout_seconds", ValueKind::kInt,
                               "seconds a start may take to become healthy"),
                            1, std::nullopt),
                      seconds);
}
InputSchema stop_grace_input(int64_t seconds) {
  return with_default(range(in("stop_grace_seconds", ValueKind::kInt,
                               "seconds between SIGTERM and SIGKILL on stop"),
                            0, std::nullopt),
                      seconds);
}

InputSchema string_map(std::string name, std::string doc) {
  InputSchema m =
      with_default(in(std::move(name), ValueKind::kMap, std::move(doc)), json::object());
  m.map_values = ValueKind::kString;
  return m;
}

InputSchema cost_input() {
  return with_default(in("cost_per_hour", ValueKind::kMoney, "dollars per hour, for plans"), 0);
}

OutputSchema out(std::string name, ValueKind kind, std::vector<std::string> changes_with = {}) {
  return OutputSchema{std::move(name), kind, std::move(changes_with)};
}

TypeSchema process_type() {
  TypeSchema t;
  t.name = "process";
  t.doc = "any command, run on this machine in its own session";
  InputSchema health = in("health", ValueKind::kMap, "how readiness is checked");
  health.fields = {in("http", ValueKind::kString, "GET this path until it answers 2xx"),
                   in("tcp", ValueKind::kBool, "connect to the port until it accepts")};
  t.inputs = {
      required(replaces(in("command", ValueKind::kString, "program to run"))),
      with_default(replaces(list_of(in("args", ValueKind::kList, "arguments"),
                                    in("arg", ValueKind::kString, ""))),
                   json::array()),
      replaces(string_map("env", "environment")),
      port_input(),
      health,
      replaces(in("working_dir", ValueKind::kString,
                  "directory to start in (absolute when it reaches the provider)")),
      startup_timeout_input(30),
      stop_grace_input(10),
      cost_input(),
  };
  t.outputs = {out("url", ValueKind::kString), out("host", ValueKind::kString),
               out("port", ValueKind::kInt), out("pid", ValueKind::kInt)};
  return t;
}

TypeSchema model_endpoint_type() {
  TypeSchema t;
  t.name = "model_endpoint";
  t.doc = "an OpenAI-compatible server per replica (default: the repo's cairn-model-endpoint)";
  t.inputs = {
      required(in("tier", ValueKind::kString, "the router tier this endpoint serves")),
      required(replaces(in("model", ValueKind::kString, "the served model id"))),
      with_default(range(in("replicas", ValueKind::kInt, "processes serving the tier"), 0, 64), 1),
      with_default(in("price_per_hour", ValueKind::kMoney, "dollars per replica-hour"), 0),
      replaces(in("command", ValueKind::kString,
                  "server program; absent: the repo's deterministic cairn-model-endpoint")),
      with_default(replaces(list_of(in("args", ValueKind::kList, "extra arguments"),
                                    in("arg", ValueKind::kString, ""))),
                   json::array()),
      with_default(range(replaces(in("context_window", ValueKind::kInt,
                                     "prompt tokens accepted; 0: no limit")),
                         0, std::nullopt),
                   0),
      with_default(in("input_per_million", ValueKind::kMoney, "dollars per 1M prompt tokens"), 0),
      with_default(in("output_per_million", ValueKind::kMoney, "dollars per 1M completion tokens"),
                   0),
      replaces(
          range(in("embedding_dim", ValueKind::kInt, "dimension of returned embeddings"), 1, 4096)),
      secret(replaces(in("api_key", ValueKind::kString, "key the server requires of callers"))),
      replaces(string_map("env", "environment of every replica")),
      startup_timeout_input(30),
      stop_grace_input(10),
  };
  t.outputs = {out("urls", ValueKind::kList, {"replicas"}), out("url", ValueKind::kString),
               out("tier", ValueKind::kString, {"tier"}), out("model", ValueKind::kString)};
  return t;
}

TypeSchema redis_type() {
  TypeSchema t;
  t.name = "redis";
  t.doc = "a redis-server; holds data unless persistence is none";
  t.inputs = {
      with_default(in("maxmemory", ValueKind::kString, "memory bound, e.g. 64mb"), "0"),
      with_default(one_of(in("maxmemory_policy", ValueKind::kString, "eviction policy"),
                          {"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
                           "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"}),
                   "noeviction"),
      with_default(
          one_of(in("persistence", ValueKind::kString, "none, rdb or aof"), {"none", "rdb", "aof"}),
          "none"),
      port_input(),
      secret(in("password", ValueKind::kString, "requirepass")),
      startup_timeout_input(30),
      stop_grace_input(10),
      cost_input(),
  };
  t.outputs = {out("url", ValueKind::kString), out("host", ValueKind::kString),
               out("port", ValueKind::kInt)};
  return t;
}

TypeSchema router_type() {
  TypeSchema t;
  t.name = "router";
  t.doc = "HAProxy in front of the tiers' replicas, and the AI batteries' router config";
  InputSchema tier = in("tier", ValueKind::kMap, "one router tier");
  tier.fields = {
      required(in("name", ValueKind::kString, "tier name")),
      required(in("model", ValueKind::kString, "model id")),
      required(ref_to(list_of(in("urls", ValueKind::kList, "the tier's endpoint URLs"),
                              in("url", ValueKind::kString, "")),
                      "model_endpoint")),
      with_default(in("input_per_million", ValueKind::kMoney, "dollars per 1M prompt tokens"), 0),
      with_default(in("output_per_million", ValueKind::kMoney, "dollars per 1M completion tokens"),
                   0),
      with_default(in("context_window", ValueKind::kInt, "prompt tokens accepted"), 0),
      with_default(list_of(in("fallback", ValueKind::kList, "tiers tried after this one"),
                           in("tier", ValueKind::kString, "")),
                   json::array()),
      with_default(in("health_path", ValueKind::kString,
                      "path the router's health check GETs on each replica (expects 200); "
                      "/health for endpoints that require a key"),
                   "/v1/models"),
  };
  t.inputs = {
      required(list_of(in("tiers", ValueKind::kList, "the tiers behind the router"), tier)),
      required(in("default_tier", ValueKind::kString, "tier used when no rule applies")),
      in("embedding_tier", ValueKind::kString, "tier for embeddings"),
      in("rules", ValueKind::kMap,
         "the AI router's tier rules (complexity, prompt_size; ai/docs/router.md), passed "
         "into router_config"),
      port_input(),
      startup_timeout_input(15),
      stop_grace_input(5),
      cost_input(),
      with_default(range(in("drain_timeout_seconds", ValueKind::kInt,
                            "seconds a reload waits for the old workers (and hard-stop-after)"),
                         1, 86400),
                   30),
  };
  t.outputs = {out("url", ValueKind::kString), out("router_config", ValueKind::kString,
                                                   {"tiers", "default_tier", "embedding_tier", "rules"})};
  return t;
}

TypeSchema vector_index_type() {
  TypeSchema t;
  t.name = "vector_index";
  t.doc = "a VectorStore index built from a directory of documents; always holds data";
  t.inputs = {
      required(range(replaces(in("dim", ValueKind::kInt, "embedding dimension")), 1, 4096)),
      required(in("source", ValueKind::kString, "directory of documents (relative: to the spec)")),
      required(ref_to(in("embedding_endpoint", ValueKind::kString, "URL of the embedding server"),
                      "model_endpoint")),
      replaces(
          in("index", ValueKind::kString, "VectorRegistry index name; absent: the resource's")),
      with_default(
          range(in("chunk_chars", ValueKind::kInt, "longest chunk in bytes"), 32, std::nullopt),
          1000),
      with_default(
          range(in("overlap", ValueKind::kInt, "bytes repeated between chunks"), 0, std::nullopt),
          150),
      with_default(range(in("batch_size", ValueKind::kInt, "chunks per embedding request"), 1, 256),
                   32),
      with_default(
          range(in("build_timeout_seconds", ValueKind::kInt, "longest build"), 1, std::nullopt),
          600),
      cost_input(),
  };
  t.outputs = {out("path", ValueKind::kString),
               out("count", ValueKind::kInt, {"source", "chunk_chars", "overlap"})};
  return t;
}

TypeSchema command_type() {
  TypeSchema t;
  t.name = "command";
  t.doc = "create / read / delete through user commands that print JSON outputs";
  t.inputs = {
      required(replaces(in("create", ValueKind::kString, "shell command; prints outputs as JSON"))),
      in("read", ValueKind::kString, "shell command; prints the actual outputs as JSON"),
      in("update", ValueKind::kString, "shell command; absent: changes replace"),
      in("delete", ValueKind::kString, "shell command"),
      with_default(list_of(in("outputs", ValueKind::kList, "output names the commands print"),
                           in("output", ValueKind::kString, "")),
                   json::array()),
      with_default(in("parameters", ValueKind::kMap, "handed to the commands on stdin"),
                   json::object()),
      string_map("env", "environment (secret references allowed)"),
      in("working_dir", ValueKind::kString,
         "directory the commands run in (absolute when it reaches the provider); absent: the "
         "key's directory"),
      with_default(range(in("timeout_seconds", ValueKind::kInt, "longest run of one command"), 1,
                         std::nullopt),
                   300),
      with_default(in("holds_data", ValueKind::kBool, "delete / replace needs approval"), false),
      cost_input(),
  };
  t.declared_outputs = true;
  return t;
}

TypeSchema cloud_type(std::string prefix) {
  TypeSchema t;
  t.name = std::move(prefix);
  t.doc = "declared and planned (cost shown); apply refuses it until a provider exists";
  t.free_form = true;
  t.declared_outputs = true;
  t.apply_supported = false;
  t.inputs = {
      cost_input(),
      with_default(in("holds_data", ValueKind::kBool, "delete / replace needs approval"), false),
      list_of(in("outputs", ValueKind::kList, "output names"),
              in("output", ValueKind::kString, ""))};
  return t;
}

const std::vector<TypeSchema>& registry() {
  static const std::vector<TypeSchema> types = {
      process_type(),     model_endpoint_type(), redis_type(),
      router_type(),      vector_index_type(),   command_type(),
      cloud_type("aws:"), cloud_type("gcp:"),    cloud_type("k8s:")};
  return types;
}

int64_t int_or(const json& inputs, const char* name, int64_t fallback) {
  auto it = inputs.find(name);
  if (it == inputs.end() || !it->is_number_integer()) {
    return fallback;
  }
  return it->get<int64_t>();
}

Micros money_or_zero(const json& inputs, const char* name) {
  auto it = inputs.find(name);
  if (it == inputs.end()) {
    return 0;
  }
  return money_micros(*it).value_or(0);
}

}  // namespace

const char* kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::kAny:
      return "any value";
    case ValueKind::kString:
      return "a string";
    case ValueKind::kInt:
      return "an integer";
    case ValueKind::kNumber:
      return "a number";
    case ValueKind::kMoney:
      return "an amount in dollars";
    case ValueKind::kBool:
      return "true or false";
    case ValueKind::kList:
      return "a list";
    case ValueKind::kMap:
      return "a map";
  }
  return "a value";
}

const InputSchema* TypeSchema::input(std::string_view n) const {
  for (const auto& i : inputs) {
    if (i.name == n) {
      return &i;
    }
  }
  return nullptr;
}

std::vector<std::string> TypeSchema::output_names(const json& in_values) const {
  std::vector<std::string> names;
  for (const auto& o : outputs) {
    names.push_back(o.name);
  }
  if (declared_outputs && in_values.is_object()) {
    auto it = in_values.find("outputs");
    if (it != in_values.end() && it->is_array()) {
      for (const auto& o : *it) {
        if (o.is_string()) {
          names.push_back(o.get<std::string>());
        }
      }
    }
  }
  return names;
}

std::optional<OutputSchema> TypeSchema::output(std::string_view n, const json& in_values) const {
  for (const auto& o : outputs) {
    if (o.name == n) {
      return o;
    }
  }
  if (!declared_outputs) {
    return std::nullopt;
  }
  bool listed = false;
  bool any_listed = false;
  if (in_values.is_object()) {
    auto it = in_values.find("outputs");
    if (it != in_values.end() && it->is_array() && !it->empty()) {
      any_listed = true;
      for (const auto& o : *it) {
        listed = listed || (o.is_string() && o.get<std::string>() == n);
      }
    }
  }
  // A command must list its outputs; a cloud type without a list accepts any name.
  if (listed || (free_form && !any_listed)) {
    return OutputSchema{std::string(n), ValueKind::kAny, {}};
  }
  return std::nullopt;
}

const TypeSchema* find_type(std::string_view type_name) {
  for (const auto& t : registry()) {
    if (t.free_form) {
      if (type_name.size() > t.name.size() && type_name.substr(0, t.name.size()) == t.name) {
        return &t;
      }
    } else if (t.name == type_name) {
      return &t;
    }
  }
  return nullptr;
}

std::vector<std::string> type_names() {
  std::vector<std::string> names;
  for (const auto& t : registry()) {
    names.push_back(t.free_form ? t.name + "*" : t.name);
  }
  return names;
}

bool holds_data(const TypeSchema& type, const json& inputs) {
  if (type.name == "vector_index") {
    return true;
  }
  if (type.name == "redis") {
    auto it = inputs.find("persistence");
    return it != inputs.end() && it->is_string() && *it != "none";
  }
  auto it = inputs.find("holds_data");
  return it != inputs.end() && it->is_boolean() && it->get<bool>();
}

Micros cost_per_hour(const TypeSchema& type, const json& inputs) {
  if (!inputs.is_object()) {
    return 0;
  }
  if (type.name == "model_endpoint") {
    return money_or_zero(inputs, "price_per_hour") * int_or(inputs, "replicas", 1);
  }
  return money_or_zero(inputs, "cost_per_hour");
}

std::optional<Micros> money_micros(const json& value) {
  if (value.is_number_integer()) {
    return value.get<int64_t>() * cairn::ai::kMicrosPerDollar;
  }
  if (!value.is_number_float()) {
    return std::nullopt;
  }
  // nlohmann prints the shortest text that reads back as the same double, which is the decimal
  // the user wrote: read that text as an exact decimal instead of multiplying a double.
  std::string text = value.dump();
  if (text.find_first_of("eE") != std::string::npos) {
    double d = value.get<double>() * 1e6;
    double r = std::round(d);
    if (std::fabs(d - r) > 1e-6) {
      return std::nullopt;
    }
    return static_cast<Micros>(r);
  }
  bool negative = !text.empty() && text[0] == '-';
  if (negative) {
    text.erase(0, 1);
  }
  size_t dot = text.find('.');
  std::string whole = text.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
  if (frac.size() > 6) {
    return std::nullopt;
  }
  frac.resize(6, '0');
  Micros m = std::strtoll(whole.c_str(), nullptr, 10) * cairn::ai::kMicrosPerDollar +
             std::strtoll(frac.c_str(), nullptr, 10);
  return negative ? -m : m;
}

std::string format_money(Micros micros) {
  std::string s = cairn::ai::format_dollars(micros);  // "$1.250000"
  size_t dot = s.find('.');
  while (s.size() > dot + 3 && s.back() == '0') {
    s.pop_back();
  }
  return s;
}

}  // namespace cairn::deploy
