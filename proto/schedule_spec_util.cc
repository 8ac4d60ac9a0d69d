// The small pure pieces of schedule_spec.h around the spec: deterministic jitter, RFC 3339
// times, derived ids, and validation of a whole Schedule.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <utility>

#include "proto/schedule_spec.h"
#include "proto/schedule_spec_civil.h"

namespace cairn::schedule {
namespace {

using detail::floor_div;
using detail::kSecondsPerDay;

constexpr size_t kMaxScheduleIdBytes = 200;

// Persisted in effect (it decides the fire times servers agree on): never change the hash.
uint64_t fnv1a_64(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

// The splitmix64 finaliser: spreads the low bits FNV-1a leaves correlated.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Status bad_time(const std::string& text, const std::string& why) {
  return invalid_argument("\"" + text + "\" is not an RFC 3339 time (" + why +
                          "); expected e.g. 2026-12-07T22:00:00Z or 2026-12-07T23:00:00+01:00");
}

// Reads exactly `n` digits at `pos`.
bool digits(const std::string& s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) {
    return false;
  }
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool expect(const std::string& s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

int64_t jitter_for(const std::string& schedule_id, int64_t nominal_ms, int64_t jitter_ms) {
  if (jitter_ms <= 0) {
    return 0;
  }
  uint64_t h = fnv1a_64(schedule_id.data(), schedule_id.size(), 0xcbf29ce484222325ULL);
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(static_cast<uint64_t>(nominal_ms) >> (8 * i));
  }
  h = fnv1a_64(bytes, sizeof(bytes), h);
  return static_cast<int64_t>(mix64(h) % static_cast<uint64_t>(jitter_ms));
}

std::string format_utc(int64_t ms) {
  const int64_t s = floor_div(ms, 1000);
  const int millis = static_cast<int>(ms - s * 1000);
  const int64_t day = floor_div(s, kSecondsPerDay);
  const int64_t tod = s - day * kSecondsPerDay;
  // Outside years 1-9999 RFC 3339 has no form; clamp rather than print garbage.
  const int64_t lo = detail::days_from_civil(1, 1, 1);
  const int64_t hi = detail::days_from_civil(9999, 12, 31);
  const detail::CivilDate cd = detail::civil_from_days(std::clamp(day, lo, hi));
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02d",
                static_cast<long long>(cd.year), cd.month, cd.day, static_cast<int>(tod / 3600),
                static_cast<int>(tod / 60 % 60), static_cast<int>(tod % 60));
  std::string out = buf;
  if (millis != 0) {
    std::snprintf(buf, sizeof(buf), ".%03d", millis);
    out += buf;
  }
  out += 'Z';
  return out;
}

Result<int64_t> parse_utc(const std::string& text) {
  size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!digits(text, pos, 4, y) || !expect(text, pos, '-') || !digits(text, pos, 2, mo) ||
      !expect(text, pos, '-') || !digits(text, pos, 2, d)) {
    return bad_time(text, "the date must be YYYY-MM-DD");
  }
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
    return bad_time(text, "the date must be followed by 'T' and a time");
  }
  ++pos;
  if (!digits(text, pos, 2, h) || !expect(text, pos, ':') || !digits(text, pos, 2, mi) ||
      !expect(text, pos, ':') || !digits(text, pos, 2, s)) {
    return bad_time(text, "the time must be hh:mm:ss");
  }
  if (y < 1) {
    return bad_time(text, "the year must be 0001-9999");
  }
  if (mo < 1 || mo > 12) {
    return bad_time(text, "month " + std::to_string(mo) + " is out of range 01-12");
  }
  if (d < 1 || d > detail::days_in_month(y, mo)) {
    return bad_time(text, "day " + std::to_string(d) + " does not exist in " +
                              text.substr(0, 7));
  }
  if (h > 23 || mi > 59 || s > 59) {
    return bad_time(text, "hh:mm:ss out of range 00:00:00-23:59:59");
  }
  int64_t millis = 0;
  if (expect(text, pos, '.')) {
    int scale = 100;
    size_t n = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      millis += (text[pos] - '0') * scale;  // beyond milliseconds: truncated
      scale /= 10;
      ++pos;
      ++n;
    }
    if (n == 0) {
      return bad_time(text, "digits must follow the '.'");
    }
  }
  int64_t offset_s = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!digits(text, pos, 2, oh) || !expect(text, pos, ':') || !digits(text, pos, 2, om) ||
        oh > 23 || om > 59) {
      return bad_time(text, "the offset must be Z or +hh:mm / -hh:mm");
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return bad_time(text, "a time zone offset is required: Z or +hh:mm / -hh:mm");
  }
  if (pos != text.size()) {
    return bad_time(text, "unexpected \"" + text.substr(pos) + "\" at column " +
                              std::to_string(pos + 1));
  }
  const int64_t local_s = detail::days_from_civil(y, mo, d) * kSecondsPerDay + h * 3600 +
                          mi * 60 + s;
  return (local_s - offset_s) * 1000 + millis;
}

