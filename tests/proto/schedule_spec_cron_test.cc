// parse_cron: the masks each field form gives, and every error message form (the expression,
// the field, the token, the 1-based column, what is allowed). compile(): never-firing
// expressions, unknown zones and the other spec checks, each naming the field.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proto/schedule_spec.h"

namespace cairn::schedule {
namespace {

using ::testing::HasSubstr;

uint64_t bits(std::initializer_list<int> values) {
  uint64_t out = 0;
  for (int v : values) {
    out |= uint64_t{1} << v;
  }
  return out;
}

uint64_t range(int lo, int hi) {
  uint64_t out = 0;
  for (int v = lo; v <= hi; ++v) {
    out |= uint64_t{1} << v;
  }
  return out;
}

std::string parse_error(const std::string& text) {
  Result<CronExpression> r = parse_cron(text);
  EXPECT_FALSE(r.ok()) << text << " parsed";
  if (r.ok()) {
    return "";
  }
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(ParseCronTest, FiveFieldsFireAtSecondZero) {
  Result<CronExpression> c = parse_cron("*/15 9-17 1,15 JAN-MAR mon-fri");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->text, "*/15 9-17 1,15 JAN-MAR mon-fri");
  EXPECT_EQ(c->seconds, bits({0}));
  EXPECT_EQ(c->minutes, bits({0, 15, 30, 45}));
  EXPECT_EQ(c->hours, range(9, 17));
  EXPECT_EQ(c->days_of_month, bits({1, 15}));
  EXPECT_EQ(c->months, range(1, 3));
  EXPECT_EQ(c->days_of_week, range(1, 5));
  EXPECT_TRUE(c->dom_restricted);
  EXPECT_TRUE(c->dow_restricted);
}

TEST(ParseCronTest, SixFieldsPutSecondsFirst) {
  Result<CronExpression> c = parse_cron("10,40 0 12 * * ?");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->seconds, bits({10, 40}));
  EXPECT_EQ(c->minutes, bits({0}));
  EXPECT_EQ(c->hours, bits({12}));
  EXPECT_EQ(c->days_of_month, range(1, 31));
  EXPECT_EQ(c->months, range(1, 12));
  EXPECT_EQ(c->days_of_week, range(0, 6));
  EXPECT_FALSE(c->dom_restricted);
  EXPECT_FALSE(c->dow_restricted);
}

TEST(ParseCronTest, StepsRangesAndSundaySeven) {
  Result<CronExpression> c = parse_cron("5/20 10-16/3 */10 */5 5-7");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->minutes, bits({5, 25, 45}));       // a/n: from a to the top
  EXPECT_EQ(c->hours, bits({10, 13, 16}));
  EXPECT_EQ(c->days_of_month, bits({1, 11, 21, 31}));
  EXPECT_EQ(c->months, bits({1, 6, 11}));
  EXPECT_EQ(c->days_of_week, bits({0, 5, 6}));    // 7 is Sunday
  EXPECT_FALSE(c->dom_restricted);  // starts with '*' (Vixie)
  EXPECT_TRUE(c->dow_restricted);
  Result<CronExpression> all_week = parse_cron("0 0 * * 0-7");
  ASSERT_TRUE(all_week.ok());
  EXPECT_EQ(all_week->days_of_week, range(0, 6));
  Result<CronExpression> sunday = parse_cron("0 0 * * 7");
  ASSERT_TRUE(sunday.ok());
  EXPECT_EQ(sunday->days_of_week, bits({0}));
  Result<CronExpression> weekend = parse_cron("0 0 * * FRI-SUN");  // SUN ends a range as 7
  ASSERT_TRUE(weekend.ok()) << weekend.status().message();
  EXPECT_EQ(weekend->days_of_week, bits({0, 5, 6}));
}

