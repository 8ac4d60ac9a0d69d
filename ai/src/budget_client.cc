// Calls to a ledger from clients (ensure_budget, ledger_*), the budget activities that make
// those calls for workflow code, and the workflow-side helpers that schedule the activities.
#include <algorithm>
#include <cstdio>
#include <random>
#include <thread>

#include "budget_internal.h"
#include "budget_ledger.h"

namespace cairn::ai {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// How long a ledger may be missing (NOT_FOUND) before a call gives up: covers nothing but a
// ledger that was never started, since continue-as-new starts the next run atomically.
constexpr auto kNotFoundGrace = 2s;

void check_scope(const std::string& scope) {
  if (scope.empty()) {
    throw OptionsError("budget scope must not be empty (e.g. \"team-a/2026-12\")", "scope");
  }
  if (ledger_workflow_id(scope).size() > 1000) {
    throw OptionsError("budget scope \"" + scope.substr(0, 40) +
                           "...\" is too long: the ledger's workflow id must fit 1000 bytes",
                       "scope");
  }
  for (unsigned char c : scope) {
    if (c < 0x20 || c == 0x7f) {
      throw OptionsError("budget scope \"" + scope + "\" has a control character", "scope");
    }
  }
}

bool is_closing_refusal(const std::string& message) {
  return message.find("the workflow is closing") != std::string::npos;
}

// One update to the ledger of `scope`, with update id "<name>:<key>" (so a retried call — by
// this loop, by the activity's retry policy, or after a worker crash — is one update to the
// server), retried while the ledger is between two runs of its chain or the server restarts.
template <class R, class Req>
R ledger_call(Client& client, const std::string& scope, const std::string& name,
              const std::string& key, const Req& request, std::chrono::milliseconds timeout) {
  check_scope(scope);
  const auto deadline = Clock::now() + timeout;
  std::optional<Clock::time_point> missing_since;
  auto backoff = 20ms;
  for (;;) {
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining <= 0ms) {
      throw TimeoutError("budget \"" + scope + "\": " + name + " of key " + key +
                         " got no answer from the ledger within " +
                         std::to_string(timeout.count()) + " ms");
    }
    try {
      v1::Payloads p =
          client.handle(ledger_workflow_id(scope))
              .update_payloads(name + ":" + key, name, to_payloads(request), remaining);
      return from_payloads<R>(p);
    } catch (const BudgetExceeded&) {
      throw;
    } catch (const ApplicationError& e) {
      const std::string message = e.what();
      if (e.type() == "UpdateRejected" && is_closing_refusal(message)) {
        // Delivered to a run that was continuing as new: the update id is only known to the
        // closed run, so asking again reaches the new run.
      } else if (auto b = BudgetExceeded::from_message(message)) {
        throw *b;
      } else {
        throw ApplicationError(message, "LedgerRefused", /*non_retryable=*/true);
      }
    } catch (const RpcError& e) {
      if (e.code() == grpc::StatusCode::NOT_FOUND) {
        if (!missing_since) {
          missing_since = Clock::now();
        } else if (Clock::now() - *missing_since > kNotFoundGrace) {
          throw ApplicationError("budget \"" + scope + "\": no ledger runs for this scope (" +
                                     ledger_workflow_id(scope) +
                                     "); create it with cairn::ai::ensure_budget(client, \"" +
                                     scope + "\", limit)",
                                 "BudgetNotFound", /*non_retryable=*/true);
        }
      } else if (e.code() != grpc::StatusCode::FAILED_PRECONDITION) {
        // FAILED_PRECONDITION: the run closed (continued as new) before the update was
        // delivered; the next try reaches the new run. Anything else is the caller's.
        throw;
      }
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
  }
}

// A fresh update key for set_limit (each call is its own change).
std::string fresh_key() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

std::chrono::milliseconds activity_budget(ActivityContext& ctx) {
  auto limit = ctx.info().start_to_close;
  if (limit <= 0ms) {
    return 60s;
  }
  return std::max<std::chrono::milliseconds>(limit - 5s, limit / 2);
}

}  // namespace

void to_json(nlohmann::json& j, const BudgetCall& v) {
  j = {{"scope", v.scope}, {"key", v.key}, {"amount", v.amount}};
}
void from_json(const nlohmann::json& j, BudgetCall& v) {
  v.scope = j.value("scope", "");
  v.key = j.value("key", "");
  v.amount = j.value("amount", Micros{0});
}

