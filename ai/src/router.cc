// Router: the routing decision (pure, from config and request) and the per-process endpoint
// cooldowns (one mutex; times passed in). Also the recorded JSON form of hints and plans and the
// default prompt-token estimate.
#include "cairn/ai/router.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "cairn/ai/tokenizer.h"
#include "router_validate.h"

namespace cairn::ai {
namespace {

using nlohmann::json;

[[noreturn]] void unknown_tier(const RouterConfig& config, const std::string& what) {
  std::string names;
  for (const auto& t : config.tiers) {
    names += (names.empty() ? "" : ", ") + t.name;
  }
  throw ApplicationError(what + " (tiers: " + names + ")", "UnknownTier", /*non_retryable=*/true);
}

}  // namespace

const TierConfig* RouterConfig::tier(std::string_view name) const {
  for (const auto& t : tiers) {
    if (t.name == name) {
      return &t;
    }
  }
  return nullptr;
}

const TierConfig* RouterConfig::tier_of_endpoint(std::string_view endpoint) const {
  for (const auto& t : tiers) {
    for (const auto& e : t.endpoints) {
      if (e.name == endpoint) {
        return &t;
      }
    }
  }
  return nullptr;
}

std::optional<Price> RouterConfig::price_for(std::string_view name) const {
  const TierConfig* t = tier(name);
  if (t == nullptr) {
    return std::nullopt;
  }
  if (t->price_set || t->input_per_million != 0 || t->output_per_million != 0 || t->per_hour != 0 ||
      t->cached_input_per_million) {
    return Price{t->input_per_million, t->output_per_million, t->per_hour,
                 t->cached_input_per_million};
  }
  return prices.find(t->model);
}

int64_t estimate_prompt_tokens(const ChatRequest& request) { return count_prompt_tokens(request); }

Router::Router(RouterConfig config, PromptTokenCounter counter)
    : config_(std::move(config)), counter_(std::move(counter)) {
  router_internal::normalise(config_);
  validate_router_config(config_, "router config");
  if (!counter_) {
    counter_ = estimate_prompt_tokens;
  }
  for (const auto& t : config_.tiers) {
    for (const auto& e : t.endpoints) {
      endpoints_[e.name] = EndpointState{};
    }
  }
}

RoutePlan Router::plan(const ChatRequest& request, const RouteHints& hints) const {
  RoutePlan plan;
  plan.prompt_tokens = counter_(request);
  const int64_t prompt = plan.prompt_tokens;
  std::string first;
  if (!hints.tier.empty()) {
    if (config_.tier(hints.tier) == nullptr) {
      unknown_tier(config_, "route: forced tier \"" + hints.tier + "\" is not in the config");
    }
    first = hints.tier;
    plan.reason = "forced tier " + first;
  } else if (!hints.complexity.empty()) {
    if (auto it = config_.rules.complexity.find(hints.complexity);
        it != config_.rules.complexity.end()) {
      first = it->second;
      plan.reason = "complexity " + hints.complexity + " → " + first;
    } else if (config_.tier(hints.complexity) != nullptr) {
      first = hints.complexity;
      plan.reason = "complexity names tier " + first;
    } else {
      unknown_tier(config_, "route: complexity \"" + hints.complexity +
                                "\" is neither in rules.complexity nor a tier name");
    }
  } else {
    if (!config_.rules.classifier_tier.empty()) {
      plan.needs_classifier = true;
      plan.classifier_tier = config_.rules.classifier_tier;
    }
    for (const auto& rule : config_.rules.prompt_size) {
      if (prompt <= rule.max_prompt_tokens) {
        first = rule.tier;
        plan.reason = "prompt " + std::to_string(prompt) + " tokens ≤ " +
                      std::to_string(rule.max_prompt_tokens) + " → " + first;
        break;
      }
    }
    if (first.empty()) {
      first = config_.default_tier;
      plan.reason = config_.rules.prompt_size.empty()
                        ? "default tier " + first
                        : "prompt " + std::to_string(prompt) +
                              " tokens above every prompt_size rule → default tier " + first;
    }
    if (plan.needs_classifier) {
      plan.reason += " (until classified on " + plan.classifier_tier + ")";
    }
  }

  // Depth-first over fallbacks, each tier once (the config has no cycles; the set also keeps a
  // tier reachable by two paths from being tried twice).
  std::set<std::string> seen;
  std::vector<std::string> skipped;
  std::vector<std::string> stack{first};
  const size_t bound = static_cast<size_t>(config_.max_attempts);
  bool cut = false;
  while (!stack.empty()) {
    std::string name = stack.back();
    stack.pop_back();
    if (!seen.insert(name).second) {
      continue;
    }
    const TierConfig* t = config_.tier(name);
    if (t->context_window > 0 && prompt > t->context_window) {
      skipped.push_back(name + " (context window " + std::to_string(t->context_window) + ")");
    } else if (plan.chain.size() < bound) {
      plan.chain.push_back(name);
    } else {
      cut = true;
    }
    for (auto it = t->fallback.rbegin(); it != t->fallback.rend(); ++it) {
      stack.push_back(*it);
    }
  }
  for (const auto& s : skipped) {
    plan.reason += "; skipped " + s;
  }
  if (cut) {
    plan.reason += "; chain bounded by max_attempts " + std::to_string(config_.max_attempts);
  }
  if (plan.chain.empty()) {
    throw ApplicationError("route: the prompt of " + std::to_string(prompt) +
                               " tokens fits no tier of the chain from " + first + ": " +
                               plan.reason +
                               "; shorten the conversation or add a tier with a "
                               "larger context window",
                           "ContextLengthExceeded", /*non_retryable=*/true);
  }
  return plan;
}

const EndpointConfig& Router::pick_endpoint(std::string_view tier_name, TimePoint now) {
  const TierConfig* t = config_.tier(tier_name);
  if (t == nullptr) {
    unknown_tier(config_, "tier \"" + std::string(tier_name) + "\" is not in the router config");
  }
  std::lock_guard<std::mutex> lock(mu_);
  size_t& next = next_index_[t->name];
  const size_t n = t->endpoints.size();
  TimePoint earliest = TimePoint::max();
  for (size_t k = 0; k < n; ++k) {
    size_t index = (next + k) % n;
    const EndpointConfig& e = t->endpoints[index];
    TimePoint until = endpoints_.find(e.name)->second.cooling_until;
    if (until <= now) {
      next = index + 1;
      return e;
    }
    earliest = std::min(earliest, until);
  }
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(earliest - now);
  // A wait longer than max_retry_after is not worth waiting for, as with a provider's long
  // Retry-After: non-retryable, so the session falls back to the next tier at once.
  const bool too_long = wait > config_.max_retry_after;
  ApplicationError error("tier \"" + t->name + "\": all " + std::to_string(n) +
                             " endpoint(s) are cooling down after failures; the first is free "
                             "again in " +
                             std::to_string(wait.count()) + " ms" +
                             (too_long ? " (more than max_retry_after: fall back)" : ""),
                         "TierCoolingDown", /*non_retryable=*/too_long);
  error.set_next_retry_delay(std::max(wait, std::chrono::milliseconds(1)));
  throw error;
}

void Router::report_failure(std::string_view endpoint, TimePoint now,
                            std::chrono::milliseconds retry_after) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = endpoints_.find(endpoint);
  if (it == endpoints_.end()) {
    return;
  }
  TimePoint until = now + (retry_after.count() > 0 ? retry_after : config_.cooldown);
  it->second.cooling_until = std::max(it->second.cooling_until, until);
}

