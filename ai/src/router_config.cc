// Reading a router config from YAML (or JSON, which yaml-cpp reads as YAML flow style). Every
// field is checked for its type as it is read, unknown fields are refused (a typo must not be
// ignored silently), and each field's source line is kept for the validator's errors.
// Money is read as exact decimal dollars ("0.25", "$3") into micro-dollars: never a float.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "router_validate.h"

namespace cairn::ai {
namespace {

using router_internal::FieldLines;

class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  RouterConfig parse(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      throw ConfigError(source_, e.mark.line + 1, "", "syntax error: " + e.msg);
    }
    if (!root.IsMap()) {
      throw ConfigError(source_, line(root), "",
                        "the config must be a mapping with tiers:, default_tier:, ...");
    }
    RouterConfig config;
    check_keys(root, "",
               {"tiers", "default_tier", "embedding_tier", "rules", "max_attempts", "cooldown",
                "max_retry_after", "blob_threshold_bytes", "prices"});
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string key = it->first.Scalar();
      const YAML::Node& v = it->second;
      mark(key, v);
      if (key == "tiers") {
        read_tiers(v, config);
      } else if (key == "default_tier") {
        config.default_tier = str(v, key);
      } else if (key == "embedding_tier") {
        config.embedding_tier = str(v, key);
      } else if (key == "rules") {
        read_rules(v, config.rules);
      } else if (key == "max_attempts") {
        int64_t n = integer(v, key);
        if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
          fail(v, key, "max_attempts is out of range");
        }
        config.max_attempts = static_cast<int>(n);
      } else if (key == "cooldown") {
        config.cooldown = duration(v, key);
      } else if (key == "max_retry_after") {
        config.max_retry_after = duration(v, key);
      } else if (key == "blob_threshold_bytes") {
        int64_t n = integer(v, key);
        if (n < 0) {
          fail(v, key, "blob_threshold_bytes must not be negative");
        }
        config.blob_threshold_bytes = static_cast<size_t>(n);
      } else if (key == "prices") {
        read_prices(v, config.prices);
      }
    }
    router_internal::normalise(config);
    router_internal::validate(config, source_, lines_);
    return config;
  }

 private:
  static int line(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

  [[noreturn]] void fail(const YAML::Node& n, const std::string& field,
                         const std::string& problem) const {
    throw ConfigError(source_, line(n), field, problem);
  }

  void mark(const std::string& field, const YAML::Node& n) { lines_[field] = line(n); }

  void check_keys(const YAML::Node& map, const std::string& field,
                  const std::vector<std::string>& allowed) const {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) {
        fail(it->first, field, "keys must be plain names");
      }
      const std::string key = it->first.Scalar();
      const std::string path = field.empty() ? key : field + "." + key;
      if (key == "api_key") {
        // Never quote the value: it is a secret.
        fail(it->first, path,
             "keys are not written in the config: use api_key_env (the name of an environment "
             "variable holding the key) or api_key_file (a file holding it)");
      }
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) {
          list += (list.empty() ? "" : ", ") + a;
        }
        fail(it->first, path, "unknown field \"" + key + "\" (expected one of: " + list + ")");
      }
      if (!seen.insert(key).second) {
        fail(it->first, path, "field \"" + key + "\" is given twice");
      }
    }
  }

  std::string str(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) {
      fail(n, field, "expected a string");
    }
    return n.Scalar();
  }

  int64_t integer(const YAML::Node& n, const std::string& field) const {
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    bool ok = n.IsScalar() && i < s.size() && s.size() - i <= 18 &&
              std::all_of(s.begin() + i, s.end(), [](unsigned char c) { return std::isdigit(c); });
    if (!ok) {
      fail(n, field, "expected a whole number (got \"" + s + "\")");
    }
    return std::stoll(s);
  }

  // "30s", "250ms", "2m", "1h", "1.5s" → milliseconds.
  std::chrono::milliseconds duration(const YAML::Node& n, const std::string& field) const {
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    size_t unit_at = s.find_first_not_of("0123456789.");
    std::string number = s.substr(0, unit_at);
    std::string unit = unit_at == std::string::npos ? "" : s.substr(unit_at);
    int64_t scale = unit == "ms"  ? 1
                    : unit == "s" ? 1000
                    : unit == "m" ? 60000
                    : unit == "h" ? 3600000
                                  : 0;
    int64_t whole = 0;
    int64_t frac = 0;
    int64_t frac_scale = 1;
    bool ok = scale != 0 && !number.empty() && number.size() <= 12 &&
              std::count(number.begin(), number.end(), '.') <= 1 && number[0] != '.' &&
              number.back() != '.';
    if (ok) {
      size_t dot = number.find('.');
      whole = std::stoll(number.substr(0, dot));
      if (dot != std::string::npos) {
        std::string f = number.substr(dot + 1);
        frac = std::stoll(f);
        for (size_t k = 0; k < f.size(); ++k) {
          frac_scale *= 10;
        }
      }
      ok = (frac * scale) % frac_scale == 0;
    }
    if (!ok) {
      fail(n, field,
           "expected a duration with a unit, such as 250ms, 30s, 2m or 1h (got \"" + s + "\")");
    }
    return std::chrono::milliseconds(whole * scale + frac * scale / frac_scale);
  }

  // Exact decimal dollars ("0.25", "$3", "-1") → micro-dollars; at most 6 decimals.
  Micros dollars(const YAML::Node& n, const std::string& field) const {
    std::string s = n.IsScalar() ? n.Scalar() : "";
    bool negative = false;
    if (!s.empty() && s[0] == '-') {
      negative = true;
      s.erase(0, 1);
    }
    if (!s.empty() && s[0] == '$') {
      s.erase(0, 1);
    }
    size_t dot = s.find('.');
    std::string whole = s.substr(0, dot);
    std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
    auto digits = [](const std::string& d) {
      return std::all_of(d.begin(), d.end(), [](unsigned char c) { return std::isdigit(c); });
    };
    if (!n.IsScalar() || whole.empty() || whole.size() > 12 || !digits(whole) || !digits(frac) ||
        (dot != std::string::npos && frac.empty())) {
      fail(n, field,
           "expected a price in dollars, such as 0.25 or 3 (got \"" +
               (n.IsScalar() ? n.Scalar() : std::string()) + "\")");
    }
    if (frac.size() > 6) {
      fail(n, field, "a price has at most 6 decimals (whole micro-dollars)");
    }
    frac.resize(6, '0');
    Micros v = std::stoll(whole) * kMicrosPerDollar + std::stoll(frac);
    return negative ? -v : v;
  }

  std::vector<std::string> str_list(const YAML::Node& n, const std::string& field) {
    if (n.IsScalar()) {  // "fallback: standard" reads as a list of one
      return {n.Scalar()};
    }
    if (!n.IsSequence()) {
      fail(n, field, "expected a list of names");
    }
    std::vector<std::string> out;
    size_t i = 0;
    for (auto it = n.begin(); it != n.end(); ++it, ++i) {
      const std::string f = field + "[" + std::to_string(i) + "]";
      mark(f, *it);
      out.push_back(str(*it, f));
    }
    return out;
  }

  void read_tiers(const YAML::Node& n, RouterConfig& config) {
    if (!n.IsSequence()) {
      fail(n, "tiers", "expected a list of tiers (- name: economy ...)");
    }
    size_t i = 0;
    for (auto item = n.begin(); item != n.end(); ++item, ++i) {
      const std::string f = "tiers[" + std::to_string(i) + "]";
      const YAML::Node t = *item;
      mark(f, t);
      if (!t.IsMap()) {
        fail(t, f, "expected a tier (name:, model:, endpoints:, ...)");
      }
      check_keys(t, f,
                 {"name", "model", "endpoints", "input_per_million", "output_per_million",
                  "cached_input_per_million", "per_hour", "context_window", "max_output_tokens",
                  "fallback"});
      TierConfig tier;
      for (auto it = t.begin(); it != t.end(); ++it) {
        const std::string key = it->first.Scalar();
        const std::string kf = f + "." + key;
        const YAML::Node& v = it->second;
        mark(kf, v);
        if (key == "name") {
          tier.name = str(v, kf);
        } else if (key == "model") {
          tier.model = str(v, kf);
        } else if (key == "endpoints") {
          read_endpoints(v, kf, tier);
        } else if (key == "input_per_million") {
          tier.input_per_million = dollars(v, kf);
          tier.price_set = true;
        } else if (key == "output_per_million") {
          tier.output_per_million = dollars(v, kf);
          tier.price_set = true;
        } else if (key == "cached_input_per_million") {
          tier.cached_input_per_million = dollars(v, kf);
          tier.price_set = true;
        } else if (key == "per_hour") {
          tier.per_hour = dollars(v, kf);
          tier.price_set = true;
        } else if (key == "context_window") {
          tier.context_window = integer(v, kf);
        } else if (key == "max_output_tokens") {
          tier.max_output_tokens = integer(v, kf);
        } else if (key == "fallback") {
          tier.fallback = str_list(v, kf);
        }
      }
      config.tiers.push_back(std::move(tier));
    }
  }

  void read_endpoints(const YAML::Node& n, const std::string& field, TierConfig& tier) {
    if (!n.IsSequence()) {
      fail(n, field, "expected a list of endpoints (- base_url: http://...)");
    }
    size_t j = 0;
    for (auto item = n.begin(); item != n.end(); ++item, ++j) {
      const std::string f = field + "[" + std::to_string(j) + "]";
      const YAML::Node e = *item;
      mark(f, e);
      if (!e.IsMap()) {
        fail(e, f, "expected an endpoint (name:, base_url:, api_key_env:, ...)");
      }
      check_keys(e, f,
                 {"name", "base_url", "model", "api_key_env", "api_key_file", "connect_timeout",
                  "request_timeout"});
      EndpointConfig endpoint;
      for (auto it = e.begin(); it != e.end(); ++it) {
        const std::string key = it->first.Scalar();
        const std::string kf = f + "." + key;
        const YAML::Node& v = it->second;
        mark(kf, v);
        if (key == "name") {
          endpoint.name = str(v, kf);
        } else if (key == "base_url") {
          endpoint.base_url = str(v, kf);
        } else if (key == "model") {
          endpoint.model = str(v, kf);
        } else if (key == "api_key_env") {
          endpoint.api_key_env = str(v, kf);
        } else if (key == "api_key_file") {
          endpoint.api_key_file = str(v, kf);
        } else if (key == "connect_timeout") {
          endpoint.connect_timeout = duration(v, kf);
        } else if (key == "request_timeout") {
          endpoint.request_timeout = duration(v, kf);
        }
      }
      tier.endpoints.push_back(std::move(endpoint));
    }
  }

  void read_rules(const YAML::Node& n, RoutingRules& rules) {
    if (!n.IsMap()) {
      fail(n, "rules", "expected a mapping (complexity:, prompt_size:, classifier_tier:)");
    }
    check_keys(n, "rules", {"complexity", "prompt_size", "classifier_tier"});
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      const std::string kf = "rules." + key;
      const YAML::Node& v = it->second;
      mark(kf, v);
      if (key == "classifier_tier") {
        rules.classifier_tier = str(v, kf);
      } else if (key == "complexity") {
        if (!v.IsMap()) {
          fail(v, kf, "expected a mapping of complexity to tier (low: economy, ...)");
        }
        for (auto c = v.begin(); c != v.end(); ++c) {
          const std::string level = str(c->first, kf);
          mark(kf + "." + level, c->second);
          rules.complexity[level] = str(c->second, kf + "." + level);
        }
      } else if (key == "prompt_size") {
        read_prompt_size(v, kf, rules);
      }
    }
  }

  void read_prompt_size(const YAML::Node& v, const std::string& kf, RoutingRules& rules) {
    if (!v.IsSequence()) {
      fail(v, kf, "expected a list (- max_prompt_tokens: 2000\n  tier: economy)");
    }
    size_t i = 0;
    for (auto item = v.begin(); item != v.end(); ++item, ++i) {
      const std::string f = kf + "[" + std::to_string(i) + "]";
      const YAML::Node r = *item;
      mark(f, r);
      if (!r.IsMap()) {
        fail(r, f, "expected max_prompt_tokens: and tier:");
      }
      check_keys(r, f, {"max_prompt_tokens", "tier"});
      PromptSizeRule rule;
      bool has_max = false;
      bool has_tier = false;
      for (auto k = r.begin(); k != r.end(); ++k) {
        const std::string key = k->first.Scalar();
        const std::string kf = f + "." + key;
        mark(kf, k->second);
        if (key == "max_prompt_tokens") {
          rule.max_prompt_tokens = integer(k->second, kf);
          has_max = true;
        } else {
          rule.tier = str(k->second, kf);
          has_tier = true;
        }
      }
      if (!has_max || !has_tier) {
        fail(r, f, "a prompt_size rule needs both max_prompt_tokens and tier");
      }
      rules.prompt_size.push_back(rule);
    }
  }

  void read_prices(const YAML::Node& n, PriceTable& prices) {
    if (!n.IsMap()) {
      fail(n, "prices", "expected a mapping of model to price (gpt-4o: {input_per_million: ...})");
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string model = str(it->first, "prices");
      const std::string f = "prices." + model;
      const YAML::Node& p = it->second;
      if (!p.IsMap()) {
        fail(p, f, "expected input_per_million:, output_per_million:, per_hour:");
      }
      check_keys(
          p, f,
          {"input_per_million", "output_per_million", "cached_input_per_million", "per_hour"});
      Price price;
      for (auto k = p.begin(); k != p.end(); ++k) {
        const std::string key = k->first.Scalar();
        const std::string kf = f + "." + key;
        Micros v = dollars(k->second, kf);
        if (v < 0) {
          fail(k->second, kf,
               "price of model \"" + model + "\" must not be negative (got " + format_dollars(v) +
                   ")");
        }
        if (key == "input_per_million") {
          price.input_per_million = v;
        } else if (key == "output_per_million") {
          price.output_per_million = v;
        } else if (key == "cached_input_per_million") {
          price.cached_input_per_million = v;
        } else {
          price.per_hour = v;
        }
      }
      prices.set(model, price);
    }
  }

  std::string source_;
  FieldLines lines_;
};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

RouterConfig parse_router_config(std::string_view text, std::string_view source_name) {
  std::string body(text);
  if (ends_with(source_name, ".json")) {
    // JSON is YAML flow style, except that YAML refuses tabs as indentation; JSON forbids raw
    // tabs inside strings, so every tab in valid JSON is whitespace and may become a space.
    std::replace(body.begin(), body.end(), '\t', ' ');
  }
  return Parser(source_name).parse(body);
}

RouterConfig load_router_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(path, 0, "", "cannot read the router config file (does it exist?)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  RouterConfig config = parse_router_config(text.str(), path);
  // A relative api_key_file is relative to the config file, not to the worker's directory.
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  for (auto& tier : config.tiers) {
    for (auto& endpoint : tier.endpoints) {
      if (!endpoint.api_key_file.empty() &&
          std::filesystem::path(endpoint.api_key_file).is_relative()) {
        endpoint.api_key_file = (dir / endpoint.api_key_file).lexically_normal().string();
      }
    }
  }
  return config;
}

}  // namespace cairn::ai