LedgerSnapshot ensure_budget(Client& client, const std::string& scope, Micros limit,
                             const LedgerOptions& options) {
  check_scope(scope);
  if (limit < 0) {
    throw OptionsError(
        "budget \"" + scope + "\": limit must not be negative (got " + std::to_string(limit) + ")",
        "limit");
  }
  if (options.continue_after_events < 10) {
    throw OptionsError("LedgerOptions.continue_after_events must be at least 10 (got " +
                           std::to_string(options.continue_after_events) + ")",
                       "continue_after_events");
  }
  if (options.remembered_keys < 0) {
    throw OptionsError("LedgerOptions.remembered_keys must not be negative", "remembered_keys");
  }
  LedgerState state;
  state.scope = scope;
  state.limit = limit;
  state.options = options;
  if (state.options.task_queue.empty()) {
    state.options.task_queue = kDefaultLedgerTaskQueue;
  }
  StartWorkflowOptions start;
  start.id = ledger_workflow_id(scope);
  start.task_queue = state.options.task_queue;
  try {
    client.start(kLedgerWorkflow, start, state);
    LedgerBook book(state);
    return book.snapshot();
  } catch (const RpcError& e) {
    if (e.code() != grpc::StatusCode::ALREADY_EXISTS) {
      throw;
    }
  }
  // Running already: only the limit changes (its options stay as the ledger was started).
  return ledger_call<LedgerSnapshot>(client, scope, "set_limit",
                                     "limit-" + std::to_string(limit) + "-" + fresh_key(),
                                     SetLimitRequest{limit}, 60s);
}

LedgerOutcome ledger_reserve(Client& client, const std::string& scope, const std::string& key,
                             Micros amount, std::chrono::milliseconds timeout) {
  return ledger_call<LedgerOutcome>(client, scope, "reserve", key, ReserveRequest{key, amount},
                                    timeout);
}

LedgerOutcome ledger_settle(Client& client, const std::string& scope, const std::string& key,
                            Micros actual, std::chrono::milliseconds timeout) {
  return ledger_call<LedgerOutcome>(client, scope, "settle", key, SettleRequest{key, actual},
                                    timeout);
}

LedgerOutcome ledger_release(Client& client, const std::string& scope, const std::string& key,
                             std::chrono::milliseconds timeout) {
  return ledger_call<LedgerOutcome>(client, scope, "release", key, ReleaseRequest{key}, timeout);
}

LedgerSnapshot ledger_state(Client& client, const std::string& scope) {
  check_scope(scope);
  return client.handle(ledger_workflow_id(scope)).query<LedgerSnapshot>("state");
}

void register_budget_activities(Worker& worker, Client& client) {
  register_budget_activities(worker, client, nullptr);
}

void register_budget_activities(Worker& worker, Client& client,
                                std::shared_ptr<AiMetrics> metrics) {
  worker.register_workflow(kLedgerWorkflow, &ledger_workflow);
  Client* c = &client;
  worker.register_activity(
      kReserveActivity, [c, metrics](ActivityContext& ctx, const BudgetCall& call) {
        try {
          return ledger_reserve(*c, call.scope, call.key, call.amount, activity_budget(ctx));
        } catch (const BudgetExceeded&) {
          if (metrics) {
            metrics->record_budget_rejection(call.scope);
          }
          throw;
        }
      });
  worker.register_activity(kSettleActivity, [c](ActivityContext& ctx, const BudgetCall& call) {
    return ledger_settle(*c, call.scope, call.key, call.amount, activity_budget(ctx));
  });
  worker.register_activity(kReleaseActivity, [c](ActivityContext& ctx, const BudgetCall& call) {
    return ledger_release(*c, call.scope, call.key, activity_budget(ctx));
  });
}

ActivityOptions budget_activity_options() {
  ActivityOptions o;
  // Short: a ledger update answers in milliseconds, and an attempt whose task the server
  // recorded as started but never delivered (it crashed between the two) is retried only
  // when this runs out.
  o.start_to_close = 30s;
  o.retry.initial_interval = 1s;
  o.retry.backoff_coefficient = 2;
  o.retry.maximum_interval = 10s;
  o.retry.maximum_attempts = 10;
  o.retry.non_retryable_error_types = {kBudgetExceededType, "LedgerRefused", "BudgetNotFound"};
  return o;
}

Micros reserve(WorkflowContext& ctx, const std::string& scope, const std::string& key,
               Micros amount) {
  check_scope(scope);
  LedgerOutcome o;
  try {
    o = ctx.activity<LedgerOutcome>(kReserveActivity, BudgetCall{scope, key, amount},
                                    budget_activity_options())
            .get();
  } catch (const ActivityError& e) {
    if (auto b = BudgetExceeded::from_failure(e.cause())) {
      throw *b;
    }
    throw;
  }
  if (o.state == "released") {
    throw ApplicationError("budget \"" + scope + "\": key " + key +
                               " was released before its reservation arrived; use a new key",
                           "ReservationReleased", /*non_retryable=*/true);
  }
  return o.amount;
}

void settle(WorkflowContext& ctx, const std::string& scope, const std::string& key, Micros actual) {
  check_scope(scope);
  ctx.activity<LedgerOutcome>(kSettleActivity, BudgetCall{scope, key, actual},
                              budget_activity_options())
      .get();
}

void release(WorkflowContext& ctx, const std::string& scope, const std::string& key) {
  check_scope(scope);
  ctx.activity<LedgerOutcome>(kReleaseActivity, BudgetCall{scope, key, 0},
                              budget_activity_options())
      .get();
}

}  // namespace cairn::ai
