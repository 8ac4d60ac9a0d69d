// Model routing by cost tier. A RouterConfig (loaded from YAML or JSON, validated when loaded)
// names tiers — endpoints, model, prices, context window, fallback chain — and the rules that
// pick a tier for a request. Router turns a request into a RoutePlan (pure: the same config and
// request give the same plan, so the session records it once and replay reads the record) and
// keeps per-process endpoint cooldowns (thread-safe; time is passed in, never read). The worker's
// AiRuntime (cairn/ai/runtime.h) owns one Router. Format: ai/docs/router.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/endpoint_config.h"
#include "cairn/ai/pricing.h"
#include "cairn/ai/types.h"
#include "cairn/errors.h"

namespace cairn::ai {

// A router config that cannot be used. The message names the source, line and field and says
// what to do, e.g.
//   router.yaml:14: tiers[0] (economy).fallback[0]: unknown tier "premum" (tiers: economy, ...)
// Never contains a secret. line() is 0 for a config built in code (no source lines).
class ConfigError : public cairn::Error {
 public:
  ConfigError(std::string source, int line, std::string field, const std::string& problem);

  const std::string& source() const { return source_; }
  int line() const { return line_; }  // 1-based; 0: unknown
  const std::string& field() const { return field_; }

 private:
  std::string source_;
  int line_;
  std::string field_;
};

// One cost tier: where its calls go and what they cost.
struct TierConfig {
  std::string name;                       // unique: "economy", "standard", "premium", ...
  std::vector<EndpointConfig> endpoints;  // at least one; names unique in the whole config
  std::string model;                      // the tier's model (an endpoint may name its own)
  // The tier's price (see Price in cairn/ai/pricing.h). Used when price_set; otherwise the
  // config's PriceTable entry for `model` (see RouterConfig::price_for).
  Micros input_per_million = 0;
  Micros output_per_million = 0;
  Micros per_hour = 0;
  std::optional<Micros> cached_input_per_million;
  bool price_set = false;             // the tier gives its own price (0 is then free, not unpriced)
  int64_t context_window = 0;         // prompt tokens the model accepts; 0: unknown (no filter)
  int64_t max_output_tokens = 1024;   // completion bound (the request's max_tokens when lower)
  std::vector<std::string> fallback;  // tried in order after this tier fails
  bool operator==(const TierConfig&) const = default;
};

// A prompt-size threshold: prompts of at most max_prompt_tokens go to `tier`.
struct PromptSizeRule {
  int64_t max_prompt_tokens = 0;
  std::string tier;
  bool operator==(const PromptSizeRule&) const = default;
};

// How Router::plan picks the first tier (see there for the order).
struct RoutingRules {
  // Declared complexity → tier, e.g. {"low": "economy", "medium": "standard", "high": "premium"}.
  std::map<std::string, std::string> complexity;
  // Checked in order; the first rule the prompt fits wins. Larger prompts: the default tier.
  std::vector<PromptSizeRule> prompt_size;
  // When set, a request without a declared complexity needs a cheap classifier call on this
  // tier first (RoutePlan::needs_classifier); its answer becomes the declared complexity.
  std::string classifier_tier;
  bool operator==(const RoutingRules&) const = default;
};

struct RouterConfig {
  std::vector<TierConfig> tiers;
  std::string default_tier;    // required: a tier name
  std::string embedding_tier;  // the tier "cairn.ai.embed" uses by default (empty: none)
  RoutingRules rules;
  int max_attempts = 3;  // tiers tried per call (the plan's chain length bound), >= 1
  std::chrono::milliseconds cooldown{30000};         // a failed endpoint rests this long
  std::chrono::milliseconds max_retry_after{60000};  // longer Retry-After: fail fast, fall back
  size_t blob_threshold_bytes = 16384;         // message contents above this travel by reference
  PriceTable prices = PriceTable::defaults();  // defaults plus the config's `prices:` entries

  // The tier named `name`, or nullptr. The pointer lives as long as this config is unchanged.
  const TierConfig* tier(std::string_view name) const;
  // The tier holding the endpoint named `endpoint`, or nullptr.
  const TierConfig* tier_of_endpoint(std::string_view endpoint) const;
  // The price of a call on `tier`: its own price when it sets one, else prices.find(model).
  // std::nullopt: unknown tier or unpriced model.
  std::optional<Price> price_for(std::string_view tier) const;

