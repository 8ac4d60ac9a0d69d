// Shared budgets against a real cairn-server: concurrent runs never overshoot the ledger (also
// across a kill -9 and restart of the server), failed calls give their reservation back, a
// retried reservation counts once, a settle above its reservation is refused, the ledger keeps
// its state across continue-as-new, an unpriced model is refused.
#include <thread>

#include "ai/e2e/budget_fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using ai::Micros;

constexpr Micros kDollar = ai::kMicrosPerDollar;

ai::LedgerOptions on_queue(int64_t continue_after_events = 2000) {
  ai::LedgerOptions o;
  o.task_queue = BudgetTest::kQueue;
  o.continue_after_events = continue_after_events;
  return o;
}

int count_prefix(const std::vector<std::string>& results, const std::string& prefix) {
  int n = 0;
  for (const auto& r : results) {
    n += r.rfind(prefix, 0) == 0 ? 1 : 0;
  }
  return n;
}

class BudgetSharedTest : public BudgetTest {
 protected:
  // Starts 20 gated $0.10 calls against `scope`, waits until the ledger holds $1 in open
  // reservations and the other ten are refused, while every admitted call is still running.
  std::vector<WorkflowHandle> start_twenty(const std::string& scope) {
    std::vector<WorkflowHandle> runs;
    for (int i = 0; i < 20; ++i) {
      CallSpec spec = dime_call(scope);
      spec.gated = true;
      runs.push_back(start_call(scope + "-call-" + std::to_string(i), spec));
    }
    return runs;
  }

  std::vector<std::string> results(std::vector<WorkflowHandle>& runs) {
    std::vector<std::string> out;
    for (auto& h : runs) {
      out.push_back(h.result<std::string>(120s));
    }
    return out;
  }
};

TEST_F(BudgetSharedTest, TwentyConcurrentRunsAdmitExactlyTenDimesOfADollar) {
  start_worker();
  ai::ensure_budget(*client_, "team-a/2026-12", kDollar, on_queue());
  auto runs = start_twenty("team-a/2026-12");
  // All ten admitted calls hold their reservations at once, and nobody else got in.
  ASSERT_TRUE(eventually(
      [&] {
        auto s = ai::ledger_state(*client_, "team-a/2026-12");
        return s.open == 10;
      },
      60s));
  ai::LedgerSnapshot held = ai::ledger_state(*client_, "team-a/2026-12");
  EXPECT_EQ(held.reserved, kDollar);
  EXPECT_EQ(held.available(), 0);
  gate_->open();
  auto out = results(runs);
  EXPECT_EQ(count_prefix(out, "admitted 1"), 10);
  EXPECT_EQ(count_prefix(out, "refused:team-a/2026-12"), 10);
  ai::LedgerSnapshot s = ai::ledger_state(*client_, "team-a/2026-12");
  EXPECT_EQ(s.spent, kDollar);
  EXPECT_EQ(s.reserved, 0);
  EXPECT_EQ(s.open, 0);
  EXPECT_EQ(s.settled, 10);
  EXPECT_EQ(model_calls_.load(), 10) << "a refused run must never reach the model";
  EXPECT_EQ(metrics_->budget_rejections("team-a/2026-12"), 10);
}

TEST_F(BudgetSharedTest, NoOvershootAcrossAServerKillAndRestart) {
  start_worker();
  ai::ensure_budget(*client_, "team-b", kDollar, on_queue());
  auto runs = start_twenty("team-b");
  // Some reservations are acknowledged (durable) before the crash; others are in flight.
  ASSERT_TRUE(eventually([&] { return ai::ledger_state(*client_, "team-b").open >= 3; }, 60s));
  server_->kill9();
  std::string error;
  ASSERT_TRUE(server_->start(server_->port(), 30s, &error)) << error;
  gate_->open();
  auto out = results(runs);
  const int admitted = count_prefix(out, "admitted 1");
  EXPECT_EQ(admitted, 10) << "every run asked; all that were admitted settle at the maximum";
  EXPECT_EQ(admitted + count_prefix(out, "refused:team-b"), 20);
  ai::LedgerSnapshot s = ai::ledger_state(*client_, "team-b");
  EXPECT_EQ(s.spent, kDollar);
  EXPECT_EQ(s.reserved, 0);
  EXPECT_LE(s.spent, s.limit);
}

