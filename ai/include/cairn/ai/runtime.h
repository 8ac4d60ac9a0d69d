// AiRuntime: the worker-side object of the AI batteries. It owns the router config and its
// Router (endpoint cooldowns for every workflow of the worker), one OpenAiClient per endpoint,
// and optionally the response cache, the metrics and the blob store; it registers the model
// activities "cairn.ai.chat" and "cairn.ai.embed" on a Worker. Configure it (the set_* calls)
// before the worker starts; after that it is read-only apart from the Router's cooldowns, and
// thread-safe. It must outlive the workers it is registered on.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "cairn/activity.h"
#include "cairn/ai/openai.h"
#include "cairn/ai/router.h"
#include "cairn/ai/types.h"

namespace cairn {
class Worker;
}  // namespace cairn

namespace cairn::ai {

class AiMetrics;
class BlobStore;
class ResponseCache;

// The activity names kChatActivity / kEmbedActivity are in cairn/ai/types.h.

// An error the activities throw besides LlmError and the Router's ("UnknownTier",
// "TierCoolingDown"): a message refers to a blob but the runtime has no blob store.
inline constexpr char kNoBlobStore[] = "NoBlobStore";

class AiRuntime {
 public:
  // Validates `config` (throws ConfigError as validate_router_config) and makes one client per
  // endpoint (an endpoint without a model gets its tier's; max_retry_after from the config).
  explicit AiRuntime(RouterConfig config);
  ~AiRuntime();
  AiRuntime(const AiRuntime&) = delete;
  AiRuntime& operator=(const AiRuntime&) = delete;

  // Optional parts. REQUIRES: before any worker the runtime is registered on starts.
  void set_cache(std::shared_ptr<ResponseCache> cache) { cache_ = std::move(cache); }
  void set_metrics(std::shared_ptr<AiMetrics> metrics) { metrics_ = std::move(metrics); }
  void set_blob_store(std::shared_ptr<BlobStore> store) { blobs_ = std::move(store); }
  // How often a call in flight heartbeats (and so how soon it sees a cancellation): 300 ms by
  // default; it must be positive and below 1 s (else OptionsError, field "heartbeat_interval").
  void set_heartbeat_interval(std::chrono::milliseconds interval);

  const std::shared_ptr<ResponseCache>& cache() const { return cache_; }
  const std::shared_ptr<AiMetrics>& metrics() const { return metrics_; }
  const std::shared_ptr<BlobStore>& blob_store() const { return blobs_; }
  const RouterConfig& config() const { return router_->config(); }
  Router& router() { return *router_; }

  // Registers "cairn.ai.chat" (ChatResult(ActivityContext&, ChatAttempt)) and "cairn.ai.embed"
  // (EmbedResult(ActivityContext&, EmbedAttempt)) below. REQUIRES: before worker.start().
  void register_activities(Worker& worker);

  // The chat activity, one attempt: the attempt's tier (empty: the default tier; unknown:
  // non-retryable "UnknownTier"); content_refs resolved through the blob store; max_tokens
  // bounded by the tier's max_output_tokens; a cached result when the attempt is cacheable
  // (ResponseCache::cacheable; identical concurrent calls make one upstream call); else an
  // endpoint of the tier that is not cooling down (Router::pick_endpoint; all cooling:
  // retryable "TierCoolingDown" with the wait as next retry delay), one HTTP request, success
  // or failure reported to the Router (a Retry-After is that endpoint's cooldown), the cost
  // from the tier's price (0 when unpriced), a content above blob_threshold_bytes replaced by
  // a reference, metrics. While the request is in flight it heartbeats every
  // heartbeat interval and closes the connection within one interval of a cancellation
  // (CanceledError). A streamed attempt that fails after its first token fails with
  // non-retryable "StreamInterrupted". Throws LlmError (see cairn/ai/openai.h) otherwise.
  ChatResult chat(ActivityContext& ctx, const ChatAttempt& attempt);

  // The embedding activity, one attempt: the attempt's tier (empty: the config's
  // embedding_tier), the inputs in requests of at most OpenAiClient::kMaxEmbeddingInputs, each
  // to an endpoint picked as for chat, with a heartbeat between them; vectors in input order,
  // usage summed, cost from the tier's price. Throws as chat does.
  EmbedResult embed(ActivityContext& ctx, const EmbedAttempt& attempt);

 private:
  ChatResult call_chat(ActivityContext& ctx, const TierConfig& tier, const ChatRequest& request,
                       bool stream);
  OpenAiClient& client_for(const EndpointConfig& endpoint);
  Micros price_call(const std::string& tier, const std::string& model, const Usage& usage,
                    int64_t duration_ms) const;

  std::unique_ptr<Router> router_;
  std::map<std::string, std::unique_ptr<OpenAiClient>, std::less<>> clients_;  // by endpoint
  std::shared_ptr<ResponseCache> cache_;
  std::shared_ptr<AiMetrics> metrics_;
  std::shared_ptr<BlobStore> blobs_;
  std::chrono::milliseconds heartbeat_interval_{300};
};

}  // namespace cairn::ai
