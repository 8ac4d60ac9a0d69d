// The list filter lexer: identifiers, backticked names, quoted strings with escapes, numbers and
// operators, with positions for error messages. Stateless apart from each Lexer's cursor.
#include "server/list_filter_lexer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace cairn::list_filter_internal {
namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

// The whole UTF-8 sequence starting at `pos` (one byte when malformed), for error messages.
std::string_view code_point_at(std::string_view s, size_t pos) {
  auto c = static_cast<unsigned char>(s[pos]);
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return s.substr(pos, n);
}

// Cuts `s` to about `max` bytes on a code point boundary; `cut` tells whether it did.
std::string_view truncate(std::string_view s, size_t max, bool* cut) {
  *cut = s.size() > max;
  if (!*cut) {
    return s;
  }
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
    --n;
  }
  return s.substr(0, n);
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_keyword(const Token& t, std::string_view keyword) {
  return t.kind == Tok::kIdent && iequals(t.text, keyword);
}

size_t code_point_position(std::string_view src, size_t byte_pos) {
  size_t position = 1;
  for (size_t i = 0; i < byte_pos && i < src.size(); ++i) {
    position += (static_cast<unsigned char>(src[i]) & 0xC0) != 0x80;  // skip continuation bytes
  }
  return position;
}

Status error_at(std::string_view src, size_t byte_pos, const std::string& message) {
  return invalid_argument("list filter: at position " +
                          std::to_string(code_point_position(src, byte_pos)) + ": " + message);
}

std::string describe(const Token& t) {
  if (t.kind == Tok::kEnd) {
    return "the end of the filter";
  }
  bool cut = false;
  std::string shown(truncate(t.raw, 40, &cut));
  if (cut) {
    shown += "...";
  }
  // Strings and backticked names show their own quotes.
  return t.kind == Tok::kString || t.kind == Tok::kQuotedIdent ? shown : "'" + shown + "'";
}

Token Lexer::fail(size_t pos, const std::string& message) {
  Token t;
  t.kind = Tok::kError;
  t.pos = pos;
  t.error = error_at(src_, pos, message);
  pos_ = src_.size();  // nothing after a lexical error is looked at
  return t;
}

Token Lexer::lex() {
  while (pos_ < src_.size() && is_space(src_[pos_])) {
    ++pos_;
  }
  Token t;
  t.pos = pos_;
  if (pos_ == src_.size()) {
    return t;
  }
  const size_t start = pos_;
  const char c = src_[pos_];
  const char c1 = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
  if (is_ident_start(c)) {
    while (pos_ < src_.size() && is_ident_char(src_[pos_])) {
      ++pos_;
    }
    t.kind = Tok::kIdent;
    t.text = src_.substr(start, pos_ - start);
  } else if (c == '`') {
    size_t close = src_.find('`', start + 1);
    if (close == std::string_view::npos) {
      return fail(start, "unterminated attribute name: no closing '`'");
    }
    if (close == start + 1) {
      return fail(start, "empty attribute name in backticks");
    }
    t.kind = Tok::kQuotedIdent;
    t.text = src_.substr(start + 1, close - start - 1);
    pos_ = close + 1;
  } else if (c == '\'' || c == '"') {
    return lex_string();
  } else if (is_digit(c) || (c == '-' && is_digit(c1))) {
    return lex_number();
  } else {
    static constexpr std::array<std::pair<std::string_view, Tok>, 9> kOps = {{
        {"!=", Tok::kNe},
        {"<=", Tok::kLe},
        {">=", Tok::kGe},
        {"=", Tok::kEq},
        {"<", Tok::kLt},
        {">", Tok::kGt},
        {"(", Tok::kLParen},
        {")", Tok::kRParen},
        {",", Tok::kComma},
    }};
    auto it = std::find_if(kOps.begin(), kOps.end(), [&](const auto& op) {
      return src_.substr(start).starts_with(op.first);
    });
    if (it == kOps.end()) {
      std::string ch(code_point_at(src_, start));
      return fail(start,
                  "unexpected character '" + ch + "'" + (c == '!' ? "; did you mean '!='?" : ""));
    }
    t.kind = it->second;
    pos_ += it->first.size();
  }
  t.raw = src_.substr(start, pos_ - start);
  return t;
}

Token Lexer::lex_string() {
  const size_t start = pos_;
  const char quote = src_[pos_++];
  Token t;
  t.kind = Tok::kString;
  t.pos = start;
  while (true) {
    if (pos_ >= src_.size()) {
      return fail(start, std::string("unterminated string: no closing ") + quote +
                             " before the end of the filter");
    }
    char ch = src_[pos_];
    if (ch == quote) {
      ++pos_;
      break;
    }
    if (ch == '\\') {
      if (pos_ + 1 >= src_.size()) {
        pos_ = src_.size();  // a trailing backslash escapes nothing: unterminated
        continue;
      }
      char e = src_[pos_ + 1];
      switch (e) {
        case '\\':
        case '\'':
        case '"':
          ch = e;
          break;
        case 'n':
          ch = '\n';
          break;
        case 't':
          ch = '\t';
          break;
        case 'r':
          ch = '\r';
          break;
        default:
          return fail(pos_, "unknown escape sequence '\\" +
                                std::string(code_point_at(src_, pos_ + 1)) +
                                "' in a string; use \\\\, \\', \\\", \\n, \\t or \\r");
      }
      pos_ += 2;
      t.text += ch;
      continue;
    }
    t.text += ch;
    ++pos_;
  }
  t.raw = src_.substr(start, pos_ - start);
  return t;
}

Token Lexer::lex_number() {
  const size_t start = pos_;
  if (src_[pos_] == '-')
    ++pos_;
  auto skip_digits = [&] {
    size_t from = pos_;
    while (pos_ < src_.size() && is_digit(src_[pos_])) {
      ++pos_;
    }
    return pos_ > from;
  };
  skip_digits();
  bool decimal = false, ok = true;
  if (pos_ < src_.size() && src_[pos_] == '.') {
    ++pos_;
    decimal = true;
    ok = skip_digits();
  }
  if (ok && pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < src_.size() && (src_[pos_] == '+' || src_[pos_] == '-'))
      ++pos_;
    decimal = true;
    ok = skip_digits();
  }
  if (!ok || (pos_ < src_.size() && (is_ident_char(src_[pos_]) || src_[pos_] == '.'))) {
    while (pos_ < src_.size() && (is_ident_char(src_[pos_]) || src_[pos_] == '.' ||
                                  src_[pos_] == '-' || src_[pos_] == '+')) {
      ++pos_;
    }
    return fail(start, "malformed number '" + std::string(src_.substr(start, pos_ - start)) + "'");
  }
  Token t;
  t.pos = start;
  t.raw = src_.substr(start, pos_ - start);
  const char* first = t.raw.data();
  const char* last = first + t.raw.size();
  std::from_chars_result r;
  if (decimal) {
    t.kind = Tok::kDecimal;
    r = std::from_chars(first, last, t.decimal_value);
    if (r.ec == std::errc() && !std::isfinite(t.decimal_value)) {
      r.ec = std::errc::result_out_of_range;
    }
  } else {
    t.kind = Tok::kInt;
    r = std::from_chars(first, last, t.int_value);
  }
  if (r.ec != std::errc() || r.ptr != last) {
    return fail(start, "number " + std::string(t.raw) + " is out of range");
  }
  return t;
}

}  // namespace cairn::list_filter_internal
