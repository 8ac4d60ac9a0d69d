// LedgerBook: the ledger workflow's state machine — reservations by key, spent, the limit, and
// the remembered outcomes of closed keys — as plain data with no workflow code, so that it is
// deterministic and unit-tested. check_* are the update validators (throw to refuse, change
// nothing); the other methods are the handlers (REQUIRES: the matching check passed). A repeat
// of a known key answers its first outcome. Not thread-safe (one workflow fiber owns it).
#pragma once

#include <deque>
#include <map>
#include <string>

#include "cairn/ai/budget.h"

namespace cairn::ai {

// The largest amount or limit a ledger takes ($1e9): sums of them never overflow.
inline constexpr Micros kMaxLedgerAmount = 1'000'000'000LL * kMicrosPerDollar;

class LedgerBook {
 public:
  explicit LedgerBook(LedgerState state);

  // Throws BudgetExceeded when a new key's amount would pass the limit; ApplicationError type
  // "LedgerRefused" for an empty key or an amount out of range.
  void check_reserve(const ReserveRequest& r) const;
  LedgerOutcome reserve(const ReserveRequest& r);
  // Throws "LedgerRefused" for an unknown key or an actual above the reservation / negative.
  void check_settle(const SettleRequest& r) const;
  LedgerOutcome settle(const SettleRequest& r);
  // Throws "LedgerRefused" for an empty key only: an unknown key is recorded as released.
  void check_release(const ReleaseRequest& r) const;
  LedgerOutcome release(const ReleaseRequest& r);
  // Throws "LedgerRefused" for a limit out of range.
  void check_set_limit(const SetLimitRequest& r) const;
  LedgerSnapshot set_limit(const SetLimitRequest& r);

  LedgerSnapshot snapshot() const;
  // The state to carry into the next run (continue-as-new).
  LedgerState state() const;
  const LedgerOptions& options() const { return options_; }

 private:
  const LedgerOutcome* closed(const std::string& key) const;
  void close(LedgerOutcome outcome);
  [[noreturn]] void refuse(const std::string& what) const;

  std::string scope_;
  Micros limit_;
  Micros spent_;
  Micros reserved_ = 0;
  std::map<std::string, Micros> open_;
  std::map<std::string, LedgerOutcome> closed_;
  std::deque<std::string> closed_order_;  // oldest first
  int64_t settled_;
  int64_t released_;
  int64_t runs_;
  LedgerOptions options_;
};

}  // namespace cairn::ai
