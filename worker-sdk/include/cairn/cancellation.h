// CancellationScope: a part of a workflow that can be canceled on its own. Activities, timers,
// local activities and signal waits started inside `scope.run(fn)` belong to the scope; cancel()
// cancels those still pending (RequestCancelActivityTask / CancelTimer) and their futures throw
// CanceledError, while the rest of the workflow continues. Scopes nest: canceling a scope (or the
// whole workflow, by a cancel request) cancels its cancellable descendants; a non-cancellable
// scope is reached only by its own cancel(), which is how clean-up code runs after the workflow
// was asked to cancel. Used on the workflow fiber only, like the WorkflowContext it came from.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace cairn {
namespace detail {

class WorkflowCore;

// A node of a run's scope tree; the root stands for the workflow itself.
struct ScopeState {
  std::shared_ptr<ScopeState> parent;  // null: the root
  bool non_cancellable = false;        // a canceled ancestor does not reach inside
  bool canceled = false;               // cancel() on this scope (root: the run's cancel request)

  // Whether work started in this scope is canceled: by its own cancel(), or by a canceled
  // ancestor reached without crossing a non-cancellable scope.
  bool is_canceled() const {
    for (const ScopeState* s = this; s != nullptr; s = s->parent.get()) {
      if (s->canceled) {
        return true;
      }
      if (s->non_cancellable) {
        return false;
      }
    }
    return false;
  }
};

}  // namespace detail

class CancellationScope {
 public:
  CancellationScope(detail::WorkflowCore* core, std::shared_ptr<detail::ScopeState> state)
      : core_(core), state_(std::move(state)) {}

  // Runs `fn` with this scope as the current one and returns what it returns. Work that `fn`
  // starts stays in this scope after run() returns (its futures may be awaited later).
  template <class F>
  decltype(auto) run(F&& fn) {
    Enter guard(*this);
    return std::forward<F>(fn)();
  }

  // Cancels the scope: pending work in it (and in its cancellable descendants) is canceled
  // according to each activity's cancellation_type, and work started in it later fails at once
  // with CanceledError. Idempotent.
  void cancel();
  // True after cancel(), or when a cancellation reached it from an ancestor.
  bool canceled() const { return state_->is_canceled(); }

 private:
  // Makes the scope current for its lifetime (exceptions and fiber unwinding included).
  class Enter {
   public:
    explicit Enter(CancellationScope& scope);
    ~Enter();
    Enter(const Enter&) = delete;
    Enter& operator=(const Enter&) = delete;

   private:
    detail::WorkflowCore* core_;
    std::shared_ptr<detail::ScopeState> previous_;
  };

  detail::WorkflowCore* core_;
  std::shared_ptr<detail::ScopeState> state_;
};

}  // namespace cairn
