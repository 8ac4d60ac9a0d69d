// parse_cron: the cron grammar of schedule.proto. Every error names the expression, the field,
// the token, the 1-based column (counted in the text as written) and what is allowed there,
// because the same message reaches the user from cairnctl, the SDK and the server.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "proto/schedule_spec.h"

namespace cairn::schedule {
namespace {

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct FieldDef {
  const char* name;
  int min;
  int max;       // the largest value accepted (7 for day-of-week: Sunday again)
  int star_max;  // the top of '*' and of "a/n" (6 for day-of-week)
  const char* const* names;  // nullptr: numbers only
  int name_count;
  int name_base;  // the value of names[0]
  const char* allowed;  // what a token may be, for messages
};

constexpr FieldDef kSecond{"second", 0, 59, 59, nullptr, 0, 0, "0-59"};
constexpr FieldDef kMinute{"minute", 0, 59, 59, nullptr, 0, 0, "0-59"};
constexpr FieldDef kHour{"hour", 0, 23, 23, nullptr, 0, 0, "0-23"};
constexpr FieldDef kDayOfMonth{"day-of-month", 1, 31, 31, nullptr, 0, 0, "1-31"};
constexpr FieldDef kMonth{"month", 1, 12, 12, kMonthNames, 12, 1, "1-12 or JAN-DEC"};
constexpr FieldDef kDayOfWeek{"day-of-week", 0, 7, 6, kDayNames, 7, 0,
                              "0-7 (0 and 7 are Sunday) or SUN-SAT"};

struct Token {
  std::string_view text;
  int column;  // 1-based, in the expression as written
};

class Parser {
 public:
  explicit Parser(const std::string& expression) : expression_(expression) {}

  Status error(const FieldDef& f, std::string_view token, int column,
               const std::string& problem) const {
    return invalid_argument("\"" + expression_ + "\": " + f.name + " \"" + std::string(token) +
                            "\" at column " + std::to_string(column) + problem);
  }

  // One value: a number or (month, day-of-week) a name, case-insensitive.
  Result<int> value(const FieldDef& f, Token t) const {
    if (t.text.empty()) {
      return error(f, t.text, t.column, ": a value is missing; expected " + std::string(f.allowed));
    }
    bool digits = true;
    for (char c : t.text) {
      digits = digits && std::isdigit(static_cast<unsigned char>(c));
    }
    if (digits) {
      if (t.text.size() > 4) {
        return error(f, t.text, t.column, " is out of range " + range_text(f));
      }
      const int v = std::stoi(std::string(t.text));
      if (v < f.min || v > f.max) {
        return error(f, t.text, t.column, " is out of range " + range_text(f));
      }
      return v;
    }
    if (f.names != nullptr && t.text.size() == 3) {
      for (int i = 0; i < f.name_count; ++i) {
        bool same = true;
        for (int k = 0; k < 3; ++k) {
          same = same && std::toupper(static_cast<unsigned char>(t.text[k])) == f.names[i][k];
        }
        if (same) {
          return f.name_base + i;
        }
      }
    }
    const std::string what = f.names != nullptr ? " is not a number or a name; allowed: "
                                                : " is not a number; allowed: ";
    return error(f, t.text, t.column, what + f.allowed);
  }

  // One list item: '*', '?', a value, a range a-b, each with an optional step /n.
  Status item(const FieldDef& f, Token t, uint64_t& bits) const {
    const size_t slash = t.text.find('/');
    std::string_view base = t.text.substr(0, slash);
    int step = 1;
    bool stepped = false;
    if (slash != std::string_view::npos) {
      stepped = true;
      const std::string_view step_text = t.text.substr(slash + 1);
      if (step_text.find('/') != std::string_view::npos) {
        return error(f, t.text, t.column, ": at most one '/' (a step such as */15)");
      }
      bool digits = !step_text.empty() && step_text.size() <= 4;
      for (char c : step_text) {
        digits = digits && std::isdigit(static_cast<unsigned char>(c));
      }
      if (!digits) {
        return error(f, t.text, t.column,
                     ": a step is a whole number after '/', e.g. */15 or 10-50/10");
      }
      step = std::stoi(std::string(step_text));
      const int span = f.star_max - f.min + 1;
      if (step < 1) {
        return error(f, t.text, t.column, ": a step must be at least 1");
      }
      if (step > span) {
        return error(f, t.text, t.column,
                     ": a step must be at most " + std::to_string(span) + " in this field");
      }
    }
    int lo = 0;
    int hi = 0;
    if (base == "*" || base == "?") {
      lo = f.min;
      hi = f.star_max;
    } else if (const size_t dash = base.find('-'); dash != std::string_view::npos) {
      const Token a{base.substr(0, dash), t.column};
      const Token b{base.substr(dash + 1), t.column + static_cast<int>(dash) + 1};
      if (b.text.find('-') != std::string_view::npos) {
        return error(f, t.text, t.column, ": a range has one '-' (e.g. 1-5)");
      }
      CAIRN_ASSIGN_OR_RETURN(lo, value(f, a));
      CAIRN_ASSIGN_OR_RETURN(hi, value(f, b));
      if (&f == &kDayOfWeek && hi == 0 && lo > 0 &&
          !std::isdigit(static_cast<unsigned char>(b.text[0]))) {
        hi = 7;  // FRI-SUN: the week's end, not its start
      }
      if (lo > hi) {
        return error(f, t.text, t.column,
                     " is a reversed range (" + std::to_string(lo) + " > " + std::to_string(hi) +
                         "); a range goes upward, e.g. " + std::to_string(hi) + "-" +
                         std::to_string(lo));
      }
    } else {
      CAIRN_ASSIGN_OR_RETURN(lo, value(f, Token{base, t.column}));
      // "a/n" means a-max/n, as in Vixie cron.
      hi = stepped ? std::max(lo, f.star_max) : lo;
    }
    for (int v = lo; v <= hi; v += step) {
      bits |= uint64_t{1} << (&f == &kDayOfWeek && v == 7 ? 0 : v);
    }
    return Status::ok_status();
  }

