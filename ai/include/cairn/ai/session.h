// Session: model calls from workflow code, with the routing decision recorded, fallback across
// cost tiers, the run's own budget and a shared budget around each call, and cost accounting.
// Everything a call does is in history: the plan (a "cairn.ai.route" local-activity marker), one
// "cairn.ai.chat" activity per tier tried, each fallback (a "cairn.ai.fallback" marker), the
// budget reservation and settlement activities. Replay reads those and never calls a model.
// A Session belongs to one workflow run (its fiber); use one Session per run. See
// ai/docs/session.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/cost.h"
#include "cairn/ai/router.h"
#include "cairn/ai/types.h"
#include "cairn/errors.h"
#include "cairn/options.h"
#include "cairn/workflow.h"

namespace cairn {
class Client;
class Worker;
}  // namespace cairn

namespace cairn::ai {

class AiRuntime;
class VectorRegistry;

// Names recorded in histories: never rename.
inline constexpr char kRouteActivity[] = "cairn.ai.route";
inline constexpr char kFallbackActivity[] = "cairn.ai.fallback";
inline constexpr char kBudgetRejectionActivity[] = "cairn.ai.budget_rejection";
// (kChatActivity "cairn.ai.chat" and kEmbedActivity "cairn.ai.embed" are in cairn/ai/types.h.)
// Every tier the plan allowed failed. Non-retryable; the message lists each tier and its error.
inline constexpr char kAllTiersFailedType[] = "AllTiersFailed";

// The chat activity's default options: start_to_close 120 s, 3 attempts, 1 s then ×2.
ActivityOptions default_chat_activity_options();

struct SessionOptions {
  // The shared budget (ledger scope, cairn/ai/budget.h) every call reserves in before it is
  // made; empty: none. The ledger must exist (ensure_budget).
  std::string budget_scope;
  // The run's own budget: a call whose maximum cost would take the run's cost past it is
  // refused (BudgetExceeded, scope "run"). 0: none.
  Micros run_budget = 0;
  // The run's cost alert (CostTracker): fired once when the cost passes it. 0: no alert.
  Micros alert_threshold = kDefaultAlertThreshold;
  // Called once, in workflow code, when the alert fires (see CostOptions::on_alert).
  std::function<void(WorkflowContext&, Micros cost)> on_cost_alert;
  // Upsert CostMicros / PromptTokens / CompletionTokens / CostAlert after each call; they must
  // be registered in the namespace (register_cost_search_attributes). false: query only.
  bool cost_search_attributes = true;
  // Options of each "cairn.ai.chat" activity (one per tier tried). Its timeouts also bound the
  // duration priced in a reservation (per-hour tiers).
  ActivityOptions chat_activity = default_chat_activity_options();
  bool use_cache = true;       // let the chat activity use the worker's response cache
  std::string prompt_version;  // part of the cache key: bump it to invalidate cached answers
  // Distinguishes the reservation keys of two sessions in one run ("<run id>/<name>/<call>/
  // <tier index>"). Printable, no '/'.
  std::string name = "chat";
};

// One tier of a recorded plan, with what a call there may cost at most.
struct PlannedTier {
  std::string tier;
  std::string model;
  int64_t context_window = 0;
  int64_t max_output_tokens = 0;  // the completion bound sent as max_tokens
  // The reservation for a call on this tier; unset: the model has no price (refused under a
  // budget).
  std::optional<Micros> max_cost;
  bool operator==(const PlannedTier&) const = default;
};

// Input of the "cairn.ai.route" local activity (not recorded: only the decision is).
struct RouteInput {
  ChatRequest request;
  RouteHints hints;
  int64_t max_duration_ms = 0;  // priced for per-hour tiers
  bool operator==(const RouteInput&) const = default;
};

// A message content the route activity stored in the blob store (claim check).
struct OffloadedContent {
  int64_t index = 0;  // in the request's messages
  std::string ref;
  bool operator==(const OffloadedContent&) const = default;
};

// Result of "cairn.ai.route": the recorded routing decision of one call.
struct RouteDecision {
  RoutePlan plan;
  std::vector<PlannedTier> tiers;  // one per plan.chain entry, in order
  std::vector<OffloadedContent> offloaded;
  int max_attempts = 0;  // the config's bound on tiers tried per call
  bool operator==(const RouteDecision&) const = default;
};

// Input and result of "cairn.ai.fallback": why the session moved from one tier to the next.
// Recorded as a marker, so the reason is in history; the activity counts the fallback in the
// worker's metrics.
struct FallbackNote {
  std::string from;
  std::string to;
  std::string reason;  // "exhausted", "context_length", "content_filter", "rate_limited", ...
  std::string error;   // the failed tier's error, for people
  bool operator==(const FallbackNote&) const = default;
};

// Input and result of "cairn.ai.budget_rejection": a call a budget refused (recorded as a marker
// before BudgetExceeded is thrown; the activity counts it in the worker's metrics).
struct BudgetRejection {
  std::string scope;  // "run", "agent", or the shared budget's scope
  std::string tier;
  std::string reason;  // "limit" | "unpriced"
  Micros requested = 0;
  bool operator==(const BudgetRejection&) const = default;
};

void to_json(nlohmann::json& j, const BudgetRejection& v);
void from_json(const nlohmann::json& j, BudgetRejection& v);
void to_json(nlohmann::json& j, const PlannedTier& v);
void from_json(const nlohmann::json& j, PlannedTier& v);
void to_json(nlohmann::json& j, const RouteInput& v);
void from_json(const nlohmann::json& j, RouteInput& v);
void to_json(nlohmann::json& j, const OffloadedContent& v);
void from_json(const nlohmann::json& j, OffloadedContent& v);
void to_json(nlohmann::json& j, const RouteDecision& v);
void from_json(const nlohmann::json& j, RouteDecision& v);
void to_json(nlohmann::json& j, const FallbackNote& v);
void from_json(const nlohmann::json& j, FallbackNote& v);

class Session {
 public:
  // Throws OptionsError naming the field: a negative run_budget or alert_threshold, a name that
  // is empty or holds '/', chat_activity options the SDK refuses.
  Session(WorkflowContext& ctx, SessionOptions options);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // One model call. Plans the route (recorded), then for each tier of the chain, at most
  // max_attempts of them: checks the run's budget, reserves the tier's maximum cost in the
  // shared budget (key "<run id>/<name>/<call>/<tier index>": a replay reserves nothing new),
  // runs "cairn.ai.chat" on that tier, settles the actual cost (or releases the reservation when
  // the call failed) and records the cost. Falls back to the next tier when a tier's retries
  // are exhausted (or it timed out), when all its endpoints are cooling down (TierCoolingDown
  // is not retried while a tier is left to try), on ContentFiltered, on a Retry-After too long to
  // wait (RateLimited, non-retryable), on InsufficientQuota / NotFound / TierCoolingDown /
  // StreamInterrupted, and on ContextLengthExceeded (to the next tier with a larger context
  // window). Message contents above the worker's blob threshold travel by reference.
  // Returns the first tier's success. Throws:
  //  - BudgetExceeded (non-retryable, not fallen back from): the run's budget, the shared
  //    budget, or an unpriced model under a budget (recorded first as a
  //    "cairn.ai.budget_rejection" marker);
  //  - ActivityError as the activity reported it, without fallback, for InvalidRequest,
  //    AuthenticationFailed, PermissionDenied, a payload or blob error, and cancellation;
  //  - ApplicationError type "AllTiersFailed" when every tier tried failed (the message names
  //    each tier and its error);
  //  - ActivityError from "cairn.ai.route" (e.g. UnknownTier, ContextLengthExceeded when no
  //    tier fits the prompt).
  ChatResult chat(ChatRequest request, RouteHints hints = {});

