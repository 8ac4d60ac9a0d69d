// WorkflowContext: what workflow code may use — activities, durable timers, signals, and
// deterministic time, randomness and ids. Workflow code runs on a fiber owned by the worker and
// is replayed from history on every workflow task, so it must not use threads, wall-clock time,
// randomness or I/O directly. A context and its futures belong to one workflow fiber.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "cairn/cancellation.h"
#include "cairn/errors.h"
#include "cairn/options.h"
#include "cairn/payload.h"

namespace cairn {

struct WorkflowInfo {
  std::string namespace_;
  std::string workflow_id;
  std::string run_id;
  std::string workflow_type;
  std::string task_queue;
  int attempt = 1;
  // From the current WorkflowTaskStarted: the server suggests continue-as-new (the history
  // passed its threshold), and the history's size so far.
  bool continue_as_new_suggested = false;
  int64_t history_length = 0;
  int64_t history_size_bytes = 0;
  std::string parent_workflow_id;     // empty for a top-level run
  std::string continued_from_run_id;  // empty for the first run of a chain
  PayloadMap memo;                    // as the run was started with
  PayloadMap search_attributes;       // as started, with the run's upserts applied
};

struct ChildWorkflowOptions;  // cairn/child_workflow.h

namespace detail {

// The shared state of one Future: set once by the replayer from a history event (or by
// cancellation), read by the workflow fiber.
struct FutureState {
  bool ready = false;
  v1::Payloads value;
  std::exception_ptr error;
  std::string what;  // what waiting on it means, for the __stack_trace query
};

// Query and update handlers over payloads (see WorkflowContext::set_query_handler).
using PayloadHandler = std::function<v1::Payloads(const v1::Payloads&)>;

template <class F>
struct handler_traits : handler_traits<decltype(&F::operator())> {};
template <class R, class... A>
struct handler_traits<R (*)(A...)> {
  using result = R;
  using args = std::tuple<std::decay_t<A>...>;
};
template <class C, class R, class... A>
struct handler_traits<R (C::*)(A...) const> : handler_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct handler_traits<R (C::*)(A...)> : handler_traits<R (*)(A...)> {};

// Wraps `fn(Args...)` (a lambda or function pointer) as a PayloadHandler: arguments decoded in
// order, the result encoded (void: no payloads).
template <class F>
PayloadHandler payload_handler(F fn) {
  using T = handler_traits<std::decay_t<F>>;
  using Args = typename T::args;
  using R = typename T::result;
  return [fn = std::move(fn)](const v1::Payloads& in) mutable -> v1::Payloads {
    auto args = [&]<size_t... I>(std::index_sequence<I...>) {
      return Args{from_payloads<std::tuple_element_t<I, Args>>(in, static_cast<int>(I))...};
    }(std::make_index_sequence<std::tuple_size_v<Args>>());
    if constexpr (std::is_void_v<R>) {
      std::apply(fn, args);
      return v1::Payloads();
    } else {
      return to_payloads(std::apply(fn, args));
    }
  };
}

// Thrown by WorkflowContext::continue_as_new; not a cairn::Error so that workflow code catching
// Error does not swallow it.
struct ContinueAsNewRequest {
  std::string workflow_type;
  std::string task_queue;
  v1::Payloads input;
  std::optional<PayloadMap> memo;               // unset: carried over
  std::optional<PayloadMap> search_attributes;  // unset: carried over
};

// Throws OptionsError when `request` breaks a rule the server applies to continue-as-new
// (worker-sdk/src/options_check.cc).
void check_continue_as_new_request(const ContinueAsNewRequest& request);

// The replay engine as workflow code sees it (implemented by worker-sdk/src/replayer.h). Every
// method must be called from the workflow fiber.
// A child workflow as workflow code holds it (see WorkflowCore::start_child).
struct ChildStart {
  std::string workflow_id;
  std::shared_ptr<FutureState> started;  // value: the child's run id
  std::shared_ptr<FutureState> result;
};

class WorkflowCore {
 public:
  virtual ~WorkflowCore() = default;
  virtual std::shared_ptr<FutureState> schedule_activity(const std::string& type,
                                                         v1::Payloads input,
                                                         const ActivityOptions& options) = 0;
  virtual std::shared_ptr<FutureState> start_timer(std::chrono::milliseconds duration) = 0;
  // Suspends the fiber until `state` is ready.
  virtual void await(FutureState& state) = 0;
  // The oldest buffered signal `name`, waiting for one; nullopt when `timeout` passed first
  // (no timeout: wait forever). Throws CanceledError when the run is asked to cancel.
  virtual std::optional<v1::Payloads> receive_signal(
      const std::string& name, std::optional<std::chrono::milliseconds> timeout) = 0;
  virtual std::optional<v1::Payloads> try_receive_signal(const std::string& name) = 0;
  virtual v1::Payloads side_effect(const std::function<v1::Payloads()>& fn) = 0;
  virtual std::chrono::system_clock::time_point now() const = 0;
  virtual uint64_t random() = 0;
  virtual std::string uuid() = 0;
  virtual bool cancel_requested() const = 0;
  virtual bool is_replaying() const = 0;
  virtual const WorkflowInfo& info() const = 0;

