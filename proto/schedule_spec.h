// The meaning of a schedule (cairn/v1/schedule.proto), shared by the server (which fires it) and
// the SDK and cairnctl (which check it where the user writes it, with the same messages): cron
// parsing, next-fire computation in an IANA time zone (Howard Hinnant's date-tz over the OS
// tzdata), intervals with a phase, start / end bounds, deterministic jitter, derived workflow
// ids, and validation of a whole Schedule. Pure and thread-safe: time arrives as an argument.
// Library cairn_schedule_spec (links cairn_proto and date::date-tz).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/v1/schedule.pb.h"
#include "proto/status.h"

namespace cairn::schedule {

// One parsed cron expression. Fields are matched on the wall clock of the spec's time zone.
struct CronExpression {
  std::string text;       // as written
  uint64_t seconds = 0;   // bit s set: second s matches (5-field expressions: only second 0)
  uint64_t minutes = 0;   // bits 0-59
  uint32_t hours = 0;     // bits 0-23
  uint32_t days_of_month = 0;  // bits 1-31
  uint16_t months = 0;         // bits 1-12
  uint8_t days_of_week = 0;    // bits 0-6, 0 = Sunday (7 is accepted as Sunday when parsing)
  bool dom_restricted = false;  // day-of-month was not '*' / '?'
  bool dow_restricted = false;  // day-of-week was not '*' / '?'
};

// Parses "m h dom mon dow", "s m h dom mon dow" or a macro (@yearly @annually @monthly @weekly
// @daily @midnight @hourly). kInvalidArgument whose message names the field and the 1-based
// column where it is wrong and what is allowed, e.g.
//   `"0 25 * * *": hour "25" at column 3 is out of range 0-23`
//   `"*/0 * * * *": minute "*/0" at column 1: a step must be at least 1`
//   `"0 0 * * * * *": 7 fields; expected 5 (minute hour day-of-month month day-of-week) or 6
//    (second first)`
Result<CronExpression> parse_cron(const std::string& text);

class TimeZone;  // an IANA zone, or UTC

// A validated, compiled ScheduleSpec. Cheap to copy (shares the zone).
class CompiledSpec {
 public:
  // Validates and compiles. kInvalidArgument naming the field:
  //   "spec.cron_expressions[1]: ..." (parse_cron's message),
  //   "spec.cron_expressions[0]: \"0 0 30 2 *\" never fires (no matching date in 28 years)",
  //   "spec.intervals[0].every_ms must be > 0", "spec.intervals[0].phase_ms must be in [0, every)",
  //   "spec.time_zone: unknown time zone \"Mars/Olympus\" (an IANA name such as Europe/Paris)",
  //   "spec.end_time_ms is before spec.start_time_ms", "spec.jitter_ms must be >= 0".
  static Result<CompiledSpec> compile(const v1::ScheduleSpec& spec);

  // The first nominal time strictly after `after_ms` (UTC epoch ms) that the spec gives, within
  // [start_time, end_time]; nullopt when there is none (past the end, or an empty spec). Cron
  // times are whole seconds; interval times are whole ms. A local time skipped by a DST change
  // does not fire; one repeated by a DST change fires once, at its first occurrence.
  std::optional<int64_t> next(int64_t after_ms) const;

  // Up to `count` nominal times after `after_ms`, ascending.
  std::vector<int64_t> next_n(int64_t after_ms, int count) const;

  // Counts the nominal times in (from_ms, to_ms], stopping at `cap` (returns cap when there are
  // more). For counting fires missed beyond a catch-up window without enumerating a year of them.
  int64_t count_between(int64_t from_ms, int64_t to_ms, int64_t cap) const;

  const v1::ScheduleSpec& spec() const { return spec_; }
  bool empty() const { return crons_.empty() && spec_.intervals().empty(); }

 private:
  v1::ScheduleSpec spec_;
  std::vector<CronExpression> crons_;
  std::shared_ptr<const TimeZone> zone_;
};

// The deterministic delay in [0, jitter_ms) of one fire (0 when jitter_ms <= 0), from a hash of
// the schedule id and the nominal time: the same on every server and after every restart.
int64_t jitter_for(const std::string& schedule_id, int64_t nominal_ms, int64_t jitter_ms);

// "2026-12-07T22:00:00Z", or "2026-12-07T22:00:00.250Z" when the time has milliseconds.
std::string format_utc(int64_t ms);
// Parses RFC 3339 ("2026-12-07T22:00:00Z", "2026-12-07T23:00:00+01:00", fractional seconds
// allowed). kInvalidArgument naming the text.
Result<int64_t> parse_utc(const std::string& text);

// The id of the workflow a fire starts: "<base>-<format_utc(nominal_ms)>", base being
// action.workflow_id or, when empty, the schedule id.
std::string derived_workflow_id(const std::string& schedule_id, const v1::ScheduleAction& action,
                                int64_t nominal_ms);

// The prefix of a schedule's entity workflow id ("__schedule:<schedule id>"). User workflows may
// not use it.
inline constexpr const char* kEntityPrefix = "__schedule:";
std::string entity_workflow_id(const std::string& schedule_id);

// Checks a whole Schedule as CreateSchedule / UpdateSchedule would, naming the field:
// the spec (compile()), "action.workflow_type.name is required", "action.task_queue is required",
// "policies.catchup_window_ms must be 0 (one year) or at least 1000", "remaining_actions must be
// >= 0", negative timeouts ("action.workflow_run_timeout_ms must be >= 0"). And the schedule id:
// "schedule_id is required", at most 200 bytes, no control characters.
Status validate_schedule_id(const std::string& schedule_id);
Status validate_schedule(const v1::Schedule& schedule);

// The catch-up window a policy means (the default of one year when 0).
int64_t catchup_window_ms(const v1::SchedulePolicies& policies);
inline constexpr int64_t kDefaultCatchupWindowMs = 365LL * 24 * 3600 * 1000;

}  // namespace cairn::schedule