  // As chat(), with two differences for loops that resend a growing conversation: the large
  // contents of `request` are replaced by their references in place (so the next call sends
  // references), and a tier whose maximum cost would take this session's cost past
  // `cost_limit` is refused (BudgetExceeded, scope "agent"; 0: no such limit).
  ChatResult chat_within(ChatRequest& request, const RouteHints& hints, Micros cost_limit);

  // One embedding call ("cairn.ai.embed" on the config's embedding tier, or `tier`); its cost is
  // recorded. Not reserved in the shared budget. Throws ActivityError.
  EmbedResult embed(EmbeddingRequest request, const std::string& tier = "");

  // The content of `message`: its content, or the blob its content_ref names (fetched through
  // the "cairn.ai.blob.get" local activity: the content is then recorded in history).
  std::string content(const Message& message);

  // Usage and cost of this session's calls so far (from recorded results).
  const CostTracker& cost() const { return cost_; }
  const SessionOptions& options() const { return options_; }
  WorkflowContext& context() { return *ctx_; }
  // chat() calls made so far (the call sequence of the reservation keys).
  int64_t calls() const { return calls_; }
  // The recorded decision of the last chat() call (empty before the first).
  const RouteDecision& last_route() const { return last_route_; }

 private:
  RouteDecision route(ChatRequest& request, const RouteHints& hints);
  ChatResult call_chain(ChatRequest& request, const RouteDecision& decision, Micros cost_limit);
  ChatResult call_tier(const ChatRequest& request, const PlannedTier& tier, const std::string& key,
                       Micros cost_limit, bool last);
  void check_budgets(const PlannedTier& tier, Micros cost_limit) const;

  WorkflowContext* ctx_;
  SessionOptions options_;
  CostTracker cost_;
  int64_t calls_ = 0;
  RouteDecision last_route_;
};

// Registers this area's activities on `worker`: "cairn.ai.route" (the routing plan, run as a
// local activity by Session), "cairn.ai.fallback" and "cairn.ai.budget_rejection" (record a
// fallback / a budget refusal in the worker's metrics),
// and, when the runtime has a blob store, "cairn.ai.blob.put" / "cairn.ai.blob.get".
// `runtime` must outlive the worker. REQUIRES: before worker.start().
void register_session_activities(Worker& worker, AiRuntime& runtime);

// The one line a worker using the AI batteries writes: registers the runtime's activities
// ("cairn.ai.chat", "cairn.ai.embed"), this area's (register_session_activities), the budget
// ledger workflow and its activities (register_budget_activities), the approval webhook
// activity (register_approval_activities; approval waits are timed in the runtime's metrics)
// and the ingestion workflow "cairn.ai.ingest". `client` and `runtime` must outlive the
// worker. REQUIRES: before worker.start().
void register_all(Worker& worker, Client& client, AiRuntime& runtime);

// The same, plus the vector activities over `vectors` ("cairn.ai.vector.*", the query activity
// embedding through the runtime). `vectors` must outlive the worker.
void register_all(Worker& worker, Client& client, AiRuntime& runtime, VectorRegistry& vectors);

}  // namespace cairn::ai