std::string derived_workflow_id(const std::string& schedule_id, const v1::ScheduleAction& action,
                                int64_t nominal_ms) {
  const std::string& base = action.workflow_id().empty() ? schedule_id : action.workflow_id();
  return base + "-" + format_utc(nominal_ms);
}

std::string entity_workflow_id(const std::string& schedule_id) {
  return kEntityPrefix + schedule_id;
}

Status validate_schedule_id(const std::string& schedule_id) {
  if (schedule_id.empty()) {
    return invalid_argument("schedule_id is required");
  }
  if (schedule_id.size() > kMaxScheduleIdBytes) {
    return invalid_argument("schedule_id is " + std::to_string(schedule_id.size()) +
                            " bytes; at most " + std::to_string(kMaxScheduleIdBytes));
  }
  for (size_t i = 0; i < schedule_id.size(); ++i) {
    const auto c = static_cast<unsigned char>(schedule_id[i]);
    if (c < 0x20 || c == 0x7f) {
      return invalid_argument("schedule_id \"" + schedule_id.substr(0, i) +
                              "...\" has a control character at byte " + std::to_string(i + 1) +
                              " (ids are printable)");
    }
  }
  return Status::ok_status();
}

Status validate_schedule(const v1::Schedule& schedule) {
  CAIRN_RETURN_IF_ERROR(CompiledSpec::compile(schedule.spec()).status());
  const v1::ScheduleAction& action = schedule.action();
  if (action.workflow_type().name().empty()) {
    return invalid_argument("action.workflow_type.name is required");
  }
  if (action.task_queue().empty()) {
    return invalid_argument("action.task_queue is required");
  }
  if (action.workflow_id().rfind(kEntityPrefix, 0) == 0) {
    return invalid_argument(std::string("action.workflow_id may not start with \"") +
                            kEntityPrefix + "\" (reserved for schedules themselves)");
  }
  for (size_t i = 0; i < action.workflow_id().size(); ++i) {
    const auto c = static_cast<unsigned char>(action.workflow_id()[i]);
    if (c < 0x20 || c == 0x7f) {
      return invalid_argument("action.workflow_id has a control character at byte " +
                              std::to_string(i + 1));
    }
  }
  const std::pair<const char*, int64_t> timeouts[] = {
      {"action.workflow_execution_timeout_ms", action.workflow_execution_timeout_ms()},
      {"action.workflow_run_timeout_ms", action.workflow_run_timeout_ms()},
      {"action.workflow_task_timeout_ms", action.workflow_task_timeout_ms()},
  };
  for (const auto& [name, value] : timeouts) {
    if (value < 0) {
      return invalid_argument(std::string(name) + " must be >= 0 (0: no timeout / the default)");
    }
  }
  const v1::SchedulePolicies& policies = schedule.policies();
  if (!v1::ScheduleOverlapPolicy_IsValid(policies.overlap_policy())) {
    return invalid_argument("policies.overlap_policy " +
                            std::to_string(policies.overlap_policy()) +
                            " is not a known policy (SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER, "
                            "TERMINATE_OTHER, ALLOW_ALL)");
  }
  if (policies.catchup_window_ms() != 0 && policies.catchup_window_ms() < 1000) {
    return invalid_argument("policies.catchup_window_ms must be 0 (one year) or at least 1000");
  }
  if (schedule.remaining_actions() < 0) {
    return invalid_argument("remaining_actions must be >= 0");
  }
  return Status::ok_status();
}

int64_t catchup_window_ms(const v1::SchedulePolicies& policies) {
  return policies.catchup_window_ms() == 0 ? kDefaultCatchupWindowMs
                                           : policies.catchup_window_ms();
}

}  // namespace cairn::schedule
