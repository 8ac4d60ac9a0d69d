// Error classification and Retry-After (see openai_errors.h).
#include "openai_errors.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>

#include <nlohmann/json.hpp>

namespace cairn::ai {
namespace {

using std::chrono::milliseconds;

constexpr size_t kMaxQuoted = 300;  // of a provider's message in ours

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

// A non-negative decimal number ("2", "1.5"); nullopt for anything else.
std::optional<double> parse_number(std::string_view s) {
  s = trim(s);
  if (s.empty()) {
    return std::nullopt;
  }
  bool dot = false;
  for (char c : s) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  std::string copy(s);
  double v = std::strtod(copy.c_str(), nullptr);
  if (!std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

// RFC 9110 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (the obsolete forms are not accepted).
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  s = trim(s);
  // "Www, DD Mon YYYY HH:MM:SS GMT" is 29 characters.
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s[25] != ' ' || s.substr(26) != "GMT") {
    return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len) -> int {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
        return -1;
      }
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  int day = num(5, 2), year = num(12, 4), hour = num(17, 2), minute = num(20, 2),
      second = num(23, 2);
  int month = -1;
  for (int m = 0; m < 12; ++m) {
    if (s.substr(8, 3) == kMonths[m]) {
      month = m;
    }
  }
  if (day < 1 || day > 31 || year < 1970 || month < 0 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(t);
}

const std::string* header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) {
      return &v;
    }
  }
  return nullptr;
}

}  // namespace

bool is_retryable_type(std::string_view type) {
  return type == kRateLimited || type == kTimeout || type == kConflict || type == kServerError ||
         type == kNetworkError;
}

std::optional<milliseconds> parse_retry_after(const HttpHeaders& headers,
                                              std::chrono::system_clock::time_point now) {
  if (const std::string* ms = header(headers, "retry-after-ms")) {
    if (auto v = parse_number(*ms)) {
      return milliseconds(static_cast<int64_t>(std::ceil(*v)));
    }
  }
  const std::string* ra = header(headers, "retry-after");
  if (ra == nullptr) {
    return std::nullopt;
  }
  if (auto v = parse_number(*ra)) {
    return milliseconds(static_cast<int64_t>(std::ceil(*v * 1000)));
  }
  if (auto at = parse_http_date(*ra)) {
    auto d = std::chrono::ceil<milliseconds>(*at - now);
    return d.count() > 0 ? d : milliseconds(0);
  }
  return std::nullopt;
}

ErrorClass classify_http(int status, std::string_view code) {
  if (code == "insufficient_quota") {
    return {kInsufficientQuota, false};
  }
  if (code == "context_length_exceeded") {
    return {kContextLengthExceeded, false};
  }
  if (code == "content_filter" || code == "content_policy_violation") {
    return {kContentFiltered, false};
  }
  switch (status) {
    case 400:
      return {kInvalidRequest, false};
    case 401:
      return {kAuthenticationFailed, false};
    case 403:
      return {kPermissionDenied, false};
    case 404:
      return {kNotFound, false};
    case 408:
      return {kTimeout, true};
    case 409:
      return {kConflict, true};
    case 429:
      return {kRateLimited, true};
    default:
      break;
  }
  if (status >= 500 && status <= 599) {
    return {kServerError, true};
  }
  // Other 4xx (413, 422, …) and unexpected statuses (3xx: a wrong base_url): the same request
  // would fail again.
  return {kInvalidRequest, false};
}

ErrorClass classify_stream_error(std::string_view code) {
  if (code == "rate_limit_exceeded" || code == "rate_limit") {
    return {kRateLimited, true};
  }
  if (code == "invalid_request_error") {
    return {kInvalidRequest, false};
  }
  ErrorClass c = classify_http(0, code);
  if (c.type != kInvalidRequest) {
    return c;
  }
  return {kServerError, true};  // "server_error", "overloaded", unknown: the provider's trouble
}

