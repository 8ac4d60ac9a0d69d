// BudgetExceeded and the JSON form of the ledger's messages (recorded in histories: keep the
// field names).
#include <regex>

#include "cairn/ai/budget.h"
#include "cairn/payload.h"

namespace cairn::ai {
namespace {

using nlohmann::json;

std::string message_for(const std::string& scope, Micros limit, Micros spent, Micros reserved,
                        Micros requested, const std::string& reason, const std::string& model) {
  if (reason == "unpriced") {
    return "budget \"" + scope + "\": model \"" + model +
           "\" has no price, so a call to it cannot be reserved for; add the model to the price "
           "table (the router config's prices) or call a priced model";
  }
  return "budget \"" + scope + "\" exceeded: requested " + format_dollars(requested) + " with " +
         format_dollars(spent) + " spent and " + format_dollars(reserved) +
         " reserved of the limit " + format_dollars(limit) +
         "; raise the limit (ensure_budget / update set_limit), wait for open calls to settle, "
         "or choose a cheaper tier";
}

v1::Payloads details_for(const json& j) { return to_payloads(j); }

Micros dollars_to_micros(const std::string& whole, const std::string& frac) {
  return static_cast<Micros>(std::stoll(whole)) * kMicrosPerDollar + std::stoll(frac);
}

template <class T>
void get(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) {
    it->get_to(out);
  }
}

}  // namespace

BudgetExceeded::BudgetExceeded(std::string scope, Micros limit, Micros spent, Micros reserved,
                               Micros requested, std::string reason, std::string model)
    : ApplicationError(message_for(scope, limit, spent, reserved, requested, reason, model),
                       kBudgetExceededType, /*non_retryable=*/true,
                       details_for({{"scope", scope},
                                    {"limit", limit},
                                    {"spent", spent},
                                    {"reserved", reserved},
                                    {"requested", requested},
                                    {"reason", reason},
                                    {"model", model}})),
      scope_(std::move(scope)),
      limit_(limit),
      spent_(spent),
      reserved_(reserved),
      requested_(requested),
      reason_(std::move(reason)),
      model_(std::move(model)) {}

BudgetExceeded BudgetExceeded::unpriced_model(const std::string& scope, const std::string& model) {
  return BudgetExceeded(scope, 0, 0, 0, 0, "unpriced", model);
}

nlohmann::json BudgetExceeded::to_json() const {
  return {{"scope", scope_},       {"limit", limit_},         {"spent", spent_},
          {"reserved", reserved_}, {"requested", requested_}, {"reason", reason_},
          {"model", model_},       {"message", what()}};
}

std::optional<BudgetExceeded> BudgetExceeded::from_failure(const v1::Failure& failure) {
  if (!failure.has_application_failure_info() ||
      failure.application_failure_info().type() != kBudgetExceededType) {
    return std::nullopt;
  }
  const auto& details = failure.application_failure_info().details();
  if (details.payloads_size() > 0) {
    try {
      json j = from_payloads<json>(details);
      std::string scope, reason = "limit", model;
      Micros limit = 0, spent = 0, reserved = 0, requested = 0;
      get(j, "scope", scope);
      get(j, "limit", limit);
      get(j, "spent", spent);
      get(j, "reserved", reserved);
      get(j, "requested", requested);
      get(j, "reason", reason);
      get(j, "model", model);
      return BudgetExceeded(scope, limit, spent, reserved, requested, reason, model);
    } catch (const std::exception&) {
      // Not our details: fall back to the message.
    }
  }
  return from_message(failure.message());
}

std::optional<BudgetExceeded> BudgetExceeded::from_message(std::string_view message) {
  static const std::regex kLimit(
      "budget \"(.*)\" exceeded: requested \\$(\\d+)\\.(\\d{6}) with \\$(\\d+)\\.(\\d{6}) spent "
      "and \\$(\\d+)\\.(\\d{6}) reserved of the limit \\$(\\d+)\\.(\\d{6})");
  static const std::regex kUnpriced("budget \"(.*)\": model \"(.*)\" has no price");
  std::string text(message);
  std::smatch m;
  if (std::regex_search(text, m, kLimit)) {
    return BudgetExceeded(m[1], dollars_to_micros(m[8], m[9]), dollars_to_micros(m[4], m[5]),
                          dollars_to_micros(m[6], m[7]), dollars_to_micros(m[2], m[3]));
  }
  if (std::regex_search(text, m, kUnpriced)) {
    return unpriced_model(m[1], m[2]);
  }
  return std::nullopt;
}