TEST_F(BudgetSharedTest, AFailedCallReleasesItsReservation) {
  start_worker();
  ai::ensure_budget(*client_, "one-dime", 100'000, on_queue());
  CallSpec failing = dime_call("one-dime");
  failing.fail = true;
  EXPECT_EQ(start_call("failing", failing).result<std::string>(60s), "failed after 0");
  ai::LedgerSnapshot s = ai::ledger_state(*client_, "one-dime");
  EXPECT_EQ(s.reserved, 0);
  EXPECT_EQ(s.spent, 0);
  EXPECT_EQ(s.released, 1);
  // The dime came back: the next call gets it.
  EXPECT_EQ(start_call("next", dime_call("one-dime")).result<std::string>(60s), "admitted 1");
  EXPECT_EQ(ai::ledger_state(*client_, "one-dime").spent, 100'000);
}

TEST_F(BudgetSharedTest, ARetriedReservationCountsOnce) {
  start_worker(1000, [this](Worker& w) {
    // A reserve whose first attempt reached the ledger and then lost its answer (the worker
    // died): the server retries it with the same key.
    w.register_activity("test.reserve_flaky", [this](ActivityContext& ctx, const std::string& key) {
      auto o = ai::ledger_reserve(*client_, "retry", key, 100'000);
      if (ctx.info().attempt == 1) {
        throw ApplicationError("the answer was lost", "Crash");  // retryable
      }
      return o;
    });
    w.register_workflow("test.reserve_twice", [](WorkflowContext& ctx) {
      ActivityOptions o = ai::budget_activity_options();
      o.retry.initial_interval = std::chrono::milliseconds(100);
      auto flaky =
          ctx.activity<ai::LedgerOutcome>("test.reserve_flaky", std::string("flaky-1"), o).get();
      // The workflow-side helper asked twice with one key (a replayed call): one hold.
      Micros a = ai::reserve(ctx, "retry", "twice-1", 250'000);
      Micros b = ai::reserve(ctx, "retry", "twice-1", 250'000);
      return std::to_string(flaky.amount) + " " + std::to_string(a) + " " + std::to_string(b);
    });
  });
  ai::ensure_budget(*client_, "retry", kDollar, on_queue());
  // A client retrying the same key (as the reserve activity does) is one hold.
  ai::LedgerOutcome first = ai::ledger_reserve(*client_, "retry", "call-1", 300'000);
  ai::LedgerOutcome again = ai::ledger_reserve(*client_, "retry", "call-1", 300'000);
  // The same update id: the server answers the first update's outcome again.
  EXPECT_EQ(nlohmann::json(again), nlohmann::json(first));
  EXPECT_EQ(ai::ledger_state(*client_, "retry").reserved, 300'000);
  ai::ledger_settle(*client_, "retry", "call-1", 200'000);
  EXPECT_EQ(ai::ledger_settle(*client_, "retry", "call-1", 200'000).actual, 200'000);
  ai::LedgerSnapshot s = ai::ledger_state(*client_, "retry");
  EXPECT_EQ(s.spent, 200'000);
  EXPECT_EQ(s.settled, 1);

  auto run = client_->start("test.reserve_twice", start_options("twice", kQueue));
  EXPECT_EQ(run.result<std::string>(60s), "100000 250000 250000");
  s = ai::ledger_state(*client_, "retry");
  EXPECT_EQ(s.reserved, 350'000) << "flaky-1 and twice-1 each held once";
  EXPECT_EQ(s.open, 2);
  EXPECT_EQ(s.spent, 200'000);
}

TEST_F(BudgetSharedTest, ASettleAboveItsReservationIsRefused) {
  start_worker();
  ai::ensure_budget(*client_, "strict", kDollar, on_queue());
  ai::ledger_reserve(*client_, "strict", "k", 100'000);
  try {
    ai::ledger_settle(*client_, "strict", "k", 100'001);
    FAIL() << "a settle above the reservation was accepted";
  } catch (const ApplicationError& e) {
    EXPECT_EQ(e.type(), "LedgerRefused");
    EXPECT_NE(std::string(e.what()).find("above the reservation $0.100000"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ai::ledger_settle(*client_, "strict", "never-reserved", 1), ApplicationError);
  ai::LedgerSnapshot s = ai::ledger_state(*client_, "strict");
  EXPECT_EQ(s.reserved, 100'000) << "the refused settle left the hold in place";
  EXPECT_EQ(s.spent, 0);
  EXPECT_EQ(ai::ledger_settle(*client_, "strict", "k", 100'000).state, "settled");
  EXPECT_EQ(ai::ledger_state(*client_, "strict").spent, 100'000);
}

TEST_F(BudgetSharedTest, TheLedgerKeepsItsStateAcrossContinueAsNew) {
  start_worker();
  ai::ensure_budget(*client_, "long", kDollar, on_queue(/*continue_after_events=*/30));
  ai::ledger_reserve(*client_, "long", "held", 50'000);
  // Four callers at once, while the ledger continues as new every few updates: each update
  // that met a closing run is asked again on the next one.
  std::vector<std::thread> callers;
  std::atomic<int> errors{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) {
        std::string key = "c" + std::to_string(t) + "-" + std::to_string(i);
        try {
          ai::ledger_reserve(*client_, "long", key, 2'000);
          ai::ledger_settle(*client_, "long", key, 1'000);
        } catch (const std::exception& e) {
          ADD_FAILURE() << key << ": " << e.what();
          ++errors;
        }
      }
    });
  }
  for (auto& c : callers) {
    c.join();
  }
  ASSERT_EQ(errors.load(), 0);
  ai::LedgerSnapshot s = ai::ledger_state(*client_, "long");
  EXPECT_GT(s.runs, 2) << "the ledger was expected to continue as new several times";
  EXPECT_EQ(s.spent, 32 * 1'000);
  EXPECT_EQ(s.settled, 32);
  EXPECT_EQ(s.reserved, 50'000) << "the hold made before continuing as new is still there";
  EXPECT_EQ(s.open, 1);
  // Keys closed in earlier runs of the chain still answer their first outcome.
  ai::LedgerOutcome early = ai::ledger_reserve(*client_, "long", "c0-0", 2'000);
  EXPECT_TRUE(early.repeated);
  EXPECT_EQ(early.state, "settled");
  EXPECT_EQ(ai::ledger_state(*client_, "long").spent, 32 * 1'000);
}

TEST_F(BudgetSharedTest, AnUnpricedModelUnderABudgetIsRefused) {
  start_worker();
  ai::ensure_budget(*client_, "priced-only", kDollar, on_queue());
  CallSpec spec = dime_call("priced-only");
  spec.model = "mystery-7b";
  EXPECT_EQ(start_call("unpriced", spec).result<std::string>(60s), "refused:unpriced after 0");
  EXPECT_EQ(model_calls_.load(), 0);
  EXPECT_EQ(ai::ledger_state(*client_, "priced-only").reserved, 0);
}

TEST_F(BudgetSharedTest, CallsWithoutALedgerAndBadScopesAreRefusedClearly) {
  start_worker();
  try {
    ai::ledger_reserve(*client_, "nobody", "k", 1);
    FAIL() << "a reservation against a missing ledger succeeded";
  } catch (const ApplicationError& e) {
    EXPECT_EQ(e.type(), "BudgetNotFound");
    EXPECT_NE(std::string(e.what()).find("ensure_budget"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ai::ensure_budget(*client_, "", kDollar, on_queue()), OptionsError);
  EXPECT_THROW(ai::ensure_budget(*client_, "neg", -1, on_queue()), OptionsError);
  // ensure_budget on a running ledger changes its limit only.
  ai::ensure_budget(*client_, "grow", 100'000, on_queue());
  ai::ledger_reserve(*client_, "grow", "a", 100'000);
  EXPECT_THROW(ai::ledger_reserve(*client_, "grow", "b", 100'000), ai::BudgetExceeded);
  ai::LedgerSnapshot s = ai::ensure_budget(*client_, "grow", 200'000, on_queue());
  EXPECT_EQ(s.limit, 200'000);
  EXPECT_EQ(s.reserved, 100'000);
  EXPECT_EQ(ai::ledger_reserve(*client_, "grow", "b", 100'000).state, "reserved");
}

}  // namespace
}  // namespace cairn::testing