void Router::report_success(std::string_view endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = endpoints_.find(endpoint); it != endpoints_.end()) {
    it->second.cooling_until = TimePoint{};
  }
}

std::optional<Router::TimePoint> Router::cooling_until(std::string_view endpoint,
                                                       TimePoint now) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = endpoints_.find(endpoint);
  if (it == endpoints_.end() || it->second.cooling_until <= now) {
    return std::nullopt;
  }
  return it->second.cooling_until;
}

ChatRequest Router::classifier_request(const ChatRequest& request) {
  ChatRequest out;
  out.messages.push_back(Message{
      "system",
      "Classify how hard the user's request is to answer well. Reply with exactly one word: "
      "low, medium or high."});
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it) {
    if (it->role == "user") {
      out.messages.push_back(Message{"user", it->content, "", "", {}, it->content_ref});
      break;
    }
  }
  out.temperature = 0.0;
  out.max_tokens = 4;
  return out;
}

std::string Router::parse_classification(const ChatResponse& response) {
  static const std::pair<const char*, const char*> kWords[] = {
      {"low", "low"},         {"easy", "low"},  {"simple", "low"}, {"medium", "medium"},
      {"moderate", "medium"}, {"high", "high"}, {"hard", "high"},  {"complex", "high"}};
  std::string text;
  for (unsigned char c : response.message.content) {
    text.push_back(std::isalpha(c) ? static_cast<char>(std::tolower(c)) : ' ');
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = text.find_first_not_of(' ', pos);
    if (start == std::string::npos) {
      break;
    }
    size_t end = text.find(' ', start);
    std::string word =
        text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    for (const auto& [w, level] : kWords) {
      if (word == w) {
        return level;
      }
    }
    pos = end == std::string::npos ? text.size() : end;
  }
  return "";
}

void to_json(json& j, const RouteHints& v) {
  j = json::object();
  if (!v.complexity.empty()) {
    j["complexity"] = v.complexity;
  }
  if (!v.tier.empty()) {
    j["tier"] = v.tier;
  }
}

void from_json(const json& j, RouteHints& v) {
  v = RouteHints();
  v.complexity = j.value("complexity", "");
  v.tier = j.value("tier", "");
}

void to_json(json& j, const RoutePlan& v) {
  j = json{{"chain", v.chain}, {"reason", v.reason}, {"prompt_tokens", v.prompt_tokens}};
  if (v.needs_classifier) {
    j["needs_classifier"] = true;
    j["classifier_tier"] = v.classifier_tier;
  }
}

void from_json(const json& j, RoutePlan& v) {
  v = RoutePlan();
  v.chain = j.value("chain", std::vector<std::string>{});
  v.reason = j.value("reason", "");
  v.prompt_tokens = j.value("prompt_tokens", int64_t{0});
  v.needs_classifier = j.value("needs_classifier", false);
  v.classifier_tier = j.value("classifier_tier", "");
}

}  // namespace cairn::ai
