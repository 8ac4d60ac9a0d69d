// Cancellation scopes, activity cancellation types and await_condition on the replayer, plus the
// WorkflowCore defaults for engines that do not support them.
#include <algorithm>
#include <stdexcept>

#include "options_check.h"
#include "replayer.h"

namespace cairn {
namespace detail {
namespace {

[[noreturn]] void unsupported(const char* what) {
  throw std::logic_error(std::string("cairn: ") + what + " is not supported here");
}

}  // namespace

bool WorkflowCore::patched(const std::string&, bool) { unsupported("patched()"); }
void WorkflowCore::upsert_search_attributes(const PayloadMap&) {
  unsupported("upsert_search_attributes()");
}
std::shared_ptr<FutureState> WorkflowCore::schedule_local_activity(const std::string&,
                                                                   v1::Payloads,
                                                                   const LocalActivityOptions&) {
  unsupported("local_activity()");
}
bool WorkflowCore::await_condition(const std::function<bool()>&,
                                   std::optional<std::chrono::milliseconds>) {
  unsupported("await_condition()");
}
std::shared_ptr<ScopeState> WorkflowCore::new_scope(bool) { unsupported("cancellation scopes"); }
std::shared_ptr<ScopeState> WorkflowCore::swap_scope(std::shared_ptr<ScopeState>) {
  unsupported("cancellation scopes");
}
void WorkflowCore::cancel_scope(ScopeState&) { unsupported("cancellation scopes"); }

std::shared_ptr<ScopeState> Replayer::new_scope(bool non_cancellable) {
  auto s = std::make_shared<ScopeState>();
  s->parent = scope_;
  s->non_cancellable = non_cancellable;
  return s;
}

std::shared_ptr<ScopeState> Replayer::swap_scope(std::shared_ptr<ScopeState> scope) {
  std::swap(scope, scope_);
  return scope;
}

void Replayer::cancel_scope(ScopeState& scope) {
  if (scope.canceled) {
    return;
  }
  scope.canceled = true;
  cancel_canceled_work();
}

void Replayer::cancel_canceled_work() {
  // Activities, in the order they were scheduled (the order of their cancel commands).
  std::vector<std::shared_ptr<ActivityRecord>> open = open_activities_;
  for (auto& a : open) {
    if (!a->state->ready && !a->cancel_requested && a->scope->is_canceled()) {
      cancel_activity(*a);
    }
  }
  open_activities_.erase(
      std::remove_if(open_activities_.begin(), open_activities_.end(),
                     [](const auto& a) { return a->state->ready || a->cancel_requested; }),
      open_activities_.end());
  // Timers, by id.
  std::vector<std::string> timers;
  for (auto& [id, state] : timers_) {
    auto scope = timer_scopes_.find(id);
    const ScopeState& s = scope == timer_scopes_.end() ? *root_scope_ : *scope->second;
    if (s.is_canceled()) {
      timers.push_back(id);
    }
  }
  for (const auto& id : timers) {
    std::shared_ptr<FutureState> state = timers_[id];
    cancel_timer(id);
    timer_scopes_.erase(id);
    if (!state->error) {
      state->error = std::make_exception_ptr(CanceledError("timer " + id + " canceled"));
    }
  }
  // Child workflows already initiated (child_replay.cc).
  cancel_canceled_children();
  // Local activities not yet run, or waiting for a backoff timer (canceled above), resolve in
  // run_local_activities().
}

void Replayer::cancel_activity(ActivityRecord& a) {
  a.cancel_requested = true;
  auto canceled = [&] {
    a.state->ready = true;
    a.state->error = std::make_exception_ptr(
        CanceledError("activity " + a.type + " (id " + a.id + ") canceled"));
  };
  if (a.scheduled_event_id == 0) {
    // Scheduled by this task and not sent yet: drop the command, the server never sees it.
    // Replay does the same, since the history of that task has no event for it either.
    auto it = std::find_if(pending_.begin(), pending_.end(),
                           [&](const PendingCommand& p) { return p.activity.get() == &a; });
    if (it != pending_.end()) {
      pending_.erase(it);
    }
    canceled();
    return;
  }
  if (a.cancellation_type != ActivityCancellationType::kAbandon) {
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK);
    c.mutable_request_cancel_activity_task_command_attributes()->set_scheduled_event_id(
        a.scheduled_event_id);
    issue(std::move(c));
  }
  if (a.cancellation_type != ActivityCancellationType::kWaitCancellationCompleted) {
    canceled();  // later events for it are ignored (resolve_activity sees it ready)
  }
}

bool Replayer::await_condition(const std::function<bool()>& ready,
                               std::optional<std::chrono::milliseconds> timeout) {
  if (timeout) {
    check_duration(*timeout, "await_condition", "timeout");
  }
  if (ready()) {
    return true;
  }
  std::shared_ptr<ScopeState> scope = scope_;
  if (scope->is_canceled()) {
    throw CanceledError("waiting for a condition: canceled");
  }
  std::shared_ptr<FutureState> timer;
  std::string timer_id;
  if (timeout) {
    if (timeout->count() <= 0) {
      return false;
    }
    timer = start_timer(*timeout);
    timer_id = std::to_string(seq_);
  }
  for (;;) {
    if (!fiber_ || !fiber_->running()) {
      throw std::logic_error("cairn: a condition was awaited outside workflow code");
    }
    set_blocked_on("a condition" + (timer ? " (timer " + timer_id + ")" : std::string()));
    fiber_->yield();
    if (ready()) {
      if (timer && !timer->ready) {
        cancel_timer(timer_id);  // the condition won: the timer is no longer needed
      }
      return true;
    }
    if (timer && timer->ready) {
      if (timer->error) {
        std::rethrow_exception(timer->error);
      }
      return false;
    }
    if (scope->is_canceled()) {
      throw CanceledError("waiting for a condition: canceled");
    }
  }
}

}  // namespace detail

void CancellationScope::cancel() { core_->cancel_scope(*state_); }

CancellationScope::Enter::Enter(CancellationScope& scope)
    : core_(scope.core_), previous_(core_->swap_scope(scope.state_)) {}

CancellationScope::Enter::~Enter() { core_->swap_scope(std::move(previous_)); }

}  // namespace cairn
