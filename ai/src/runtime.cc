// AiRuntime (see cairn/ai/runtime.h): the "cairn.ai.chat" and "cairn.ai.embed" activities.
// One attempt of an activity is at most one HTTP request per endpoint call: retries belong to
// the activity's retry policy on the server, which honours the next retry delay an LlmError
// carries (the provider's Retry-After).
#include "cairn/ai/runtime.h"

#include <algorithm>
#include <optional>

#include "cairn/ai/cache.h"
#include "cairn/ai/claim_check.h"
#include "cairn/ai/pricing.h"
#include "cairn/errors.h"
#include "cairn/worker.h"

// The metrics (cairn/ai/metrics.h) are written in parallel with this file; until they are in
// the tree the runtime records nothing.
#if __has_include("cairn/ai/metrics.h")
#include "cairn/ai/metrics.h"
#define CAIRN_AI_RUNTIME_METRICS 1
#endif

namespace cairn::ai {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Heartbeats a call in flight (at most once per interval) and reports whether the activity has
// been asked to cancel. Polled by the HTTP loop every 100 ms and on every streamed piece, so a
// cancellation is seen within one interval plus one heartbeat round trip.
class CallWatch {
 public:
  CallWatch(ActivityContext& ctx, milliseconds interval) : ctx_(ctx), interval_(interval) {}

  bool cancelled() {
    Clock::time_point now = Clock::now();
    if (now - last_ >= interval_) {
      last_ = now;
      ctx_.heartbeat();
    }
    return ctx_.cancel_requested();
  }

