// Option checks (see options_check.h). Messages read
//   <subject> options: <field> <what is wrong> (got <value>)
// and the exception's field() is the field path, so callers can branch on it.
#include "options_check.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <string_view>

namespace cairn::detail {
namespace {

[[noreturn]] void fail(const std::string& subject, const std::string& field,
                       const std::string& problem) {
  throw OptionsError(subject + " options: " + field + " " + problem, field);
}

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// The length of the UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8
// (overlong forms, surrogates and code points past U+10FFFF included).
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    return 0;
  }
  uint32_t cp = n == 1 ? c : c & (0xff >> (n + 1));
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  static constexpr std::array<uint32_t, 5> kMin = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return n;
}

// An id or name: required (or optional and empty), at most kMaxIdBytes, valid UTF-8 without
// control characters (protobuf refuses invalid UTF-8 in string fields; a control character in
// an id is a bug, and '\0' cannot appear in the server's keys).
void check_id(const std::string& value, const std::string& subject, const std::string& field,
              bool required) {
  if (value.empty()) {
    if (required) {
      fail(subject, field, "is required");
    }
    return;
  }
  if (value.size() > kMaxIdBytes) {
    fail(subject, field,
         "is longer than " + std::to_string(kMaxIdBytes) + " bytes (got " +
             std::to_string(value.size()) + ")");
  }
  for (size_t i = 0; i < value.size();) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02x", c);
      fail(subject, field,
           "must not contain control characters (byte " + std::to_string(i) + " is " + hex + ")");
    }
    size_t n = utf8_sequence(value, i);
    if (n == 0) {
      fail(subject, field, "is not valid UTF-8 (at byte " + std::to_string(i) + ")");
    }
    i += n;
  }
}

void check_non_negative(std::chrono::milliseconds d, const std::string& subject,
                        const std::string& field) {
  if (d.count() < 0) {
    fail(subject, field, "must not be negative (got " + ms(d) + ")");
  }
}

void check_task_timeout(std::chrono::milliseconds d, const std::string& subject) {
  check_non_negative(d, subject, "task_timeout");
  if (d.count() > kMaxWorkflowTaskTimeoutMs) {
    fail(
        subject, "task_timeout",
        "must be at most " + std::to_string(kMaxWorkflowTaskTimeoutMs) + " ms (got " + ms(d) + ")");
  }
}

void check_memo_keys(const PayloadMap& memo, const std::string& subject) {
  for (const auto& [key, value] : memo) {
    check_id(key, subject, "memo key", /*required=*/true);
  }
}

bool is_system_attribute(const std::string& name) {
  static constexpr std::array<std::string_view, 8> kSystem = {
      "WorkflowId",      "RunId",     "WorkflowType", "TaskQueue",
      "ExecutionStatus", "StartTime", "CloseTime",    "HistoryLength"};
  for (std::string_view s : kSystem) {
    if (name == s) {
      return true;
    }
  }
  return false;
}

std::string quoted(const std::string& what, const std::string& name) {
  return what + " \"" + name + "\"";
}

// Activities and local activities: an attempt needs start_to_close or schedule_to_close.
void check_attempt_time_limit(std::chrono::milliseconds schedule_to_close,
                              std::chrono::milliseconds start_to_close,
                              const std::string& subject) {
  if (schedule_to_close.count() == 0 && start_to_close.count() == 0) {
    fail(subject, "start_to_close",
         "or schedule_to_close is required (both are 0): an attempt needs a time limit");
  }
}

}  // namespace

void check_retry_policy(const RetryPolicy& p, const std::string& subject,
                        const std::string& prefix) {
  check_non_negative(p.initial_interval, subject, prefix + ".initial_interval");
  double coefficient = p.backoff_coefficient;
  // 0 is "unset" (the server's 2.0); a shrinking backoff makes no sense and NaN poisons every
  // comparison the server makes with it.
  if (coefficient != 0 && !(std::isfinite(coefficient) && coefficient >= 1.0)) {
    char got[32];
    std::snprintf(got, sizeof(got), "%g", coefficient);
    fail(subject, prefix + ".backoff_coefficient",
         "must be 0 (the default, 2.0) or at least 1 (got " + std::string(got) + ")");
  }
  check_non_negative(p.maximum_interval, subject, prefix + ".maximum_interval");
  const bool initial_set = p.initial_interval.count() > 0;
  const std::chrono::milliseconds initial =
      initial_set ? p.initial_interval : std::chrono::milliseconds(kDefaultInitialIntervalMs);
  if (p.maximum_interval.count() > 0 && p.maximum_interval < initial) {
    fail(subject, prefix + ".maximum_interval",
         "(" + ms(p.maximum_interval) + ") must not be below " + prefix + ".initial_interval (" +
             ms(initial) + (initial_set ? "" : ", the default") + ")");
  }
  if (p.maximum_attempts < 0) {
    fail(subject, prefix + ".maximum_attempts",
         "must not be negative (got " + std::to_string(p.maximum_attempts) + ")");
  }
}

