// Private to cairn_schedule_spec: the wall clock of an IANA time zone (date-tz over the OS tzdata)
// or of UTC, reduced to the two questions the cron search asks. Immutable, thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "proto/schedule_spec_tzrule.h"
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

  TimeZone(const date::time_zone* zone, std::optional<detail::DstRule> rule, int64_t rule_from_s)
      : zone_(zone), rule_(std::move(rule)), rule_from_s_(rule_from_s) {}

 private:
  const date::time_zone* zone_;  // nullptr: UTC; owned by date's tzdb (lives for the process)
  // The zone file's footer rule, used from its last listed transition on (date-tz would
  // otherwise keep that transition's offset for ever: no DST after 2037).
  std::optional<detail::DstRule> rule_;
  int64_t rule_from_s_ = 0;
};

}  // namespace cairn::schedule
