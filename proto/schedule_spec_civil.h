// Private to cairn_schedule_spec: calendar arithmetic on days since 1970-01-01 (proleptic
// Gregorian, over date.h), used by the cron search and the RFC 3339 formatting. Pure functions.
// Years are kept within [1, 9999] by the callers.
#pragma once

#include <cstdint>

#include <date/date.h>

namespace cairn::schedule::detail {

inline constexpr int64_t kSecondsPerDay = 86400;

// Floor division (rounds towards minus infinity), for times before 1970.
inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) {
    --q;
  }
  return q;
}

struct CivilDate {
  int64_t year;
  int month;  // 1-12
  int day;    // 1-31
};

inline bool is_leap_year(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

inline int days_in_month(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap_year(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a civil date, and back (date's proleptic Gregorian calendar).
inline int64_t days_from_civil(int64_t y, int m, int d) {
  const date::sys_days days{date::year{static_cast<int>(y)} / static_cast<unsigned>(m) /
                            static_cast<unsigned>(d)};
  return days.time_since_epoch().count();
}

inline CivilDate civil_from_days(int64_t z) {
  const date::year_month_day ymd{date::sys_days{date::days{static_cast<int>(z)}}};
  return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
          static_cast<int>(static_cast<unsigned>(ymd.day()))};
}

// 0 = Sunday. 1970-01-01 was a Thursday.
inline int weekday_from_days(int64_t z) { return static_cast<int>(((z % 7) + 7 + 4) % 7); }

}  // namespace cairn::schedule::detail
