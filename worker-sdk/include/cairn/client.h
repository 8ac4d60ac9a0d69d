// Client: starts, signals, cancels, terminates and inspects workflow runs over gRPC, and waits
// for their results. Thread-safe; one Client (one channel) is meant to be shared by the whole
// process, including its Workers. WorkflowHandle is a cheap copyable value bound to a Client.
#pragma once

#include <grpcpp/channel.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cairn/codec.h"
#include "cairn/errors.h"
#include "cairn/options.h"
#include "cairn/payload.h"
#include "cairn/schedule.h"
#include "cairn/v1/service.grpc.pb.h"

namespace cairn {

struct ClientOptions {
  std::string address = "127.0.0.1:7233";
  std::string ns = "default";
  std::string identity;  // empty: "<pid>@<hostname>"
  // Applied to every payload this client and its workers send (encode, codecs[0] first) and
  // receive (decode, in reverse): workflow inputs and results, signal arguments, activity
  // inputs, results and heartbeat details, failure details, memos. Empty: payloads travel as
  // the converters made them. See cairn/codec.h.
  CodecChain codecs;
  // How long start, signal_with_start, signal, update, cancel and terminate keep retrying while
  // the server answers UNAVAILABLE (down, restarting, unreachable): 100 ms between tries,
  // doubling up to 2 s, each try with the same request id (an update: the same update id), so a
  // server that took the request before it died counts the retry as a duplicate — one run
  // started, one signal delivered. Past it the call throws the last RpcError (UNAVAILABLE), its
  // message naming the address and how long it tried. 0: no retry, the first UNAVAILABLE is
  // thrown at once.
  std::chrono::milliseconds unavailable_retry_deadline{30'000};
};

namespace detail {

// What a Client shares with its handles and workers.
struct ClientCore {
  ClientOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::WorkflowService::Stub> stub;
};

}  // namespace detail

class WorkflowHandle {
 public:
  WorkflowHandle(std::shared_ptr<detail::ClientCore> core, std::string workflow_id,
                 std::string run_id);

  const std::string& workflow_id() const { return workflow_id_; }
  // Empty for a handle made without a run id: it then addresses the current run.
  const std::string& run_id() const { return run_id_; }

  // Waits (long-polls) until the run closes and returns its result, following continue-as-new.
  // Throws WorkflowFailedError (failed, canceled, terminated, timed out; status() says which),
  // TimeoutError when `timeout` passes first, RpcError for other server errors, PayloadError when
  // the result is not a T. Survives server restarts while waiting.
  template <class T = void>
  T result(std::chrono::milliseconds timeout = std::chrono::hours(24)) {
    v1::Payloads p = result_payloads(timeout);
    if constexpr (!std::is_void_v<T>) {
      return from_payloads<T>(p);
    }
  }
  v1::Payloads result_payloads(std::chrono::milliseconds timeout);

  // Sends signal `name` with `args`. Throws RpcError (e.g. NOT_FOUND for a closed run;
  // UNAVAILABLE after ClientOptions::unavailable_retry_deadline of retries with the same
  // request id, so a retried signal is delivered once).
  template <class... A>
  void signal(const std::string& name, const A&... args) {
    signal_payloads(name, to_payloads(args...));
  }
  void signal_payloads(const std::string& name, const v1::Payloads& input);

  // Asks the run to cancel: its workflow code sees CanceledError. Throws RpcError; UNAVAILABLE
  // is retried as for signal() (same request id).
  void cancel(const std::string& reason = "");
  // Closes the run at once, without running workflow code. Throws RpcError; UNAVAILABLE is
  // retried as for signal(), but the request carries no id: when a try took effect and lost
  // its answer, the retry is refused because the run is already closed.
  void terminate(const std::string& reason = "");
  v1::DescribeWorkflowExecutionResponse describe();