Micros reservation_for(const PriceTable& prices, const std::string& scope, const std::string& model,
                       int64_t max_prompt_tokens, int64_t max_completion_tokens,
                       int64_t max_duration_ms) {
  std::optional<Price> price = prices.find(model);
  if (!price) {
    throw BudgetExceeded::unpriced_model(scope, model);
  }
  return max_cost(*price, max_prompt_tokens, max_completion_tokens, max_duration_ms);
}

std::string ledger_workflow_id(std::string_view scope) {
  return std::string(kLedgerWorkflowIdPrefix) + std::string(scope);
}

void to_json(json& j, const ReserveRequest& v) { j = {{"key", v.key}, {"amount", v.amount}}; }
void from_json(const json& j, ReserveRequest& v) {
  get(j, "key", v.key);
  get(j, "amount", v.amount);
}
void to_json(json& j, const SettleRequest& v) { j = {{"key", v.key}, {"actual", v.actual}}; }
void from_json(const json& j, SettleRequest& v) {
  get(j, "key", v.key);
  get(j, "actual", v.actual);
}
void to_json(json& j, const ReleaseRequest& v) { j = {{"key", v.key}}; }
void from_json(const json& j, ReleaseRequest& v) { get(j, "key", v.key); }
void to_json(json& j, const SetLimitRequest& v) { j = {{"limit", v.limit}}; }
void from_json(const json& j, SetLimitRequest& v) { get(j, "limit", v.limit); }

void to_json(json& j, const LedgerOutcome& v) {
  j = {{"key", v.key}, {"state", v.state}, {"amount", v.amount}, {"actual", v.actual}};
  if (v.repeated) {
    j["repeated"] = true;
  }
}
void from_json(const json& j, LedgerOutcome& v) {
  get(j, "key", v.key);
  get(j, "state", v.state);
  get(j, "amount", v.amount);
  get(j, "actual", v.actual);
  get(j, "repeated", v.repeated);
}

void to_json(json& j, const LedgerSnapshot& v) {
  j = {{"scope", v.scope},       {"limit", v.limit},           {"spent", v.spent},
       {"reserved", v.reserved}, {"available", v.available()}, {"open", v.open},
       {"settled", v.settled},   {"released", v.released},     {"runs", v.runs}};
}
void from_json(const json& j, LedgerSnapshot& v) {
  get(j, "scope", v.scope);
  get(j, "limit", v.limit);
  get(j, "spent", v.spent);
  get(j, "reserved", v.reserved);
  get(j, "open", v.open);
  get(j, "settled", v.settled);
  get(j, "released", v.released);
  get(j, "runs", v.runs);
}

void to_json(json& j, const LedgerOptions& v) {
  j = {{"task_queue", v.task_queue},
       {"continue_after_events", v.continue_after_events},
       {"remembered_keys", v.remembered_keys}};
}
void from_json(const json& j, LedgerOptions& v) {
  get(j, "task_queue", v.task_queue);
  get(j, "continue_after_events", v.continue_after_events);
  get(j, "remembered_keys", v.remembered_keys);
}

void to_json(json& j, const LedgerState& v) {
  j = {{"scope", v.scope},       {"limit", v.limit},   {"spent", v.spent},
       {"open", v.open},         {"closed", v.closed}, {"settled", v.settled},
       {"released", v.released}, {"runs", v.runs},     {"options", v.options}};
}
void from_json(const json& j, LedgerState& v) {
  get(j, "scope", v.scope);
  get(j, "limit", v.limit);
  get(j, "spent", v.spent);
  get(j, "open", v.open);
  get(j, "closed", v.closed);
  get(j, "settled", v.settled);
  get(j, "released", v.released);
  get(j, "runs", v.runs);
  get(j, "options", v.options);
}

}  // namespace cairn::ai
