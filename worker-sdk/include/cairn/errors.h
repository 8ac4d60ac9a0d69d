// The typed exceptions of the SDK surface: what workflow and activity authors throw and catch,
// and what clients see. The SDK converts them to and from the proto Failure at the boundary
// (see failure conversion in worker-sdk/src/failure.h). Plain value types; thread-compatible.
#pragma once

#include <grpcpp/support/status_code_enum.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cairn/v1/common.pb.h"

namespace cairn {

// Base of every exception the SDK throws.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// An error of the user's own, carried across the wire with its type and retry flag.
// Thrown by an activity: the server retries it unless `non_retryable` or its type is listed in
// the retry policy's non_retryable_error_types. Escaping a workflow: fails the workflow.
class ApplicationError : public Error {
 public:
  explicit ApplicationError(const std::string& message, std::string type = "",
                            bool non_retryable = false, v1::Payloads details = {})
      : Error(message),
        type_(std::move(type)),
        non_retryable_(non_retryable),
        details_(std::move(details)) {}

  const std::string& type() const { return type_; }
  bool non_retryable() const { return non_retryable_; }
  const v1::Payloads& details() const { return details_; }

  // Thrown by an activity: wait `delay` before its next attempt instead of the retry policy's
  // backoff (a rate-limited provider's Retry-After). The policy's maximum attempts and the
  // activity's schedule-to-close deadline still apply — a delay that ends past the deadline ends
  // the activity at once — and a non-retryable error is not retried at all. Zero: the policy's
  // backoff. Throws OptionsError (field "next_retry_delay") when `delay` is negative.
  ApplicationError& set_next_retry_delay(std::chrono::milliseconds delay);
  std::chrono::milliseconds next_retry_delay() const { return next_retry_delay_; }

 private:
  std::string type_;
  bool non_retryable_;
  v1::Payloads details_;
  std::chrono::milliseconds next_retry_delay_{0};
};

// A payload that cannot be converted to the requested type (bad JSON, wrong shape, missing
// argument). Non-retryable: the same input fails the same way on every attempt.
class PayloadError : public ApplicationError {
 public:
  explicit PayloadError(const std::string& message)
      : ApplicationError(message, "PayloadError", /*non_retryable=*/true) {}
};

// Options given to the SDK break a rule the server applies to them (a negative timeout, a retry
// policy with backoff_coefficient below 1 or negative maximum_attempts, an id that is too long
// or not printable UTF-8, a search attribute name the server cannot register). Thrown where the
// options are given, before anything is sent: into workflow code by ctx.activity(),
// ctx.local_activity(), ctx.child(), ctx.timer() / sleep(), signal waits with a timeout,
// ctx.await_condition(), ctx.signal_external() / cancel_external(), ctx.continue_as_new_with()
// and ctx.upsert_search_attributes() — the same on every replay; uncaught it fails the workflow
// with its message — and by Client::start / signal_with_start before any RPC. Type
// "InvalidOptions", non-retryable. The message names what was configured and the field:
//   activity "charge" options: retry.maximum_attempts must not be negative (got -1)
class OptionsError : public ApplicationError {
 public:
  OptionsError(const std::string& message, std::string field)
      : ApplicationError(message, "InvalidOptions", /*non_retryable=*/true),
        field_(std::move(field)) {}

  // The path of the offending field in the options struct: "start_to_close",
  // "retry.maximum_attempts", "search_attributes[Bad-Name]".
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// What a workflow sees when an activity finally failed, timed out or was canceled; `cause()` is
// the activity's own failure (application, timeout or canceled failure).
class ActivityError : public Error {
 public:
  ActivityError(const std::string& message, std::string activity_type, std::string activity_id,
                v1::RetryState retry_state, v1::Failure cause)
      : Error(message),
        activity_type_(std::move(activity_type)),
        activity_id_(std::move(activity_id)),
        retry_state_(retry_state),
        cause_(std::move(cause)) {}

