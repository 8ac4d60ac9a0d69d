// BudgetTest: a real cairn-server (CtlTest: cairnctl against it too), a worker with the ledger
// and the budget activities, and test workflows that make budgeted "model calls". The model
// call is a synthetic "cairn.ai.chat" activity registered here (no HTTP): it answers with the
// usage the request asks for — prompt tokens from `seed`, completion tokens from `max_tokens`
// — priced with the default price table, and fails (non-retryable) when `stop` holds "fail".
// So reservations (PriceTable::max_cost of the same maxima) and settled costs are exact.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "cairn/ai/budget.h"
#include "cairn/ai/cost.h"
#include "cairn/ai/metrics.h"
#include "cairn/ai/pricing.h"
#include "e2e/ctl_fixture.h"

namespace cairn::testing {

// What a test workflow is asked to do.
struct CallSpec {
  std::string scope;  // shared budget; empty: none
  std::string model = "gpt-4o";
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  bool fail = false;         // the model call fails
  int calls = 1;             // calls made in a row
  ai::Micros run_limit = 0;  // per-run budget; 0: none
  bool gated = false;        // the model call waits for the test's gate
};

inline void to_json(nlohmann::json& j, const CallSpec& v) {
  j = {{"scope", v.scope},
       {"model", v.model},
       {"prompt_tokens", v.prompt_tokens},
       {"completion_tokens", v.completion_tokens},
       {"fail", v.fail},
       {"calls", v.calls},
       {"run_limit", v.run_limit},
       {"gated", v.gated}};
}
inline void from_json(const nlohmann::json& j, CallSpec& v) {
  v.scope = j.at("scope");
  v.model = j.at("model");
  v.prompt_tokens = j.at("prompt_tokens");
  v.completion_tokens = j.at("completion_tokens");
  v.fail = j.at("fail");
  v.calls = j.at("calls");
  v.run_limit = j.at("run_limit");
  v.gated = j.at("gated");
}

class BudgetTest : public CtlTest {
 public:
  static constexpr char kQueue[] = "budget-e2e";

 protected:
  // $0.10 at most and exactly, on gpt-4o ($2.50 / $10 per 1M): 4,000 prompt + 9,000 completion.
  static CallSpec dime_call(const std::string& scope) {
    CallSpec s;
    s.scope = scope;
    s.prompt_tokens = 4000;
    s.completion_tokens = 9000;
    return s;
  }

  // The worker: ledger, budget activities, the synthetic model call, the test workflows.
  // `cache` = 0 makes every workflow task replay the run's whole history.
  Worker& start_worker(size_t cache = 1000, const std::function<void(Worker&)>& more = nullptr) {
    WorkerOptions wo;
    wo.task_queue = kQueue;
    wo.max_cached_workflows = cache;
    workers_.push_back(std::make_unique<Worker>(*client_, wo));
    Worker& w = *workers_.back();
    ai::register_budget_activities(w, *client_, metrics_);
    register_model_call(w);
    w.register_workflow("test.budgeted", [](WorkflowContext& ctx, const CallSpec& spec) {
      return budgeted(ctx, spec);
    });
    w.register_activity("test.alert", [this](ai::Micros) { ++alerts_run_; });
    if (more) {
      more(w);
    }
    w.start();
    return w;
  }

  void register_model_call(Worker& w) {
    w.register_activity(ai::kChatActivity, [this](const ai::ChatAttempt& a) {
      ++model_calls_;
      bool gated = !a.request.stop.empty() && a.request.stop.front() == "gated";
      if (gated && !gate_->wait(std::chrono::seconds(90))) {
        throw ApplicationError("the test's gate never opened", "Timeout");
      }
      if (!a.request.stop.empty() && a.request.stop.front() == "fail") {
        throw ApplicationError("upstream answered 400", "InvalidRequest", /*non_retryable=*/true);
      }
      ai::ChatResult r;
      r.model = a.request.model;
      r.tier = a.tier;
      r.endpoint = "synthetic";
      r.usage.prompt_tokens = a.request.seed.value_or(0);
      r.usage.completion_tokens = a.request.max_tokens.value_or(0);
      r.response.model = r.model;
      r.response.message = {"assistant", "ok"};
      r.response.usage = r.usage;
      r.cost_micros = ai::cost(*ai::PriceTable::defaults().find(r.model), r.usage, 0);
      return r;
    });
  }

  // The test workflow: per call, a per-run budget check, a shared-budget reservation, the
  // model call, settle (or release when it failed), cost recorded. Returns "admitted N",
  // "refused:<reason> after N", or "failed after N".
  static std::string budgeted(WorkflowContext& ctx, const CallSpec& spec) {
    ai::CostOptions co;
    co.on_alert = [](WorkflowContext& c, ai::Micros cost) {
      c.activity<void>("test.alert", cost,
                       ActivityOptions{.start_to_close = std::chrono::seconds(10)})
          .get();
    };
    ai::CostTracker tracker(ctx, co);
    const ai::PriceTable prices = ai::PriceTable::defaults();
    int done = 0;
    for (int i = 0; i < spec.calls; ++i) {
      std::string key = ctx.info().workflow_id + ":" + std::to_string(i);
      ai::Micros amount = 0;
      try {
        amount = ai::reservation_for(prices, spec.scope.empty() ? "run" : spec.scope, spec.model,
                                     spec.prompt_tokens, spec.completion_tokens, 0);
        tracker.check_run_budget(spec.run_limit, amount);
        if (!spec.scope.empty()) {
          ai::reserve(ctx, spec.scope, key, amount);
        }
      } catch (const ai::BudgetExceeded& e) {
        return "refused:" + (e.reason() == "unpriced" ? std::string("unpriced") : e.scope()) +
               " after " + std::to_string(done);
      }
      ai::ChatAttempt attempt;
      attempt.request.model = spec.model;
      attempt.request.seed = spec.prompt_tokens;
      attempt.request.max_tokens = spec.completion_tokens;
      if (spec.fail) {
        attempt.request.stop = {"fail"};
      } else if (spec.gated) {
        attempt.request.stop = {"gated"};
      }
      ActivityOptions o;
      o.start_to_close = std::chrono::seconds(100);
      o.retry.maximum_attempts = 3;
      try {
        ai::ChatResult r = ctx.activity<ai::ChatResult>(ai::kChatActivity, attempt, o).get();
        if (!spec.scope.empty()) {
          ai::settle(ctx, spec.scope, key, r.cost_micros);
        }
        tracker.record(ctx, r);
        ++done;
      } catch (const ActivityError&) {
        if (!spec.scope.empty()) {
          ai::release(ctx, spec.scope, key);
        }
        return "failed after " + std::to_string(done);
      }
    }
    return "admitted " + std::to_string(done);
  }

  WorkflowHandle start_call(const std::string& id, const CallSpec& spec) {
    return client_->start("test.budgeted", start_options(id, kQueue), spec);
  }

  void SetUp() override {
    CtlTest::SetUp();
    gate_ = &new_gate();
    ai::register_cost_search_attributes(*client_);  // the test workflow records its cost
  }

  std::shared_ptr<ai::AiMetrics> metrics_ = std::make_shared<ai::AiMetrics>();
  Gate* gate_ = nullptr;
  std::atomic<int> model_calls_{0};
  std::atomic<int> alerts_run_{0};
};

}  // namespace cairn::testing
