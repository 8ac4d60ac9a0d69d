// Session: the workflow-side call path — recorded route, budgets around each tier, the chat
// activity, fallback — and the registration of this area's activities.
#include "cairn/ai/session.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "cairn/ai/budget.h"
#include "cairn/ai/claim_check.h"
#include "session_plan.h"

namespace cairn::ai {
namespace {

using std::chrono::milliseconds;
namespace si = session_internal;

LocalActivityOptions route_options() {
  LocalActivityOptions o;
  o.start_to_close = std::chrono::seconds(10);
  o.retry.maximum_attempts = 3;
  o.retry.initial_interval = milliseconds(200);
  o.retry.non_retryable_error_types = {"UnknownTier", "ContextLengthExceeded", "InvalidBlobRef",
                                       "BlobNotFound"};
  return o;
}

int64_t duration_bound_ms(const ActivityOptions& o) {
  milliseconds per_attempt = o.start_to_close.count() > 0 ? o.start_to_close : o.schedule_to_close;
  return per_attempt.count();
}

bool is_canceled(const ActivityError& e) {
  return e.cause().has_canceled_failure_info() ||
         e.retry_state() == v1::RETRY_STATE_CANCEL_REQUESTED;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    out += (i == 0 ? "" : sep) + parts[i];
  }
  return out;
}

}  // namespace

ActivityOptions default_chat_activity_options() {
  ActivityOptions o;
  o.start_to_close = std::chrono::seconds(120);
  o.retry.maximum_attempts = 3;
  o.retry.initial_interval = std::chrono::seconds(1);
  o.retry.backoff_coefficient = 2.0;
  return o;
}

Session::Session(WorkflowContext& ctx, SessionOptions options)
    : ctx_(&ctx),
      options_(std::move(options)),
      cost_(ctx, CostOptions{.alert_threshold = options_.alert_threshold,
                             .on_alert = options_.on_cost_alert,
                             .upsert_search_attributes = options_.cost_search_attributes}) {
  if (options_.run_budget < 0) {
    throw OptionsError("session options: run_budget must not be negative (got " +
                           std::to_string(options_.run_budget) + ")",
                       "run_budget");
  }
  if (options_.alert_threshold < 0) {
    throw OptionsError("session options: alert_threshold must not be negative (got " +
                           std::to_string(options_.alert_threshold) + ")",
                       "alert_threshold");
  }
  if (options_.name.empty() || options_.name.find('/') != std::string::npos) {
    throw OptionsError(
        "session options: name must be non-empty and hold no '/' (got \"" + options_.name + "\")",
        "name");
  }
  if (options_.chat_activity.start_to_close.count() <= 0 &&
      options_.chat_activity.schedule_to_close.count() <= 0) {
    throw OptionsError(
        "session options: chat_activity needs start_to_close or schedule_to_close (it bounds "
        "each model call and the duration a reservation prices)",
        "chat_activity.start_to_close");
  }
}

ChatResult Session::chat(ChatRequest request, RouteHints hints) {
  return chat_within(request, hints, 0);
}

ChatResult Session::chat_within(ChatRequest& request, const RouteHints& hints, Micros cost_limit) {
  RouteDecision decision = route(request, hints);
  if (decision.plan.needs_classifier && hints.complexity.empty() && hints.tier.empty() &&
      !decision.plan.classifier_tier.empty()) {
    // A cheap call decides the complexity; the plan is then made again with its answer. When
    // the classifier fails (but not over budget), the provisional plan stands.
    std::string complexity;
    try {
      ChatRequest classify = Router::classifier_request(request);
      ChatResult verdict =
          chat_within(classify, RouteHints{.tier = decision.plan.classifier_tier}, cost_limit);
      complexity = Router::parse_classification(verdict.response);
    } catch (const ApplicationError& e) {
      if (e.type() == kBudgetExceededType) {
        throw;
      }
    } catch (const ActivityError& e) {
      if (is_canceled(e)) {
        throw;
      }
    }
    if (!complexity.empty()) {
      RouteHints classified = hints;
      classified.complexity = complexity;
      decision = route(request, classified);
    }
  }
  return call_chain(request, decision, cost_limit);
}

RouteDecision Session::route(ChatRequest& request, const RouteHints& hints) {
  ++calls_;
  RouteInput input{request, hints, duration_bound_ms(options_.chat_activity)};
  RouteDecision decision =
      ctx_->local_activity<RouteDecision>(kRouteActivity, input, route_options()).get();
  for (const OffloadedContent& o : decision.offloaded) {
    if (o.index >= 0 && static_cast<size_t>(o.index) < request.messages.size()) {
      Message& m = request.messages[static_cast<size_t>(o.index)];
      m.content.clear();
      m.content_ref = o.ref;
    }
  }
  last_route_ = decision;
  return decision;
}

