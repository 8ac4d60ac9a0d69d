// CompiledSpec: next-fire computation. A cron expression is searched on the wall clock of the
// spec's zone, day by day (skipping whole months that do not match), then within a matching day
// by the next set bit of the hour, minute and second masks — so next() costs microseconds even
// for a Feb 29 expression eight years away. The wall-clock answer is then mapped to UTC: a time
// skipped by a DST change restarts the search after the gap; a repeated one maps to its first
// occurrence (TimeZone::search_start keeps the second pass from firing it again).
#include "proto/schedule_spec.h"

#include <algorithm>
#include <limits>

#include "proto/schedule_spec_civil.h"
#include "proto/schedule_spec_zone.h"

namespace cairn::schedule {
namespace {

using detail::CivilDate;
using detail::days_from_civil;
using detail::days_in_month;
using detail::floor_div;
using detail::kSecondsPerDay;

// The search covers a full Gregorian cycle (400 years), in which every (month, day, weekday)
// combination that can occur does; and stays within years 1-9999.
constexpr int64_t kSearchDays = 146097 + 366;
const int64_t kMinSecond = days_from_civil(1, 1, 1) * kSecondsPerDay;
const int64_t kMaxSecond = days_from_civil(9999, 12, 31) * kSecondsPerDay + kSecondsPerDay - 1;

// The lowest set bit at or above `from`, or -1.
int next_bit(uint64_t mask, int from) {
  if (from >= 64) {
    return -1;
  }
  const uint64_t m = mask & (~uint64_t{0} << from);
  return m == 0 ? -1 : __builtin_ctzll(m);
}

bool day_matches(const CronExpression& c, int dom, int dow) {
  const bool by_dom = (c.days_of_month >> dom) & 1;
  const bool by_dow = (c.days_of_week >> dow) & 1;
  // Vixie cron: when both day fields are restricted, either one suffices.
  return c.dom_restricted && c.dow_restricted ? (by_dom || by_dow) : (by_dom && by_dow);
}

// The first second of the day at or after `tod` matching the time fields, or -1.
int64_t first_time_of_day(const CronExpression& c, int64_t tod) {
  const int h0 = static_cast<int>(tod / 3600);
  const int m0 = static_cast<int>(tod / 60 % 60);
  const int s0 = static_cast<int>(tod % 60);
  for (int h = next_bit(c.hours, h0); h >= 0; h = next_bit(c.hours, h + 1)) {
    for (int m = next_bit(c.minutes, h == h0 ? m0 : 0); m >= 0; m = next_bit(c.minutes, m + 1)) {
      const int s = next_bit(c.seconds, h == h0 && m == m0 ? s0 : 0);
      if (s >= 0) {
        return h * 3600 + m * 60 + s;
      }
    }
  }
  return -1;
}

// The first wall-clock second at or after `from_local` matching `c`, or nullopt.
std::optional<int64_t> next_local_match(const CronExpression& c, int64_t from_local) {
  int64_t day = floor_div(from_local, kSecondsPerDay);
  int64_t tod = from_local - day * kSecondsPerDay;
  CivilDate cd = detail::civil_from_days(day);
  const int64_t last_day = std::min(day + kSearchDays, floor_div(kMaxSecond, kSecondsPerDay));
  while (day <= last_day) {
    if (((c.months >> cd.month) & 1) == 0) {
      do {  // to the first day of the next month the expression allows (months is never empty)
        if (++cd.month > 12) {
          cd.month = 1;
          ++cd.year;
        }
      } while (((c.months >> cd.month) & 1) == 0);
      if (cd.year > 9999) {
        return std::nullopt;
      }
      cd.day = 1;
      day = days_from_civil(cd.year, cd.month, 1);
      tod = 0;
      continue;
    }
    if (day_matches(c, cd.day, detail::weekday_from_days(day))) {
      const int64_t t = first_time_of_day(c, tod);
      if (t >= 0) {
        return day * kSecondsPerDay + t;
      }
    }
    ++day;
    tod = 0;
    if (++cd.day > days_in_month(cd.year, cd.month)) {
      cd.day = 1;
      if (++cd.month > 12) {
        cd.month = 1;
        ++cd.year;
      }
    }
  }
  return std::nullopt;
}

// The first UTC second > after_s at which `c` fires in `zone`.
std::optional<int64_t> cron_next(const CronExpression& c, const TimeZone& zone, int64_t after_s) {
  if (after_s >= kMaxSecond) {
    return std::nullopt;
  }
  int64_t from = zone.search_start(std::max(after_s, kMinSecond) + 1);
  // Each round either returns or moves past one DST gap; a year has at most a few.
  for (int round = 0; round < 4096; ++round) {
    const std::optional<int64_t> local = next_local_match(c, from);
    if (!local) {
      return std::nullopt;
    }
    const TimeZone::Resolved r = zone.resolve(*local);
    if (!r.exists) {
      from = std::max(r.resume_local_s, *local + 1);
      continue;
    }
    if (r.utc_s > after_s) {
      return r.utc_s;
    }
    from = *local + 1;  // not reached by search_start's contract; kept as a guard
  }
  return std::nullopt;
}

// The first epoch + phase + k * every > after_ms, or nullopt past the int64 range.
std::optional<int64_t> interval_next(const v1::IntervalSpec& iv, int64_t after_ms) {
  const __int128 every = iv.every_ms();
  const __int128 phase = iv.phase_ms();
  const __int128 d = static_cast<__int128>(after_ms) - phase;
  __int128 k = d / every;
  if (d % every != 0 && d < 0) {
    --k;  // floor
  }
  const __int128 t = phase + (k + 1) * every;
  if (t > std::numeric_limits<int64_t>::max()) {
    return std::nullopt;
  }
  return static_cast<int64_t>(t);
}

// Whether some date ever matches the day fields: some allowed month has an allowed day (Feb 29
// counts: it recurs), and every (month, day) falls on each weekday in some year.
bool has_matching_date(const CronExpression& c) {
  for (int m = 1; m <= 12; ++m) {
    if (((c.months >> m) & 1) == 0) {
      continue;
    }
    const int max_day = m == 2 ? 29 : days_in_month(2001, m);
    for (int d = 1; d <= max_day; ++d) {
      for (int w = 0; w < 7; ++w) {
        if (day_matches(c, d, w)) {
          return true;
        }
      }
    }
  }
  return false;
}

}  // namespace

Result<CompiledSpec> CompiledSpec::compile(const v1::ScheduleSpec& spec) {
  CompiledSpec out;
  out.spec_ = spec;
  for (int i = 0; i < spec.cron_expressions_size(); ++i) {
    const std::string field = "spec.cron_expressions[" + std::to_string(i) + "]: ";
    Result<CronExpression> cron = parse_cron(spec.cron_expressions(i));
    if (!cron.ok()) {
      return invalid_argument(field + cron.status().message());
    }
    if (!has_matching_date(*cron)) {
      return invalid_argument(field + "\"" + spec.cron_expressions(i) +
                              "\" never fires (no month it allows has a day-of-month it allows)");
    }
    out.crons_.push_back(std::move(cron).value());
  }
  for (int i = 0; i < spec.intervals_size(); ++i) {
    const v1::IntervalSpec& iv = spec.intervals(i);
    const std::string field = "spec.intervals[" + std::to_string(i) + "]";
    if (iv.every_ms() <= 0) {
      return invalid_argument(field + ".every_ms must be > 0 (it is " +
                              std::to_string(iv.every_ms()) + ")");
    }
    if (iv.phase_ms() < 0 || iv.phase_ms() >= iv.every_ms()) {
      return invalid_argument(field + ".phase_ms must be in [0, every) (it is " +
                              std::to_string(iv.phase_ms()) + ", every_ms " +
                              std::to_string(iv.every_ms()) + ")");
    }
  }
  if (spec.start_time_ms() < 0) {
    return invalid_argument("spec.start_time_ms must be >= 0 (0: no lower bound)");
  }
  if (spec.end_time_ms() < 0) {
    return invalid_argument("spec.end_time_ms must be >= 0 (0: no upper bound)");
  }
  if (spec.end_time_ms() != 0 && spec.end_time_ms() < spec.start_time_ms()) {
    return invalid_argument("spec.end_time_ms is before spec.start_time_ms (" +
                            format_utc(spec.end_time_ms()) + " < " +
                            format_utc(spec.start_time_ms()) + ")");
  }
  if (spec.jitter_ms() < 0) {
    return invalid_argument("spec.jitter_ms must be >= 0");
  }
  CAIRN_ASSIGN_OR_RETURN(out.zone_, TimeZone::locate(spec.time_zone()));
  return out;
}

std::optional<int64_t> CompiledSpec::next(int64_t after_ms) const {
  if (spec_.start_time_ms() > 0 && after_ms < spec_.start_time_ms() - 1) {
    after_ms = spec_.start_time_ms() - 1;
  }
  std::optional<int64_t> best;
  if (!crons_.empty()) {
    const int64_t after_s = floor_div(after_ms, 1000);
    for (const CronExpression& c : crons_) {
      const std::optional<int64_t> s = cron_next(c, *zone_, after_s);
      if (s && (!best || *s * 1000 < *best)) {
        best = *s * 1000;
      }
    }
  }
  for (const v1::IntervalSpec& iv : spec_.intervals()) {
    const std::optional<int64_t> t = interval_next(iv, after_ms);
    if (t && (!best || *t < *best)) {
      best = t;
    }
  }
  if (best && spec_.end_time_ms() > 0 && *best > spec_.end_time_ms()) {
    return std::nullopt;
  }
  return best;
}

std::vector<int64_t> CompiledSpec::next_n(int64_t after_ms, int count) const {
  std::vector<int64_t> out;
  for (int i = 0; i < count; ++i) {
    const std::optional<int64_t> t = next(after_ms);
    if (!t) {
      break;
    }
    out.push_back(*t);
    after_ms = *t;
  }
  return out;
}

int64_t CompiledSpec::count_between(int64_t from_ms, int64_t to_ms, int64_t cap) const {
  if (cap <= 0 || to_ms <= from_ms) {
    return 0;
  }
  if (crons_.empty() && spec_.intervals_size() == 1) {
    // One interval: arithmetic, whatever the range.
    int64_t lo = from_ms;
    if (spec_.start_time_ms() > 0) {
      lo = std::max(lo, spec_.start_time_ms() - 1);
    }
    int64_t hi = to_ms;
    if (spec_.end_time_ms() > 0) {
      hi = std::min(hi, spec_.end_time_ms());
    }
    if (hi <= lo) {
      return 0;
    }
    const v1::IntervalSpec& iv = spec_.intervals(0);
    const int64_t n = floor_div(hi - iv.phase_ms(), iv.every_ms()) -
                      floor_div(lo - iv.phase_ms(), iv.every_ms());
    return std::min(n, cap);
  }
  int64_t n = 0;
  int64_t after = from_ms;
  while (n < cap) {
    const std::optional<int64_t> t = next(after);
    if (!t || *t > to_ms) {
      break;
    }
    ++n;
    after = *t;
  }
  return n;
}

}  // namespace cairn::schedule
