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
};

namespace detail {

// The shared state of one Future: set once by the replayer from a history event (or by
// cancellation), read by the workflow fiber.
struct FutureState {
  bool ready = false;
  v1::Payloads value;
  std::exception_ptr error;
};

// Thrown by WorkflowContext::continue_as_new; not a cairn::Error so that workflow code catching
// Error does not swallow it.
struct ContinueAsNewRequest {
  std::string workflow_type;
  std::string task_queue;
  v1::Payloads input;
};

// The replay engine as workflow code sees it (implemented by worker-sdk/src/replayer.h). Every
// method must be called from the workflow fiber.
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

  // The next signal, or nullopt when none arrived within `timeout` (a durable timer).
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

class WorkflowContext {
 public:
  explicit WorkflowContext(detail::WorkflowCore& core) : core_(&core) {}

  // Schedules activity `type` with one argument. REQUIRES: options set start_to_close or
  // schedule_to_close.
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

  // A durable timer. REQUIRES: duration > 0.
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

  // Ends this run and starts a new one of the same workflow with `args` (never returns).
  template <class... A>
  [[noreturn]] void continue_as_new(const A&... args) {
    throw detail::ContinueAsNewRequest{core_->info().workflow_type, core_->info().task_queue,
                                       to_payloads(args...)};
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
