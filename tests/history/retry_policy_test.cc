// Retry policy math: defaults, validation with the field named, backoff growth and cap, and the
// retry decision (attempts, non-retryable failures, expiration).
#include "history/retry_policy.h"

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cairn {
namespace {

v1::RetryPolicy resolved(v1::RetryPolicy p = {}) {
  auto r = resolve_retry_policy(p);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : v1::RetryPolicy();
}

v1::Failure app_failure(const std::string& type, bool non_retryable = false) {
  v1::Failure f;
  f.set_message("boom");
  f.mutable_application_failure_info()->set_type(type);
  f.mutable_application_failure_info()->set_non_retryable(non_retryable);
  return f;
}

TEST(RetryPolicyTest, DefaultsFillUnsetFields) {
  v1::RetryPolicy p = resolved();
  EXPECT_EQ(p.initial_interval_ms(), 1000);
  EXPECT_DOUBLE_EQ(p.backoff_coefficient(), 2.0);
  EXPECT_EQ(p.maximum_interval_ms(), 100'000);
  EXPECT_EQ(p.maximum_attempts(), 0);
}

TEST(RetryPolicyTest, MaximumIntervalDefaultsToHundredTimesInitial) {
  v1::RetryPolicy in;
  in.set_initial_interval_ms(250);
  in.set_maximum_attempts(5);
  in.add_non_retryable_error_types("Fatal");
  v1::RetryPolicy p = resolved(in);
  EXPECT_EQ(p.initial_interval_ms(), 250);
  EXPECT_EQ(p.maximum_interval_ms(), 25'000);
  EXPECT_EQ(p.maximum_attempts(), 5);
  ASSERT_EQ(p.non_retryable_error_types_size(), 1);
}

TEST(RetryPolicyTest, InvalidPoliciesNameTheField) {
  struct Case {
    std::function<void(v1::RetryPolicy*)> set;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](v1::RetryPolicy* p) { p->set_initial_interval_ms(-1); }, "initial_interval_ms"},
      {[](v1::RetryPolicy* p) { p->set_maximum_interval_ms(-5); }, "maximum_interval_ms"},
      {[](v1::RetryPolicy* p) { p->set_maximum_attempts(-2); }, "maximum_attempts"},
      {[](v1::RetryPolicy* p) { p->set_backoff_coefficient(0.5); }, "backoff_coefficient"},
      {[](v1::RetryPolicy* p) { p->set_backoff_coefficient(-2); }, "backoff_coefficient"},
      {[](v1::RetryPolicy* p) {
         p->set_initial_interval_ms(5000);
         p->set_maximum_interval_ms(1000);
       },
       "maximum_interval_ms"},
  };
  for (const auto& c : cases) {
    v1::RetryPolicy p;
    c.set(&p);
    auto r = resolve_retry_policy(p);
    ASSERT_FALSE(r.ok()) << c.field;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("retry_policy." + c.field), std::string::npos)
        << r.status().message();
  }
}

TEST(RetryPolicyTest, BackoffGrowsByTheCoefficientUpToTheCap) {
  v1::RetryPolicy in;
  in.set_initial_interval_ms(1000);
  in.set_backoff_coefficient(3);
  in.set_maximum_interval_ms(20'000);
  v1::RetryPolicy p = resolved(in);
  EXPECT_EQ(retry_backoff_ms(p, 1), 1000);
  EXPECT_EQ(retry_backoff_ms(p, 2), 3000);
  EXPECT_EQ(retry_backoff_ms(p, 3), 9000);
  EXPECT_EQ(retry_backoff_ms(p, 4), 20'000);   // 27 s capped
  EXPECT_EQ(retry_backoff_ms(p, 500), 20'000);  // no overflow far out
}

TEST(RetryPolicyTest, DefaultBackoffDoubles) {
  v1::RetryPolicy p = resolved();
  EXPECT_EQ(retry_backoff_ms(p, 1), 1000);
  EXPECT_EQ(retry_backoff_ms(p, 2), 2000);
  EXPECT_EQ(retry_backoff_ms(p, 8), 100'000);  // 128 s capped at 100 x initial
}

TEST(RetryPolicyTest, RetriesWhileAttemptsRemain) {
  v1::RetryPolicy in;
  in.set_maximum_attempts(3);
  v1::RetryPolicy p = resolved(in);
  v1::Failure f = app_failure("Transient");
  RetryDecision d1 = decide_retry(p, 1, &f, 0, 0);
  EXPECT_TRUE(d1.retry);
  EXPECT_EQ(d1.delay_ms, 1000);
  EXPECT_EQ(d1.state, v1::RETRY_STATE_IN_PROGRESS);
  RetryDecision d2 = decide_retry(p, 2, &f, 0, 0);
  EXPECT_TRUE(d2.retry);
  EXPECT_EQ(d2.delay_ms, 2000);
  RetryDecision d3 = decide_retry(p, 3, &f, 0, 0);
  EXPECT_FALSE(d3.retry);
  EXPECT_EQ(d3.state, v1::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
}

TEST(RetryPolicyTest, UnlimitedAttemptsByDefault) {
  v1::RetryPolicy p = resolved();
  RetryDecision d = decide_retry(p, 1000, nullptr, 0, 0);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay_ms, 100'000);
}

TEST(RetryPolicyTest, NonRetryableByFlag) {
  v1::RetryPolicy p = resolved();
  v1::Failure f = app_failure("Whatever", /*non_retryable=*/true);
  RetryDecision d = decide_retry(p, 1, &f, 0, 0);
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.state, v1::RETRY_STATE_NON_RETRYABLE_FAILURE);
}

TEST(RetryPolicyTest, NonRetryableByType) {
  v1::RetryPolicy in;
  in.add_non_retryable_error_types("InvalidInput");
  v1::RetryPolicy p = resolved(in);
  v1::Failure bad = app_failure("InvalidInput");
  v1::Failure other = app_failure("Timeout");
  EXPECT_EQ(decide_retry(p, 1, &bad, 0, 0).state, v1::RETRY_STATE_NON_RETRYABLE_FAILURE);
  EXPECT_TRUE(decide_retry(p, 1, &other, 0, 0).retry);
  // Non-retryable wins over the attempt count.
  in.set_maximum_attempts(1);
  EXPECT_EQ(decide_retry(resolved(in), 1, &bad, 0, 0).state, v1::RETRY_STATE_NON_RETRYABLE_FAILURE);
}

TEST(RetryPolicyTest, ExpirationStopsRetriesThatWouldStartTooLate) {
  v1::RetryPolicy p = resolved();
  v1::Failure f = app_failure("Transient");
  // Attempt 3 failed at t=10 s: the next would start at 14 s.
  EXPECT_TRUE(decide_retry(p, 3, &f, 10'000, 14'001).retry);
  RetryDecision at = decide_retry(p, 3, &f, 10'000, 14'000);
  EXPECT_FALSE(at.retry);
  EXPECT_EQ(at.state, v1::RETRY_STATE_TIMEOUT);
  EXPECT_TRUE(decide_retry(p, 3, &f, 10'000, 0).retry);  // 0: no expiration
}

TEST(RetryPolicyTest, NextRetryDelayReplacesTheBackoffButNotTheLimits) {
  v1::RetryPolicy in;
  in.set_maximum_attempts(3);
  in.set_maximum_interval_ms(5'000);
  v1::RetryPolicy p = resolved(in);
  v1::Failure f = app_failure("RateLimited");
  f.mutable_application_failure_info()->set_next_retry_delay_ms(30'000);
  // Longer than maximum_interval: the failure's own delay wins (a provider's Retry-After).
  RetryDecision d = decide_retry(p, 1, &f, 0, 0);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay_ms, 30'000);
  // Attempts are still counted, and the deadline still ends it when the delay ends past it.
  EXPECT_EQ(decide_retry(p, 3, &f, 0, 0).state, v1::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
  RetryDecision late = decide_retry(p, 1, &f, 10'000, 39'999);
  EXPECT_FALSE(late.retry);
  EXPECT_EQ(late.state, v1::RETRY_STATE_TIMEOUT);
  EXPECT_TRUE(decide_retry(p, 1, &f, 10'000, 40'001).retry);
  // A non-retryable failure is not retried whatever delay it names; zero means the backoff.
  f.mutable_application_failure_info()->set_non_retryable(true);
  EXPECT_EQ(decide_retry(p, 1, &f, 0, 0).state, v1::RETRY_STATE_NON_RETRYABLE_FAILURE);
  v1::Failure plain = app_failure("Transient");
  plain.mutable_application_failure_info()->set_next_retry_delay_ms(0);
  EXPECT_EQ(decide_retry(p, 1, &plain, 0, 0).delay_ms, 1'000);
}

}  // namespace
}  // namespace cairn
