// Worker: polls one task queue for workflow and activity tasks and runs the registered workflow
// and activity functions. Workflow code runs on pooled fibers; a run stays cached between its
// workflow tasks (sticky execution: the fiber stays suspended, the server sends only the new
// events to this worker's own queue), and an uncached run replays its full history. Activities
// run on a bounded thread pool. Register everything before start(); start/stop are thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cairn/activity.h"
#include "cairn/client.h"
#include "cairn/workflow.h"

namespace cairn {

struct WorkerOptions {
  std::string task_queue;             // required
  int workflow_pollers = 2;           // concurrent workflow-task long-polls
  int activity_pollers = 2;           // concurrent activity-task long-polls
  int max_concurrent_activities = 100;
  // Runs kept live between workflow tasks (least recently used evicted first). Each holds a
  // fiber stack, but only the pages its code touched are resident (a few KiB for most
  // workflows). 0 turns sticky execution off: every task replays the full history.
  size_t max_cached_workflows = 1000;
  // How long the server holds a cached run's next task for this worker before giving it to any
  // worker on task_queue, with the full history (0: the server's default, 5 s).
  std::chrono::milliseconds sticky_schedule_to_start_timeout{5000};
  // Fiber stack size (pooled, reserved, not resident until touched); 256 KiB leaves room for
  // JSON and protobuf in workflow code.
  size_t fiber_stack_bytes = 256 * 1024;
  std::string identity;  // empty: the client's identity
  // Eager activity dispatch: an activity scheduled by a workflow task of this worker, registered
  // here and on this task queue, is started by the server with the task's completion and run
  // here at once (no poll round trip) while a slot of max_concurrent_activities is free.
  bool eager_activities = true;
};

// What a worker has done with workflow tasks since it started; for metrics and tests.
struct WorkerStats {
  int64_t workflow_tasks = 0;   // answered (completed or failed)
  int64_t cache_hits = 0;       // ran on a cached run: only the new events were applied
  int64_t full_replays = 0;     // replayed the run's history from its first event
  int64_t history_fetches = 0;  // a partial history for an uncached run: full history fetched
  int64_t events_received = 0;  // history events received with tasks and fetches
  int64_t evictions = 0;        // cached runs dropped for room (not counting closed runs)
  int64_t cached_runs = 0;      // cached now
  int64_t eager_activities = 0;  // activity tasks received with workflow-task completions
};

namespace detail {

using WorkflowFunction = std::function<v1::Payloads(WorkflowContext&, const v1::Payloads&)>;
using ActivityFunction = std::function<v1::Payloads(ActivityContext&, const v1::Payloads&)>;

template <class F>
struct fn_traits : fn_traits<decltype(&F::operator())> {};
template <class R, class... A>
struct fn_traits<R (*)(A...)> {
  using result = R;
  using args = std::tuple<A...>;
};
template <class R, class... A>
struct fn_traits<R (*)(A...) noexcept> : fn_traits<R (*)(A...)> {};
template <class R, class... A>
struct fn_traits<R(A...)> : fn_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct fn_traits<R (C::*)(A...) const> : fn_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct fn_traits<R (C::*)(A...)> : fn_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct fn_traits<R (C::*)(A...) const noexcept> : fn_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct fn_traits<R (C::*)(A...) noexcept> : fn_traits<R (*)(A...)> {};

template <class Args, class Ctx>
constexpr bool takes_context() {
  if constexpr (std::tuple_size_v<Args> == 0) {
    return false;
  } else {
    return std::is_same_v<std::tuple_element_t<0, Args>, Ctx&>;
  }
}

template <class Args, size_t Offset, size_t... I>
auto decode_args(const v1::Payloads& in, std::index_sequence<I...>) {
  return std::tuple<std::decay_t<std::tuple_element_t<I + Offset, Args>>...>{
      from_payloads<std::decay_t<std::tuple_element_t<I + Offset, Args>>>(in,
                                                                          static_cast<int>(I))...};
}

// Wraps `fn` (lambda or function pointer, with or without a leading Ctx&) into a function over
// payloads: arguments decoded from JSON in order, the result encoded (void: no payloads).
template <class Ctx, class F>
std::function<v1::Payloads(Ctx&, const v1::Payloads&)> adapt(F fn) {
  using traits = fn_traits<std::decay_t<F>>;
  using Args = typename traits::args;
  using R = typename traits::result;
  constexpr bool kCtx = takes_context<Args, Ctx>();
  constexpr size_t kOffset = kCtx ? 1 : 0;
  constexpr size_t kCount = std::tuple_size_v<Args> - kOffset;
  return [fn = std::move(fn)](Ctx& ctx, const v1::Payloads& in) mutable -> v1::Payloads {
    auto args = decode_args<Args, kOffset>(in, std::make_index_sequence<kCount>());
    auto call = [&]() -> decltype(auto) {
      if constexpr (kCtx) {
        return std::apply([&](auto&... a) -> decltype(auto) { return fn(ctx, a...); }, args);
      } else {
        return std::apply([&](auto&... a) -> decltype(auto) { return fn(a...); }, args);
      }
    };
    if constexpr (std::is_void_v<R>) {
      call();
      return v1::Payloads();
    } else {
      return to_payloads(call());
    }
  };
}

class WorkerImpl;

}  // namespace detail

class Worker {
 public:
  // `client` must outlive the worker. Throws std::invalid_argument for invalid options.
  Worker(Client& client, WorkerOptions options);
  ~Worker();  // stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Registers workflow `name`: fn(WorkflowContext&, Args...) or fn(Args...), returning any
  // JSON-convertible type or void. REQUIRES: before start().
  template <class F>
  void register_workflow(const std::string& name, F&& fn) {
    register_workflow_payloads(name, detail::adapt<WorkflowContext>(std::forward<F>(fn)));
  }
  // Registers activity `name`: fn(ActivityContext&, Args...) or fn(Args...).
  template <class F>
  void register_activity(const std::string& name, F&& fn) {
    register_activity_payloads(name, detail::adapt<ActivityContext>(std::forward<F>(fn)));
  }
  void register_workflow_payloads(const std::string& name, detail::WorkflowFunction fn);
  void register_activity_payloads(const std::string& name, detail::ActivityFunction fn);

  // Starts the pollers and returns. Idempotent.
  void start();
  // Graceful: ends the polls at once, lets the tasks in flight finish and report, then returns.
  // Idempotent; the worker cannot be started again.
  void stop();
  // start(), then blocks until stop() is called from another thread.
  void run();
  // start(), then blocks until SIGINT or SIGTERM, then stop().
  void run_until_signal();

  const WorkerOptions& options() const;
  WorkerStats stats() const;
  // The queue the server sends this worker's cached runs' tasks to (empty: sticky execution off).
  const std::string& sticky_task_queue() const;

 private:
  std::unique_ptr<detail::WorkerImpl> impl_;
};

}  // namespace cairn
