// Retry policy math (Temporal semantics): defaults, validation, backoff and the retry decision.
// Pure functions. Lives in history/ because the command rules decide retries inside a transition.
#pragma once

#include <cstdint>

#include "cairn/v1/common.pb.h"
#include "proto/status.h"

namespace cairn {

inline constexpr int64_t kDefaultInitialIntervalMs = 1000;
inline constexpr double kDefaultBackoffCoefficient = 2.0;
inline constexpr int64_t kDefaultMaximumIntervalFactor = 100;  // x initial interval

// Fills unset fields with the defaults: initial 1 s, coefficient 2.0, maximum interval
// 100 x initial, maximum_attempts 0 (unlimited). kInvalidArgument, naming the field, when a value
// is negative, the coefficient is < 1, or the maximum interval is below the initial interval.
Result<v1::RetryPolicy> resolve_retry_policy(const v1::RetryPolicy& policy);

// The delay before the attempt after `failed_attempt` (1-based):
// min(initial * coefficient^(failed_attempt-1), maximum_interval).
int64_t retry_backoff_ms(const v1::RetryPolicy& resolved, int32_t failed_attempt);

struct RetryDecision {
  bool retry = false;
  int64_t delay_ms = 0;  // when retry
  v1::RetryState state = v1::RETRY_STATE_UNSPECIFIED;  // IN_PROGRESS when retry; why not otherwise
};

// Whether a failed attempt is retried. `failure` may be null (timeouts). Not retried when the
// failure is non-retryable (flag or type listed in non_retryable_error_types), attempts are
// exhausted, or the next attempt would start at or after expiration_ms (0: no expiration). The
// delay is the failure's application next_retry_delay_ms when that is positive (it replaces the
// backoff and is not capped by maximum_interval), else retry_backoff_ms().
RetryDecision decide_retry(const v1::RetryPolicy& resolved, int32_t failed_attempt,
                           const v1::Failure* failure, int64_t now_ms, int64_t expiration_ms);

}  // namespace cairn
