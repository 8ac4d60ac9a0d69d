// The rules of a router config, checked once when it is loaded (or when a Router is built from a
// config made in code): names, endpoints, URLs, prices, references between tiers, and cycles of
// fallbacks, reported with the path that loops.
#include "router_validate.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <vector>

namespace cairn::ai::router_internal {
namespace {

class Checker {
 public:
  Checker(const RouterConfig& config, std::string_view source, const FieldLines& lines)
      : config_(config), source_(source), lines_(lines) {}

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw ConfigError(std::string(source_), line_of(field), field, problem);
  }

  int line_of(std::string field) const {
    while (!field.empty()) {
      if (auto it = lines_.find(field); it != lines_.end()) {
        return it->second;
      }
      size_t cut = field.find_last_of(".[");
      if (cut == std::string::npos) {
        break;
      }
      field.resize(cut);
    }
    return 0;
  }

  std::string tier_names() const {
    std::string out;
    for (const auto& t : config_.tiers) {
      out += (out.empty() ? "" : ", ") + t.name;
    }
    return out;
  }

  void check_tier_ref(const std::string& field, const std::string& name, const char* what) const {
    if (config_.tier(name) == nullptr) {
      fail(field, std::string(what) + " names unknown tier \"" + name +
                      "\" (tiers: " + tier_names() + ")");
    }
  }

  void run() {
    if (config_.tiers.empty()) {
      fail("tiers", "no tiers: define at least one tier with an endpoint");
    }
    std::set<std::string> tier_seen;
    std::set<std::string> endpoint_seen;
    // Names first: a duplicate name is the error to report, not the unknown tier it causes.
    for (size_t i = 0; i < config_.tiers.size(); ++i) {
      check_tier_name(i, tier_seen);
    }
    for (size_t i = 0; i < config_.tiers.size(); ++i) {
      check_tier(i, endpoint_seen);
    }
    check_top();
    check_rules();
    check_cycles();
  }

 private:
  static bool valid_name(const std::string& s) {
    if (s.empty()) {
      return false;
    }
    return std::all_of(s.begin(), s.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/' || c == ':';
    });
  }

