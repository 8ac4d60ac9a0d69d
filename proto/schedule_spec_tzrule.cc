// DstRule: the POSIX TZ grammar as TZif footers use it (RFC 8536 section 3.3, with its
// extension of hours to +-167). Offsets in POSIX are west-positive; they are stored east-positive.
#include "proto/schedule_spec_tzrule.h"

#include <cctype>
#include <fstream>
#include <iterator>

#include "proto/schedule_spec_civil.h"

namespace cairn::schedule::detail {
namespace {

class Reader {
 public:
  explicit Reader(const std::string& s) : s_(s) {}
  bool done() const { return pos_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  bool eat(char c) {
    if (peek() == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool name() {  // "CET" or "<+0330>"
    if (eat('<')) {
      while (!done() && peek() != '>') {
        ++pos_;
      }
      return eat('>');
    }
    size_t n = 0;
    while (std::isalpha(static_cast<unsigned char>(peek()))) {
      ++pos_;
      ++n;
    }
    return n >= 3;
  }
  bool number(int max_digits, int64_t& out) {
    size_t n = 0;
    out = 0;
    while (n < static_cast<size_t>(max_digits) &&
           std::isdigit(static_cast<unsigned char>(peek()))) {
      out = out * 10 + (s_[pos_++] - '0');
      ++n;
    }
    return n > 0;
  }
  // [+-]hh[:mm[:ss]] in seconds.
  bool hms(int64_t& out) {
    int64_t sign = 1;
    if (eat('-')) {
      sign = -1;
    } else {
      eat('+');
    }
    int64_t h = 0, m = 0, s = 0;
    if (!number(3, h) || h > 167) {
      return false;
    }
    if (eat(':') && (!number(2, m) || (eat(':') && !number(2, s)))) {
      return false;
    }
    out = sign * (h * 3600 + m * 60 + s);
    return true;
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<DstRule> DstRule::parse(const std::string& tz) {
  Reader r(tz);
  DstRule rule;
  int64_t west = 0;
  if (!r.name() || !r.hms(west)) {
    return std::nullopt;
  }
  rule.std_offset_ = -west;
  if (r.done() || !r.name()) {
    return std::nullopt;  // no DST: a fixed offset
  }
  rule.dst_offset_ = rule.std_offset_ + 3600;
  if (r.peek() != ',') {
    if (!r.hms(west)) {
      return std::nullopt;
    }
    rule.dst_offset_ = -west;
  }
  for (Date* d : {&rule.start_, &rule.end_}) {
    if (!r.eat(',')) {
      return std::nullopt;  // POSIX's implementation-defined default rule: not used by tzdata
    }
    int64_t v = 0;
    if (r.eat('J')) {
      if (!r.number(3, v) || v < 1 || v > 365) {
        return std::nullopt;
      }
      *d = Date{'J', static_cast<int>(v), 0, 0, 7200};
    } else if (r.eat('M')) {
      int64_t w = 0, wd = 0;
      if (!r.number(2, v) || v < 1 || v > 12 || !r.eat('.') || !r.number(1, w) || w < 1 || w > 5 ||
          !r.eat('.') || !r.number(1, wd) || wd > 6) {
        return std::nullopt;
      }
      *d = Date{'M', static_cast<int>(v), static_cast<int>(w), static_cast<int>(wd), 7200};
    } else {
      if (!r.number(3, v) || v > 365) {
        return std::nullopt;
      }
      *d = Date{'N', static_cast<int>(v), 0, 0, 7200};
    }
    if (r.eat('/') && !r.hms(d->time)) {
      return std::nullopt;
    }
  }
  if (!r.done() || rule.dst_offset_ == rule.std_offset_) {
    return std::nullopt;
  }
  return rule;
}

std::optional<DstRule> DstRule::from_tzif_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < 2 || data.back() != '\n') {
    return std::nullopt;
  }
  const size_t open = data.rfind('\n', data.size() - 2);
  if (open == std::string::npos) {
    return std::nullopt;
  }
  return parse(data.substr(open + 1, data.size() - open - 2));
}

int64_t DstRule::day_of(const Date& d, int64_t year) const {
  const int64_t jan1 = days_from_civil(year, 1, 1);
  switch (d.kind) {
    case 'J':  // Feb 29 is never counted: day 60 is always March 1
      return jan1 + d.a - 1 + (is_leap_year(year) && d.a >= 60 ? 1 : 0);
    case 'N':
      return jan1 + d.a;
    default: {
      const int64_t first = days_from_civil(year, d.a, 1);
      int64_t day = first + (d.weekday - weekday_from_days(first) + 7) % 7 + (d.week - 1) * 7;
      while (day >= first + days_in_month(year, d.a)) {
        day -= 7;  // week 5: the last such weekday
      }
      return day;
    }
  }
}

int64_t DstRule::start_utc(int64_t year) const {
  return day_of(start_, year) * kSecondsPerDay + start_.time - std_offset_;
}

int64_t DstRule::end_utc(int64_t year) const {
  return day_of(end_, year) * kSecondsPerDay + end_.time - dst_offset_;
}

int64_t DstRule::offset_at(int64_t utc_s) const {
  const int64_t year = civil_from_days(floor_div(utc_s + std_offset_, kSecondsPerDay)).year;
  const int64_t s = start_utc(year);
  const int64_t e = end_utc(year);
  const bool dst = s < e ? (s <= utc_s && utc_s < e) : !(e <= utc_s && utc_s < s);
  return dst ? dst_offset_ : std_offset_;
}

std::optional<int64_t> DstRule::transition_in(int64_t lo, int64_t hi) const {
  const int64_t year = civil_from_days(floor_div(hi, kSecondsPerDay)).year;
  for (int64_t y = year - 1; y <= year + 1; ++y) {
    for (int64_t t : {start_utc(y), end_utc(y)}) {
      if (lo < t && t <= hi) {
        return t;
      }
    }
  }
  return std::nullopt;
}

}  // namespace cairn::schedule::detail
