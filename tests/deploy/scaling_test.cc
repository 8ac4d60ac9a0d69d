// Reconcile and scaling in the stack spec (the `reconcile:` and `scaling:` blocks, their
// line-numbered errors) and target tracking's decision on numbers: out on the next tick, in
// only after the cooldown, within min..max.
#include "cairn/deploy/scaling.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cairn/deploy/spec.h"
#include "spec_test_util.h"

namespace cairn::deploy {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using testing::errors_of;
using ::testing::HasSubstr;
using testing::parse_ok;

const char* kScaled = R"(name: s
reconcile: {every: 30m, dry_run: true}
resources:
  llm:
    type: model_endpoint
    inputs: {tier: fast, model: m, replicas: 2}
    scaling:
      min: 0
      max: 4
      windows: [{cron: "0 22 * * *", replicas: 0}, {cron: "0 7 * * *", replicas: 2}]
      timezone: Europe/Paris
      target: {in_flight_per_replica: 4, router: router, cooldown: 2s, every: 5s}
  router:
    type: router
    inputs:
      default_tier: fast
      tiers: [{name: fast, model: m, urls: "${llm.urls}"}]
)";

TEST(ScalingSpec, ParsesReconcileWindowsAndTargetTracking) {
  StackSpec spec = parse_ok(kScaled);
  EXPECT_TRUE(spec.reconcile.enabled);
  EXPECT_EQ(spec.reconcile.every, milliseconds(30 * 60'000));
  EXPECT_TRUE(spec.reconcile.dry_run);
  const ResourceSpec* llm = spec.find("llm");
  ASSERT_NE(llm, nullptr);
  ASSERT_TRUE(llm->scaling.has_value());
  EXPECT_EQ(llm->scaling->min, 0);
  EXPECT_EQ(llm->scaling->max, 4);
  ASSERT_EQ(llm->scaling->windows.size(), 2u);
  EXPECT_EQ(llm->scaling->windows[0].cron, "0 22 * * *");
  EXPECT_EQ(llm->scaling->windows[1].replicas, 2);
  EXPECT_EQ(llm->scaling->timezone, "Europe/Paris");
  ASSERT_TRUE(llm->scaling->target.has_value());
  EXPECT_EQ(llm->scaling->target->tier, "fast");
  EXPECT_EQ(llm->scaling->target->cooldown, milliseconds(2000));
  EXPECT_EQ(llm->scaling->target->every, milliseconds(5000));
  // Scaling is not an input: plans and providers never see it.
  EXPECT_FALSE(llm->inputs.contains("scaling"));
}

TEST(ScalingSpec, ReconcileDefaultsToHourlyAndCanBeOff) {
  StackSpec plain = parse_ok("name: s\nresources:\n  c:\n    type: redis\n");
  EXPECT_TRUE(plain.reconcile.enabled);
  EXPECT_EQ(plain.reconcile.every, std::chrono::hours(1));
  EXPECT_FALSE(plain.reconcile.dry_run);
  StackSpec off = parse_ok("name: s\nreconcile: off\nresources:\n  c:\n    type: redis\n");
  EXPECT_FALSE(off.reconcile.enabled);
}

TEST(ScalingSpec, ErrorsNameTheirLine) {
  auto errors = errors_of(R"(name: s
reconcile: {every: soon}
resources:
  llm:
    type: model_endpoint
    inputs: {tier: fast, model: m, replicas: 2}
    scaling:
      min: 3
      max: 1
  other:
    type: model_endpoint
    inputs: {tier: slow, model: m}
    scaling:
      max: 2
      windows: [{cron: "0 25 * * *", replicas: 1}, {cron: "0 7 * * *", replicas: 5}]
      timezone: Mars/Olympus
      target: {in_flight_per_replica: 0, router: llm}
  cache:
    type: redis
    scaling: {max: 1}
)");
  EXPECT_THAT(
      errors,
      ElementsAre(
          "2:20: reconcile.every must be a duration of at least 1s (\"30s\", \"10m\", \"1h\"), "
          "not \"soon\"",
          "9:12: resource \"llm\": scaling: min 3 and max 1 must satisfy 0 <= min <= max <= 64",
          HasSubstr("15:24: resource \"other\": scaling.windows[0].cron: \"0 25 * * *\": hour"),
          "15:82: resource \"other\": scaling.windows[1].replicas 5 is outside min..max (0..2)",
          HasSubstr("16:17: resource \"other\": scaling.timezone: unknown time zone"),
          "17:39: resource \"other\": scaling.target.in_flight_per_replica must be at least 1, "
          "not 0",
          "17:50: resource \"other\": scaling.target.router: \"llm\" is not a router resource "
          "of this stack",
          "20:5: resource \"cache\": scaling is for model_endpoint resources, not redis"));
}

TEST(ScalingSpec, TargetTrackingNeedsARouterTierOverTheEndpoint) {
  auto errors = errors_of(R"(name: s
resources:
  llm:
    type: model_endpoint
    inputs: {tier: fast, model: m}
    scaling:
      target: {in_flight_per_replica: 2, router: router}
  other:
    type: model_endpoint
    inputs: {tier: fast, model: m}
  router:
    type: router
    inputs:
      default_tier: fast
      tiers: [{name: fast, model: m, urls: "${other.urls}"}]
)");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("7:50: resource \"llm\": scaling.target.router: no tier of "
                                   "\"router\" takes its urls from \"llm\""));
}