  // Child workflows and requests to other runs (child_replay.cc). The defaults throw: only the
  // replayer implements them.
  virtual ChildStart start_child(const std::string& type, v1::Payloads input,
                                 const ChildWorkflowOptions& options);
  virtual std::shared_ptr<FutureState> signal_external(const std::string& workflow_id,
                                                       const std::string& run_id,
                                                       const std::string& name,
                                                       v1::Payloads input);
  virtual std::shared_ptr<FutureState> cancel_external(const std::string& workflow_id,
                                                       const std::string& run_id);

  // Versioning, local activities, conditions and cancellation scopes (see WorkflowContext).
  // The defaults throw: only the replayer implements them.
  virtual bool patched(const std::string& patch_id, bool deprecated);
  virtual void upsert_search_attributes(const PayloadMap& attributes);
  virtual std::shared_ptr<FutureState> schedule_local_activity(
      const std::string& type, v1::Payloads input, const LocalActivityOptions& options);
  // Suspends the fiber until `ready()` holds (true) or `timeout` passed first (false).
  virtual bool await_condition(const std::function<bool()>& ready,
                               std::optional<std::chrono::milliseconds> timeout);
  // A new scope below the current one.
  virtual std::shared_ptr<ScopeState> new_scope(bool non_cancellable);
  // Makes `scope` current; returns the previous one.
  virtual std::shared_ptr<ScopeState> swap_scope(std::shared_ptr<ScopeState> scope);
  virtual void cancel_scope(ScopeState& scope);

  // Queries and updates (query_update.cc). The defaults throw: only the replayer has them.
  virtual void set_query_handler(const std::string& name, PayloadHandler handler);
  virtual void set_update_handler(const std::string& name, PayloadHandler handler,
                                  PayloadHandler validator);
};

}  // namespace detail

// The eventual result of an activity or timer. get() suspends the workflow until the result is
// in history, then returns it or throws (ActivityError, CanceledError, PayloadError).
template <class T>
class Future {
 public:
  Future(detail::WorkflowCore* core, std::shared_ptr<detail::FutureState> state)
      : core_(core), state_(std::move(state)) {}

  bool ready() const { return state_->ready; }
  // The engine this future belongs to (for the combinators in cairn/combinators.h).
  detail::WorkflowCore* core() const { return core_; }

  T get() {
    core_->await(*state_);
    if (state_->error) {
      std::rethrow_exception(state_->error);
    }
    if constexpr (!std::is_void_v<T>) {
      return from_payloads<T>(state_->value);
    }
  }

