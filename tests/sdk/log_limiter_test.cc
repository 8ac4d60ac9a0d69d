// LogLimiter: one line per key per interval, a count of the lines held back, keys independent,
// bounded memory. Time is injected: no sleeps.
#include "worker-sdk/src/log_limiter.h"

#include <gtest/gtest.h>

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using detail::LogLimiter;

TEST(LogLimiterTest, OneLinePerKeyPerIntervalWithTheCountOfSuppressedLines) {
  LogLimiter limiter(1min);
  const LogLimiter::Clock::time_point t0{};
  EXPECT_TRUE(limiter.admit("run-1/rejected", t0).log);
  for (int i = 1; i <= 5; ++i) {
    auto v = limiter.admit("run-1/rejected", t0 + i * 10s);  // all within the minute
    EXPECT_FALSE(v.log) << i;
    EXPECT_EQ(v.suppressed, i);
  }
  auto next = limiter.admit("run-1/rejected", t0 + 61s);
  EXPECT_TRUE(next.log);
  EXPECT_EQ(next.suppressed, 5);
  EXPECT_EQ(LogLimiter::suffix(next), " (5 similar lines suppressed)");
  // The count starts over after a line is written, and the interval runs from that line.
  EXPECT_FALSE(limiter.admit("run-1/rejected", t0 + 120s).log);
  auto later = limiter.admit("run-1/rejected", t0 + 121s);
  EXPECT_TRUE(later.log);
  EXPECT_EQ(LogLimiter::suffix(later), " (1 similar line suppressed)");
}

TEST(LogLimiterTest, KeysAreIndependent) {
  LogLimiter limiter(1min);
  const LogLimiter::Clock::time_point t0{};
  EXPECT_TRUE(limiter.admit("run-1/rejected", t0).log);
  EXPECT_TRUE(limiter.admit("run-2/rejected", t0).log);
  EXPECT_TRUE(limiter.admit("run-1/answer", t0).log);
  EXPECT_FALSE(limiter.admit("run-1/rejected", t0 + 1s).log);
  EXPECT_EQ(LogLimiter::suffix(limiter.admit("run-2/rejected", t0 + 60s)), "");
}

TEST(LogLimiterTest, RemembersAtMostMaxKeysForgettingTheOldestFirst) {
  LogLimiter limiter(1min, /*max_keys=*/2);
  const LogLimiter::Clock::time_point t0{};
  EXPECT_TRUE(limiter.admit("a", t0).log);
  EXPECT_TRUE(limiter.admit("b", t0 + 1s).log);
  EXPECT_TRUE(limiter.admit("c", t0 + 2s).log);   // "a" is forgotten
  EXPECT_FALSE(limiter.admit("b", t0 + 3s).log);  // still remembered
  EXPECT_FALSE(limiter.admit("c", t0 + 3s).log);
  EXPECT_TRUE(limiter.admit("a", t0 + 3s).log);  // forgotten, so written again
}

}  // namespace
}  // namespace cairn::testing
