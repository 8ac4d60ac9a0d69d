// Tokens of the list filter language (see list_filter.h) and the error format every list filter
// error uses. Internal to server/list_filter.cc. A Lexer reads one query on one thread; it refers
// to the query text, which must outlive it and its tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "proto/status.h"

namespace cairn::list_filter_internal {

enum class Tok {
  kEnd,
  kError,
  kIdent,        // a bare name or keyword: [A-Za-z_][A-Za-z0-9_]*
  kQuotedIdent,  // `any name`
  kString,
  kInt,
  kDecimal,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kLParen,
  kRParen,
  kComma
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t pos = 0;        // byte offset in the filter
  std::string_view raw;  // the source text
  std::string text;      // kIdent, kQuotedIdent: the name; kString: the unescaped string
  int64_t int_value = 0;
  double decimal_value = 0;
  Status error;  // kError: the complete kInvalidArgument status to report
};

// Produces tokens on demand, so that the first error by position is the one reported: a lexical
// error becomes a kError token, after which only kEnd follows.
class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  // The token k places ahead of the next one (0: the next one).
  const Token& peek(size_t k = 0) {
    while (buf_.size() <= k) {
      buf_.push_back(lex());
    }
    return buf_[k];
  }

  // Consumes the next token.
  Token take() {
    peek();
    Token t = std::move(buf_.front());
    buf_.pop_front();
    return t;
  }

 private:
  Token fail(size_t pos, const std::string& message);
  Token lex();
  Token lex_string();
  Token lex_number();

  std::string_view src_;
  size_t pos_ = 0;
  std::deque<Token> buf_;
};

// 1-based position of a byte offset in code points: what a user counts in their editor.
size_t code_point_position(std::string_view src, size_t byte_pos);

// kInvalidArgument "list filter: at position N: <message>".
Status error_at(std::string_view src, size_t byte_pos, const std::string& message);

// A token as an error message shows it: 'AND', '=', 'abc' (a string keeps its own quotes),
// `name`, or "the end of the filter". Long tokens are cut to about 40 bytes plus "...".
std::string describe(const Token& t);

// True for a bare identifier equal to `keyword` ignoring ASCII case.
bool is_keyword(const Token& t, std::string_view keyword);

bool iequals(std::string_view a, std::string_view b);  // ASCII case-insensitive
bool is_space(char c);

}  // namespace cairn::list_filter_internal