 private:
  detail::WorkflowCore* core_;
  std::shared_ptr<detail::FutureState> state_;
};

// The signals named `name` sent to this run, in the order history recorded them. Signals that
// arrive before anyone waits are buffered.
template <class T>
class SignalChannel {
 public:
  SignalChannel(detail::WorkflowCore* core, std::string name)
      : core_(core), name_(std::move(name)) {}

  // The next signal; waits as long as it takes (no worker is held while it waits).
  T wait() { return from_payloads<T>(*core_->receive_signal(name_, std::nullopt)); }

  // The next signal, or nullopt when none arrived within `timeout` (a durable timer; 0: do not
  // wait). A negative timeout throws OptionsError.
  std::optional<T> wait_for(std::chrono::milliseconds timeout) {
    auto p = core_->receive_signal(name_, timeout);
    if (!p) {
      return std::nullopt;
    }
    return from_payloads<T>(*p);
  }

  // The next buffered signal, without waiting.
  std::optional<T> try_receive() {
    auto p = core_->try_receive_signal(name_);
    if (!p) {
      return std::nullopt;
    }
    return from_payloads<T>(*p);
  }

 private:
  detail::WorkflowCore* core_;
  std::string name_;
};

template <class R>
class ChildWorkflow;  // cairn/child_workflow.h

class WorkflowContext {
 public:
  explicit WorkflowContext(detail::WorkflowCore& core) : core_(&core) {}

  // Schedules activity `type` with one argument. Throws OptionsError (nothing is scheduled) when
  // the options break a rule the server applies: a negative timeout, neither start_to_close nor
  // schedule_to_close set, a bad retry policy (initial_interval or maximum_interval negative,
  // backoff_coefficient neither 0 nor >= 1, maximum_interval below initial_interval,
  // maximum_attempts negative), a task_queue or activity_id over 1000 bytes or not printable
  // UTF-8. The same options throw the same way on every replay.
  template <class R, class A>
  Future<R> activity(const std::string& type, const A& arg, const ActivityOptions& options) {
    return Future<R>(core_, core_->schedule_activity(type, to_payloads(arg), options));
  }
  // Schedules activity `type` without arguments.
  template <class R>
  Future<R> activity(const std::string& type, const ActivityOptions& options) {
    return Future<R>(core_, core_->schedule_activity(type, v1::Payloads(), options));
  }
  // Schedules activity `type` with any number of arguments.
  template <class R, class... A>
  Future<R> activity_with(const std::string& type, const ActivityOptions& options,
                          const A&... args) {
    return Future<R>(core_, core_->schedule_activity(type, to_payloads(args...), options));
  }

  // A durable timer. A zero duration is ready at once (no timer is started); a negative one
  // throws OptionsError.
  Future<void> timer(std::chrono::milliseconds duration) {
    return Future<void>(core_, core_->start_timer(duration));
  }
  void sleep(std::chrono::milliseconds duration) { timer(duration).get(); }

  template <class T>
  SignalChannel<T> signal(const std::string& name) {
    return SignalChannel<T>(core_, name);
  }
  template <class T>
  SignalChannel<T> signal_channel(const std::string& name) {
    return SignalChannel<T>(core_, name);
  }

  // Runs `fn` once, records its result in history, and returns the recorded result on replay.
  template <class T, class F>
  T side_effect(F&& fn) {
    v1::Payloads p = core_->side_effect([&] { return to_payloads(fn()); });
    return from_payloads<T>(p);
  }

  // Runs activity `type` in this worker, inside the workflow task, retried in-process; the
  // outcome is recorded as a "LocalActivity" marker and replay reads it from there without
  // running the function again. The activity must be registered on this worker.
  // Throws OptionsError for bad options: the rules of activity(), plus local_retry_threshold
  // not negative.
  template <class R, class A>
  Future<R> local_activity(const std::string& type, const A& arg,
                           const LocalActivityOptions& options) {
    return Future<R>(core_, core_->schedule_local_activity(type, to_payloads(arg), options));
  }
  template <class R>
  Future<R> local_activity(const std::string& type, const LocalActivityOptions& options) {
    return Future<R>(core_, core_->schedule_local_activity(type, v1::Payloads(), options));
  }
  template <class R, class... A>
  Future<R> local_activity_with(const std::string& type, const LocalActivityOptions& options,
                                const A&... args) {
    return Future<R>(core_, core_->schedule_local_activity(type, to_payloads(args...), options));
  }

