// Private to cairn_schedule_spec: the daylight-saving rule of a TZif file's footer (a POSIX TZ
// string such as "CET-1CEST,M3.5.0,M10.5.0/3"). date-tz reads only the transitions a TZif file
// lists — Debian's run to 2037 — and treats the last offset as permanent after them; this rule
// carries DST on past the last listed transition. Immutable, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cairn::schedule::detail {

class DstRule {
 public:
  // The rule of a POSIX TZ string, or nullopt when it has no DST part (a fixed offset, which
  // date-tz already extends correctly) or is not understood.
  static std::optional<DstRule> parse(const std::string& tz);
  // The footer of the TZif file at `path` (the text between its last two newlines), parsed.
  static std::optional<DstRule> from_tzif_file(const std::string& path);

  // UTC offset in seconds at UTC second `utc_s`.
  int64_t offset_at(int64_t utc_s) const;
  // The transition T with lo < T <= hi (a span shorter than half a year), or nullopt.
  std::optional<int64_t> transition_in(int64_t lo, int64_t hi) const;

  int64_t std_offset() const { return std_offset_; }
  int64_t dst_offset() const { return dst_offset_; }

 private:
  struct Date {
    char kind = 'M';      // 'J': Julian day 1-365 without Feb 29; 'N': zero-based day 0-365; 'M'
    int a = 0;            // J / N: the day; M: month
    int week = 0;         // M: 1-5 (5: the last)
    int weekday = 0;      // M: 0 = Sunday
    int64_t time = 7200;  // local seconds after midnight at which the change happens
  };
  int64_t day_of(const Date& d, int64_t year) const;  // days since the epoch
  int64_t start_utc(int64_t year) const;              // standard -> daylight
  int64_t end_utc(int64_t year) const;                // daylight -> standard

  int64_t std_offset_ = 0;
  int64_t dst_offset_ = 0;
  Date start_;
  Date end_;
};

}  // namespace cairn::schedule::detail
