// The ledger workflow "cairn.ai.ledger": one run chain per scope, its state carried across
// continue-as-new. Every change is an update: the validator refuses without writing history,
// the handler changes the state in the run's single-threaded update order (so two concurrent
// reservations can never both pass the last dollar), and replay re-runs the handlers on the
// recorded requests.
#include "budget_internal.h"
#include "budget_ledger.h"

namespace cairn::ai {

LedgerSnapshot ledger_workflow(WorkflowContext& ctx, LedgerState state) {
  LedgerBook book(std::move(state));
  bool continue_now = false;
  // Decided inside a handler, after the update is applied: the code then runs again in the same
  // workflow task and continues as new with every update of that task answered. Updates that
  // arrive later are refused ("closing") or left unadmitted by the closed run, and the callers
  // retry them on the new run (ledger_call).
  auto check_history = [&] {
    const WorkflowInfo& info = ctx.info();
    if (info.continue_as_new_suggested ||
        info.history_length >= book.options().continue_after_events) {
      continue_now = true;
    }
  };
  ctx.set_update_handler(
      "reserve",
      [&](const ReserveRequest& r) {
        LedgerOutcome o = book.reserve(r);
        check_history();
        return o;
      },
      [&](const ReserveRequest& r) { book.check_reserve(r); });
  ctx.set_update_handler(
      "settle",
      [&](const SettleRequest& r) {
        LedgerOutcome o = book.settle(r);
        check_history();
        return o;
      },
      [&](const SettleRequest& r) { book.check_settle(r); });
  ctx.set_update_handler(
      "release",
      [&](const ReleaseRequest& r) {
        LedgerOutcome o = book.release(r);
        check_history();
        return o;
      },
      [&](const ReleaseRequest& r) { book.check_release(r); });
  ctx.set_update_handler(
      "set_limit",
      [&](const SetLimitRequest& r) {
        LedgerSnapshot s = book.set_limit(r);
        check_history();
        return s;
      },
      [&](const SetLimitRequest& r) { book.check_set_limit(r); });
  ctx.set_query_handler("state", [&] { return book.snapshot(); });

  ctx.await_condition([&] { return continue_now; });
  LedgerState next = book.state();
  next.runs += 1;
  ctx.continue_as_new(next);
}

}  // namespace cairn::ai
