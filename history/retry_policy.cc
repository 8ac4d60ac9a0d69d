#include "history/retry_policy.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace cairn {
namespace {

bool is_non_retryable(const v1::RetryPolicy& policy, const v1::Failure* failure) {
  if (failure == nullptr) {
    return false;
  }
  if (failure->has_server_failure_info()) {
    return failure->server_failure_info().non_retryable();
  }
  if (!failure->has_application_failure_info()) {
    return false;
  }
  const v1::ApplicationFailureInfo& info = failure->application_failure_info();
  if (info.non_retryable()) {
    return true;
  }
  for (const std::string& type : policy.non_retryable_error_types()) {
    if (type == info.type()) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<v1::RetryPolicy> resolve_retry_policy(const v1::RetryPolicy& policy) {
  if (policy.initial_interval_ms() < 0) {
    return invalid_argument("retry_policy.initial_interval_ms must not be negative (got " +
                            std::to_string(policy.initial_interval_ms()) + ")");
  }
  if (policy.maximum_interval_ms() < 0) {
    return invalid_argument("retry_policy.maximum_interval_ms must not be negative (got " +
                            std::to_string(policy.maximum_interval_ms()) + ")");
  }
  if (policy.maximum_attempts() < 0) {
    return invalid_argument("retry_policy.maximum_attempts must not be negative (got " +
                            std::to_string(policy.maximum_attempts()) + ")");
  }
  // 0 means "unset"; anything else must be a finite number >= 1 (a shrinking backoff makes no
  // sense, and NaN would poison every later comparison).
  double coefficient = policy.backoff_coefficient();
  if (coefficient != 0 && !(std::isfinite(coefficient) && coefficient >= 1.0)) {
    char shown[32];
    std::snprintf(shown, sizeof(shown), "%g", coefficient);  // 0.5, not 0.500000
    return invalid_argument("retry_policy.backoff_coefficient must be >= 1 (got " +
                            std::string(shown) + "); 0 means the default of 2");
  }
  v1::RetryPolicy out = policy;
  if (out.initial_interval_ms() == 0) {
    out.set_initial_interval_ms(kDefaultInitialIntervalMs);
  }
  if (coefficient == 0) {
    out.set_backoff_coefficient(kDefaultBackoffCoefficient);
  }
  if (out.maximum_interval_ms() == 0) {
    out.set_maximum_interval_ms(out.initial_interval_ms() * kDefaultMaximumIntervalFactor);
  }
  if (out.maximum_interval_ms() < out.initial_interval_ms()) {
    return invalid_argument("retry_policy.maximum_interval_ms (" +
                            std::to_string(out.maximum_interval_ms()) +
                            ") must not be below initial_interval_ms (" +
                            std::to_string(out.initial_interval_ms()) + ")");
  }
  return out;
}

int64_t retry_backoff_ms(const v1::RetryPolicy& resolved, int32_t failed_attempt) {
  int32_t exponent = failed_attempt < 1 ? 0 : failed_attempt - 1;
  double delay = static_cast<double>(resolved.initial_interval_ms()) *
                 std::pow(resolved.backoff_coefficient(), exponent);
  double cap = static_cast<double>(resolved.maximum_interval_ms());
  // Compared as doubles first: the power overflows int64 (even to inf) long before attempts end.
  if (!(delay < cap)) {
    return resolved.maximum_interval_ms();
  }
  return static_cast<int64_t>(delay);
}

RetryDecision decide_retry(const v1::RetryPolicy& resolved, int32_t failed_attempt,
                           const v1::Failure* failure, int64_t now_ms, int64_t expiration_ms) {
  RetryDecision d;
  if (is_non_retryable(resolved, failure)) {
    d.state = v1::RETRY_STATE_NON_RETRYABLE_FAILURE;
    return d;
  }
  if (resolved.maximum_attempts() > 0 && failed_attempt >= resolved.maximum_attempts()) {
    d.state = v1::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED;
    return d;
  }
  int64_t delay = retry_backoff_ms(resolved, failed_attempt);
  if (failure != nullptr && failure->application_failure_info().next_retry_delay_ms() > 0) {
    delay = failure->application_failure_info().next_retry_delay_ms();
  }
  if (expiration_ms > 0 && now_ms + delay >= expiration_ms) {
    d.state = v1::RETRY_STATE_TIMEOUT;
    return d;
  }
  d.retry = true;
  d.delay_ms = delay;
  d.state = v1::RETRY_STATE_IN_PROGRESS;
  return d;
}

}  // namespace cairn
