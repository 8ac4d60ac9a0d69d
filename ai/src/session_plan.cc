// Routing decisions, fallback rules and reservation keys of a Session call (session_plan.h),
// and the JSON form of the recorded decision types (session.h).
#include "session_plan.h"

#include <algorithm>
#include <limits>
#include <set>

#include "cairn/ai/pricing.h"

namespace cairn::ai {

// ---- JSON (persisted in histories: keep field names) ----

void to_json(nlohmann::json& j, const PlannedTier& v) {
  j = nlohmann::json{{"tier", v.tier}, {"model", v.model}};
  if (v.context_window != 0) {
    j["context_window"] = v.context_window;
  }
  if (v.max_output_tokens != 0) {
    j["max_output_tokens"] = v.max_output_tokens;
  }
  if (v.max_cost) {
    j["max_cost"] = *v.max_cost;
  }
}

void from_json(const nlohmann::json& j, PlannedTier& v) {
  v = PlannedTier{};
  v.tier = j.value("tier", "");
  v.model = j.value("model", "");
  v.context_window = j.value("context_window", int64_t{0});
  v.max_output_tokens = j.value("max_output_tokens", int64_t{0});
  if (j.contains("max_cost") && !j["max_cost"].is_null()) {
    v.max_cost = j["max_cost"].get<Micros>();
  }
}

void to_json(nlohmann::json& j, const RouteInput& v) {
  j = nlohmann::json{{"request", v.request}, {"hints", v.hints}};
  if (v.max_duration_ms != 0) {
    j["max_duration_ms"] = v.max_duration_ms;
  }
}

void from_json(const nlohmann::json& j, RouteInput& v) {
  v = RouteInput{};
  if (j.contains("request")) {
    j.at("request").get_to(v.request);
  }
  if (j.contains("hints")) {
    j.at("hints").get_to(v.hints);
  }
  v.max_duration_ms = j.value("max_duration_ms", int64_t{0});
}

void to_json(nlohmann::json& j, const OffloadedContent& v) {
  j = nlohmann::json{{"index", v.index}, {"ref", v.ref}};
}

void from_json(const nlohmann::json& j, OffloadedContent& v) {
  v.index = j.value("index", int64_t{0});
  v.ref = j.value("ref", "");
}

void to_json(nlohmann::json& j, const RouteDecision& v) {
  j = nlohmann::json{{"plan", v.plan}, {"tiers", v.tiers}, {"max_attempts", v.max_attempts}};
  if (!v.offloaded.empty()) {
    j["offloaded"] = v.offloaded;
  }
}

void from_json(const nlohmann::json& j, RouteDecision& v) {
  v = RouteDecision{};
  if (j.contains("plan")) {
    j.at("plan").get_to(v.plan);
  }
  if (j.contains("tiers")) {
    j.at("tiers").get_to(v.tiers);
  }
  if (j.contains("offloaded")) {
    j.at("offloaded").get_to(v.offloaded);
  }
  v.max_attempts = j.value("max_attempts", 0);
}

void to_json(nlohmann::json& j, const BudgetRejection& v) {
  j = nlohmann::json{
      {"scope", v.scope}, {"tier", v.tier}, {"reason", v.reason}, {"requested", v.requested}};
}

void from_json(const nlohmann::json& j, BudgetRejection& v) {
  v.scope = j.value("scope", "");
  v.tier = j.value("tier", "");
  v.reason = j.value("reason", "");
  v.requested = j.value("requested", Micros{0});
}

void to_json(nlohmann::json& j, const FallbackNote& v) {
  j = nlohmann::json{{"from", v.from}, {"to", v.to}, {"reason", v.reason}};
  if (!v.error.empty()) {
    j["error"] = v.error;
  }
}

void from_json(const nlohmann::json& j, FallbackNote& v) {
  v.from = j.value("from", "");
  v.to = j.value("to", "");
  v.reason = j.value("reason", "");
  v.error = j.value("error", "");
}

namespace session_internal {

std::optional<Micros> tier_max_cost(const RouterConfig& config, const TierConfig& tier,
                                    int64_t prompt_tokens, int64_t completion_tokens,
                                    int64_t max_duration_ms) {
  std::optional<Price> price = config.price_for(tier.name);
  if (!price) {
    return std::nullopt;
  }
  // The estimate is our tokenizer's; a provider's may count more. Twice the estimate (plus a
  // margin for per-message overheads) is the bound, never more than the context window, which
  // the provider enforces — so the settled cost stays within the reservation.
  int64_t bound = prompt_tokens > std::numeric_limits<int64_t>::max() / 4
                      ? std::numeric_limits<int64_t>::max() / 2
                      : 2 * prompt_tokens + 64;
  if (tier.context_window > 0) {
    bound = std::min(bound, tier.context_window);
  }
  return max_cost(*price, bound, completion_tokens, max_duration_ms);
}

RouteDecision decide_route(const Router& router, BlobStore* blobs, size_t blob_threshold,
                           const RouteInput& input) {
  const RouterConfig& config = router.config();
  RouteDecision decision;
  decision.max_attempts = config.max_attempts;

  // The claim check first: big contents go to the store, the recorded call carries references.
  ChatRequest full = input.request;
  if (blobs != nullptr) {
    for (size_t i = 0; i < full.messages.size(); ++i) {
      Message& m = full.messages[i];
      if (m.content_ref.empty() && blob_threshold > 0 && m.content.size() > blob_threshold) {
        decision.offloaded.push_back({static_cast<int64_t>(i), blobs->put(m.content)});
      }
    }
    // The plan counts the whole prompt: contents held by reference are read back.
    resolve_refs(*blobs, full);
  }

  decision.plan = router.plan(full, input.hints);
  int64_t prompt_tokens =
      decision.plan.prompt_tokens > 0 ? decision.plan.prompt_tokens : router.prompt_tokens(full);
  for (const std::string& name : decision.plan.chain) {
    const TierConfig* tier = config.tier(name);
    if (tier == nullptr) {
      continue;  // plan() names only configured tiers
    }
    PlannedTier p;
    p.tier = tier->name;
    p.model = tier->model;
    p.context_window = tier->context_window;
    p.max_output_tokens = tier->max_output_tokens;
    if (input.request.max_tokens && *input.request.max_tokens > 0) {
      p.max_output_tokens = std::min(p.max_output_tokens, *input.request.max_tokens);
    }
    p.max_cost =
        tier_max_cost(config, *tier, prompt_tokens, p.max_output_tokens, input.max_duration_ms);
    decision.tiers.push_back(std::move(p));
  }
  return decision;
}

FailureVerdict classify_failure(const std::string& cause_type, v1::RetryState retry_state,
                                bool canceled) {
  if (canceled) {
    return {};
  }
  // Errors another tier would repeat, or that the workflow must see: no fallback.
  static const std::set<std::string> kFinal = {
      "InvalidRequest", "AuthenticationFailed", "PermissionDenied", "BudgetExceeded",
      "PayloadError",   "InvalidOptions",       "BlobNotFound",     "InvalidBlobRef",
      "BlobStoreError", "UnknownTier"};
  if (kFinal.count(cause_type) > 0) {
    return {};
  }
  if (cause_type == "ContextLengthExceeded") {
    return {true, "context_length", true};
  }
  if (cause_type == "ContentFiltered") {
    return {true, "content_filter", false};
  }
  if (cause_type == "RateLimited") {
    return {true, "rate_limited", false};
  }
  if (cause_type == "TierCoolingDown") {
    return {true, "cooling_down", false};
  }
  if (cause_type == "InsufficientQuota") {
    return {true, "insufficient_quota", false};
  }
  if (cause_type.empty() || retry_state == v1::RETRY_STATE_TIMEOUT) {
    return {true, "timeout", false};
  }
  return {true, "exhausted", false};
}

std::optional<size_t> next_tier(const RouteDecision& decision, size_t failed, bool larger_context) {
  int64_t failed_window =
      failed < decision.tiers.size() ? decision.tiers[failed].context_window : 0;
  size_t bound = decision.tiers.size();
  if (decision.max_attempts > 0) {
    bound = std::min(bound, static_cast<size_t>(decision.max_attempts));
  }
  for (size_t i = failed + 1; i < bound; ++i) {
    if (larger_context && failed_window > 0) {
      int64_t w = decision.tiers[i].context_window;
      if (w != 0 && w <= failed_window) {
        continue;
      }
    }
    return i;
  }
  return std::nullopt;
}

std::string reservation_key(const std::string& run_id, const std::string& session_name,
                            int64_t call, size_t tier_index) {
  return run_id + "/" + session_name + "/" + std::to_string(call) + "/" +
         std::to_string(tier_index);
}

}  // namespace session_internal
}  // namespace cairn::ai
