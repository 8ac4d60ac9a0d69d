// DstRule (the TZif footer rule that carries DST past 2037) agrees with the transitions the zone
// files list, hour by hour over the years both cover, in both hemispheres and with negative DST.
#include "proto/schedule_spec_tzrule.h"

#include <chrono>
#include <string>

#include <date/tz.h>
#include <gtest/gtest.h>

#include "proto/schedule_spec_civil.h"

namespace cairn::schedule::detail {
namespace {

TEST(DstRuleTest, AgreesWithListedTransitions2030To2037) {
  for (const char* name : {"Europe/Paris", "America/New_York", "Australia/Sydney", "Europe/Dublin",
                           "America/Santiago", "Pacific/Auckland"}) {
    SCOPED_TRACE(name);
    const std::optional<DstRule> rule =
        DstRule::from_tzif_file(std::string("/usr/share/zoneinfo/") + name);
    ASSERT_TRUE(rule.has_value());
    const date::time_zone* zone = date::locate_zone(name);
    const int64_t from = days_from_civil(2030, 1, 1) * kSecondsPerDay;
    const int64_t to = days_from_civil(2037, 6, 1) * kSecondsPerDay;
    int mismatches = 0;
    for (int64_t t = from; t < to; t += 1800) {
      const auto info = zone->get_info(date::sys_seconds{std::chrono::seconds{t}});
      mismatches += rule->offset_at(t) != info.offset.count();
    }
    EXPECT_EQ(mismatches, 0);
  }
}

TEST(DstRuleTest, ParsesFooterForms) {
  const std::optional<DstRule> paris = DstRule::parse("CET-1CEST,M3.5.0,M10.5.0/3");
  ASSERT_TRUE(paris.has_value());
  EXPECT_EQ(paris->std_offset(), 3600);
  EXPECT_EQ(paris->dst_offset(), 7200);
  const std::optional<DstRule> santiago = DstRule::parse("<-04>4<-03>,M9.1.6/24,M4.1.6/24");
  ASSERT_TRUE(santiago.has_value());
  EXPECT_EQ(santiago->std_offset(), -4 * 3600);
  EXPECT_EQ(santiago->dst_offset(), -3 * 3600);
  const std::optional<DstRule> julian = DstRule::parse("XST5XDT4,J60/2,300");
  ASSERT_TRUE(julian.has_value());
  EXPECT_EQ(julian->dst_offset(), -4 * 3600);
  EXPECT_FALSE(DstRule::parse("IST-5:30").has_value());  // fixed offset: no rule needed
  EXPECT_FALSE(DstRule::parse("").has_value());
  EXPECT_FALSE(DstRule::parse("CET-1CEST").has_value());
  EXPECT_FALSE(DstRule::parse("CET-1CEST,M13.5.0,M10.5.0").has_value());
}

}  // namespace
}  // namespace cairn::schedule::detail
