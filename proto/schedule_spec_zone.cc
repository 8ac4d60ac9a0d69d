// TimeZone over date-tz. date's tzdb is loaded once per process (thread-safe), and each zone's
// transitions are read lazily under date's own once-flag, so lookups from several threads are safe.
#include "proto/schedule_spec_zone.h"

#include <algorithm>
#include <chrono>
#include <exception>

#include <date/tz.h>

#include "proto/schedule_spec_civil.h"

namespace cairn::schedule {
namespace {

using Seconds = std::chrono::seconds;

date::sys_seconds sys(int64_t s) { return date::sys_seconds{Seconds{s}}; }
date::local_seconds local(int64_t s) { return date::local_seconds{Seconds{s}}; }
int64_t count(date::sys_seconds t) { return t.time_since_epoch().count(); }

}  // namespace

Result<std::shared_ptr<const TimeZone>> TimeZone::locate(const std::string& name) {
  if (name.empty() || name == "UTC") {
    return std::make_shared<const TimeZone>(nullptr, std::nullopt, 0);
  }
  try {
    const date::time_zone* zone = date::locate_zone(name);
    // date-tz reads /usr/share/zoneinfo (USE_OS_TZDB); the footer is read from the same file.
    std::optional<detail::DstRule> rule =
        detail::DstRule::from_tzif_file("/usr/share/zoneinfo/" + std::string(zone->name()));
    int64_t rule_from = 0;
    if (rule) {
      const date::sys_info last =
          zone->get_info(sys(detail::days_from_civil(9000, 1, 1) * detail::kSecondsPerDay));
      rule_from = count(last.begin);
    }
    return std::make_shared<const TimeZone>(zone, std::move(rule), rule_from);
  } catch (const std::exception& e) {
    // date throws both for an unknown name and for a missing database; tell them apart.
    try {
      (void)date::get_tzdb();
    } catch (const std::exception& db) {
      return invalid_argument("spec.time_zone: cannot load the time zone database for \"" + name +
                              "\" (" + db.what() + "); install tzdata (/usr/share/zoneinfo)");
    }
    return invalid_argument("spec.time_zone: unknown time zone \"" + name +
                            "\" (an IANA name such as Europe/Paris)");
  }
}

int64_t TimeZone::search_start(int64_t utc_s) const {
  if (zone_ == nullptr) {
    return utc_s;
  }
  if (rule_ && utc_s >= rule_from_s_) {
    const int64_t off = rule_->offset_at(utc_s);
    const int64_t other = off == rule_->std_offset() ? rule_->dst_offset() : rule_->std_offset();
    const int64_t wall = utc_s + off;
    if (other > off && rule_->offset_at(wall - other) == other) {
      // This wall time was shown first, under the larger offset, before the clock went back.
      if (const std::optional<int64_t> t = rule_->transition_in(wall - other, utc_s)) {
        return *t + other;
      }
    }
    return wall;
  }
  const date::sys_info info = zone_->get_info(sys(utc_s));
  const int64_t wall = utc_s + info.offset.count();
  const int64_t begin = count(info.begin);
  if (begin <= count(date::sys_days{date::year{1} / 1 / 1})) {
    return wall;  // the zone's first period: nothing before it
  }
  const date::sys_info before = zone_->get_info(sys(begin - 1));
  if (before.offset > info.offset) {
    // The clock went back at `begin`: wall times in [begin + new offset, begin + old offset)
    // happened first before `begin`.
    const int64_t repeated_end = begin + before.offset.count();
    if (wall < repeated_end) {
      return repeated_end;
    }
  }
  return wall;
}

TimeZone::Resolved TimeZone::resolve(int64_t local_s) const {
  if (zone_ == nullptr) {
    return {true, local_s, 0};
  }
  if (rule_) {
    const int64_t hi = std::max(rule_->std_offset(), rule_->dst_offset());
    const int64_t lo = std::min(rule_->std_offset(), rule_->dst_offset());
    if (local_s - hi >= rule_from_s_) {
      if (rule_->offset_at(local_s - hi) == hi) {
        return {true, local_s - hi, 0};  // the earlier occurrence when there are two
      }
      if (rule_->offset_at(local_s - lo) == lo) {
        return {true, local_s - lo, 0};
      }
      const std::optional<int64_t> t = rule_->transition_in(local_s - hi, local_s - lo);
      return {false, 0, t ? *t + hi : local_s + 1};
    }
  }
  const date::local_info li = zone_->get_info(local(local_s));
  switch (li.result) {
    case date::local_info::unique:
    case date::local_info::ambiguous:
      // For an ambiguous time `first` is the period before the change: its first occurrence.
      return {true, local_s - li.first.offset.count(), 0};
    case date::local_info::nonexistent:
      break;
  }
  return {false, 0, count(li.second.begin) + li.second.offset.count()};
}

}  // namespace cairn::schedule
