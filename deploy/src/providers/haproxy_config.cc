// The router provider's text: inputs, HAProxy configuration, AI router config, CSV statistics.
#include "providers/haproxy_config.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "cairn/deploy/types.h"

namespace cairn::deploy::router {
namespace {

using nlohmann::json;

// Tier names become URL path segments and HAProxy proxy names: a narrower set than the AI
// batteries allow (no ':' or '/').
bool plain_name(const std::string& s) {
  if (s.empty() || s.size() > 64) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// host and port of "http://host:port" (a trailing "/" allowed); nullopt otherwise.
std::optional<Upstream> parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    return std::nullopt;
  }
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') {
    rest.pop_back();
  }
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || rest.find('/') != std::string::npos ||
      rest.find('@') != std::string::npos) {
    return std::nullopt;
  }
  std::string host = rest.substr(0, colon);
  std::string port_text = rest.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  int port = std::stoi(port_text);
  if (port < 1 || port > 65535) {
    return std::nullopt;
  }
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-';
    if (!ok) {
      return std::nullopt;
    }
  }
  return Upstream{host, port};
}

// The semantic rules of one tier: its name a path segment, given once; its urls
// http://HOST:PORT. Values of the wrong shape (the schema reported them) and values not known
// yet (a plan's) are not judged.
// A path HAProxy's `option httpchk GET <path>` can carry as one word: it is written into the
// configuration, so nothing that could end the directive or start another.
bool health_path_ok(const std::string& path) {
  if (path.empty() || path[0] != '/' || path.size() > 256) {
    return false;
  }
  for (unsigned char c : path) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '\'' || c == '#') {
      return false;
    }
  }
  return true;
}

void check_tier(const json& t, const std::string& path, std::set<std::string>* names,
                std::vector<InputError>* errors) {
  if (!t.is_object()) {
    return;
  }
  const json name = t.value("name", json());
  if (name.is_string()) {
    if (!plain_name(name.get<std::string>())) {
      errors->push_back(
          {path + ".name", path + ".name: expected 1-64 characters of [A-Za-z0-9._-]"});
    } else if (!names->insert(name.get<std::string>()).second) {
      errors->push_back(
          {path + ".name", path + ".name: tier '" + name.get<std::string>() + "' is given twice"});
    }
  }
  if (t.value("model", json()) == "") {
    errors->push_back({path + ".model", path + ".model: expected a model id"});
  }
  const json health = t.value("health_path", json());
  if (health.is_string() && !health_path_ok(health.get<std::string>())) {
    errors->push_back({path + ".health_path",
                       path + ".health_path: expected an absolute path such as /health, without "
                              "spaces, quotes or control characters (got " +
                           health.dump() + ")"});
  }
  const json urls = t.value("urls", json());
  if (!urls.is_array()) {
    return;
  }
  for (size_t i = 0; i < urls.size(); ++i) {
    if (urls[i].is_string() && !parse_url(urls[i].get<std::string>())) {
      std::string f = path + ".urls[" + std::to_string(i) + "]";
      errors->push_back({f, f + ": expected http://HOST:PORT (got " + urls[i].dump() + ")"});
    }
  }
}

// Shortest decimal text of an exact dollar amount (micro-dollars).
json dollars_json(const json& v) {
  std::optional<Micros> m = money_micros(v);
  Micros micros = m.value_or(0);
  if (micros % 1000000 == 0) {
    return micros / 1000000;
  }
  return static_cast<double>(micros) / 1e6;  // nlohmann prints the shortest round-trip text
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, sep)) {
    out.push_back(cell);
  }
  if (!line.empty() && line.back() == sep) {
    out.push_back("");
  }
  return out;
}

int64_t to_int(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return std::stoll(s);
}

}  // namespace