ScalingSpec tracking(int min, int max, milliseconds cooldown = milliseconds(600'000)) {
  ScalingSpec s;
  s.min = min;
  s.max = max;
  TargetTracking t;
  t.in_flight_per_replica = 4;
  t.cooldown = cooldown;
  s.target = t;
  return s;
}

TEST(DecideScale, ScalesOutOnTheFirstTickEvenRightAfterAChange) {
  const int64_t now = 1'000'000'000;
  ScaleDecision d = decide_scale(tracking(1, 8), 1, 9, now, now - 1000);
  EXPECT_EQ(d.move, ScaleMove::kOut);
  EXPECT_EQ(d.desired, 3);  // ceil(9 / 4)
  EXPECT_EQ(d.replicas, 3);
  EXPECT_EQ(d.reason, "target tracking: 9 in flight, 4 per replica → 3 replicas (from 1)");
}

TEST(DecideScale, ScalesInOnlyAfterTheCooldown) {
  const int64_t changed = 1'000'000'000;
  const ScalingSpec s = tracking(1, 8);
  ScaleDecision early = decide_scale(s, 3, 0, changed + 599'999, changed);
  EXPECT_EQ(early.move, ScaleMove::kHold);
  EXPECT_EQ(early.replicas, 3);
  EXPECT_EQ(early.desired, 1);
  EXPECT_EQ(early.wait_ms, 1);
  ScaleDecision late = decide_scale(s, 3, 0, changed + 600'000, changed);
  EXPECT_EQ(late.move, ScaleMove::kIn);
  EXPECT_EQ(late.replicas, 1);  // min, not 0
  // Never changed: no cooldown to wait for.
  EXPECT_EQ(decide_scale(s, 3, 4, changed, 0).move, ScaleMove::kIn);
}

TEST(DecideScale, StaysWithinMinAndMax) {
  const ScalingSpec s = tracking(2, 5);
  EXPECT_EQ(decide_scale(s, 2, 1000, 10, 0).replicas, 5);
  EXPECT_EQ(decide_scale(s, 5, 1000, 10, 0).move, ScaleMove::kNone);
  EXPECT_EQ(decide_scale(s, 2, 0, 10, 0).move, ScaleMove::kNone);
  EXPECT_EQ(decide_scale(s, 2, 8, 10, 0).move, ScaleMove::kNone);  // exactly 2 × 4
  EXPECT_EQ(decide_scale(s, 2, 9, 10, 0).replicas, 3);
}

TEST(ScheduleIds, DerivedFromTheStack) {
  EXPECT_EQ(reconcile_schedule_id("shop"), "stack:shop:reconcile");
  EXPECT_EQ(window_schedule_id("shop", "llm", 1), "stack:shop:scale:llm:1");
  EXPECT_EQ(autoscale_schedule_id("shop", "llm"), "stack:shop:autoscale:llm");
}

}  // namespace
}  // namespace cairn::deploy