  // Versioning. On first execution returns true and records a "Version" marker for `patch_id`;
  // replaying a workflow task whose recorded commands have no marker for it returns false, so
  // that running workflows keep the old code path. The answer is remembered for the run.
  bool patched(const std::string& patch_id) { return core_->patched(patch_id, false); }
  // Records the marker like patched() but without branching: once no run still needs the old
  // path, replace `if (ctx.patched(id))` by `ctx.deprecate_patch(id)`; later remove it too.
  void deprecate_patch(const std::string& patch_id) { core_->patched(patch_id, true); }

  // Sets search attributes of this run (visibility: `cairnctl workflow list --query ...`); a
  // null payload (cairn::to_payload(nullptr)) removes one. Each name must be registered in the
  // namespace (`cairnctl search-attribute add`) and each value fit its type, else the workflow
  // task fails with the server's message. A name that can never be registered (not a letter
  // first, then letters, digits and '_', at most 64 bytes) or a system attribute (WorkflowId,
  // RunId, ...) throws OptionsError here instead. info().search_attributes shows the result at
  // once.
  void upsert_search_attributes(const PayloadMap& attributes) {
    core_->upsert_search_attributes(attributes);
  }

  // Waits until `ready()` holds. It is re-evaluated whenever the workflow makes progress (a
  // new event, a resolved local activity); it must read workflow state only.
  void await_condition(const std::function<bool()>& ready) {
    core_->await_condition(ready, std::nullopt);
  }
  // The same with a durable timeout: false when `timeout` passed first. A negative timeout
  // throws OptionsError.
  bool await_condition(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
    return core_->await_condition(ready, timeout);
  }

  // A new cancellable scope below the current one; see cairn/cancellation.h.
  CancellationScope cancellation_scope() { return CancellationScope(core_, core_->new_scope(false)); }
  // A scope that a cancellation of the workflow (or of an enclosing scope) does not reach.
  CancellationScope non_cancellable_scope() {
    return CancellationScope(core_, core_->new_scope(true));
  }
  // Runs `fn` in a new cancellable (or non-cancellable) scope and returns its result.
  template <class F>
  decltype(auto) cancellation_scope(F&& fn) {
    return cancellation_scope().run(std::forward<F>(fn));
  }
  template <class F>
  decltype(auto) non_cancellable(F&& fn) {
    return non_cancellable_scope().run(std::forward<F>(fn));
  }

  // Answers query `name`: `fn(Args...)` returns the answer (any JSON-convertible type). It runs
  // after the worker replays the run, outside workflow code: it must only read workflow state —
  // no activities, timers, signals or waiting. A query on a closed run sees the workflow as of
  // its last wait before the workflow task that closed it (its locals are still alive there).
  // "__stack_trace" is built in.
  template <class F>
  void set_query_handler(const std::string& name, F fn) {
    core_->set_query_handler(name, detail::payload_handler(std::move(fn)));
  }
  // Handles update `name`: `validator(Args...)` (optional) throws to reject the request without
  // writing history; `handler(Args...)` then runs once, in the workflow task that accepts it, and
  // its result (or exception) completes the update. The handler may change workflow state and
  // start activities or timers, but not wait for them (awaiting inside it fails the update).
  template <class F>
  void set_update_handler(const std::string& name, F handler) {
    core_->set_update_handler(name, detail::payload_handler(std::move(handler)), nullptr);
  }
  template <class F, class V>
  void set_update_handler(const std::string& name, F handler, V validator) {
    core_->set_update_handler(name, detail::payload_handler(std::move(handler)),
                              detail::payload_handler(std::move(validator)));
  }