std::string redact(std::string_view text, std::string_view secret) {
  std::string out(text);
  if (!secret.empty()) {
    for (size_t pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos)) {
      out.replace(pos, secret.size(), "[redacted]");
      pos += 10;
    }
  }
  // Any bearer token a provider quotes back, whatever key it is.
  for (size_t pos = out.find("Bearer "); pos != std::string::npos;
       pos = out.find("Bearer ", pos + 1)) {
    size_t start = pos + 7;
    size_t end = start;
    while (end < out.size() && !std::isspace(static_cast<unsigned char>(out[end])) &&
           out[end] != '"' && out[end] != '\'') {
      ++end;
    }
    out.replace(start, end - start, "[redacted]");
  }
  return out;
}

std::string format_duration(milliseconds d) {
  int64_t ms = d.count();
  if (ms < 1000) {
    return std::to_string(ms) + "ms";
  }
  if (ms < 60'000) {
    std::string s = std::to_string(ms / 1000);
    if (ms % 1000 != 0) {
      char frac[8];
      std::snprintf(frac, sizeof(frac), ".%03lld", static_cast<long long>(ms % 1000));
      std::string f(frac);
      while (f.back() == '0') {
        f.pop_back();
      }
      s += f;
    }
    return s + "s";
  }
  return std::to_string(ms / 60'000) + "m" + std::to_string((ms % 60'000) / 1000) + "s";
}

LlmError with_retry_after(LlmError error, milliseconds retry_after, milliseconds max_retry_after) {
  if (error.non_retryable()) {
    error.set_retry_after(retry_after);
    return error;
  }
  if (retry_after > max_retry_after) {
    LlmError fast(std::string(error.what()) + "; the provider asks to retry after " +
                      format_duration(retry_after) + ", longer than max_retry_after " +
                      format_duration(max_retry_after) +
                      ": not retried (fall back to another tier or raise max_retry_after)",
                  error.type(), /*non_retryable=*/true, error.http_status(), error.error_code());
    fast.set_retry_after(retry_after);
    return fast;
  }
  LlmError delayed(std::string(error.what()) + "; retry after " + format_duration(retry_after),
                   error.type(), /*non_retryable=*/false, error.http_status(), error.error_code());
  delayed.set_retry_after(retry_after);
  delayed.set_next_retry_delay(retry_after);
  return delayed;
}

LlmError http_error(const CallSite& site, int status, std::string_view body,
                    const HttpHeaders& headers, std::chrono::system_clock::time_point now,
                    milliseconds max_retry_after, std::string_view secret) {
  std::string code;
  std::string provider_message;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error")) {
    const auto& e = j["error"];
    if (e.is_object()) {
      if (e.contains("code") && e["code"].is_string()) {
        code = e["code"].get<std::string>();
      }
      if (code.empty() && e.contains("type") && e["type"].is_string()) {
        code = e["type"].get<std::string>();
      }
      if (e.contains("message") && e["message"].is_string()) {
        provider_message = e["message"].get<std::string>();
      }
    } else if (e.is_string()) {
      provider_message = e.get<std::string>();
    }
  } else {
    provider_message = std::string(trim(body));
  }
  if (provider_message.size() > kMaxQuoted) {
    size_t cut = kMaxQuoted;
    while (cut > 0 && (static_cast<unsigned char>(provider_message[cut]) & 0xC0) == 0x80) {
      --cut;  // never split a UTF-8 sequence: the message travels in a proto string
    }
    provider_message = provider_message.substr(0, cut) + "...";
  }
  ErrorClass cls = classify_http(status, code);
  std::string message = "endpoint \"" + site.endpoint + "\": " + site.operation +
                        " failed with HTTP " + std::to_string(status) + " (" + cls.type;
  if (!code.empty()) {
    message += ", code " + code;
  }
  message += ")";
  if (!provider_message.empty()) {
    message += ": " + provider_message;
  }
  if (cls.type == kAuthenticationFailed) {
    message += " — check the endpoint's api_key_env / api_key_file";
  } else if (cls.type == kNotFound) {
    message += " — check the endpoint's base_url and model";
  }
  LlmError error(redact(message, secret), cls.type, !cls.retryable, status, code);
  if (auto ra = parse_retry_after(headers, now)) {
    return with_retry_after(std::move(error), *ra, max_retry_after);
  }
  return error;
}

}  // namespace cairn::ai
