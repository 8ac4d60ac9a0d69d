// RFC 3339 times, deterministic jitter, derived ids and validation of a whole Schedule. Epoch
// values are worked out by hand: 2026-01-01 is day 20454 (56 years, 14 leap days), 2026-12-07
// day 20794.
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proto/schedule_spec.h"

namespace cairn::schedule {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNewYear2026Ms = 20454LL * 86400 * 1000;
constexpr int64_t kDec7At22Ms = (20794LL * 86400 + 22 * 3600) * 1000;

TEST(FormatUtcTest, WholeSecondsAndMilliseconds) {
  EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_utc(kNewYear2026Ms), "2026-01-01T00:00:00Z");
  EXPECT_EQ(format_utc(kDec7At22Ms), "2026-12-07T22:00:00Z");
  EXPECT_EQ(format_utc(kDec7At22Ms + 250), "2026-12-07T22:00:00.250Z");
  EXPECT_EQ(format_utc(kDec7At22Ms + 5), "2026-12-07T22:00:00.005Z");
  EXPECT_EQ(format_utc(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_utc((11016LL * 86400 + 12 * 3600 + 34 * 60 + 56) * 1000),
            "2000-02-29T12:34:56Z");  // 30 years + 7 leap days + 59 days
}

TEST(ParseUtcTest, ZuluOffsetsAndFractions) {
  const auto ok = [](const char* text) {
    Result<int64_t> r = parse_utc(text);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
    return r.ok() ? *r : -1;
  };
  EXPECT_EQ(ok("2026-12-07T22:00:00Z"), kDec7At22Ms);
  EXPECT_EQ(ok("2026-12-07T23:00:00+01:00"), kDec7At22Ms);
  EXPECT_EQ(ok("2026-12-07T17:00:00-05:00"), kDec7At22Ms);
  EXPECT_EQ(ok("2026-12-08T03:30:00+05:30"), kDec7At22Ms);
  EXPECT_EQ(ok("2026-12-07t22:00:00z"), kDec7At22Ms);
  EXPECT_EQ(ok("2026-12-07 22:00:00Z"), kDec7At22Ms);
  EXPECT_EQ(ok("2026-12-07T22:00:00.25Z"), kDec7At22Ms + 250);
  EXPECT_EQ(ok("2026-12-07T22:00:00.123456789Z"), kDec7At22Ms + 123);  // below ms: truncated
  EXPECT_EQ(ok("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ok("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_EQ(ok(format_utc(kDec7At22Ms + 250).c_str()), kDec7At22Ms + 250);
}

TEST(ParseUtcTest, ErrorsNameTheText) {
  const auto error = [](const char* text) {
    Result<int64_t> r = parse_utc(text);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(error("2026-13-01T00:00:00Z"),
            "\"2026-13-01T00:00:00Z\" is not an RFC 3339 time (month 13 is out of range 01-12); "
            "expected e.g. 2026-12-07T22:00:00Z or 2026-12-07T23:00:00+01:00");
  EXPECT_THAT(error("2026-02-29T00:00:00Z"), HasSubstr("day 29 does not exist in 2026-02"));
  EXPECT_THAT(error("2026-12-07T22:00:00"), HasSubstr("a time zone offset is required"));
  EXPECT_THAT(error("2026-12-07T24:00:00Z"), HasSubstr("out of range"));
  EXPECT_THAT(error("2026-12-07"), HasSubstr("'T' and a time"));
  EXPECT_THAT(error("yesterday"), HasSubstr("\"yesterday\" is not an RFC 3339 time"));
  EXPECT_THAT(error("2026-12-07T22:00:00+1:00"), HasSubstr("offset must be"));
  EXPECT_THAT(error("2026-12-07T22:00:00.Z"), HasSubstr("digits must follow"));
  EXPECT_THAT(error("2026-12-07T22:00:00Zjunk"), HasSubstr("unexpected \"junk\" at column 21"));
}

TEST(JitterTest, DeterministicWithinRangeAndSpread) {
  EXPECT_EQ(jitter_for("nightly", kDec7At22Ms, 0), 0);
  EXPECT_EQ(jitter_for("nightly", kDec7At22Ms, -5), 0);
  EXPECT_EQ(jitter_for("nightly", kDec7At22Ms, 1), 0);
  std::set<int64_t> seen;
  for (int i = 0; i < 200; ++i) {
    const int64_t nominal = kNewYear2026Ms + i * 3'600'000LL;
    const int64_t j = jitter_for("nightly", nominal, 60'000);
    EXPECT_GE(j, 0);
    EXPECT_LT(j, 60'000);
    EXPECT_EQ(j, jitter_for("nightly", nominal, 60'000));  // same on every server
    seen.insert(j);
  }
  EXPECT_GT(seen.size(), 190u);  // hourly fires do not share a delay
  int differ = 0;
  for (int i = 0; i < 50; ++i) {
    const int64_t nominal = kNewYear2026Ms + i * 1000LL;
    differ += jitter_for("a", nominal, 1'000'000) != jitter_for("b", nominal, 1'000'000);
  }
  EXPECT_GE(differ, 48);  // and schedules firing together are spread apart
}

TEST(DerivedIdsTest, WorkflowAndEntityIds) {
  v1::ScheduleAction action;
  EXPECT_EQ(derived_workflow_id("nightly", action, kDec7At22Ms), "nightly-2026-12-07T22:00:00Z");
  action.set_workflow_id("scale-down");
  EXPECT_EQ(derived_workflow_id("nightly", action, kDec7At22Ms),
            "scale-down-2026-12-07T22:00:00Z");
  EXPECT_EQ(derived_workflow_id("s", action, kDec7At22Ms + 1), "scale-down-2026-12-07T22:00:00.001Z");
  EXPECT_EQ(entity_workflow_id("nightly"), "__schedule:nightly");
}

TEST(ValidateScheduleIdTest, RequiredBoundedPrintable) {
  EXPECT_EQ(validate_schedule_id("").message(), "schedule_id is required");
  EXPECT_TRUE(validate_schedule_id(std::string(200, 'a')).ok());
  EXPECT_EQ(validate_schedule_id(std::string(201, 'a')).message(),
            "schedule_id is 201 bytes; at most 200");
  EXPECT_THAT(validate_schedule_id("night\nly").message(),
              HasSubstr("has a control character at byte 6"));
  EXPECT_EQ(validate_schedule_id("").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(validate_schedule_id("nightly-reindex.v2").ok());
}

v1::Schedule valid_schedule() {
  v1::Schedule s;
  s.mutable_spec()->add_cron_expressions("0 22 * * *");
  s.mutable_spec()->set_time_zone("Europe/Paris");
  s.mutable_action()->mutable_workflow_type()->set_name("ScaleDown");
  s.mutable_action()->set_task_queue("infra");
  return s;
}

TEST(ValidateScheduleTest, NamesTheFieldAtFault) {
  EXPECT_TRUE(validate_schedule(valid_schedule()).ok());
  const auto error = [](v1::Schedule s) {
    Status st = validate_schedule(s);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    return st.message();
  };
  v1::Schedule s = valid_schedule();
  s.mutable_spec()->set_cron_expressions(0, "0 22 * *");
  EXPECT_THAT(error(s), HasSubstr("spec.cron_expressions[0]: \"0 22 * *\": 4 fields"));
  s = valid_schedule();
  s.mutable_action()->mutable_workflow_type()->clear_name();
  EXPECT_EQ(error(s), "action.workflow_type.name is required");
  s = valid_schedule();
  s.mutable_action()->clear_task_queue();
  EXPECT_EQ(error(s), "action.task_queue is required");
  s = valid_schedule();
  s.mutable_policies()->set_catchup_window_ms(500);
  EXPECT_EQ(error(s), "policies.catchup_window_ms must be 0 (one year) or at least 1000");
  s.mutable_policies()->set_catchup_window_ms(-1);
  EXPECT_EQ(error(s), "policies.catchup_window_ms must be 0 (one year) or at least 1000");
  s = valid_schedule();
  s.set_remaining_actions(-1);
  EXPECT_EQ(error(s), "remaining_actions must be >= 0");
  s = valid_schedule();
  s.mutable_action()->set_workflow_run_timeout_ms(-1);
  EXPECT_THAT(error(s), HasSubstr("action.workflow_run_timeout_ms must be >= 0"));
  s = valid_schedule();
  s.mutable_action()->set_workflow_execution_timeout_ms(-1);
  EXPECT_THAT(error(s), HasSubstr("action.workflow_execution_timeout_ms must be >= 0"));
  s = valid_schedule();
  s.mutable_action()->set_workflow_task_timeout_ms(-1);
  EXPECT_THAT(error(s), HasSubstr("action.workflow_task_timeout_ms must be >= 0"));
  s = valid_schedule();
  s.mutable_action()->set_workflow_id("__schedule:other");
  EXPECT_THAT(error(s), HasSubstr("action.workflow_id may not start with \"__schedule:\""));
  s = valid_schedule();
  s.mutable_policies()->set_overlap_policy(static_cast<v1::ScheduleOverlapPolicy>(42));
  EXPECT_THAT(error(s), HasSubstr("policies.overlap_policy 42 is not a known policy"));
  s = valid_schedule();
  s.mutable_spec()->set_time_zone("Europe/Pariss");
  EXPECT_THAT(error(s), HasSubstr("spec.time_zone: unknown time zone \"Europe/Pariss\""));
}

TEST(CatchupWindowTest, ZeroMeansOneYear) {
  v1::SchedulePolicies p;
  EXPECT_EQ(catchup_window_ms(p), 365LL * 24 * 3600 * 1000);
  p.set_catchup_window_ms(5000);
  EXPECT_EQ(catchup_window_ms(p), 5000);
}

}  // namespace
}  // namespace cairn::schedule