  const std::string& activity_type() const { return activity_type_; }
  const std::string& activity_id() const { return activity_id_; }
  v1::RetryState retry_state() const { return retry_state_; }
  const v1::Failure& cause() const { return cause_; }
  // The cause's application error type ("" when the cause is a timeout or cancellation).
  const std::string& cause_type() const { return cause_.application_failure_info().type(); }

 private:
  std::string activity_type_;
  std::string activity_id_;
  v1::RetryState retry_state_;
  v1::Failure cause_;
};

// What a parent sees when a child workflow failed, was canceled, terminated or timed out, or
// could not start (its workflow id was taken); `cause()` is the child's own failure.
class ChildWorkflowError : public Error {
 public:
  ChildWorkflowError(const std::string& message, std::string workflow_type,
                     std::string workflow_id, std::string run_id,
                     v1::WorkflowExecutionStatus status, v1::Failure cause)
      : Error(message),
        workflow_type_(std::move(workflow_type)),
        workflow_id_(std::move(workflow_id)),
        run_id_(std::move(run_id)),
        status_(status),
        cause_(std::move(cause)) {}

  const std::string& workflow_type() const { return workflow_type_; }
  const std::string& workflow_id() const { return workflow_id_; }
  const std::string& run_id() const { return run_id_; }  // empty when it never started
  // FAILED, CANCELED, TERMINATED or TIMED_OUT; UNSPECIFIED when the child could not start.
  v1::WorkflowExecutionStatus status() const { return status_; }
  const v1::Failure& cause() const { return cause_; }
  // The cause's application error type ("" for other kinds of failure).
  const std::string& cause_type() const { return cause_.application_failure_info().type(); }

 private:
  std::string workflow_type_;
  std::string workflow_id_;
  std::string run_id_;
  v1::WorkflowExecutionStatus status_;
  v1::Failure cause_;
};

// A timeout: an activity's (as an ActivityError's cause), or a client-side wait that ran out.
class TimeoutError : public Error {
 public:
  explicit TimeoutError(const std::string& message,
                        v1::TimeoutType type = v1::TIMEOUT_TYPE_UNSPECIFIED)
      : Error(message), timeout_type_(type) {}
  v1::TimeoutType timeout_type() const { return timeout_type_; }

 private:
  v1::TimeoutType timeout_type_;
};

// Cancellation reached this code: in a workflow, a blocked wait after the run was asked to
// cancel (letting it escape cancels the workflow); in an activity, throw it to report that the
// activity honoured a cancel request.
class CanceledError : public Error {
 public:
  explicit CanceledError(const std::string& message = "canceled", v1::Payloads details = {})
      : Error(message), details_(std::move(details)) {}
  const v1::Payloads& details() const { return details_; }

 private:
  v1::Payloads details_;
};

class TerminatedError : public Error {
 public:
  explicit TerminatedError(const std::string& message) : Error(message) {}
};

// Replayed workflow code issued commands that do not match the recorded history. Fails the
// workflow task (not the workflow): a fixed worker can continue the run.
class NonDeterminismError : public Error {
 public:
  NonDeterminismError(const std::string& message, int64_t event_id)
      : Error(message), event_id_(event_id) {}
  int64_t event_id() const { return event_id_; }

 private:
  int64_t event_id_;
};

// A client waited for a result and the run closed without one: failed, canceled, terminated or
// timed out. `failure()` is the run's failure when it has one.
class WorkflowFailedError : public Error {
 public:
  WorkflowFailedError(const std::string& message, v1::WorkflowExecutionStatus status,
                      v1::Failure failure = {})
      : Error(message), status_(status), failure_(std::move(failure)) {}
  v1::WorkflowExecutionStatus status() const { return status_; }
  const v1::Failure& failure() const { return failure_; }

 private:
  v1::WorkflowExecutionStatus status_;
  v1::Failure failure_;
};

// A gRPC call to the server failed; the message is the server's.
class RpcError : public Error {
 public:
  RpcError(grpc::StatusCode code, const std::string& message)
      : Error(message), code_(code) {}
  grpc::StatusCode code() const { return code_; }

 private:
  grpc::StatusCode code_;
};

}  // namespace cairn
