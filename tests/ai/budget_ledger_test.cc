// The ledger's state machine (LedgerBook): admission at the limit, repeats answered with the
// first outcome, settle and release rules, the bounded memory of closed keys, and the state
// carried across continue-as-new; BudgetExceeded across the failure / message boundary.
#include "ai/src/budget_ledger.h"

#include <gtest/gtest.h>

#include "cairn/ai/budget.h"

namespace cairn::ai {
namespace {

LedgerState dollar_budget() {
  LedgerState s;
  s.scope = "team-a/2026-12";
  s.limit = kMicrosPerDollar;
  return s;
}

// Runs a request the way the ledger workflow does: the validator first, then the handler.
LedgerOutcome reserve(LedgerBook& book, const std::string& key, Micros amount) {
  book.check_reserve({key, amount});
  return book.reserve({key, amount});
}

TEST(BudgetLedger, AdmitsUpToTheLimitAndNoFurther) {
  LedgerBook book(dollar_budget());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(reserve(book, "k" + std::to_string(i), 100'000).state, "reserved");
  }
  try {
    book.check_reserve({"k10", 100'000});
    FAIL() << "the eleventh $0.10 reservation was admitted";
  } catch (const BudgetExceeded& e) {
    EXPECT_EQ(e.scope(), "team-a/2026-12");
    EXPECT_EQ(e.limit(), kMicrosPerDollar);
    EXPECT_EQ(e.reserved(), kMicrosPerDollar);
    EXPECT_EQ(e.requested(), 100'000);
    EXPECT_TRUE(e.non_retryable());
    EXPECT_EQ(e.type(), "BudgetExceeded");
  }
  EXPECT_EQ(book.snapshot().reserved, kMicrosPerDollar);
  EXPECT_EQ(book.snapshot().available(), 0);
}

TEST(BudgetLedger, ARepeatedKeyAnswersItsFirstOutcomeAndCountsOnce) {
  LedgerBook book(dollar_budget());
  EXPECT_FALSE(reserve(book, "run-1:1", 300'000).repeated);
  LedgerOutcome again = reserve(book, "run-1:1", 900'000);  // a retry: amount ignored
  EXPECT_TRUE(again.repeated);
  EXPECT_EQ(again.amount, 300'000);
  EXPECT_EQ(book.snapshot().reserved, 300'000);

  book.check_settle({"run-1:1", 250'000});
  EXPECT_EQ(book.settle({"run-1:1", 250'000}).actual, 250'000);
  LedgerOutcome resettle = book.settle({"run-1:1", 1});
  EXPECT_TRUE(resettle.repeated);
  EXPECT_EQ(resettle.actual, 250'000);
  // A reserve of the settled key (a replayed call) is its settled outcome, not a new hold.
  EXPECT_EQ(reserve(book, "run-1:1", 300'000).state, "settled");
  LedgerSnapshot s = book.snapshot();
  EXPECT_EQ(s.spent, 250'000);
  EXPECT_EQ(s.reserved, 0);
  EXPECT_EQ(s.settled, 1);
}

TEST(BudgetLedger, SettleReleasesTheRestAndRefusesMoreThanReserved) {
  LedgerBook book(dollar_budget());
  reserve(book, "a", 400'000);
  try {
    book.check_settle({"a", 400'001});
    FAIL() << "a settle above the reservation was accepted";
  } catch (const ApplicationError& e) {
    EXPECT_EQ(e.type(), "LedgerRefused");
    EXPECT_NE(std::string(e.what()).find("above the reservation $0.400000"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(book.snapshot().reserved, 400'000) << "a refused settle leaves the hold in place";
  EXPECT_THROW(book.check_settle({"never-reserved", 1}), ApplicationError);
  EXPECT_THROW(book.check_settle({"a", -1}), ApplicationError);
  book.settle({"a", 100'000});
  EXPECT_EQ(book.snapshot().spent, 100'000);
  EXPECT_EQ(book.snapshot().available(), 900'000);
}

TEST(BudgetLedger, ReleaseFreesTheHoldAndTombstonesUnknownKeys) {
  LedgerBook book(dollar_budget());
  reserve(book, "a", 1'000'000);
  EXPECT_THROW(book.check_reserve({"b", 1}), BudgetExceeded);
  book.check_release({"a"});
  EXPECT_EQ(book.release({"a"}).amount, 1'000'000);
  EXPECT_NO_THROW(book.check_reserve({"b", 1'000'000}));
  // Releasing a key never reserved (the call gave up before its reservation arrived) keeps
  // the late reservation from holding money.
  book.release({"late"});
  EXPECT_EQ(reserve(book, "late", 500'000).state, "released");
  EXPECT_EQ(book.snapshot().reserved, 0);
  EXPECT_THROW(book.check_release({""}), ApplicationError);
}

TEST(BudgetLedger, RefusesEmptyKeysAndAmountsOutOfRange) {
  LedgerBook book(dollar_budget());
  EXPECT_THROW(book.check_reserve({"", 1}), ApplicationError);
  EXPECT_THROW(book.check_reserve({"a", -5}), ApplicationError);
  EXPECT_THROW(book.check_reserve({"a", kMaxLedgerAmount + 1}), ApplicationError);
  EXPECT_THROW(book.check_set_limit({-1}), ApplicationError);
}

TEST(BudgetLedger, LoweringTheLimitBlocksNewReservationsOnly) {
  LedgerBook book(dollar_budget());
  reserve(book, "a", 600'000);
  book.set_limit({500'000});
  EXPECT_EQ(book.snapshot().available(), -100'000);
  EXPECT_THROW(book.check_reserve({"b", 0 + 1}), BudgetExceeded);
  EXPECT_NO_THROW(book.check_reserve({"a", 600'000})) << "a repeat is still answered";
}

TEST(BudgetLedger, StateCarriedAcrossContinueAsNewKeepsHoldsAndRepeats) {
  LedgerState initial = dollar_budget();
  initial.options.remembered_keys = 3;
  LedgerBook book(initial);
  reserve(book, "open", 200'000);
  for (int i = 0; i < 5; ++i) {
    std::string key = "done" + std::to_string(i);
    reserve(book, key, 10'000);
    book.settle({key, 10'000});
  }
  nlohmann::json carried = book.state();  // as the continue-as-new input travels
  LedgerBook next(carried.get<LedgerState>());
  LedgerSnapshot s = next.snapshot();
  EXPECT_EQ(s.spent, 50'000);
  EXPECT_EQ(s.reserved, 200'000);
  EXPECT_EQ(s.open, 1);
  EXPECT_EQ(s.settled, 5);
  EXPECT_TRUE(reserve(next, "open", 1).repeated);
  EXPECT_EQ(reserve(next, "done4", 10'000).state, "settled");
  // Only the newest three closed keys are remembered; the oldest is treated as new.
  EXPECT_EQ(next.state().closed.size(), 3u);
  EXPECT_EQ(reserve(next, "done0", 10'000).state, "reserved");
}

TEST(BudgetExceededError, SurvivesTheActivityFailureAndTheValidatorMessage) {
  BudgetExceeded e("team-a", 1'000'000, 900'000, 50'000, 100'000);
  v1::Failure f;
  f.set_message(e.what());
  f.mutable_application_failure_info()->set_type(e.type());
  *f.mutable_application_failure_info()->mutable_details() = e.details();
  auto back = BudgetExceeded::from_failure(f);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->to_json(), e.to_json());

  // A validator's refusal reaches the caller as text only, behind the SDK's prefix.
  auto parsed = BudgetExceeded::from_message(std::string("update reserve rejected: ") + e.what());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->scope(), "team-a");
  EXPECT_EQ(parsed->limit(), 1'000'000);
  EXPECT_EQ(parsed->spent(), 900'000);
  EXPECT_EQ(parsed->reserved(), 50'000);
  EXPECT_EQ(parsed->requested(), 100'000);
  EXPECT_FALSE(BudgetExceeded::from_message("update reserve rejected: unknown update type"));

  v1::Failure other;
  other.mutable_application_failure_info()->set_type("RateLimited");
  EXPECT_FALSE(BudgetExceeded::from_failure(other));
}

TEST(BudgetExceededError, AnUnpricedModelIsRefusedNamingTheModel) {
  BudgetExceeded e = BudgetExceeded::unpriced_model("team-a", "mystery-7b");
  EXPECT_EQ(e.reason(), "unpriced");
  EXPECT_NE(std::string(e.what()).find("\"mystery-7b\" has no price"), std::string::npos);
  auto parsed = BudgetExceeded::from_message(e.what());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->model(), "mystery-7b");
  EXPECT_EQ(parsed->reason(), "unpriced");

  PriceTable prices = PriceTable::defaults();
  EXPECT_THROW(reservation_for(prices, "team-a", "mystery-7b", 1000, 100, 0), BudgetExceeded);
  Micros sonnet = reservation_for(prices, "team-a", "claude-3-5-sonnet", 1000, 100, 0);
  EXPECT_EQ(sonnet, max_cost(*prices.find("claude-3-5-sonnet"), 1000, 100, 0));
  EXPECT_GT(sonnet, 0);
}

}  // namespace
}  // namespace cairn::ai
