// The ledger's state machine. Every method is deterministic in its inputs: the ledger workflow
// runs the validators and handlers in the run's single-threaded update order, and replay runs
// the handlers again on the recorded requests, reaching the same state.
#include "budget_ledger.h"

namespace cairn::ai {

LedgerBook::LedgerBook(LedgerState state)
    : scope_(std::move(state.scope)),
      limit_(state.limit),
      spent_(state.spent),
      open_(std::move(state.open)),
      settled_(state.settled),
      released_(state.released),
      runs_(state.runs),
      options_(std::move(state.options)) {
  for (const auto& [key, amount] : open_) {
    reserved_ += amount;
  }
  for (LedgerOutcome& o : state.closed) {
    closed_order_.push_back(o.key);
    closed_[o.key] = std::move(o);
  }
}

void LedgerBook::refuse(const std::string& what) const {
  throw ApplicationError("budget \"" + scope_ + "\": " + what, "LedgerRefused",
                         /*non_retryable=*/true);
}

const LedgerOutcome* LedgerBook::closed(const std::string& key) const {
  auto it = closed_.find(key);
  return it == closed_.end() ? nullptr : &it->second;
}

void LedgerBook::close(LedgerOutcome outcome) {
  open_.erase(outcome.key);
  closed_order_.push_back(outcome.key);
  closed_[outcome.key] = std::move(outcome);
  // Forget the oldest closed keys past the bound: the state carried across continue-as-new
  // stays small. A repeat of a forgotten key is treated as new.
  while (static_cast<int64_t>(closed_order_.size()) >
         std::max<int64_t>(options_.remembered_keys, 0)) {
    closed_.erase(closed_order_.front());
    closed_order_.pop_front();
  }
}

void LedgerBook::check_reserve(const ReserveRequest& r) const {
  if (r.key.empty()) {
    refuse("reserve needs a key (the call's idempotency key)");
  }
  if (open_.contains(r.key) || closed(r.key) != nullptr) {
    return;  // a repeat: answered with the first outcome
  }
  if (r.amount < 0 || r.amount > kMaxLedgerAmount) {
    refuse("reserve of key " + r.key + ": amount " + std::to_string(r.amount) +
           " micro-dollars is out of range (0 to " + std::to_string(kMaxLedgerAmount) + ")");
  }
  if (spent_ + reserved_ + r.amount > limit_) {
    throw BudgetExceeded(scope_, limit_, spent_, reserved_, r.amount);
  }
}

LedgerOutcome LedgerBook::reserve(const ReserveRequest& r) {
  check_reserve(r);
  if (auto it = open_.find(r.key); it != open_.end()) {
    return {r.key, "reserved", it->second, 0, true};
  }
  if (const LedgerOutcome* c = closed(r.key)) {
    LedgerOutcome o = *c;
    o.repeated = true;
    return o;
  }
  open_[r.key] = r.amount;
  reserved_ += r.amount;
  return {r.key, "reserved", r.amount, 0, false};
}

void LedgerBook::check_settle(const SettleRequest& r) const {
  if (r.key.empty()) {
    refuse("settle needs a key (the key its reservation was made with)");
  }
  if (closed(r.key) != nullptr) {
    return;
  }
  auto it = open_.find(r.key);
  if (it == open_.end()) {
    refuse("settle of key " + r.key +
           " refused: no reservation is held under this key (never reserved, or forgotten)");
  }
  if (r.actual < 0 || r.actual > it->second) {
    refuse("settle of key " + r.key + " refused: actual cost " + format_dollars(r.actual) + " is " +
           (r.actual < 0 ? std::string("negative")
                         : "above the reservation " + format_dollars(it->second)) +
           "; the reservation stays held (settle at most the reserved amount, or release it)");
  }
}

LedgerOutcome LedgerBook::settle(const SettleRequest& r) {
  check_settle(r);
  if (const LedgerOutcome* c = closed(r.key)) {
    LedgerOutcome o = *c;
    o.repeated = true;
    return o;
  }
  Micros amount = open_.at(r.key);
  reserved_ -= amount;
  spent_ += r.actual;
  ++settled_;
  LedgerOutcome o{r.key, "settled", amount, r.actual, false};
  close(o);
  return o;
}

void LedgerBook::check_release(const ReleaseRequest& r) const {
  if (r.key.empty()) {
    refuse("release needs a key (the key its reservation was made with)");
  }
}

LedgerOutcome LedgerBook::release(const ReleaseRequest& r) {
  check_release(r);
  if (const LedgerOutcome* c = closed(r.key)) {
    LedgerOutcome o = *c;
    o.repeated = true;
    return o;
  }
  Micros amount = 0;
  if (auto it = open_.find(r.key); it != open_.end()) {
    amount = it->second;
    reserved_ -= amount;
  }
  // An unknown key is remembered as released too: a reserve with it arriving late (its call
  // already given up) is answered "released" instead of holding money nobody settles.
  ++released_;
  LedgerOutcome o{r.key, "released", amount, 0, false};
  close(o);
  return o;
}

void LedgerBook::check_set_limit(const SetLimitRequest& r) const {
  if (r.limit < 0 || r.limit > kMaxLedgerAmount) {
    refuse("set_limit: limit " + std::to_string(r.limit) + " micro-dollars is out of range (0 to " +
           std::to_string(kMaxLedgerAmount) + ")");
  }
}

LedgerSnapshot LedgerBook::set_limit(const SetLimitRequest& r) {
  check_set_limit(r);
  limit_ = r.limit;
  return snapshot();
}

LedgerSnapshot LedgerBook::snapshot() const {
  LedgerSnapshot s;
  s.scope = scope_;
  s.limit = limit_;
  s.spent = spent_;
  s.reserved = reserved_;
  s.open = static_cast<int64_t>(open_.size());
  s.settled = settled_;
  s.released = released_;
  s.runs = runs_;
  return s;
}

LedgerState LedgerBook::state() const {
  LedgerState s;
  s.scope = scope_;
  s.limit = limit_;
  s.spent = spent_;
  s.open = open_;
  for (const std::string& key : closed_order_) {
    s.closed.push_back(closed_.at(key));
  }
  s.settled = settled_;
  s.released = released_;
  s.runs = runs_;
  s.options = options_;
  return s;
}

}  // namespace cairn::ai