std::vector<InputError> check_router_inputs(const json& inputs) {
  // The shape, then the semantic rules on whatever parts of it are well-formed: every problem
  // at once.
  std::vector<InputError> errors = check_inputs(*find_type("router"), inputs);
  if (!inputs.is_object()) {
    return errors;
  }
  const json tiers = inputs.value("tiers", json());
  if (tiers.is_array() && tiers.empty()) {
    errors.push_back({"tiers", "tiers: expected at least one tier"});
  }
  if (!tiers.is_array()) {
    return errors;  // not known yet
  }
  std::set<std::string> names;
  bool all_names_known = true;
  for (size_t i = 0; i < tiers.size(); ++i) {
    check_tier(tiers[i], "tiers[" + std::to_string(i) + "]", &names, &errors);
    all_names_known = all_names_known && tiers[i].is_object() && tiers[i].contains("name") &&
                      tiers[i]["name"].is_string();
  }
  if (!all_names_known) {
    return errors;  // a name not known yet: which tiers exist is decided at apply
  }
  for (size_t i = 0; i < tiers.size(); ++i) {
    const json fallback = tiers[i].value("fallback", json::array());
    for (size_t k = 0; fallback.is_array() && k < fallback.size(); ++k) {
      const json& f = fallback[k];
      if (f.is_string() && names.count(f.get<std::string>()) == 0) {
        std::string field = "tiers[" + std::to_string(i) + "].fallback[" + std::to_string(k) + "]";
        errors.push_back({field, field + ": not a tier of this router (got " + f.dump() + ")"});
      }
    }
  }
  for (const char* field : {"default_tier", "embedding_tier"}) {
    if (inputs.contains(field) && inputs[field].is_string() &&
        names.count(inputs[field].get<std::string>()) == 0) {
      errors.push_back({field, std::string(field) + ": not a tier of this router (got " +
                                   inputs[field].dump() + ")"});
    }
  }
  if (inputs.contains("drain_timeout_seconds") &&
      (!inputs["drain_timeout_seconds"].is_number() ||
       inputs["drain_timeout_seconds"].get<double>() < 0.001 ||
       inputs["drain_timeout_seconds"].get<double>() > 86400)) {
    errors.push_back({"drain_timeout_seconds",
                      "drain_timeout_seconds: expected a number of seconds in "
                      "0.001..86400"});
  }
  return errors;
}

RouterSpec parse_router_inputs(const json& inputs) {
  std::vector<InputError> errors = check_router_inputs(inputs);
  if (!errors.empty()) {
    throw ProviderError(ProviderErrorKind::kInvalidInputs, "router: " + errors[0].message);
  }
  RouterSpec spec;
  spec.default_tier = inputs["default_tier"].get<std::string>();
  spec.embedding_tier = inputs.value("embedding_tier", "");
  if (inputs.contains("rules") && inputs["rules"].is_object()) {
    spec.rules = inputs["rules"];
  }
  if (inputs.contains("drain_timeout_seconds")) {
    spec.drain_timeout_ms = std::max<int64_t>(
        1, static_cast<int64_t>(inputs["drain_timeout_seconds"].get<double>() * 1000));
  }
  for (const json& t : inputs["tiers"]) {
    Tier tier;
    tier.name = t["name"].get<std::string>();
    tier.model = t["model"].get<std::string>();
    for (const json& u : t["urls"]) {
      if (!u.is_string()) {
        throw ProviderError(ProviderErrorKind::kInvalidInputs,
                            "router: tier " + tier.name + ": a url is not known yet");
      }
      tier.upstreams.push_back(*parse_url(u.get<std::string>()));
    }
    tier.input_per_million = t.value("input_per_million", json(0));
    tier.output_per_million = t.value("output_per_million", json(0));
    tier.context_window = t.value("context_window", int64_t{0});
    tier.health_path = t.value("health_path", std::string("/v1/models"));
    for (const json& f : t.value("fallback", json::array())) {
      tier.fallback.push_back(f.get<std::string>());
    }
    spec.tiers.push_back(std::move(tier));
  }
  return spec;
}

std::string tier_base_url(int port, const std::string& tier) {
  return "http://127.0.0.1:" + std::to_string(port) + "/tiers/" + tier + "/v1";
}

