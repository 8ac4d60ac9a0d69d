// Next-fire computation against hand-computed instants: every field form, names, macros, 6-field
// seconds, Vixie's day-of-month / day-of-week OR, DST changes in Europe and America, leap days,
// intervals, bounds, next_n and count_between. Expected instants are literal RFC 3339 strings,
// worked out by hand from the calendar (2026-01-01 is a Thursday; Europe/Paris changes on
// 2026-03-29 at 01:00Z and 2026-10-25 at 01:00Z; America/New_York on 2026-03-08 at 07:00Z and
// 2026-11-01 at 06:00Z).
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proto/schedule_spec.h"

namespace cairn::schedule {
namespace {

using ::testing::ElementsAreArray;

int64_t at(const std::string& text) {
  Result<int64_t> t = parse_utc(text);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? *t : 0;
}

CompiledSpec compiled(const v1::ScheduleSpec& spec) {
  Result<CompiledSpec> c = CompiledSpec::compile(spec);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return std::move(c).value();
}

v1::ScheduleSpec cron_spec(const std::string& expr, const std::string& zone = "") {
  v1::ScheduleSpec spec;
  spec.add_cron_expressions(expr);
  spec.set_time_zone(zone);
  return spec;
}

std::vector<std::string> fires(const v1::ScheduleSpec& spec, const std::string& after, int n) {
  std::vector<std::string> out;
  for (int64_t t : compiled(spec).next_n(at(after), n)) {
    out.push_back(format_utc(t));
  }
  return out;
}

struct Case {
  const char* expr;
  const char* zone;
  const char* after;
  std::vector<std::string> expected;
};

void check_table(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.expr) + " in " + (*c.zone ? c.zone : "UTC") + " after " + c.after);
    EXPECT_THAT(fires(cron_spec(c.expr, c.zone), c.after, static_cast<int>(c.expected.size())),
                ElementsAreArray(c.expected));
  }
}

constexpr const char* kNewYear = "2026-01-01T00:00:00Z";  // a Thursday

