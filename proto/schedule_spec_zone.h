// Private to cairn_schedule_spec: the wall clock of an IANA time zone (date-tz over the OS tzdata)
// or of UTC, reduced to the three questions the cron search asks. Immutable, thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "proto/status.h"

namespace date {
class time_zone;
}

namespace cairn::schedule {

class TimeZone {
 public:
  // Empty name or "UTC": UTC. kInvalidArgument naming the zone when it is unknown.
  static Result<std::shared_ptr<const TimeZone>> locate(const std::string& name);

  bool is_utc() const { return zone_ == nullptr; }

  // The earliest wall-clock second whose first occurrence is at or after UTC second `utc_s`:
  // the wall clock at `utc_s`, except during the second pass through a local hour repeated by
  // a DST change, where the repeated hour has fired already and the answer is its end.
  int64_t search_start(int64_t utc_s) const;

  // A wall-clock second: the UTC second of its first occurrence, or, when the DST change skipped
  // it, `exists` false and `resume_local_s` the first wall-clock second after the gap.
  struct Resolved {
    bool exists = true;
    int64_t utc_s = 0;
    int64_t resume_local_s = 0;
  };
  Resolved resolve(int64_t local_s) const;

  explicit TimeZone(const date::time_zone* zone) : zone_(zone) {}

 private:
  const date::time_zone* zone_;  // nullptr: UTC; owned by date's tzdb (lives for the process)
};

}  // namespace cairn::schedule