  // A comma-separated list of items. `restricted`: the field does not start with '*' or '?'
  // (Vixie cron's rule, which decides between OR and AND of the two day fields).
  Status field(const FieldDef& f, Token t, uint64_t& bits, bool* restricted) const {
    if (restricted != nullptr) {
      *restricted = !(t.text[0] == '*' || t.text[0] == '?');
    }
    size_t begin = 0;
    while (true) {
      const size_t comma = t.text.find(',', begin);
      const std::string_view part = t.text.substr(begin, comma - begin);
      const int column = t.column + static_cast<int>(begin);
      if (part.empty()) {
        return invalid_argument("\"" + expression_ + "\": " + f.name + " \"" +
                                std::string(t.text) + "\" has an empty list item at column " +
                                std::to_string(column) + " (items are separated by one comma)");
      }
      CAIRN_RETURN_IF_ERROR(item(f, Token{part, column}, bits));
      if (comma == std::string_view::npos) {
        return Status::ok_status();
      }
      begin = comma + 1;
    }
  }

 private:
  static std::string range_text(const FieldDef& f) {
    return std::to_string(f.min) + "-" + std::to_string(f.max);
  }

  const std::string& expression_;
};

std::vector<Token> split_fields(const std::string& text) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    const size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') {
      ++i;
    }
    out.push_back(Token{std::string_view(text).substr(start, i - start),
                        static_cast<int>(start) + 1});
  }
  return out;
}

struct Macro {
  const char* name;
  const char* expansion;
};
constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

}  // namespace

Result<CronExpression> parse_cron(const std::string& text) {
  std::vector<Token> tokens = split_fields(text);
  if (tokens.empty()) {
    return invalid_argument(
        "\"" + text +
        "\": empty cron expression; expected 5 fields (minute hour day-of-month month "
        "day-of-week), 6 (second first) or a macro such as @daily");
  }
  if (tokens[0].text[0] == '@') {
    std::string name(tokens[0].text);
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    for (const Macro& m : kMacros) {
      if (name != m.name) {
        continue;
      }
      if (tokens.size() > 1) {
        return invalid_argument("\"" + text + "\": " + m.name + " stands alone; \"" +
                                std::string(tokens[1].text) + "\" at column " +
                                std::to_string(tokens[1].column) + " is extra");
      }
      Result<CronExpression> expanded = parse_cron(m.expansion);
      CAIRN_CHECK(expanded.ok());
      expanded->text = text;
      return expanded;
    }
    return invalid_argument("\"" + text + "\": unknown macro \"" + std::string(tokens[0].text) +
                            "\" at column " + std::to_string(tokens[0].column) +
                            "; allowed: @yearly @annually @monthly @weekly @daily @midnight "
                            "@hourly");
  }
  if (tokens.size() != 5 && tokens.size() != 6) {
    return invalid_argument("\"" + text + "\": " + std::to_string(tokens.size()) +
                            (tokens.size() == 1 ? " field" : " fields") +
                            "; expected 5 (minute hour day-of-month month day-of-week) or 6 "
                            "(second first)");
  }
  CronExpression out;
  out.text = text;
  const Parser p(text);
  size_t i = 0;
  if (tokens.size() == 6) {
    CAIRN_RETURN_IF_ERROR(p.field(kSecond, tokens[i++], out.seconds, nullptr));
  } else {
    out.seconds = 1;
  }
  uint64_t bits = 0;
  CAIRN_RETURN_IF_ERROR(p.field(kMinute, tokens[i++], out.minutes, nullptr));
  CAIRN_RETURN_IF_ERROR(p.field(kHour, tokens[i++], bits, nullptr));
  out.hours = static_cast<uint32_t>(bits);
  bits = 0;
  CAIRN_RETURN_IF_ERROR(p.field(kDayOfMonth, tokens[i++], bits, &out.dom_restricted));
  out.days_of_month = static_cast<uint32_t>(bits);
  bits = 0;
  CAIRN_RETURN_IF_ERROR(p.field(kMonth, tokens[i++], bits, nullptr));
  out.months = static_cast<uint16_t>(bits);
  bits = 0;
  CAIRN_RETURN_IF_ERROR(p.field(kDayOfWeek, tokens[i++], bits, &out.dow_restricted));
  out.days_of_week = static_cast<uint8_t>(bits);
  return out;
}

}  // namespace cairn::schedule