  // Runs query `name` with `args` on a worker (the run's history is replayed; nothing is
  // written) and returns its answer. Works on closed runs. Throws RpcError: INVALID_ARGUMENT for
  // an unknown query type (the message lists the known ones), FAILED_PRECONDITION when the
  // handler threw, DEADLINE_EXCEEDED when no worker answered within `timeout`.
  template <class R, class... A>
  R query(const std::string& name, const A&... args) {
    v1::Payloads p = query_payloads(name, to_payloads(args...));
    if constexpr (!std::is_void_v<R>) {
      return from_payloads<R>(p);
    }
  }
  v1::Payloads query_payloads(const std::string& name, const v1::Payloads& args,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Sends update `name` with `args` and waits for its handler's result. Throws ApplicationError
  // of type "UpdateRejected" when the validator rejected it (nothing was written), the
  // handler's failure as ApplicationError, RpcError for server errors. A retried call with the
  // same update id gets the first call's outcome; UNAVAILABLE is retried that way (the same
  // update id) for up to ClientOptions::unavailable_retry_deadline within `timeout`.
  template <class R, class... A>
  R update(const std::string& name, const A&... args) {
    return update_with_id<R>("", name, args...);
  }
  template <class R, class... A>
  R update_with_id(const std::string& update_id, const std::string& name, const A&... args) {
    v1::Payloads p = update_payloads(update_id, name, to_payloads(args...));
    if constexpr (!std::is_void_v<R>) {
      return from_payloads<R>(p);
    }
  }
  // update_id empty: a fresh one.
  v1::Payloads update_payloads(const std::string& update_id, const std::string& name,
                               const v1::Payloads& args,
                               std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Every event of the run so far, paging through the server's answers. Payloads are as stored:
  // encoded by ClientOptions::codecs (decode with decode_payloads_in()). Throws RpcError.
  std::vector<v1::HistoryEvent> history();
  // The same, calling on_page(events read so far) after each page (progress of a long read).
  std::vector<v1::HistoryEvent> history(const std::function<void(size_t)>& on_page);

 private:
  std::shared_ptr<detail::ClientCore> core_;
  std::string workflow_id_;
  std::string run_id_;
};

class Client {
 public:
  // Connects lazily: the constructor does not wait for the server (see wait_until_ready()).
  explicit Client(ClientOptions options);

  // Starts workflow `type` with `args`. Throws OptionsError, before any RPC, for options that
  // break the rules listed at StartWorkflowOptions. Throws RpcError: ALREADY_EXISTS when the id
  // policies refuse, INVALID_ARGUMENT for what only the server can check (an unregistered
  // search attribute, a payload over its limit, an unknown namespace), UNAVAILABLE when the
  // server stayed unavailable for ClientOptions::unavailable_retry_deadline. Retries carry the
  // same workflow id and request id (options.request_id, or one drawn per call), so a restart
  // in the middle starts exactly one run.
  template <class... A>
  WorkflowHandle start(const std::string& type, const StartWorkflowOptions& options,
                       const A&... args) {
    return start_payloads(type, options, to_payloads(args...));
  }
  WorkflowHandle start_payloads(const std::string& type, const StartWorkflowOptions& options,
                                const v1::Payloads& input);

  // Sends signal `signal_name` with `signal_args` to the running run of options.id, starting
  // it (without workflow arguments) first when none runs. Throws as start() does, and
  // OptionsError for an empty signal_name.
  template <class... A>
  WorkflowHandle signal_with_start(const std::string& type, const StartWorkflowOptions& options,
                                   const std::string& signal_name, const A&... signal_args) {
    return signal_with_start_payloads(type, options, v1::Payloads(), signal_name,
                                      to_payloads(signal_args...));
  }
  WorkflowHandle signal_with_start_payloads(const std::string& type,
                                            const StartWorkflowOptions& options,
                                            const v1::Payloads& input,
                                            const std::string& signal_name,
                                            const v1::Payloads& signal_input);

  WorkflowHandle handle(const std::string& workflow_id, const std::string& run_id = "");

  // Async activity completion: finishes an activity that returned "pending"
  // (ActivityContext::complete_async), by its task token (ActivityInfo::task_token) or by
  // (workflow id, run id — empty for the current run —, activity id). Throws RpcError: NOT_FOUND
  // when the activity is no longer waiting (completed, timed out, its run closed).
  template <class T>
  void complete_activity(const std::string& task_token, const T& result) {
    complete_activity_payloads(task_token, to_payloads(result));
  }
  template <class T>
  void complete_activity(const std::string& workflow_id, const std::string& run_id,
                         const std::string& activity_id, const T& result) {
    complete_activity_by_id_payloads(workflow_id, run_id, activity_id, to_payloads(result));
  }
  void complete_activity_payloads(const std::string& task_token, const v1::Payloads& result);
  void complete_activity_by_id_payloads(const std::string& workflow_id, const std::string& run_id,
                                        const std::string& activity_id,
                                        const v1::Payloads& result);
  // Fails the activity's current attempt with an ApplicationError (retried per its policy).
  void fail_activity(const std::string& task_token, const ApplicationError& error);
  void fail_activity(const std::string& workflow_id, const std::string& run_id,
                     const std::string& activity_id, const ApplicationError& error);
  // Records a heartbeat for a pending activity; returns true when it is asked to cancel.
  bool heartbeat_activity(const std::string& workflow_id, const std::string& run_id,
                          const std::string& activity_id, const v1::Payloads& details = {});

  // Creates schedule `schedule_id` (cairn/schedule.h). Throws OptionsError, before any RPC,
  // naming the field of `options` that breaks a rule (a bad cron expression with its column, an
  // unknown time zone, an interval of zero, end before start, ...); RpcError: ALREADY_EXISTS
  // when the id is taken, INVALID_ARGUMENT for what only the server can check (an unregistered
  // search attribute), UNAVAILABLE after ClientOptions::unavailable_retry_deadline of retries
  // with the same request id (so a restart in the middle creates it once).
  ScheduleHandle create_schedule(const std::string& schedule_id, const ScheduleOptions& options);
  // A handle on an existing schedule (nothing is checked until it is used).
  ScheduleHandle schedule_handle(const std::string& schedule_id);
  // Every schedule of the namespace matching `query` (the list filter language of workflow
  // listing over ScheduleId, WorkflowType, TaskQueue, Paused, StartTime and the schedule's
  // search attributes; empty: all), paging through the server's answers. Throws RpcError
  // (INVALID_ARGUMENT for a bad query, naming where it is wrong).
  std::vector<ScheduleSummary> list_schedules(const std::string& query = "");

  // Raw access to the generated stub (thread-safe), e.g. for admin calls.
  v1::WorkflowService::Stub& stub() { return *core_->stub; }
  const ClientOptions& options() const { return core_->options; }
  const std::shared_ptr<detail::ClientCore>& core() const { return core_; }

  // True once the server answers GetSystemInfo, false when `timeout` passes first.
  bool wait_until_ready(std::chrono::milliseconds timeout);

 private:
  std::shared_ptr<detail::ClientCore> core_;
};

}  // namespace cairn