 private:
  ActivityContext& ctx_;
  milliseconds interval_;
  Clock::time_point last_ = Clock::now();
};

// Failures that are the endpoint's fault cool it down for every workflow of the worker; a
// request's own fault (bad request, context too long, refusal) does not.
bool endpoint_at_fault(const LlmError& e) {
  return is_retryable_type(e.type()) || e.type() == kStreamInterrupted || e.type() == kRateLimited;
}

int64_t elapsed_ms(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

const TierConfig& tier_or_throw(const RouterConfig& config, const std::string& name,
                                const char* activity) {
  const TierConfig* tier = config.tier(name);
  if (tier == nullptr) {
    std::string known;
    for (const auto& t : config.tiers) {
      known += (known.empty() ? "" : ", ") + t.name;
    }
    throw ApplicationError(std::string(activity) + ": unknown tier \"" + name +
                               "\" (tiers of this worker: " + known + ")",
                           "UnknownTier", /*non_retryable=*/true);
  }
  return *tier;
}

void record_cache_outcome([[maybe_unused]] AiMetrics* metrics,
                          [[maybe_unused]] CacheOutcome outcome) {
#ifdef CAIRN_AI_RUNTIME_METRICS
  if (metrics != nullptr) {
    metrics->record_cache(cache_outcome_name(outcome));
  }
#endif
}

void record_chat_result([[maybe_unused]] AiMetrics* metrics,
                        [[maybe_unused]] const ChatResult& result) {
#ifdef CAIRN_AI_RUNTIME_METRICS
  if (metrics != nullptr) {
    metrics->record_chat(result);
  }
#endif
}

void record_embed_result([[maybe_unused]] AiMetrics* metrics,
                         [[maybe_unused]] const EmbedResult& result) {
#ifdef CAIRN_AI_RUNTIME_METRICS
  if (metrics != nullptr) {
    metrics->record_embed(result);
  }
#endif
}

void record_call_failure([[maybe_unused]] AiMetrics* metrics,
                         [[maybe_unused]] const std::string& tier,
                         [[maybe_unused]] const std::string& endpoint,
                         [[maybe_unused]] const LlmError& error) {
#ifdef CAIRN_AI_RUNTIME_METRICS
  if (metrics != nullptr) {
    metrics->record_failure(tier, endpoint, error.type());
  }
#endif
}

}  // namespace

AiRuntime::AiRuntime(RouterConfig config) : router_(std::make_unique<Router>(std::move(config))) {
  OpenAiOptions options;
  options.max_retry_after = router_->config().max_retry_after;
  for (const TierConfig& tier : router_->config().tiers) {
    for (EndpointConfig endpoint : tier.endpoints) {
      if (endpoint.model.empty()) {
        endpoint.model = tier.model;
      }
      std::string name = endpoint.name;
      clients_.emplace(std::move(name),
                       std::make_unique<OpenAiClient>(std::move(endpoint), options));
    }
  }
}

AiRuntime::~AiRuntime() = default;

void AiRuntime::set_heartbeat_interval(milliseconds interval) {
  if (interval.count() <= 0 || interval >= std::chrono::seconds(1)) {
    throw OptionsError("AiRuntime: heartbeat_interval must be above 0 and below 1 s (got " +
                           std::to_string(interval.count()) + " ms)",
                       "heartbeat_interval");
  }
  heartbeat_interval_ = interval;
}

void AiRuntime::register_activities(Worker& worker) {
  worker.register_activity(kChatActivity, [this](ActivityContext& ctx, ChatAttempt attempt) {
    return chat(ctx, attempt);
  });
  worker.register_activity(kEmbedActivity, [this](ActivityContext& ctx, EmbedAttempt attempt) {
    return embed(ctx, attempt);
  });
}

OpenAiClient& AiRuntime::client_for(const EndpointConfig& endpoint) {
  auto it = clients_.find(endpoint.name);
  if (it == clients_.end()) {
    // The router only hands out endpoints of its own config, for which the constructor made a
    // client: anything else is a bug.
    throw std::logic_error("AiRuntime: no client for endpoint " + endpoint.name);
  }
  return *it->second;
}

Micros AiRuntime::price_call(const std::string& tier, const std::string& model, const Usage& usage,
                             int64_t duration_ms) const {
  std::optional<Price> price = config().price_for(tier);
  if (!price) {
    price = config().prices.find(model);
  }
  // Unpriced: free here; a budget refuses such a model before the call (cairn/ai/budget.h).
  return price ? cost(*price, usage, duration_ms) : 0;
}

ChatResult AiRuntime::chat(ActivityContext& ctx, const ChatAttempt& attempt) {
  const std::string tier_name = attempt.tier.empty() ? config().default_tier : attempt.tier;
  const TierConfig& tier = tier_or_throw(config(), tier_name, kChatActivity);

  ChatRequest request = attempt.request;
  bool has_refs = std::any_of(request.messages.begin(), request.messages.end(),
                              [](const Message& m) { return !m.content_ref.empty(); });
  if (has_refs) {
    if (!blobs_) {
      throw ApplicationError(std::string(kChatActivity) +
                                 ": the conversation has messages stored by reference "
                                 "(content_ref) but this worker's AiRuntime has no blob store: "
                                 "call set_blob_store with the store the workflow used",
                             kNoBlobStore, /*non_retryable=*/true);
    }
    resolve_refs(*blobs_, request);
  }
  // The reservation a budget makes assumes at most the tier's max_output_tokens: enforce it.
  if (tier.max_output_tokens > 0 &&
      (!request.max_tokens || *request.max_tokens > tier.max_output_tokens)) {
    request.max_tokens = tier.max_output_tokens;
  }

  auto compute = [&] { return call_chat(ctx, tier, request, attempt.stream); };
  ChatResult result;
  if (cache_ && ResponseCache::cacheable(attempt)) {
    const std::string ns =
        attempt.cache_namespace.empty() ? ctx.info().namespace_ : attempt.cache_namespace;
    const std::string model = request.model.empty() ? tier.model : request.model;
    const std::string key = ResponseCache::cache_key(attempt, tier.name, model, ns);
    CacheOutcome outcome = CacheOutcome::kMiss;
    result = cache_->get_or_compute(key, compute, &outcome);
    record_cache_outcome(metrics_.get(), outcome);
  } else {
    result = compute();
  }
  record_chat_result(metrics_.get(), result);
  return result;
}

ChatResult AiRuntime::call_chat(ActivityContext& ctx, const TierConfig& tier,
                                const ChatRequest& request, bool stream) {
  const EndpointConfig& endpoint = router_->pick_endpoint(tier.name, Clock::now());
  OpenAiClient& client = client_for(endpoint);
  CallWatch watch(ctx, heartbeat_interval_);
  StreamOptions options;
  options.cancelled = [&] { return watch.cancelled(); };
  if (stream) {
    options.on_delta = [&](std::string_view) { return !watch.cancelled(); };
  }
  const Clock::time_point start = Clock::now();
  ChatResponse response;
  try {
    response = client.chat(request, &options);
  } catch (const LlmError& e) {
    if (endpoint_at_fault(e)) {
      router_->report_failure(endpoint.name, Clock::now(),
                              e.retry_after().value_or(milliseconds(0)));
    }
    record_call_failure(metrics_.get(), tier.name, endpoint.name, e);
    throw;
  }
  router_->report_success(endpoint.name);

  ChatResult result;
  result.duration_ms = elapsed_ms(start);
  result.tier = tier.name;
  result.endpoint = endpoint.name;
  result.model = !response.model.empty()  ? response.model
                 : !request.model.empty() ? request.model
                                          : client.config().model;
  result.usage = response.usage;
  result.cost_micros = price_call(tier.name, result.model, result.usage, result.duration_ms);
  result.response = std::move(response);
  if (blobs_ && config().blob_threshold_bytes > 0) {
    offload_large(*blobs_, result.response.message, config().blob_threshold_bytes);
  }
  return result;
}

EmbedResult AiRuntime::embed(ActivityContext& ctx, const EmbedAttempt& attempt) {
  const std::string tier_name = attempt.tier.empty() ? config().embedding_tier : attempt.tier;
  if (tier_name.empty()) {
    throw ApplicationError(std::string(kEmbedActivity) +
                               ": the attempt names no tier and the router config has no "
                               "embedding_tier: set one of them",
                           "UnknownTier", /*non_retryable=*/true);
  }
  const TierConfig& tier = tier_or_throw(config(), tier_name, kEmbedActivity);
  const Clock::time_point start = Clock::now();
  EmbedResult result;
  result.tier = tier.name;
  result.response.data.reserve(attempt.request.input.size());
  const auto& input = attempt.request.input;
  for (size_t at = 0, n = 0; at < input.size(); at += n) {
    if (at > 0 && ctx.heartbeat()) {
      throw CanceledError(std::string(kEmbedActivity) + " canceled after " + std::to_string(at) +
                          " of " + std::to_string(input.size()) + " inputs");
    }
    n = std::min(OpenAiClient::kMaxEmbeddingInputs, input.size() - at);
    EmbeddingRequest batch;
    batch.model = attempt.request.model;
    batch.input.assign(input.begin() + static_cast<std::ptrdiff_t>(at),
                       input.begin() + static_cast<std::ptrdiff_t>(at + n));
    const EndpointConfig& endpoint = router_->pick_endpoint(tier.name, Clock::now());
    OpenAiClient& client = client_for(endpoint);
    EmbeddingResponse response;
    try {
      response = client.embed(batch);
    } catch (const LlmError& e) {
      if (endpoint_at_fault(e)) {
        router_->report_failure(endpoint.name, Clock::now(),
                                e.retry_after().value_or(milliseconds(0)));
      }
      record_call_failure(metrics_.get(), tier.name, endpoint.name, e);
      throw;
    }
    router_->report_success(endpoint.name);
    result.endpoint = endpoint.name;
    if (result.response.model.empty()) {
      result.response.model = response.model;
    }
    for (auto& v : response.data) {
      result.response.data.push_back(std::move(v));
    }
    result.response.usage += response.usage;
  }
  result.duration_ms = elapsed_ms(start);
  result.usage = result.response.usage;
  result.model = !result.response.model.empty() ? result.response.model : tier.model;
  result.cost_micros = price_call(tier.name, result.model, result.usage, result.duration_ms);
  record_embed_result(metrics_.get(), result);
  return result;
}

}  // namespace cairn::ai