  // Starts child workflow `type`: ctx.child<R>(type, args..., ChildWorkflowOptions{...}); the
  // last argument is the options, the others are the child's input. The handle's get() waits
  // for the child's result (ChildWorkflowError when it failed, was canceled, terminated or
  // timed out, or could not start); started() waits for its start and returns its run id.
  template <class R, class... T>
  ChildWorkflow<R> child(const std::string& type, const T&... args_then_options) {
    static_assert(sizeof...(T) >= 1, "the last argument of child() is its ChildWorkflowOptions");
    auto all = std::forward_as_tuple(args_then_options...);
    constexpr size_t n = sizeof...(T) - 1;
    const auto& options = std::get<n>(all);
    v1::Payloads input = [&]<size_t... I>(std::index_sequence<I...>) {
      return to_payloads(std::get<I>(all)...);
    }(std::make_index_sequence<n>());
    return ChildWorkflow<R>(core_, core_->start_child(type, std::move(input), options));
  }

  // Signals run `run_id` (empty: the current run) of `workflow_id`. The future completes when
  // the signal is in that run's history; get() throws ApplicationError (type
  // "ExternalWorkflowExecutionNotFound") when there is no such open run. An empty workflow_id
  // or signal name, or an id over 1000 bytes or not printable UTF-8, throws OptionsError.
  template <class... A>
  Future<void> signal_external(const std::string& workflow_id, const std::string& run_id,
                               const std::string& name, const A&... args) {
    return Future<void>(core_,
                        core_->signal_external(workflow_id, run_id, name, to_payloads(args...)));
  }
  // Asks run `run_id` (empty: current) of `workflow_id` to cancel; completes when requested.
  // Throws OptionsError for an empty or malformed workflow_id / run_id.
  Future<void> cancel_external(const std::string& workflow_id, const std::string& run_id = "") {
    return Future<void>(core_, core_->cancel_external(workflow_id, run_id));
  }

  // Ends this run and starts a new one of the same workflow with `args` (never returns). The new
  // run has the same memo and search attributes.
  template <class... A>
  [[noreturn]] void continue_as_new(const A&... args) {
    throw detail::ContinueAsNewRequest{core_->info().workflow_type, core_->info().task_queue,
                                       to_payloads(args...)};
  }
  // The same, with what the new run changes (empty fields: as this run). Throws OptionsError
  // (the run goes on) for a workflow_type or task_queue over 1000 bytes or not printable UTF-8,
  // or a search attribute name that cannot be registered.
  struct ContinueAsNewOptions {
    std::string workflow_type;
    std::string task_queue;
    std::optional<PayloadMap> memo;
    std::optional<PayloadMap> search_attributes;
  };
  template <class... A>
  [[noreturn]] void continue_as_new_with(const ContinueAsNewOptions& o, const A&... args) {
    detail::ContinueAsNewRequest request{
        o.workflow_type.empty() ? core_->info().workflow_type : o.workflow_type,
        o.task_queue.empty() ? core_->info().task_queue : o.task_queue, to_payloads(args...),
        o.memo, o.search_attributes};
    detail::check_continue_as_new_request(request);
    throw request;
  }

  // Deterministic: the start time of the current workflow task, as recorded in history.
  std::chrono::system_clock::time_point now() const { return core_->now(); }
  // Deterministic pseudo-random numbers and UUIDs, seeded from the run id.
  uint64_t random() { return core_->random(); }
  std::string uuid() { return core_->uuid(); }
  bool cancel_requested() const { return core_->cancel_requested(); }
  // True while the code re-runs events already in history (e.g. to skip logging).
  bool is_replaying() const { return core_->is_replaying(); }
  const WorkflowInfo& info() const { return core_->info(); }

 private:
  detail::WorkflowCore* core_;
};

}  // namespace cairn

#include "cairn/child_workflow.h"  // ChildWorkflow, ChildWorkflowOptions
