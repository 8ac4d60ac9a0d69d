// parse_retry_after in its three forms (retry-after-ms, seconds, HTTP date) with the time passed
// in, and the cap: within it the delay becomes the next retry delay, past it the error fails fast.
#include <chrono>

#include <gtest/gtest.h>

#include "ai/src/openai_errors.h"
#include "cairn/ai/openai.h"

namespace cairn::ai {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 2026-10-21 07:28:00 UTC, a manual clock.
const auto kNow = std::chrono::system_clock::from_time_t(1792567680);

TEST(ClientRetryAfter, TheClockIsTheDateTheTestsName) {
  // Guards the constant: "Wed, 21 Oct 2026 07:28:00 GMT" must be kNow.
  auto d = parse_retry_after({{"retry-after", "Wed, 21 Oct 2026 07:28:00 GMT"}}, kNow);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, milliseconds(0));
}

TEST(ClientRetryAfter, Seconds) {
  EXPECT_EQ(parse_retry_after({{"retry-after", "2"}}, kNow), milliseconds(2000));
  EXPECT_EQ(parse_retry_after({{"retry-after", " 0 "}}, kNow), milliseconds(0));
  EXPECT_EQ(parse_retry_after({{"retry-after", "1.25"}}, kNow), milliseconds(1250));
  EXPECT_EQ(parse_retry_after({{"retry-after", "120"}}, kNow), milliseconds(120000));
}

TEST(ClientRetryAfter, Milliseconds) {
  EXPECT_EQ(parse_retry_after({{"retry-after-ms", "1500"}}, kNow), milliseconds(1500));
  EXPECT_EQ(parse_retry_after({{"retry-after-ms", "20.2"}}, kNow), milliseconds(21))
      << "fractions round up: never earlier than asked";
}

TEST(ClientRetryAfter, MillisecondsWinOverSeconds) {
  HttpHeaders h = {{"retry-after", "30"}, {"retry-after-ms", "250"}};
  EXPECT_EQ(parse_retry_after(h, kNow), milliseconds(250));
}

TEST(ClientRetryAfter, HttpDateIsMeasuredFromTheGivenNow) {
  HttpHeaders h = {{"retry-after", "Wed, 21 Oct 2026 07:28:05 GMT"}};
  EXPECT_EQ(parse_retry_after(h, kNow), milliseconds(5000));
  EXPECT_EQ(parse_retry_after(h, kNow + milliseconds(1500)), milliseconds(3500));
  EXPECT_EQ(parse_retry_after(h, kNow + seconds(60)), milliseconds(0)) << "a past date: now";
  EXPECT_EQ(parse_retry_after({{"retry-after", "Thu, 22 Oct 2026 07:28:00 GMT"}}, kNow),
            milliseconds(86'400'000));
}

TEST(ClientRetryAfter, HeaderNamesAreCaseInsensitive) {
  EXPECT_EQ(parse_retry_after({{"Retry-After", "3"}}, kNow), milliseconds(3000));
  EXPECT_EQ(parse_retry_after({{"Retry-After-Ms", "7"}}, kNow), milliseconds(7));
}

TEST(ClientRetryAfter, GarbageAndAbsenceGiveNothing) {
  EXPECT_EQ(parse_retry_after({}, kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after({{"retry-after", "soon"}}, kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after({{"retry-after", "-5"}}, kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after({{"retry-after", "Wed, 21 Oct 2026 07:28 GMT"}}, kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after({{"retry-after", "Wed, 21 Foo 2026 07:28:00 GMT"}}, kNow),
            std::nullopt);
  // A bad retry-after-ms falls back to retry-after.
  EXPECT_EQ(parse_retry_after({{"retry-after-ms", "x"}, {"retry-after", "4"}}, kNow),
            milliseconds(4000));
}

TEST(ClientRetryAfter, WithinTheCapBecomesTheNextRetryDelay) {
  LlmError e =
      http_error({"economy-1", "chat completion"}, 429, R"({"error":{"message":"slow down"}})",
                 {{"retry-after", "2"}}, kNow, seconds(60), "");
  EXPECT_EQ(e.type(), kRateLimited);
  EXPECT_FALSE(e.non_retryable());
  EXPECT_EQ(e.next_retry_delay(), milliseconds(2000));
  EXPECT_EQ(e.retry_after(), milliseconds(2000));
  EXPECT_NE(std::string(e.what()).find("retry after 2s"), std::string::npos) << e.what();
}

TEST(ClientRetryAfter, AtTheCapIsStillHonoured) {
  LlmError e =
      http_error({"e", "chat completion"}, 429, "", {{"retry-after", "60"}}, kNow, seconds(60), "");
  EXPECT_FALSE(e.non_retryable());
  EXPECT_EQ(e.next_retry_delay(), seconds(60));
}

TEST(ClientRetryAfter, PastTheCapFailsFast) {
  LlmError e =
      http_error({"e", "chat completion"}, 429, "",
                 {{"retry-after", "Wed, 21 Oct 2026 07:30:00 GMT"}}, kNow, seconds(60), "");
  EXPECT_EQ(e.type(), kRateLimited);
  EXPECT_TRUE(e.non_retryable());
  EXPECT_EQ(e.next_retry_delay(), milliseconds(0));
  EXPECT_EQ(e.retry_after(), seconds(120));
  EXPECT_NE(std::string(e.what()).find("longer than max_retry_after 1m0s"), std::string::npos)
      << e.what();
}

TEST(ClientRetryAfter, AServerErrorWithRetryAfterWaitsToo) {
  LlmError e = http_error({"e", "chat completion"}, 503, "", {{"retry-after-ms", "1500"}}, kNow,
                          seconds(60), "");
  EXPECT_EQ(e.type(), kServerError);
  EXPECT_FALSE(e.non_retryable());
  EXPECT_EQ(e.next_retry_delay(), milliseconds(1500));
}

TEST(ClientRetryAfter, ANonRetryableErrorIgnoresIt) {
  LlmError e =
      http_error({"e", "chat completion"}, 400, "", {{"retry-after", "1"}}, kNow, seconds(60), "");
  EXPECT_TRUE(e.non_retryable());
  EXPECT_EQ(e.next_retry_delay(), milliseconds(0));
}

TEST(ClientRetryAfter, NoHeaderLeavesThePolicysBackoff) {
  LlmError e = http_error({"e", "chat completion"}, 429, "", {}, kNow, seconds(60), "");
  EXPECT_FALSE(e.non_retryable());
  EXPECT_EQ(e.next_retry_delay(), milliseconds(0));
  EXPECT_EQ(e.retry_after(), std::nullopt);
}

}  // namespace
}  // namespace cairn::ai