ChatResult Session::call_chain(ChatRequest& request, const RouteDecision& decision,
                               Micros cost_limit) {
  const int64_t call = calls_;
  if (decision.tiers.empty()) {
    throw ApplicationError("chat call " + std::to_string(call) +
                               ": the routing plan names no tier (" + decision.plan.reason + ")",
                           kAllTiersFailedType, /*non_retryable=*/true);
  }
  std::vector<std::string> failures;
  size_t i = 0;
  while (true) {
    const PlannedTier& tier = decision.tiers[i];
    std::string key = si::reservation_key(ctx_->info().run_id, options_.name, call, i);
    const bool last = !si::next_tier(decision, i, false).has_value();
    try {
      return call_tier(request, tier, key, cost_limit, last);
    } catch (const ActivityError& e) {
      if (e.activity_type() != kChatActivity) {
        throw;  // a budget activity failed: not the tier's fault
      }
      si::FailureVerdict verdict =
          si::classify_failure(e.cause_type(), e.retry_state(), is_canceled(e));
      std::string what = e.cause_type().empty() ? "timeout" : e.cause_type();
      failures.push_back(tier.tier + " (" + what + ": " + e.cause().message() + ")");
      if (!verdict.fall_back) {
        throw;
      }
      std::optional<size_t> next = si::next_tier(decision, i, verdict.larger_context);
      if (!next) {
        throw ApplicationError("chat call " + std::to_string(call) + " failed on every tier " +
                                   "tried: " + join(failures, " → "),
                               kAllTiersFailedType, /*non_retryable=*/true);
      }
      FallbackNote note{tier.tier, decision.tiers[*next].tier, verdict.reason, e.cause().message()};
      ctx_->local_activity<FallbackNote>(kFallbackActivity, note, route_options()).get();
      i = *next;
    }
  }
}

void Session::check_budgets(const PlannedTier& tier, Micros cost_limit) const {
  bool budgeted = !options_.budget_scope.empty() || options_.run_budget > 0 || cost_limit > 0;
  if (!budgeted) {
    return;
  }
  if (!tier.max_cost) {
    std::string scope = !options_.budget_scope.empty() ? options_.budget_scope : "run";
    throw BudgetExceeded::unpriced_model(scope, tier.model);
  }
  if (options_.run_budget > 0) {
    cost_.check_run_budget(options_.run_budget, *tier.max_cost);
  }
  if (cost_limit > 0 && cost_.cost_micros() + *tier.max_cost > cost_limit) {
    throw BudgetExceeded("agent", cost_limit, cost_.cost_micros(), 0, *tier.max_cost);
  }
}

ChatResult Session::call_tier(const ChatRequest& request, const PlannedTier& tier,
                              const std::string& key, Micros cost_limit, bool last) {
  const bool shared = !options_.budget_scope.empty();
  try {
    check_budgets(tier, cost_limit);
    if (shared) {
      reserve(*ctx_, options_.budget_scope, key, *tier.max_cost);
    }
  } catch (const BudgetExceeded& e) {
    BudgetRejection note{e.scope(), tier.tier, e.reason(), e.requested()};
    ctx_->local_activity<BudgetRejection>(kBudgetRejectionActivity, note, route_options()).get();
    throw;
  }
  ChatAttempt attempt;
  attempt.request = request;
  if (tier.max_output_tokens > 0) {
    // The completion bound the reservation priced is the one the endpoint is held to.
    attempt.request.max_tokens = tier.max_output_tokens;
  }
  attempt.tier = tier.tier;
  attempt.use_cache = options_.use_cache;
  attempt.cache_namespace = ctx_->info().namespace_;
  attempt.prompt_version = options_.prompt_version;
  ActivityOptions options = options_.chat_activity;
  if (!last) {
    // A tier whose every endpoint is cooling down is failing for every workflow of the worker:
    // with a tier left to try, move on at once instead of waiting out the cooldown.
    auto& types = options.retry.non_retryable_error_types;
    if (std::find(types.begin(), types.end(), "TierCoolingDown") == types.end()) {
      types.push_back("TierCoolingDown");
    }
  }
  ChatResult result;
  try {
    result = ctx_->activity<ChatResult>(kChatActivity, attempt, options).get();
  } catch (...) {
    if (shared) {
      // Released even when the run is being canceled: the reservation must not outlive it.
      ctx_->non_cancellable([&] { release(*ctx_, options_.budget_scope, key); });
    }
    throw;
  }
  if (shared) {
    Micros actual = result.cost_micros;
    if (actual > *tier.max_cost) {
      if (!ctx_->is_replaying()) {
        spdlog::warn(
            "chat on tier {} cost {} micro-dollars, above its reservation {} ({}); "
            "settled at the reservation",
            tier.tier, actual, *tier.max_cost, key);
      }
      actual = *tier.max_cost;
    }
    settle(*ctx_, options_.budget_scope, key, actual);
  }
  cost_.record(*ctx_, result);
  return result;
}

EmbedResult Session::embed(EmbeddingRequest request, const std::string& tier) {
  EmbedAttempt attempt{std::move(request), tier};
  EmbedResult result =
      ctx_->activity<EmbedResult>(kEmbedActivity, attempt, options_.chat_activity).get();
  cost_.record(*ctx_, result);
  return result;
}

std::string Session::content(const Message& message) {
  if (message.content_ref.empty()) {
    return message.content;
  }
  return get_blob(*ctx_, message.content_ref);
}

}  // namespace cairn::ai