  bool operator==(const RouterConfig&) const = default;
};

// Reads and validates the router config at `path` (YAML; a ".json" file is read as JSON).
// Throws ConfigError naming the file, line and field: unreadable file, syntax error, unknown or
// mistyped field, duplicate tier or endpoint name, a tier without endpoints, a bad base_url, a
// negative price, an unknown tier in default_tier / embedding_tier / rules / a fallback, a cycle
// of fallbacks (named: "economy → standard → economy"), max_attempts < 1, an inline `api_key`
// (keys are given only as api_key_env or api_key_file). A relative api_key_file is taken
// relative to the directory of `path`.
RouterConfig load_router_config(const std::string& path);

// The same from text; `source_name` names it in errors (a file name, "<inline>").
RouterConfig parse_router_config(std::string_view text, std::string_view source_name);

// Checks a config built in code by the rules above (endpoint names and models left empty are
// derived first, as the loader and Router do). Throws ConfigError (line 0) naming the field,
// with `source_name` as its source.
void validate_router_config(const RouterConfig& config, std::string_view source_name = "config");

// What the caller knows about a request.
struct RouteHints {
  std::string complexity;  // "low" | "medium" | "high" (per rules.complexity) or a tier name
  std::string tier;        // forced: this tier (and its fallbacks), whatever the rules say
  bool operator==(const RouteHints&) const = default;
};

// The routing decision for one call: the tiers to try, in order.
struct RoutePlan {
  std::vector<std::string> chain;  // first tier, then fallbacks; 1..max_attempts entries
  std::string reason;              // for people: "complexity high → premium; ..."
  int64_t prompt_tokens = 0;       // the estimate the decision used
  // The request declared no complexity and rules.classifier_tier is set: classify it with a
  // call on classifier_tier (Router::classifier_request / parse_classification) and plan again
  // with the answer as RouteHints::complexity. `chain` is then the plan without a classifier.
  bool needs_classifier = false;
  std::string classifier_tier;
  bool operator==(const RoutePlan&) const = default;
};

void to_json(nlohmann::json& j, const RouteHints& v);
void from_json(const nlohmann::json& j, RouteHints& v);
void to_json(nlohmann::json& j, const RoutePlan& v);
void from_json(const nlohmann::json& j, RoutePlan& v);

// Counts the prompt tokens of a request for routing (prompt-size rules, context windows).
using PromptTokenCounter = std::function<int64_t(const ChatRequest&)>;

// The default counter: count_prompt_tokens (cairn/ai/tokenizer.h), the rule the deterministic
// endpoint reports as usage.prompt_tokens. Deterministic.
int64_t estimate_prompt_tokens(const ChatRequest& request);

// Plans routes and tracks endpoint cooldowns for one worker process. plan() is const and pure;
// pick_endpoint / report_* are thread-safe (one mutex) and take the time as an argument.
class Router {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Validates `config` (throws ConfigError as validate_router_config). `counter` empty: the
  // default estimate_prompt_tokens.
  explicit Router(RouterConfig config, PromptTokenCounter counter = {});
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  const RouterConfig& config() const { return config_; }

  // The tiers to try for `request`, decided in this order:
  //  1. hints.tier: that tier (forced);
  //  2. hints.complexity: rules.complexity[complexity], or the tier of that name;
  //  3. rules.classifier_tier set: needs_classifier (the chain below is the provisional plan);
  //  4. rules.prompt_size: the first rule with prompt tokens <= max_prompt_tokens;
  //  5. default_tier.
  // The chain is that tier, then its fallbacks depth-first in order (each tier once), keeping
  // only tiers whose context window fits the prompt, at most config().max_attempts tiers.
  // Throws ApplicationError (non-retryable): "UnknownTier" (hints.tier or a complexity that is
  // neither a rule nor a tier), "ContextLengthExceeded" (no tier of the chain fits the prompt).
  RoutePlan plan(const ChatRequest& request, const RouteHints& hints = {}) const;

  // An endpoint of `tier` that is not cooling down at `now`, round-robin among those.
  // Throws ApplicationError "UnknownTier" (non-retryable) for a tier not in the config, and
  // "TierCoolingDown" (next retry delay = until the first endpoint is free; retryable, or
  // non-retryable when that is longer than config().max_retry_after, so the caller falls back
  // at once) when every endpoint of the tier is cooling down. The reference lives as long as
  // the Router.
  const EndpointConfig& pick_endpoint(std::string_view tier, TimePoint now);

  // The endpoint failed in a way that is the endpoint's fault (5xx, 429, timeout, network):
  // it rests until now + retry_after when retry_after > 0, else now + config().cooldown.
  // A later expiry is kept when it rests already. Unknown endpoint names are ignored.
  void report_failure(std::string_view endpoint, TimePoint now,
                      std::chrono::milliseconds retry_after = std::chrono::milliseconds(0));

  // The endpoint answered: its cooldown ends now.
  void report_success(std::string_view endpoint);

  // Whether `endpoint` rests at `now`, and until when (std::nullopt: it does not).
  std::optional<TimePoint> cooling_until(std::string_view endpoint, TimePoint now) const;

  // The prompt tokens of `request` as plan() counts them.
  int64_t prompt_tokens(const ChatRequest& request) const { return counter_(request); }

  // The request for the classifier call: a system prompt asking for one word (low, medium or
  // high) and the last user message of `request`; temperature 0, max_tokens 4.
  static ChatRequest classifier_request(const ChatRequest& request);
  // The complexity in a classifier answer ("low" | "medium" | "high"), or "" when it names none.
  static std::string parse_classification(const ChatResponse& response);

 private:
  struct EndpointState {
    TimePoint cooling_until{};
  };

  RouterConfig config_;
  PromptTokenCounter counter_;
  mutable std::mutex mu_;
  std::map<std::string, EndpointState, std::less<>> endpoints_;  // GUARDED_BY(mu_)
  std::map<std::string, size_t, std::less<>> next_index_;        // GUARDED_BY(mu_), per tier
};

}  // namespace cairn::ai