  static bool valid_env_name(const std::string& s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) {
      return false;
    }
    return std::all_of(s.begin(), s.end(),
                       [](unsigned char c) { return std::isalnum(c) || c == '_'; });
  }

  // An empty string when `url` is a usable base URL, else what is wrong with it. Never quotes a
  // URL that may carry credentials.
  static std::string url_problem(const std::string& url) {
    if (url.empty()) {
      return "base_url is missing: give the endpoint's URL, e.g. http://127.0.0.1:8081/v1";
    }
    size_t scheme_end = url.find("://");
    std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
    if (scheme != "http" && scheme != "https") {
      return "base_url \"" + url + "\" must start with http:// or https://";
    }
    std::string rest = url.substr(scheme_end + 3);
    std::string authority = rest.substr(0, rest.find('/'));
    if (authority.find('@') != std::string::npos) {
      return "base_url must not carry credentials (user:password@): give the key with "
             "api_key_env or api_key_file";
    }
    for (unsigned char c : url) {
      if (std::isspace(c) || c < 0x20) {
        return "base_url \"" + url + "\" contains whitespace or control characters";
      }
    }
    if (url.find_first_of("?#") != std::string::npos) {
      return "base_url \"" + url + "\" must not have a query or fragment";
    }
    std::string host = authority;
    if (!host.empty() && host[0] == '[') {  // [::1]:8080
      size_t close = host.find(']');
      if (close == std::string::npos) {
        return "base_url \"" + url + "\" has an unclosed IPv6 address";
      }
      std::string after = host.substr(close + 1);
      host = host.substr(0, close + 1);
      authority = after.empty() ? "" : after;
      if (!authority.empty() && authority[0] != ':') {
        return "base_url \"" + url + "\" has a bad port";
      }
    } else {
      size_t colon = host.find(':');
      authority = colon == std::string::npos ? "" : host.substr(colon);
      host = host.substr(0, colon);
    }
    if (host.empty() || host == "[]") {
      return "base_url \"" + url + "\" has no host";
    }
    if (!authority.empty()) {
      std::string port = authority.substr(1);
      bool digits =
          !port.empty() && port.size() <= 5 &&
          std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); });
      if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535) {
        return "base_url \"" + url + "\" has a bad port (1..65535)";
      }
    }
    return "";
  }

  void check_price(const std::string& field, const std::string& owner, Micros v) const {
    if (v < 0) {
      fail(field, owner + ": a price must not be negative (got " + format_dollars(v) + ")");
    }
  }

  void check_tier_name(size_t i, std::set<std::string>& tier_seen) const {
    const TierConfig& t = config_.tiers[i];
    const std::string f = "tiers[" + std::to_string(i) + "]";
    if (!valid_name(t.name)) {
      fail(f + ".name", "tier name \"" + t.name +
                            "\" is missing or has characters other than letters, digits and "
                            "-_.:/");
    }
    if (!tier_seen.insert(t.name).second) {
      fail(f + ".name", "duplicate tier name \"" + t.name + "\": each tier needs its own name");
    }
  }

  void check_tier(size_t i, std::set<std::string>& endpoint_seen) const {
    const TierConfig& t = config_.tiers[i];
    const std::string f = "tiers[" + std::to_string(i) + "]";
    const std::string who = "tier \"" + t.name + "\"";
    if (t.endpoints.empty()) {
      fail(f + ".endpoints", who + " has no endpoints: give at least one with a base_url");
    }
    check_price(f + ".input_per_million", who, t.input_per_million);
    check_price(f + ".output_per_million", who, t.output_per_million);
    check_price(f + ".per_hour", who, t.per_hour);
    if (t.cached_input_per_million) {
      check_price(f + ".cached_input_per_million", who, *t.cached_input_per_million);
    }
    if (t.context_window < 0) {
      fail(f + ".context_window", who + ": context_window must not be negative (0: unknown)");
    }
    if (t.max_output_tokens < 1) {
      fail(f + ".max_output_tokens", who + ": max_output_tokens must be at least 1 (got " +
                                         std::to_string(t.max_output_tokens) + ")");
    }
    for (size_t j = 0; j < t.endpoints.size(); ++j) {
      check_endpoint(t, f + ".endpoints[" + std::to_string(j) + "]", t.endpoints[j], endpoint_seen);
    }
    std::set<std::string> fallback_seen;
    for (size_t j = 0; j < t.fallback.size(); ++j) {
      const std::string ff = f + ".fallback[" + std::to_string(j) + "]";
      check_tier_ref(ff, t.fallback[j], (who + "'s fallback").c_str());
      if (!fallback_seen.insert(t.fallback[j]).second) {
        fail(ff, who + " lists fallback \"" + t.fallback[j] + "\" twice");
      }
    }
  }

  void check_endpoint(const TierConfig& t, const std::string& f, const EndpointConfig& e,
                      std::set<std::string>& endpoint_seen) const {
    const std::string who = "endpoint \"" + e.name + "\" of tier \"" + t.name + "\"";
    if (!valid_name(e.name)) {
      fail(f + ".name", "endpoint name \"" + e.name + "\" of tier \"" + t.name +
                            "\" is missing or has characters other than letters, digits and "
                            "-_.:/");
    }
    if (!endpoint_seen.insert(e.name).second) {
      fail(f + ".name", "duplicate endpoint name \"" + e.name +
                            "\": endpoint names are unique across all tiers (an endpoint without a "
                            "name is called <tier>-<n>)");
    }
    if (std::string problem = url_problem(e.base_url); !problem.empty()) {
      fail(f + ".base_url", who + ": " + problem);
    }
    if (e.model.empty() && t.model.empty()) {
      fail(f + ".model", who + " has no model: set the tier's model or the endpoint's");
    }
    if (!e.api_key_env.empty() && !e.api_key_file.empty()) {
      fail(f + ".api_key_env", who + ": give one of api_key_env or api_key_file, not both");
    }
    if (!e.api_key_env.empty() && !valid_env_name(e.api_key_env)) {
      fail(f + ".api_key_env", who + ": api_key_env \"" + e.api_key_env +
                                   "\" is not an environment variable name (letters, digits, _)");
    }
    if (e.connect_timeout.count() <= 0) {
      fail(f + ".connect_timeout", who + ": connect_timeout must be positive");
    }
    if (e.request_timeout.count() <= 0) {
      fail(f + ".request_timeout", who + ": request_timeout must be positive");
    }
  }

  void check_top() const {
    if (config_.default_tier.empty()) {
      fail("default_tier", "default_tier is missing: name the tier used when no rule applies");
    }
    check_tier_ref("default_tier", config_.default_tier, "default_tier");
    if (!config_.embedding_tier.empty()) {
      check_tier_ref("embedding_tier", config_.embedding_tier, "embedding_tier");
    }
    if (config_.max_attempts < 1) {
      fail("max_attempts",
           "max_attempts must be at least 1 (got " + std::to_string(config_.max_attempts) + ")");
    }
    if (config_.cooldown.count() < 0) {
      fail("cooldown", "cooldown must not be negative");
    }
    if (config_.max_retry_after.count() < 0) {
      fail("max_retry_after", "max_retry_after must not be negative");
    }
    if (config_.blob_threshold_bytes == 0) {
      fail("blob_threshold_bytes", "blob_threshold_bytes must be at least 1");
    }
  }

  void check_rules() const {
    for (const auto& [level, tier] : config_.rules.complexity) {
      check_tier_ref("rules.complexity." + level, tier, ("rules.complexity." + level).c_str());
    }
    int64_t previous = 0;
    for (size_t i = 0; i < config_.rules.prompt_size.size(); ++i) {
      const auto& r = config_.rules.prompt_size[i];
      const std::string f = "rules.prompt_size[" + std::to_string(i) + "]";
      if (r.max_prompt_tokens <= previous) {
        fail(f + ".max_prompt_tokens",
             "max_prompt_tokens must be positive and larger than the rule before it (got " +
                 std::to_string(r.max_prompt_tokens) + ")");
      }
      previous = r.max_prompt_tokens;
      check_tier_ref(f + ".tier", r.tier, f.c_str());
    }
    if (!config_.rules.classifier_tier.empty()) {
      check_tier_ref("rules.classifier_tier", config_.rules.classifier_tier,
                     "rules.classifier_tier");
    }
  }

  // Depth-first search over fallback edges; a tier met again while on the stack closes a
  // cycle, reported as the path from its first visit back to it.
  void check_cycles() const {
    std::map<std::string, int> state;  // 0 new, 1 on stack, 2 done
    std::vector<std::string> stack;
    for (const auto& t : config_.tiers) {
      visit(t.name, state, stack);
    }
  }

  void visit(const std::string& name, std::map<std::string, int>& state,
             std::vector<std::string>& stack) const {
    if (state[name] == 2) {
      return;
    }
    state[name] = 1;
    stack.push_back(name);
    const TierConfig* t = config_.tier(name);
    for (size_t j = 0; j < t->fallback.size(); ++j) {
      const std::string& next = t->fallback[j];
      if (state[next] == 1) {
        auto from = std::find(stack.begin(), stack.end(), next);
        std::string path;
        for (auto it = from; it != stack.end(); ++it) {
          path += *it + " → ";
        }
        path += next;
        size_t index = static_cast<size_t>(t - config_.tiers.data());
        fail("tiers[" + std::to_string(index) + "].fallback[" + std::to_string(j) + "]",
             "fallback chain loops: " + path +
                 " (a tier may not fall back to itself, directly "
                 "or through others)");
      }
      visit(next, state, stack);
    }
    stack.pop_back();
    state[name] = 2;
  }

  const RouterConfig& config_;
  std::string_view source_;
  const FieldLines& lines_;
};

}  // namespace

void validate(const RouterConfig& config, std::string_view source, const FieldLines& lines) {
  Checker(config, source, lines).run();
}

void normalise(RouterConfig& config) {
  for (auto& t : config.tiers) {
    for (size_t j = 0; j < t.endpoints.size(); ++j) {
      auto& e = t.endpoints[j];
      if (e.name.empty() && !t.name.empty()) {
        e.name = t.name + "-" + std::to_string(j + 1);
      }
      if (e.model.empty()) {
        e.model = t.model;
      }
    }
  }
}

}  // namespace cairn::ai::router_internal

namespace cairn::ai {

ConfigError::ConfigError(std::string source, int line, std::string field,
                         const std::string& problem)
    : cairn::Error(source + (line > 0 ? ":" + std::to_string(line) : "") + ": " +
                   (field.empty() ? "" : field + ": ") + problem),
      source_(std::move(source)),
      line_(line),
      field_(std::move(field)) {}

void validate_router_config(const RouterConfig& config, std::string_view source_name) {
  RouterConfig normalised = config;  // endpoint names and models derived as a Router does
  router_internal::normalise(normalised);
  router_internal::validate(normalised, source_name, {});
}

}  // namespace cairn::ai
