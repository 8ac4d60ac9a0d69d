// Registration glue: lambdas and function pointers, with or without a leading context, any
// JSON-convertible arguments and results (void too), adapted to functions over payloads.
#include <gtest/gtest.h>

#include "cairn/activity.h"
#include "cairn/worker.h"

namespace cairn::testing {
namespace {

int twice(int x) { return 2 * x; }
std::string hello(ActivityContext& ctx, std::string name) {
  return "hello " + name + " #" + std::to_string(ctx.info().attempt);
}

class RecordingHeartbeater : public detail::Heartbeater {
 public:
  bool heartbeat(const v1::Payloads& details) override {
    last = details;
    return cancel;
  }
  v1::Payloads last;
  bool cancel = false;
};

ActivityContext context(detail::Heartbeater* hb, int attempt = 1, v1::Payloads last = {}) {
  ActivityInfo info;
  info.attempt = attempt;
  return ActivityContext(info, std::move(last), hb);
}

TEST(AdaptTest, FunctionPointersAndLambdasWithAndWithoutContext) {
  RecordingHeartbeater hb;
  ActivityContext ctx = context(&hb, 3);
  auto f1 = detail::adapt<ActivityContext>(&twice);
  EXPECT_EQ(from_payloads<int>(f1(ctx, to_payloads(21))), 42);
  auto f2 = detail::adapt<ActivityContext>(&hello);
  EXPECT_EQ(from_payloads<std::string>(f2(ctx, to_payloads(std::string("Ada")))), "hello Ada #3");
  auto f3 = detail::adapt<ActivityContext>(
      [](const std::string& a, int b) { return a + std::to_string(b); });
  EXPECT_EQ(from_payloads<std::string>(f3(ctx, to_payloads(std::string("x"), 1))), "x1");
  int calls = 0;
  auto f4 = detail::adapt<ActivityContext>([&calls]() mutable { ++calls; });
  EXPECT_EQ(f4(ctx, v1::Payloads()).payloads_size(), 0);
  EXPECT_EQ(calls, 1);
}

TEST(AdaptTest, MissingArgumentIsAPayloadError) {
  ActivityContext ctx = context(nullptr);
  auto f = detail::adapt<ActivityContext>(&twice);
  EXPECT_THROW(f(ctx, v1::Payloads()), PayloadError);
}

TEST(AdaptTest, HeartbeatsRecordDetailsAndReportCancellation) {
  RecordingHeartbeater hb;
  ActivityContext ctx = context(&hb, 2, to_payloads(7));
  EXPECT_EQ(ctx.last_heartbeat_details<int>(), 7);
  EXPECT_FALSE(ctx.heartbeat(8));
  EXPECT_EQ(from_payloads<int>(hb.last), 8);
  EXPECT_FALSE(ctx.cancel_requested());
  hb.cancel = true;
  EXPECT_TRUE(ctx.heartbeat());
  EXPECT_TRUE(ctx.cancel_requested());
  ActivityContext fresh = context(&hb);
  EXPECT_EQ(fresh.last_heartbeat_details<int>(), std::nullopt);
}

}  // namespace
}  // namespace cairn::testing
