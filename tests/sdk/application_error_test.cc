// ApplicationError's next retry delay: refused when negative (OptionsError naming the field),
// carried to the server in the failure an activity reports.
#include <gtest/gtest.h>

#include <chrono>

#include "cairn/errors.h"
#include "worker-sdk/src/failure.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

TEST(ApplicationErrorTest, NextRetryDelayTravelsInTheFailure) {
  ApplicationError e("429 Too Many Requests", "RateLimited");
  EXPECT_EQ(e.next_retry_delay(), 0ms);
  e.set_next_retry_delay(1500ms);
  EXPECT_EQ(e.next_retry_delay(), 1500ms);
  v1::Failure f = detail::to_failure(std::make_exception_ptr(e));
  EXPECT_EQ(f.application_failure_info().next_retry_delay_ms(), 1500);
  EXPECT_EQ(f.application_failure_info().type(), "RateLimited");
  // Without one the failure names none, and the server uses the retry policy's backoff.
  v1::Failure plain = detail::to_failure(std::make_exception_ptr(ApplicationError("boom")));
  EXPECT_EQ(plain.application_failure_info().next_retry_delay_ms(), 0);
}

TEST(ApplicationErrorTest, ANegativeNextRetryDelayIsRefusedNamingTheField) {
  ApplicationError e("429 Too Many Requests", "RateLimited");
  try {
    e.set_next_retry_delay(-1ms);
    FAIL() << "a negative delay was accepted";
  } catch (const OptionsError& bad) {
    EXPECT_EQ(bad.field(), "next_retry_delay");
    EXPECT_NE(std::string(bad.what()).find("must not be negative (got -1 ms)"), std::string::npos)
        << bad.what();
  }
  EXPECT_EQ(e.next_retry_delay(), 0ms);  // unchanged
}

}  // namespace
}  // namespace cairn::testing