TEST(CronNextTest, EveryFieldForm) {
  check_table({
      {"* * * * *", "", kNewYear,
       {"2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z"}},
      {"*/15 * * * *", "", kNewYear,
       {"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z",
        "2026-01-01T01:00:00Z"}},
      {"5 * * * *", "", kNewYear,
       {"2026-01-01T00:05:00Z", "2026-01-01T01:05:00Z", "2026-01-01T02:05:00Z"}},
      {"10-50/20 * * * *", "", kNewYear,
       {"2026-01-01T00:10:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:50:00Z",
        "2026-01-01T01:10:00Z"}},
      {"1,15 * * * *", "", kNewYear,
       {"2026-01-01T00:01:00Z", "2026-01-01T00:15:00Z", "2026-01-01T01:01:00Z"}},
      {"0 9-17/4 * * *", "", kNewYear,
       {"2026-01-01T09:00:00Z", "2026-01-01T13:00:00Z", "2026-01-01T17:00:00Z",
        "2026-01-02T09:00:00Z"}},
      {"30 20/2 * * *", "", kNewYear,  // a/n: a to the top of the field
       {"2026-01-01T20:30:00Z", "2026-01-01T22:30:00Z", "2026-01-02T20:30:00Z"}},
      {"0 0 1 * *", "", kNewYear,  // strictly after: not 2026-01-01 itself
       {"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"}},
      {"0 0 31 * *", "", kNewYear,
       {"2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z",
        "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"}},
      {"0 0 ? * 1", "", kNewYear,  // '?' is '*'
       {"2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z"}},
      {"0,30 8,12-13 * * *", "", kNewYear,
       {"2026-01-01T08:00:00Z", "2026-01-01T08:30:00Z", "2026-01-01T12:00:00Z",
        "2026-01-01T12:30:00Z", "2026-01-01T13:00:00Z", "2026-01-01T13:30:00Z",
        "2026-01-02T08:00:00Z"}},
      {"0 0 1 */4 *", "", kNewYear,  // months 1, 5, 9
       {"2026-05-01T00:00:00Z", "2026-09-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
  });
}

TEST(CronNextTest, MonthAndDayNamesInAnyCase) {
  check_table({
      {"0 12 * * MON-FRI", "", kNewYear,
       {"2026-01-01T12:00:00Z", "2026-01-02T12:00:00Z", "2026-01-05T12:00:00Z"}},
      {"0 12 * * mon-fri", "", kNewYear,
       {"2026-01-01T12:00:00Z", "2026-01-02T12:00:00Z", "2026-01-05T12:00:00Z"}},
      {"0 0 1 jul,JAN *", "", kNewYear,
       {"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"}},
      {"0 0 1 Mar-May *", "", kNewYear,
       {"2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z",
        "2027-03-01T00:00:00Z"}},
      {"0 0 * * SUN", "", kNewYear,
       {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-18T00:00:00Z"}},
      {"0 0 * * 0", "", kNewYear,
       {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-18T00:00:00Z"}},
      {"0 0 * * 7", "", kNewYear,  // 7 is Sunday too
       {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-18T00:00:00Z"}},
      {"0 0 * * 5-7", "", kNewYear,  // Friday, Saturday, Sunday
       {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
        "2026-01-09T00:00:00Z"}},
      {"0 0 * * fri-sun", "", kNewYear,
       {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z"}},
  });
}

TEST(CronNextTest, Macros) {
  check_table({
      {"@yearly", "", kNewYear,
       {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z"}},
      {"@annually", "", kNewYear, {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
      {"@monthly", "", kNewYear,
       {"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"}},
      {"@weekly", "", kNewYear,  // Sundays at midnight
       {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-18T00:00:00Z"}},
      {"@daily", "", kNewYear, {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"}},
      {"@midnight", "", kNewYear, {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"}},
      {"@hourly", "", kNewYear,
       {"2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z"}},
      {"@DAILY", "", kNewYear, {"2026-01-02T00:00:00Z"}},
  });
}

TEST(CronNextTest, SixFieldsWithSeconds) {
  check_table({
      {"*/20 * * * * *", "", kNewYear,
       {"2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z"}},
      {"30 0 0 * * *", "", kNewYear,  // 00:00:30 every day
       {"2026-01-01T00:00:30Z", "2026-01-02T00:00:30Z", "2026-01-03T00:00:30Z"}},
      {"* * * * * *", "", "2026-01-01T00:00:00.500Z",  // whole seconds, strictly after
       {"2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z"}},
      {"59 59 23 31 12 *", "", kNewYear,
       {"2026-12-31T23:59:59Z", "2027-12-31T23:59:59Z"}},
  });
}

TEST(CronNextTest, VixieDayOfMonthOrDayOfWeek) {
  check_table({
      // Both restricted: the 13th or any Friday (Jan 2 and 9 are Fridays, Jan 13 a Tuesday).
      {"0 0 13 * FRI", "", kNewYear,
       {"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z",
        "2026-01-16T00:00:00Z"}},
      {"0 0 1,15 * 1", "", kNewYear,  // the 1st, the 15th, or a Monday
       {"2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-15T00:00:00Z",
        "2026-01-19T00:00:00Z"}},
      // Day-of-month starting with '*' is not restricted (Vixie): both must match, so days
      // 1, 11, 21 or 31 that are Mondays.
      {"0 0 */10 * MON", "", kNewYear,
       {"2026-05-11T00:00:00Z", "2026-06-01T00:00:00Z", "2026-08-31T00:00:00Z"}},
      // Day-of-week '*': only the day of month counts.
      {"0 0 13 * *", "", kNewYear, {"2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z"}},
      // April 31 does not exist, but Mondays in April do.
      {"0 0 31 4 MON", "", kNewYear,
       {"2026-04-06T00:00:00Z", "2026-04-13T00:00:00Z", "2026-04-20T00:00:00Z",
        "2026-04-27T00:00:00Z", "2027-04-05T00:00:00Z"}},
  });
}

TEST(CronNextTest, LeapDays) {
  check_table({
      {"0 0 29 2 *", "", "2025-01-01T00:00:00Z",
       {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"}},
      // 2100 is not a leap year: an eight-year gap.
      {"0 0 29 2 *", "", "2096-03-01T00:00:00Z",
       {"2104-02-29T00:00:00Z", "2108-02-29T00:00:00Z"}},
      {"0 0 28-29 2 *", "", "2099-03-01T00:00:00Z",
       {"2100-02-28T00:00:00Z", "2101-02-28T00:00:00Z", "2102-02-28T00:00:00Z",
        "2103-02-28T00:00:00Z", "2104-02-28T00:00:00Z", "2104-02-29T00:00:00Z"}},
      // 2000 is a leap year (divisible by 400).
      {"0 0 29 2 *", "", "1997-01-01T00:00:00Z",
       {"2000-02-29T00:00:00Z", "2004-02-29T00:00:00Z"}},
  });
}

TEST(CronNextTest, ScaleDownAndUpInUtcAndParis) {
  check_table({
      {"0 22 * * *", "", kNewYear, {"2026-01-01T22:00:00Z", "2026-01-02T22:00:00Z"}},
      {"0 7 * * *", "", kNewYear, {"2026-01-01T07:00:00Z", "2026-01-02T07:00:00Z"}},
      {"0 22 * * *", "UTC", kNewYear, {"2026-01-01T22:00:00Z"}},
      // Paris in winter is UTC+1, in summer UTC+2.
      {"0 22 * * *", "Europe/Paris", kNewYear, {"2026-01-01T21:00:00Z", "2026-01-02T21:00:00Z"}},
      {"0 7 * * *", "Europe/Paris", kNewYear, {"2026-01-01T06:00:00Z", "2026-01-02T06:00:00Z"}},
      {"0 22 * * *", "Europe/Paris", "2026-07-01T00:00:00Z",
       {"2026-07-01T20:00:00Z", "2026-07-02T20:00:00Z"}},
      {"0 7 * * *", "Europe/Paris", "2026-07-01T00:00:00Z",
       {"2026-07-01T05:00:00Z", "2026-07-02T05:00:00Z"}},
      // Across the spring change: 22:00 on the 28th is CET, on the 29th CEST.
      {"0 22 * * *", "Europe/Paris", "2026-03-28T00:00:00Z",
       {"2026-03-28T21:00:00Z", "2026-03-29T20:00:00Z"}},
  });
}

TEST(CronNextTest, EuropeSpringForwardSkipsTheMissingHour) {
  check_table({
      // 02:30 does not exist in Paris on 2026-03-29 (02:00 CET -> 03:00 CEST).
      {"30 2 * * *", "Europe/Paris", "2026-03-28T00:00:00Z",
       {"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}},
      {"30 2 * * *", "Europe/Berlin", "2026-03-28T00:00:00Z",
       {"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"}},
      // Hourly: every real hour still fires; only the label 02:00 is missing.
      {"0 * * * *", "Europe/Paris", "2026-03-28T23:30:00Z",
       {"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}},
      {"*/20 2-3 * * *", "Europe/Paris", "2026-03-29T00:00:00Z",
       {"2026-03-29T01:00:00Z", "2026-03-29T01:20:00Z", "2026-03-29T01:40:00Z",
        "2026-03-30T00:00:00Z"}},
      {"* 2 29 3 *", "Europe/Paris", "2026-03-28T00:00:00Z",  // only ever in the gap this year
       {"2027-03-29T00:00:00Z", "2027-03-29T00:01:00Z"}},
  });
}

TEST(CronNextTest, EuropeFallBackFiresTheRepeatedHourOnce) {
  check_table({
      // 02:30 happens twice on 2026-10-25 (00:30Z CEST, 01:30Z CET): it fires at the first.
      {"30 2 * * *", "Europe/Paris", "2026-10-24T00:00:00Z",
       {"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
      {"30 2 * * *", "Europe/Paris", "2026-10-25T00:30:00Z", {"2026-10-26T01:30:00Z"}},
      {"30 2 * * *", "Europe/Paris", "2026-10-25T01:00:00Z", {"2026-10-26T01:30:00Z"}},
      // Hourly: local 02:00 fires once (CEST), then 03:00 CET two real hours later.
      {"0 * * * *", "Europe/Paris", "2026-10-24T22:30:00Z",
       {"2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z",
        "2026-10-25T03:00:00Z"}},
      // During the second pass, the repeated quarter hours have fired already.
      {"*/15 * * * *", "Europe/Paris", "2026-10-25T01:05:00Z",
       {"2026-10-25T02:00:00Z", "2026-10-25T02:15:00Z"}},
      {"0 0 * * *", "Europe/Berlin", "2026-10-24T00:00:00Z",
       {"2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"}},
  });
}

TEST(CronNextTest, AmericaSpringForwardAndFallBack) {
  check_table({
      // 2026-03-08: 02:00 EST -> 03:00 EDT at 07:00Z; 02:30 does not exist.
      {"30 2 * * *", "America/New_York", "2026-03-07T00:00:00Z",
       {"2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}},
      {"0 * * * *", "America/New_York", "2026-03-08T05:30:00Z",
       {"2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"}},
      // 2026-11-01: 02:00 EDT -> 01:00 EST at 06:00Z; 01:30 happens twice, fires once a day.
      {"30 1 * * *", "America/New_York", "2026-10-31T00:00:00Z",
       {"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
      {"0 * * * *", "America/New_York", "2026-11-01T03:30:00Z",
       {"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z",
        "2026-11-01T08:00:00Z"}},
      {"0 9 * * MON-FRI", "America/New_York", "2026-03-06T00:00:00Z",  // Fri, then Mon in EDT
       {"2026-03-06T14:00:00Z", "2026-03-09T13:00:00Z"}},
  });
}

TEST(CronNextTest, CountsOneFirePerLocalHourOnDstDays) {
  // The Paris day of 2026-03-29 has 23 hours; local 01:00-23:00 minus 02:00 fire: 22.
  const CompiledSpec hourly = compiled(cron_spec("0 * * * *", "Europe/Paris"));
  EXPECT_EQ(hourly.count_between(at("2026-03-28T23:00:00Z"), at("2026-03-29T21:59:59Z"), 1000), 22);
  // 2026-10-25 has 25 hours; local 01:00-23:00 fire once each: 23.
  EXPECT_EQ(hourly.count_between(at("2026-10-24T22:00:00Z"), at("2026-10-25T22:59:59Z"), 1000), 23);
  const CompiledSpec daily = compiled(cron_spec("30 1 * * *", "America/New_York"));
  EXPECT_EQ(daily.count_between(at("2026-10-30T00:00:00Z"), at("2026-11-04T00:00:00Z"), 1000), 5);
}

v1::ScheduleSpec interval_spec(int64_t every_ms, int64_t phase_ms) {
  v1::ScheduleSpec spec;
  v1::IntervalSpec* iv = spec.add_intervals();
  iv->set_every_ms(every_ms);
  iv->set_phase_ms(phase_ms);
  return spec;
}

TEST(IntervalNextTest, EveryWithPhaseFromTheEpoch) {
  constexpr int64_t kMinute = 60'000;
  EXPECT_THAT(fires(interval_spec(90 * kMinute, 15 * kMinute), kNewYear, 3),
              ElementsAreArray({"2026-01-01T00:15:00Z", "2026-01-01T01:45:00Z",
                                "2026-01-01T03:15:00Z"}));
  EXPECT_THAT(fires(interval_spec(60 * kMinute, 0), kNewYear, 2),
              ElementsAreArray({"2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"}));
  // Weekly from the epoch: Thursdays at 00:00Z.
  EXPECT_THAT(fires(interval_spec(7 * 24 * 60 * kMinute, 0), kNewYear, 1),
              ElementsAreArray({"2026-01-08T00:00:00Z"}));
  EXPECT_THAT(fires(interval_spec(1500, 250), "1970-01-01T00:00:00Z", 3),
              ElementsAreArray({"1970-01-01T00:00:00.250Z", "1970-01-01T00:00:01.750Z",
                                "1970-01-01T00:00:03.250Z"}));
  // Intervals ignore the time zone.
  v1::ScheduleSpec paris = interval_spec(60 * kMinute, 0);
  paris.set_time_zone("Europe/Paris");
  EXPECT_THAT(fires(paris, "2026-03-29T00:30:00Z", 2),
              ElementsAreArray({"2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}));
}

TEST(SpecNextTest, SeveralCronsAndIntervalsGiveTheEarliestOnce) {
  v1::ScheduleSpec spec = interval_spec(40 * 60'000, 0);
  spec.add_cron_expressions("0 * * * *");
  spec.add_cron_expressions("0 */2 * * *");  // overlaps the first
  EXPECT_THAT(fires(spec, kNewYear, 6),
              ElementsAreArray({"2026-01-01T00:40:00Z", "2026-01-01T01:00:00Z",
                                "2026-01-01T01:20:00Z", "2026-01-01T02:00:00Z",
                                "2026-01-01T02:40:00Z", "2026-01-01T03:00:00Z"}));
}

TEST(SpecNextTest, StrictlyAfterTheGivenTime) {
  const CompiledSpec hourly = compiled(cron_spec("0 * * * *"));
  EXPECT_EQ(format_utc(*hourly.next(at("2026-01-01T01:00:00Z"))), "2026-01-01T02:00:00Z");
  EXPECT_EQ(format_utc(*hourly.next(at("2026-01-01T01:00:00.001Z"))), "2026-01-01T02:00:00Z");
  EXPECT_EQ(format_utc(*hourly.next(at("2026-01-01T00:59:59.999Z"))), "2026-01-01T01:00:00Z");
}

TEST(SpecNextTest, StartAndEndBoundsAreInclusive) {
  v1::ScheduleSpec spec = cron_spec("0 * * * *");
  spec.set_start_time_ms(at("2026-01-01T05:00:00Z"));
  EXPECT_THAT(fires(spec, kNewYear, 2),
              ElementsAreArray({"2026-01-01T05:00:00Z", "2026-01-01T06:00:00Z"}));
  spec.set_start_time_ms(at("2026-01-01T05:00:01Z"));
  EXPECT_THAT(fires(spec, kNewYear, 1), ElementsAreArray({"2026-01-01T06:00:00Z"}));
  spec.set_start_time_ms(0);
  spec.set_end_time_ms(at("2026-01-01T03:00:00Z"));
  EXPECT_THAT(fires(spec, kNewYear, 10),
              ElementsAreArray({"2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z",
                                "2026-01-01T03:00:00Z"}));
  EXPECT_EQ(compiled(spec).next(at("2026-01-01T03:00:00Z")), std::nullopt);
}

TEST(SpecNextTest, EmptySpecNeverFires) {
  const CompiledSpec empty = compiled(v1::ScheduleSpec());
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.next(at(kNewYear)), std::nullopt);
  EXPECT_TRUE(empty.next_n(at(kNewYear), 5).empty());
  EXPECT_EQ(empty.count_between(0, at(kNewYear), 100), 0);
}

TEST(SpecNextTest, NextNIsAscendingAndStopsAtTheEnd) {
  v1::ScheduleSpec spec = cron_spec("*/10 * * * *");
  spec.set_end_time_ms(at("2026-01-01T00:35:00Z"));
  EXPECT_THAT(fires(spec, kNewYear, 10),
              ElementsAreArray({"2026-01-01T00:10:00Z", "2026-01-01T00:20:00Z",
                                "2026-01-01T00:30:00Z"}));
  EXPECT_TRUE(compiled(spec).next_n(at(kNewYear), 0).empty());
}

TEST(SpecCountBetweenTest, CountsInHalfOpenRangeAndStopsAtCap) {
  const CompiledSpec minutely = compiled(cron_spec("* * * * *"));
  const int64_t from = at(kNewYear);
  const int64_t hour_later = at("2026-01-01T01:00:00Z");
  EXPECT_EQ(minutely.count_between(from, hour_later, 1000), 60);  // (00:00, 01:00]
  EXPECT_EQ(minutely.count_between(from, hour_later, 10), 10);
  EXPECT_EQ(minutely.count_between(hour_later, from, 10), 0);
  EXPECT_EQ(minutely.count_between(from, hour_later, 0), 0);
  // A year of one-second fires, counted up to a cap without enumerating the year.
  const CompiledSpec every_second = compiled(cron_spec("* * * * * *"));
  EXPECT_EQ(every_second.count_between(from, at("2027-01-01T00:00:00Z"), 1000), 1000);
  // One interval: counted by arithmetic, exactly.
  const CompiledSpec one_second = compiled(interval_spec(1000, 0));
  EXPECT_EQ(one_second.count_between(from, at("2027-01-01T00:00:00Z"), int64_t{1} << 40),
            365 * 86400);
  EXPECT_EQ(one_second.count_between(from, at("2027-01-01T00:00:00Z"), 7), 7);
  v1::ScheduleSpec bounded = interval_spec(60'000, 0);
  bounded.set_start_time_ms(at("2026-01-01T00:10:00Z"));
  bounded.set_end_time_ms(at("2026-01-01T00:20:00Z"));
  EXPECT_EQ(compiled(bounded).count_between(from, hour_later, 1000), 11);  // 00:10..00:20
}

TEST(SpecNextTest, FarSearchesStayFast) {
  // Each of these needs years of calendar: 10,000 of them must not take a per-second scan
  // (which would be ~2.5e8 steps each). Generous bound; catches a regression to scanning.
  const CompiledSpec leap = compiled(cron_spec("0 0 29 2 *"));
  int64_t t = at("2096-03-01T00:00:00Z");
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(format_utc(*leap.next(t)), "2104-02-29T00:00:00Z");
  }
  // Feb 29 on a Sunday only ('*'-led day-of-week is unrestricted, so both must match): 2032,
  // then 2060 (28 years later).
  EXPECT_THAT(fires(cron_spec("0 0 29 2 */7"), "2026-01-01T00:00:00Z", 2),
              ElementsAreArray({"2032-02-29T00:00:00Z", "2060-02-29T00:00:00Z"}));
}

}  // namespace
}  // namespace cairn::schedule