TEST(ParseCronTest, MacrosExpandAndKeepTheirText) {
  const struct {
    const char* macro;
    const char* same_as;
  } cases[] = {{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
               {"@weekly", "0 0 * * 0"},  {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
               {"@hourly", "0 * * * *"},  {"@Daily", "0 0 * * *"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.macro);
    Result<CronExpression> m = parse_cron(c.macro);
    Result<CronExpression> e = parse_cron(c.same_as);
    ASSERT_TRUE(m.ok()) << m.status().message();
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(m->text, c.macro);
    EXPECT_EQ(m->minutes, e->minutes);
    EXPECT_EQ(m->hours, e->hours);
    EXPECT_EQ(m->days_of_month, e->days_of_month);
    EXPECT_EQ(m->months, e->months);
    EXPECT_EQ(m->days_of_week, e->days_of_week);
    EXPECT_EQ(m->dom_restricted, e->dom_restricted);
    EXPECT_EQ(m->dow_restricted, e->dow_restricted);
  }
}

TEST(ParseCronTest, ExtraWhitespaceIsAccepted) {
  Result<CronExpression> c = parse_cron("  0\t22  * * *  ");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->hours, bits({22}));
}

TEST(ParseCronErrorTest, OutOfRangeNamesFieldTokenColumnAndRange) {
  EXPECT_EQ(parse_error("0 25 * * *"), "\"0 25 * * *\": hour \"25\" at column 3 is out of range 0-23");
  EXPECT_EQ(parse_error("60 * * * *"), "\"60 * * * *\": minute \"60\" at column 1 is out of range 0-59");
  EXPECT_EQ(parse_error("60 0 * * * *"),
            "\"60 0 * * * *\": second \"60\" at column 1 is out of range 0-59");
  EXPECT_EQ(parse_error("0 0 1-40 * *"),
            "\"0 0 1-40 * *\": day-of-month \"40\" at column 7 is out of range 1-31");
  EXPECT_EQ(parse_error("0 0 0 * *"),
            "\"0 0 0 * *\": day-of-month \"0\" at column 5 is out of range 1-31");
  EXPECT_EQ(parse_error("0 0 * 13 *"), "\"0 0 * 13 *\": month \"13\" at column 7 is out of range 1-12");
  EXPECT_EQ(parse_error("0 0 * * 8"),
            "\"0 0 * * 8\": day-of-week \"8\" at column 9 is out of range 0-7");
  EXPECT_EQ(parse_error("0 1,2,99 * * *"),
            "\"0 1,2,99 * * *\": hour \"99\" at column 7 is out of range 0-23");
  // Columns count in the text as written, leading blanks included.
  EXPECT_EQ(parse_error("  0 25 * * *"),
            "\"  0 25 * * *\": hour \"25\" at column 5 is out of range 0-23");
}

TEST(ParseCronErrorTest, Steps) {
  EXPECT_EQ(parse_error("*/0 * * * *"),
            "\"*/0 * * * *\": minute \"*/0\" at column 1: a step must be at least 1");
  EXPECT_EQ(parse_error("0 */25 * * *"),
            "\"0 */25 * * *\": hour \"*/25\" at column 3: a step must be at most 24 in this field");
  EXPECT_THAT(parse_error("*/ * * * *"),
              HasSubstr("minute \"*/\" at column 1: a step is a whole number after '/'"));
  EXPECT_THAT(parse_error("*/x * * * *"), HasSubstr("minute \"*/x\" at column 1: a step is"));
  EXPECT_THAT(parse_error("*/5/2 * * * *"),
              HasSubstr("minute \"*/5/2\" at column 1: at most one '/'"));
}

TEST(ParseCronErrorTest, RangesAndListItems) {
  EXPECT_EQ(parse_error("0 0 * * 5-1"),
            "\"0 0 * * 5-1\": day-of-week \"5-1\" at column 9 is a reversed range (5 > 1); a "
            "range goes upward, e.g. 1-5");
  EXPECT_THAT(parse_error("0 0 * * FRI-MON"),
              HasSubstr("day-of-week \"FRI-MON\" at column 9 is a reversed range (5 > 1)"));
  EXPECT_THAT(parse_error("1-2-3 * * * *"),
              HasSubstr("minute \"1-2-3\" at column 1: a range has one '-'"));
  EXPECT_EQ(parse_error("5- * * * *"),
            "\"5- * * * *\": minute \"\" at column 3: a value is missing; expected 0-59");
  EXPECT_EQ(parse_error("1,,2 * * * *"),
            "\"1,,2 * * * *\": minute \"1,,2\" has an empty list item at column 3 (items are "
            "separated by one comma)");
  EXPECT_THAT(parse_error("0 0 * * MON,"),
              HasSubstr("day-of-week \"MON,\" has an empty list item at column 13"));
  EXPECT_THAT(parse_error(",5 * * * *"), HasSubstr("minute \",5\" has an empty list item at column 1"));
}

TEST(ParseCronErrorTest, UnknownNamesAndJunk) {
  EXPECT_EQ(parse_error("0 0 * FOO *"),
            "\"0 0 * FOO *\": month \"FOO\" at column 7 is not a number or a name; allowed: 1-12 "
            "or JAN-DEC");
  EXPECT_EQ(parse_error("0 0 * * FUNDAY"),
            "\"0 0 * * FUNDAY\": day-of-week \"FUNDAY\" at column 9 is not a number or a name; "
            "allowed: 0-7 (0 and 7 are Sunday) or SUN-SAT");
  EXPECT_THAT(parse_error("0 0 * MON *"), HasSubstr("month \"MON\" at column 7 is not a number"));
  EXPECT_THAT(parse_error("0 0 * * JAN"), HasSubstr("day-of-week \"JAN\" at column 9"));
  EXPECT_EQ(parse_error("x * * * *"),
            "\"x * * * *\": minute \"x\" at column 1 is not a number; allowed: 0-59");
  EXPECT_THAT(parse_error("0 -1 * * *"), HasSubstr("hour \"\" at column 3: a value is missing"));
  EXPECT_THAT(parse_error("0 12345 * * *"), HasSubstr("hour \"12345\" at column 3 is out of range"));
}

TEST(ParseCronErrorTest, FieldCountsAndMacros) {
  EXPECT_EQ(parse_error("0 0 * * * * *"),
            "\"0 0 * * * * *\": 7 fields; expected 5 (minute hour day-of-month month "
            "day-of-week) or 6 (second first)");
  EXPECT_THAT(parse_error("0 0 *"), HasSubstr("\"0 0 *\": 3 fields; expected 5"));
  EXPECT_THAT(parse_error("daily"), HasSubstr("\"daily\": 1 field; expected 5"));
  EXPECT_THAT(parse_error(""), HasSubstr("empty cron expression"));
  EXPECT_THAT(parse_error("   "), HasSubstr("empty cron expression"));
  EXPECT_EQ(parse_error("@reboot"),
            "\"@reboot\": unknown macro \"@reboot\" at column 1; allowed: @yearly @annually "
            "@monthly @weekly @daily @midnight @hourly");
  EXPECT_EQ(parse_error("@daily 5"), "\"@daily 5\": @daily stands alone; \"5\" at column 8 is extra");
}

v1::ScheduleSpec spec_with(std::initializer_list<const char*> crons) {
  v1::ScheduleSpec spec;
  for (const char* c : crons) {
    spec.add_cron_expressions(c);
  }
  return spec;
}

std::string compile_error(const v1::ScheduleSpec& spec) {
  Result<CompiledSpec> r = CompiledSpec::compile(spec);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

TEST(CompileSpecTest, CronErrorsNameTheirIndex) {
  EXPECT_EQ(compile_error(spec_with({"0 7 * * *", "0 25 * * *"})),
            "spec.cron_expressions[1]: \"0 25 * * *\": hour \"25\" at column 3 is out of range "
            "0-23");
}

TEST(CompileSpecTest, ExpressionsThatNeverFireAreRejected) {
  EXPECT_EQ(compile_error(spec_with({"0 0 30 2 *"})),
            "spec.cron_expressions[0]: \"0 0 30 2 *\" never fires (no month it allows has a "
            "day-of-month it allows)");
  EXPECT_THAT(compile_error(spec_with({"@daily", "0 0 31 4 *"})),
              HasSubstr("spec.cron_expressions[1]: \"0 0 31 4 *\" never fires"));
  EXPECT_THAT(compile_error(spec_with({"0 0 31 2,4,6,9,11 *"})), HasSubstr("never fires"));
  // These do fire: Feb 29 in leap years; April 31 or any Monday of April (Vixie OR).
  EXPECT_TRUE(CompiledSpec::compile(spec_with({"0 0 29 2 *"})).ok());
  EXPECT_TRUE(CompiledSpec::compile(spec_with({"0 0 31 4 MON"})).ok());
  EXPECT_TRUE(CompiledSpec::compile(spec_with({"0 0 30,31 2,3 *"})).ok());
}

TEST(CompileSpecTest, TimeZones) {
  v1::ScheduleSpec spec = spec_with({"0 22 * * *"});
  spec.set_time_zone("Mars/Olympus");
  EXPECT_EQ(compile_error(spec),
            "spec.time_zone: unknown time zone \"Mars/Olympus\" (an IANA name such as "
            "Europe/Paris)");
  for (const char* zone : {"", "UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"}) {
    spec.set_time_zone(zone);
    EXPECT_TRUE(CompiledSpec::compile(spec).ok()) << zone;
  }
}

TEST(CompileSpecTest, IntervalsBoundsAndJitter) {
  v1::ScheduleSpec spec;
  spec.add_intervals()->set_every_ms(0);
  EXPECT_THAT(compile_error(spec), HasSubstr("spec.intervals[0].every_ms must be > 0"));
  spec.mutable_intervals(0)->set_every_ms(-5);
  EXPECT_THAT(compile_error(spec), HasSubstr("spec.intervals[0].every_ms must be > 0"));
  spec.mutable_intervals(0)->set_every_ms(60'000);
  spec.mutable_intervals(0)->set_phase_ms(60'000);
  EXPECT_THAT(compile_error(spec), HasSubstr("spec.intervals[0].phase_ms must be in [0, every)"));
  spec.mutable_intervals(0)->set_phase_ms(-1);
  EXPECT_THAT(compile_error(spec), HasSubstr("spec.intervals[0].phase_ms must be in [0, every)"));
  spec.mutable_intervals(0)->set_phase_ms(59'999);
  EXPECT_TRUE(CompiledSpec::compile(spec).ok());

  spec.set_start_time_ms(2000);
  spec.set_end_time_ms(1000);
  EXPECT_THAT(compile_error(spec), HasSubstr("spec.end_time_ms is before spec.start_time_ms"));
  spec.set_end_time_ms(2000);
  EXPECT_TRUE(CompiledSpec::compile(spec).ok());
  spec.set_end_time_ms(0);  // unbounded
  EXPECT_TRUE(CompiledSpec::compile(spec).ok());
  spec.set_start_time_ms(-1);
  EXPECT_THAT(compile_error(spec), HasSubstr("spec.start_time_ms must be >= 0"));
  spec.set_start_time_ms(0);
  spec.set_jitter_ms(-1);
  EXPECT_EQ(compile_error(spec), "spec.jitter_ms must be >= 0");
}

}  // namespace
}  // namespace cairn::schedule
