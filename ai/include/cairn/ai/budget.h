// Shared budgets: one ledger workflow per scope ("cairn.ai.ledger", workflow id
// "cairn-ledger:<scope>") holds {limit, spent, open reservations}. A call reserves its maximum
// possible cost before it is made and settles its actual cost after (or releases the
// reservation when it failed), each an update with an idempotency key, so a retried or replayed
// call is never counted twice and concurrent callers never overshoot the limit. Workflow code
// uses reserve / settle / release below (activities calling the ledger); clients and tools use
// the ledger_* calls. All functions are thread-safe; the values are plain data. See
// ai/docs/budgets.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/metrics.h"
#include "cairn/ai/pricing.h"
#include "cairn/ai/types.h"
#include "cairn/client.h"
#include "cairn/errors.h"
#include "cairn/worker.h"
#include "cairn/workflow.h"

namespace cairn::ai {

// Names that appear in histories and in the server's runs: never rename.
inline constexpr char kLedgerWorkflow[] = "cairn.ai.ledger";
inline constexpr char kLedgerWorkflowIdPrefix[] = "cairn-ledger:";
inline constexpr char kReserveActivity[] = "cairn.ai.budget.reserve";
inline constexpr char kSettleActivity[] = "cairn.ai.budget.settle";
inline constexpr char kReleaseActivity[] = "cairn.ai.budget.release";
inline constexpr char kBudgetExceededType[] = "BudgetExceeded";
// The task queue ensure_budget starts a ledger on when LedgerOptions::task_queue is empty.
inline constexpr char kDefaultLedgerTaskQueue[] = "cairn-ai";

// A call would pass a budget: a shared one (the ledger of `scope` refused the reservation), the
// run's own (scope "run"), or the model has no price and so cannot be reserved for (reason
// "unpriced"). Non-retryable, type "BudgetExceeded"; its details carry the fields as JSON, so
// the error survives an activity boundary (from_failure). Workflow code may catch it to
// escalate to a person or switch to a cheaper tier.
class BudgetExceeded : public cairn::ApplicationError {
 public:
  // reason: "limit" (spent + reserved + requested > limit), "unpriced" (no price for `model`).
  BudgetExceeded(std::string scope, Micros limit, Micros spent, Micros reserved, Micros requested,
                 std::string reason = "limit", std::string model = "");

  // The refusal of a call to a model the price table does not know, under budget `scope`.
  static BudgetExceeded unpriced_model(const std::string& scope, const std::string& model);
  // The error an activity failure (or an update refusal) carried; nullopt when `failure` is not
  // a BudgetExceeded (its type differs or its details are not ours).
  static std::optional<BudgetExceeded> from_failure(const v1::Failure& failure);
  // The same from a message produced by what() (a validator's refusal keeps only the message).
  static std::optional<BudgetExceeded> from_message(std::string_view message);

  const std::string& scope() const { return scope_; }
  Micros limit() const { return limit_; }
  Micros spent() const { return spent_; }
  Micros reserved() const { return reserved_; }
  Micros requested() const { return requested_; }
  const std::string& reason() const { return reason_; }
  const std::string& model() const { return model_; }
  nlohmann::json to_json() const;