std::string haproxy_config(const RouterSpec& spec, const Listen& listen, int64_t generation) {
  std::ostringstream c;
  c << "# Written by cairn's router provider (deploy/src/providers/router_provider.cc); each\n"
       "# update rewrites it and reloads the master (SIGUSR2): new workers take the listeners,\n"
       "# old ones finish the requests in flight.\n"
       "global\n"
       "  maxconn 4096\n"
       "  hard-stop-after "
    << spec.drain_timeout_ms
    << "ms\n"
       "\n"
       "defaults\n"
       "  mode http\n"
       "  timeout connect 2s\n"
       "  timeout client 300s\n"
       "  timeout server 300s\n"
       "  timeout http-request 30s\n"
       "  timeout http-keep-alive 10s\n"
       "  retries 3\n"
       "  option redispatch 1\n"
       "  retry-on conn-failure empty-response\n"
       "\n"
       "frontend stats\n"
       "  bind 127.0.0.1:"
    << listen.stats_port
    << "\n"
       "  http-request return status 200 content-type text/plain string \""
    << generation
    << "\" if { path /generation }\n"
       "  stats enable\n"
       "  stats uri /stats\n"
       "  stats show-legends\n"
       "\n"
       "frontend router\n"
       "  bind 127.0.0.1:"
    << listen.port << "\n";
  for (const Tier& t : spec.tiers) {
    c << "  use_backend tier_" << t.name << " if { path /tiers/" << t.name
      << " } || { path_beg /tiers/" << t.name << "/ }\n";
  }
  c << "  default_backend no_tier\n"
       "\n"
       "backend no_tier\n"
       "  http-request return status 404 content-type application/json string "
       "\"{\\\"error\\\":{\\\"message\\\":\\\"no such tier: use /tiers/<tier>/v1/...\\\"}}\"\n";
  for (const Tier& t : spec.tiers) {
    c << "\n"
         "backend tier_"
      << t.name
      << "\n"
         "  balance roundrobin\n"
         "  http-request replace-path ^/tiers/"
      << t.name
      << "/?(.*)$ /\\1\n"
         "  option httpchk GET "
      << t.health_path
      << "\n"
         "  http-check expect status 200\n"
         "  default-server check inter 500ms fastinter 200ms downinter 500ms rise 1 fall 2\n";
    for (size_t i = 0; i < t.upstreams.size(); ++i) {
      c << "  server s" << i << " " << t.upstreams[i].host << ":" << t.upstreams[i].port << "\n";
    }
  }
  return c.str();
}

json ai_router_config(const RouterSpec& spec, int port) {
  json tiers = json::array();
  for (const Tier& t : spec.tiers) {
    json tier = {
        {"name", t.name},
        {"model", t.model},
        {"input_per_million", dollars_json(t.input_per_million)},
        {"output_per_million", dollars_json(t.output_per_million)},
        {"endpoints",
         json::array({{{"name", t.name + "-router"}, {"base_url", tier_base_url(port, t.name)}}})}};
    if (t.context_window > 0) {
      tier["context_window"] = t.context_window;
    }
    if (!t.fallback.empty()) {
      tier["fallback"] = t.fallback;
    }
    tiers.push_back(std::move(tier));
  }
  json config = {{"default_tier", spec.default_tier}, {"tiers", tiers}};
  if (!spec.embedding_tier.empty()) {
    config["embedding_tier"] = spec.embedding_tier;
  }
  if (spec.rules.is_object()) {
    config["rules"] = spec.rules;
  }
  return config;
}

json tier_stats_from_csv(const std::string& csv, const RouterSpec& spec) {
  json out = json::object();
  for (const Tier& t : spec.tiers) {
    out[t.name] = {{"in_flight", 0}, {"requests", 0}, {"servers_up", 0}};
  }
  std::istringstream in(csv);
  std::string line;
  std::map<std::string, size_t> col;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.rfind("# ", 0) == 0) {
      std::vector<std::string> names = split(line.substr(2), ',');
      for (size_t i = 0; i < names.size(); ++i) {
        col[names[i]] = i;
      }
      continue;
    }
    if (line.empty() || col.empty()) {
      continue;
    }
    std::vector<std::string> cells = split(line, ',');
    auto cell = [&](const char* name) -> std::string {
      auto it = col.find(name);
      return it != col.end() && it->second < cells.size() ? cells[it->second] : "";
    };
    std::string px = cell("pxname");
    if (px.rfind("tier_", 0) != 0) {
      continue;
    }
    std::string tier = px.substr(5);
    if (!out.contains(tier)) {
      continue;
    }
    std::string sv = cell("svname");
    json& figures = out[tier];
    if (sv == "BACKEND") {
      std::string req = cell("req_tot");
      figures["requests"] = to_int(req.empty() ? cell("stot") : req);
    } else if (sv != "FRONTEND") {
      figures["in_flight"] = figures["in_flight"].get<int64_t>() + to_int(cell("scur"));
      if (cell("status").rfind("UP", 0) == 0) {
        figures["servers_up"] = figures["servers_up"].get<int>() + 1;
      }
    }
  }
  return out;
}

}  // namespace cairn::deploy::router