void check_activity_options(const std::string& type, const ActivityOptions& o) {
  const std::string subject = quoted("activity", type);
  check_id(type, subject, "type", /*required=*/true);
  check_id(o.task_queue, subject, "task_queue", /*required=*/false);
  check_id(o.activity_id, subject, "activity_id", /*required=*/false);
  check_non_negative(o.schedule_to_close, subject, "schedule_to_close");
  check_non_negative(o.schedule_to_start, subject, "schedule_to_start");
  check_non_negative(o.start_to_close, subject, "start_to_close");
  check_non_negative(o.heartbeat, subject, "heartbeat");
  check_attempt_time_limit(o.schedule_to_close, o.start_to_close, subject);
  check_retry_policy(o.retry, subject, "retry");
}

void check_local_activity_options(const std::string& type, const LocalActivityOptions& o) {
  const std::string subject = quoted("local activity", type);
  check_id(type, subject, "type", /*required=*/true);
  check_id(o.activity_id, subject, "activity_id", /*required=*/false);
  check_non_negative(o.start_to_close, subject, "start_to_close");
  check_non_negative(o.schedule_to_close, subject, "schedule_to_close");
  check_non_negative(o.local_retry_threshold, subject, "local_retry_threshold");
  check_attempt_time_limit(o.schedule_to_close, o.start_to_close, subject);
  check_retry_policy(o.retry, subject, "retry");
}

void check_child_options(const std::string& type, const ChildWorkflowOptions& o) {
  const std::string subject = quoted("child workflow", type);
  check_id(type, subject, "type", /*required=*/true);
  check_id(o.id, subject, "id", /*required=*/false);
  check_id(o.task_queue, subject, "task_queue", /*required=*/false);
  if (o.namespace_.size() > kMaxNamespaceBytes) {
    fail(subject, "namespace_",
         "is longer than " + std::to_string(kMaxNamespaceBytes) + " bytes (got " +
             std::to_string(o.namespace_.size()) + ")");
  }
  for (char c : o.namespace_) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      fail(subject, "namespace_",
           "\"" + o.namespace_ + "\" may contain only letters, digits, '-', '_' and '.'");
    }
  }
  check_non_negative(o.execution_timeout, subject, "execution_timeout");
  check_non_negative(o.run_timeout, subject, "run_timeout");
  check_task_timeout(o.task_timeout, subject);
  if (o.retry) {
    check_retry_policy(*o.retry, subject, "retry");
  }
  check_memo_keys(o.memo, subject);
  check_search_attribute_names(o.search_attributes, subject, "search_attributes");
}

void check_start_options(const std::string& type, const StartWorkflowOptions& o) {
  const std::string subject = quoted("workflow", type) + " start";
  check_id(type, subject, "type", /*required=*/true);
  check_id(o.id, subject, "id", /*required=*/false);  // empty: a random UUID
  check_id(o.task_queue, subject, "task_queue", /*required=*/true);
  check_id(o.request_id, subject, "request_id", /*required=*/false);
  check_non_negative(o.execution_timeout, subject, "execution_timeout");
  check_non_negative(o.run_timeout, subject, "run_timeout");
  check_task_timeout(o.task_timeout, subject);
  if (o.retry) {
    check_retry_policy(*o.retry, subject, "retry");
  }
  check_memo_keys(o.memo, subject);
  check_search_attribute_names(o.search_attributes, subject, "search_attributes");
}

void check_continue_as_new_request(const ContinueAsNewRequest& r) {
  const std::string subject = quoted("continue-as-new of workflow", r.workflow_type);
  check_id(r.workflow_type, subject, "workflow_type", /*required=*/true);
  check_id(r.task_queue, subject, "task_queue", /*required=*/true);
  if (r.memo) {
    check_memo_keys(*r.memo, subject);
  }
  if (r.search_attributes) {
    check_search_attribute_names(*r.search_attributes, subject, "search_attributes");
  }
}

void check_duration(std::chrono::milliseconds duration, const std::string& subject,
                    const std::string& field) {
  check_non_negative(duration, subject, field);
}

void check_external_target(const std::string& subject, const std::string& workflow_id,
                           const std::string& run_id, const std::string* signal_name) {
  check_id(workflow_id, subject, "workflow_id", /*required=*/true);
  check_id(run_id, subject, "run_id", /*required=*/false);
  if (signal_name != nullptr) {
    check_id(*signal_name, subject, "signal_name", /*required=*/true);
  }
}

void check_search_attribute_names(const PayloadMap& attributes, const std::string& subject,
                                  const std::string& field) {
  for (const auto& [name, value] : attributes) {
    const std::string where = field + "[" + name + "]";
    bool valid = !name.empty() && name.size() <= kMaxSearchAttributeNameBytes &&
                 std::isalpha(static_cast<unsigned char>(name[0]));
    for (char c : name) {
      valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    }
    if (!valid) {
      fail(subject, where,
           "is not a valid search attribute name: it must start with a letter and have only "
           "letters, digits and '_' (at most " +
               std::to_string(kMaxSearchAttributeNameBytes) + ")");
    }
    if (is_system_attribute(name)) {
      fail(subject, where, "is a system attribute: the server sets it");
    }
  }
}

}  // namespace cairn::detail