 private:
  std::string scope_;
  Micros limit_;
  Micros spent_;
  Micros reserved_;
  Micros requested_;
  std::string reason_;
  std::string model_;
};

// ---- The ledger's messages (persisted in histories as JSON: keep field names) ----

// Update "reserve": hold `amount` under `key` (an idempotency key, unique per call).
struct ReserveRequest {
  std::string key;
  Micros amount = 0;
};
// Update "settle": the call under `key` cost `actual` (≤ its reservation; the rest is released).
struct SettleRequest {
  std::string key;
  Micros actual = 0;
};
// Update "release": the call under `key` was not made (or failed): free its reservation.
struct ReleaseRequest {
  std::string key;
};
// Update "set_limit".
struct SetLimitRequest {
  Micros limit = 0;
};

// The answer to reserve / settle / release about one key; a repeated request with the same key
// gets the first answer. state: "reserved", "settled", "released".
struct LedgerOutcome {
  std::string key;
  std::string state;
  Micros amount = 0;      // reserved for the key
  Micros actual = 0;      // settled: what it cost; else 0
  bool repeated = false;  // the key was known: this is its first answer again
};

// What a ledger holds (query "state").
struct LedgerSnapshot {
  std::string scope;
  Micros limit = 0;
  Micros spent = 0;     // settled so far
  Micros reserved = 0;  // held by open reservations
  int64_t open = 0;     // open reservations
  int64_t settled = 0;  // keys settled since the ledger started (all runs of its chain)
  int64_t released = 0;
  int64_t runs = 1;  // runs of the chain so far (continue-as-new)
  Micros available() const { return limit - spent - reserved; }
};

// Options of a ledger, fixed when it starts (carried across continue-as-new).
struct LedgerOptions {
  std::string task_queue;  // empty: kDefaultLedgerTaskQueue
  // Continue-as-new once the run's history has this many events (or the server suggests it).
  int64_t continue_after_events = 1000;
  // Closed (settled or released) keys remembered to answer repeats; the oldest are forgotten
  // first. A repeat of a forgotten key is treated as new.
  int64_t remembered_keys = 2000;
};

// The ledger's whole state: the workflow's input, carried across continue-as-new.
struct LedgerState {
  std::string scope;
  Micros limit = 0;
  Micros spent = 0;
  std::map<std::string, Micros> open;  // key → reserved amount
  // Closed keys, oldest first, with their outcomes (bounded by options.remembered_keys).
  std::vector<LedgerOutcome> closed;
  int64_t settled = 0;
  int64_t released = 0;
  int64_t runs = 1;
  LedgerOptions options;
};

// "cairn-ledger:" + scope.
std::string ledger_workflow_id(std::string_view scope);

// Starts the ledger of `scope` with `limit` when none runs, else sets its limit (update
// "set_limit"). Returns the ledger's state after. Throws OptionsError for an empty or malformed
// scope (it must make a valid workflow id), a negative limit, a bad LedgerOptions field;
// RpcError from the server. A ledger needs a worker on options.task_queue with
// register_budget_activities().
LedgerSnapshot ensure_budget(Client& client, const std::string& scope, Micros limit,
                             const LedgerOptions& options = {});

// Client-side calls to the ledger of `scope`, each an update whose id is derived from the key
// ("reserve:<key>", ...), retried across the ledger's continue-as-new and server restarts (up to
// `timeout`). reserve throws BudgetExceeded when the limit would be passed; all throw
// ApplicationError type "BudgetNotFound" (non-retryable) when no ledger runs for `scope`,
// "LedgerRefused" (non-retryable) when the ledger refused the request (settle above the
// reservation, settle or release of a key never reserved, a negative amount) with the ledger's
// message, RpcError for other server errors, TimeoutError when `timeout` passed.
LedgerOutcome ledger_reserve(Client& client, const std::string& scope, const std::string& key,
                             Micros amount,
                             std::chrono::milliseconds timeout = std::chrono::seconds(60));
LedgerOutcome ledger_settle(Client& client, const std::string& scope, const std::string& key,
                            Micros actual,
                            std::chrono::milliseconds timeout = std::chrono::seconds(60));
LedgerOutcome ledger_release(Client& client, const std::string& scope, const std::string& key,
                             std::chrono::milliseconds timeout = std::chrono::seconds(60));
// Query "state" of the ledger of `scope`. Throws RpcError (NOT_FOUND: no such ledger).
LedgerSnapshot ledger_state(Client& client, const std::string& scope);

// Registers the ledger workflow "cairn.ai.ledger" and the activities "cairn.ai.budget.reserve",
// "cairn.ai.budget.settle", "cairn.ai.budget.release" (which call the ledger through `client`)
// on `worker`. `client` must outlive the worker. REQUIRES: before worker.start().
void register_budget_activities(Worker& worker, Client& client);
// The same, counting each reservation the ledger refused in `metrics`
// (cairn_ai_budget_rejections_total{scope}). `metrics` may be null.
void register_budget_activities(Worker& worker, Client& client, std::shared_ptr<AiMetrics> metrics);

// The reservation a call to `model` needs under budget `scope`: max_cost of the model's price
// for the given maxima (cairn/ai/pricing.h). Throws BudgetExceeded (reason "unpriced") when the
// table has no price for the model: an unpriced call can never be reserved for.
Micros reservation_for(const PriceTable& prices, const std::string& scope, const std::string& model,
                       int64_t max_prompt_tokens, int64_t max_completion_tokens,
                       int64_t max_duration_ms);

// ---- Workflow side (call from workflow code) ----

// Activity options of the budget activities: start_to_close 30 s (an attempt lost in a server
// crash is retried after at most that), retried 10 times (1 s, ×2, at most 10 s); the ledger's
// refusals are not retried.
ActivityOptions budget_activity_options();

// Reserves `amount` under `key` in the ledger of `scope` (an activity; its result is recorded,
// so replay never asks again). The key must be deterministic (e.g. run id + call sequence).
// Returns the amount reserved. Throws BudgetExceeded (non-retryable) when the ledger refused;
// ActivityError for other failures (no such ledger: cause type "BudgetNotFound").
Micros reserve(WorkflowContext& ctx, const std::string& scope, const std::string& key,
               Micros amount);
// Settles the call under `key` at `actual` (an activity). Throws ActivityError (cause type
// "LedgerRefused" when actual is above the reservation: the reservation stays held).
void settle(WorkflowContext& ctx, const std::string& scope, const std::string& key, Micros actual);
// Releases the reservation under `key` (an activity); releasing an unknown key records it as
// released, so a late reserve with that key is not admitted. Throws ActivityError.
void release(WorkflowContext& ctx, const std::string& scope, const std::string& key);

void to_json(nlohmann::json& j, const ReserveRequest& v);
void from_json(const nlohmann::json& j, ReserveRequest& v);
void to_json(nlohmann::json& j, const SettleRequest& v);
void from_json(const nlohmann::json& j, SettleRequest& v);
void to_json(nlohmann::json& j, const ReleaseRequest& v);
void from_json(const nlohmann::json& j, ReleaseRequest& v);
void to_json(nlohmann::json& j, const SetLimitRequest& v);
void from_json(const nlohmann::json& j, SetLimitRequest& v);
void to_json(nlohmann::json& j, const LedgerOutcome& v);
void from_json(const nlohmann::json& j, LedgerOutcome& v);
void to_json(nlohmann::json& j, const LedgerSnapshot& v);
void from_json(const nlohmann::json& j, LedgerSnapshot& v);
void to_json(nlohmann::json& j, const LedgerOptions& v);
void from_json(const nlohmann::json& j, LedgerOptions& v);
void to_json(nlohmann::json& j, const LedgerState& v);
void from_json(const nlohmann::json& j, LedgerState& v);

}  // namespace cairn::ai
