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
  // Decided inside a handler, after the update is applied (the history length is the current
  // workflow task's, so replay decides the same). Updates that reach the closed run are refused
  // ("closing") or left unadmitted, and the callers retry them on the new run (ledger_call).
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
  // Continue as new in a workflow task of its own (after a 1 ms durable timer), so that the
  // closing task answers no update: a query on the closed run (which sees the state before its
  // closing task) then agrees with the next run's input. Updates delivered with the closing
  // task are refused as "closing" and asked again on the next run by the callers.
  ctx.sleep(std::chrono::milliseconds(1));
  LedgerState next = book.state();
  next.runs += 1;
  ctx.continue_as_new(next);
}

}  // namespace cairn::ai
