// TimeZone over date-tz. date's tzdb is loaded once per process (thread-safe), and each zone's
// transitions are read lazily under date's own once-flag, so lookups from several threads are safe.
#include "proto/schedule_spec_zone.h"

#include <chrono>
#include <exception>

#include <date/tz.h>

namespace cairn::schedule {
namespace {

using Seconds = std::chrono::seconds;

date::sys_seconds sys(int64_t s) { return date::sys_seconds{Seconds{s}}; }
date::local_seconds local(int64_t s) { return date::local_seconds{Seconds{s}}; }
int64_t count(date::sys_seconds t) { return t.time_since_epoch().count(); }

}  // namespace

Result<std::shared_ptr<const TimeZone>> TimeZone::locate(const std::string& name) {
  if (name.empty() || name == "UTC") {
    return std::make_shared<const TimeZone>(nullptr);
  }
  try {
    return std::make_shared<const TimeZone>(date::locate_zone(name));
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
  const date::sys_info info = zone_->get_info(sys(utc_s));
  const int64_t wall = utc_s + info.offset.count();
  const int64_t begin = count(info.begin);
  if (begin <= count(date::sys_days{date::year{1}/1/1})) {
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
