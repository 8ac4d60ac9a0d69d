// Options of activities and workflow starts. Plain aggregates meant for designated
// initializers: `{.start_to_close = 10s, .retry = {.maximum_attempts = 3}}`. Zero means "unset":
// the server fills Temporal's defaults (see proto/cairn/v1/common.proto).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cairn/v1/common.pb.h"

namespace cairn {

// Defaults (server side, when zero): initial 1 s, coefficient 2.0, maximum 100 x initial,
// unlimited attempts for activities. Rules (checked where the policy is given; OptionsError
// names the field, e.g. "retry.maximum_attempts"): initial_interval >= 0, backoff_coefficient
// 0 or >= 1, maximum_interval 0 or >= initial_interval (1 s when unset), maximum_attempts >= 0.
struct RetryPolicy {
  std::chrono::milliseconds initial_interval{0};
  double backoff_coefficient = 0;
  std::chrono::milliseconds maximum_interval{0};
  int32_t maximum_attempts = 0;  // 0: unlimited; 1: no retries
  std::vector<std::string> non_retryable_error_types;
};

// How the future of a canceled activity resolves (Temporal's ActivityCancellationType).
enum class ActivityCancellationType {
  kTryCancel,                  // request cancellation; the future throws CanceledError at once
  kWaitCancellationCompleted,  // request cancellation; resolve when the server reports the end
  kAbandon,                    // send no request; the future throws CanceledError at once
};

// At least one of schedule_to_close and start_to_close must be set.
struct ActivityOptions {
  std::string task_queue;  // empty: the workflow's task queue
  std::chrono::milliseconds schedule_to_close{0};
  std::chrono::milliseconds schedule_to_start{0};
  std::chrono::milliseconds start_to_close{0};
  std::chrono::milliseconds heartbeat{0};
  RetryPolicy retry;
  std::string activity_id;  // empty: the command's sequence number
  ActivityCancellationType cancellation_type = ActivityCancellationType::kTryCancel;
};

// A local activity runs in the worker during the workflow task (no task-queue round trip); its
// result is recorded as a marker. Every attempt must finish well within the workflow task
// timeout: the worker spends at most 80% of it on local activities per task, and an attempt
// still running at that point counts as timed out (start-to-close) and is retried after a
// durable timer. At least one of schedule_to_close and start_to_close must be set.
struct LocalActivityOptions {
  std::chrono::milliseconds start_to_close{0};     // one attempt; 0: schedule_to_close
  std::chrono::milliseconds schedule_to_close{0};  // all attempts; 0: unlimited
  RetryPolicy retry;  // zero fields: 1 s initial, x2, max 100 x initial, unlimited attempts
  // Backoffs up to this long are slept in the worker; longer ones (or ones past the task's
  // budget) become a durable timer followed by the next attempt. 0: 1 s.
  std::chrono::milliseconds local_retry_threshold{0};
  std::string activity_id;  // empty: the command's sequence number
};

// A memo or search attributes: values as payloads (cairn::to_payload(value)). The memo is
// returned by describe and listing, never indexed; search attributes are indexed for listing
// and filters. Both are carried over by continue-as-new unless the new run sets its own.
using PayloadMap = std::map<std::string, v1::Payload>;

// Client::start and signal_with_start check these before any RPC and throw OptionsError: an
// empty task_queue; an id, task_queue or request_id over 1000 bytes or not printable UTF-8; a
// negative timeout or a task_timeout over 120 s; a bad retry policy; a search attribute name
// that cannot be registered.
struct StartWorkflowOptions {
  std::string id;          // empty: a random UUID
  std::string task_queue;  // required
  std::chrono::milliseconds execution_timeout{0};  // 0: unlimited
  std::chrono::milliseconds run_timeout{0};        // 0: unlimited
  std::chrono::milliseconds task_timeout{0};       // 0: 10 s
  v1::WorkflowIdReusePolicy id_reuse_policy = v1::WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED;
  v1::WorkflowIdConflictPolicy id_conflict_policy = v1::WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED;
  std::optional<RetryPolicy> retry;  // unset: the workflow is not retried
  std::string request_id;            // empty: a random UUID per call
  PayloadMap memo;
  PayloadMap search_attributes;
};

// The proto form of `policy`.
v1::RetryPolicy to_proto(const RetryPolicy& policy);

}  // namespace cairn
