// ListFilter: a recursive-descent parser (over list_filter_lexer.h) that type-checks a filter once
// per request, and an evaluator over VisibilityRecord. See list_filter.h for the grammar. Stateless
// apart from immutable tables.
#include "server/list_filter.h"

#include <algorithm>
#include <array>
#include <utility>
#include <variant>
#include <vector>

#include "history/visibility.h"
#include "server/list_filter_lexer.h"

namespace cairn {
namespace list_filter_internal {

enum class Op {
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,
  kNotIn,
  kBetween,
  kNotBetween,
  kStartsWith,
  kIsNull,
  kIsNotNull
};

enum class Field {
  kCustom,
  kWorkflowId,
  kRunId,
  kWorkflowType,
  kTaskQueue,
  kExecutionStatus,
  kStartTime,
  kCloseTime,
  kHistoryLength,
  kTaskFailure
};

// One literal, normalised at parse time to the attribute's representation (see
// SearchAttributeValue; ExecutionStatus is its enum number).
using Scalar = SearchAttributeValue::Scalar;

struct Expr {
  enum class Kind { kAnd, kOr, kPredicate };
  Kind kind = Kind::kPredicate;
  std::vector<Expr> children;  // kAnd, kOr: two or more
  // kPredicate:
  Field field = Field::kCustom;
  std::string name;
  v1::IndexedValueType type = v1::INDEXED_VALUE_TYPE_UNSPECIFIED;
  Op op = Op::kEq;
  std::vector<Scalar> values;      // 1 (comparisons, STARTS_WITH), 2 (BETWEEN), >= 1 (IN), 0 (IS)
  std::vector<std::string> words;  // Text '=' / '!=': the literal's lower-cased words
};

}  // namespace list_filter_internal

namespace {

using list_filter_internal::code_point_position;
using list_filter_internal::describe;
using list_filter_internal::error_at;
using list_filter_internal::Expr;
using list_filter_internal::Field;
using list_filter_internal::iequals;
using list_filter_internal::is_keyword;
using list_filter_internal::is_space;
using list_filter_internal::Lexer;
using list_filter_internal::Op;
using list_filter_internal::Scalar;
using list_filter_internal::Tok;
using list_filter_internal::Token;

// ---- Small helpers -------------------------------------------------------------------------

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

std::vector<std::string> lower_words(std::string_view s) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) {
      ++i;
    }
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) {
      ++i;
    }
    if (i > start) {
      words.push_back(lower(s.substr(start, i - start)));
    }
  }
  return words;
}

// "an Int", "a Keyword", ...
std::string with_article(v1::IndexedValueType t) {
  return (t == v1::INDEXED_VALUE_TYPE_INT ? "an " : "a ") + std::string(indexed_value_type_name(t));
}

// ---- Attributes and operators ---------------------------------------------------------------

struct SystemAttribute {
  const char* name;
  Field field;
  v1::IndexedValueType type;
};

constexpr std::array<SystemAttribute, 9> kSystemAttributes = {{
    {"WorkflowId", Field::kWorkflowId, v1::INDEXED_VALUE_TYPE_KEYWORD},
    {"RunId", Field::kRunId, v1::INDEXED_VALUE_TYPE_KEYWORD},
    {"WorkflowType", Field::kWorkflowType, v1::INDEXED_VALUE_TYPE_KEYWORD},
    {"TaskQueue", Field::kTaskQueue, v1::INDEXED_VALUE_TYPE_KEYWORD},
    {"ExecutionStatus", Field::kExecutionStatus, v1::INDEXED_VALUE_TYPE_KEYWORD},
    {"StartTime", Field::kStartTime, v1::INDEXED_VALUE_TYPE_DATETIME},
    {"CloseTime", Field::kCloseTime, v1::INDEXED_VALUE_TYPE_DATETIME},
    {"HistoryLength", Field::kHistoryLength, v1::INDEXED_VALUE_TYPE_INT},
    // Why the run's workflow tasks fail ("BadCommand", "TimedOut", ...); null while healthy.
    {"TaskFailure", Field::kTaskFailure, v1::INDEXED_VALUE_TYPE_KEYWORD},
}};

// The values TaskFailure takes: the short names of history/visibility.cc, for every cause and
// for a timeout.
const std::vector<std::string>& task_failure_values() {
  static const std::vector<std::string>* const kValues = [] {
    auto* names = new std::vector<std::string>;
    v1::WorkflowTaskFailureInfo info;
    info.set_timed_out(true);
    names->push_back(task_failure_name(info));
    info.set_timed_out(false);
    for (int c = v1::WorkflowTaskFailedCause_MIN; c <= v1::WorkflowTaskFailedCause_MAX; ++c) {
      if (v1::WorkflowTaskFailedCause_IsValid(c)) {
        info.set_cause(static_cast<v1::WorkflowTaskFailedCause>(c));
        std::string name = task_failure_name(info);
        if (std::find(names->begin(), names->end(), name) == names->end()) {
          names->push_back(std::move(name));
        }
      }
    }
    return names;
  }();
  return *kValues;
}

constexpr std::array<std::pair<const char*, v1::WorkflowExecutionStatus>, 7> kStatuses = {{
    {"Running", v1::WORKFLOW_EXECUTION_STATUS_RUNNING},
    {"Completed", v1::WORKFLOW_EXECUTION_STATUS_COMPLETED},
    {"Failed", v1::WORKFLOW_EXECUTION_STATUS_FAILED},
    {"Canceled", v1::WORKFLOW_EXECUTION_STATUS_CANCELED},
    {"Terminated", v1::WORKFLOW_EXECUTION_STATUS_TERMINATED},
    {"ContinuedAsNew", v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW},
    {"TimedOut", v1::WORKFLOW_EXECUTION_STATUS_TIMED_OUT},
}};

constexpr std::array<const char*, 13> kOpNames = {
    "=",      "!=",      "<",           "<=",          ">",       ">=",          "IN",
    "NOT IN", "BETWEEN", "NOT BETWEEN", "STARTS_WITH", "IS NULL", "IS NOT NULL",
};

constexpr uint32_t bit(Op op) { return 1u << static_cast<int>(op); }

// The operators an attribute supports, as a bit set over Op.
uint32_t allowed_ops(Field field, v1::IndexedValueType type) {
  constexpr uint32_t kNull = bit(Op::kIsNull) | bit(Op::kIsNotNull);
  constexpr uint32_t kEquality =
      bit(Op::kEq) | bit(Op::kNe) | bit(Op::kIn) | bit(Op::kNotIn) | kNull;
  constexpr uint32_t kOrdered = kEquality | bit(Op::kLt) | bit(Op::kLe) | bit(Op::kGt) |
                                bit(Op::kGe) | bit(Op::kBetween) | bit(Op::kNotBetween);
  if (field == Field::kExecutionStatus) {
    return kEquality;
  }
  switch (type) {
    case v1::INDEXED_VALUE_TYPE_KEYWORD:
      return kOrdered | bit(Op::kStartsWith);
    case v1::INDEXED_VALUE_TYPE_TEXT:
      return bit(Op::kEq) | bit(Op::kNe) | bit(Op::kStartsWith) | kNull;
    case v1::INDEXED_VALUE_TYPE_INT:
    case v1::INDEXED_VALUE_TYPE_DOUBLE:
    case v1::INDEXED_VALUE_TYPE_DATETIME:
      return kOrdered;
    default:
      return kEquality;  // Bool, KeywordList
  }
}

std::string op_list(uint32_t ops) {
  std::vector<std::string> names;
  for (size_t i = 0; i < kOpNames.size(); ++i) {
    if (ops & (1u << i)) {
      names.push_back(kOpNames[i]);
    }
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  return out;
}

// ---- Parser -------------------------------------------------------------------------------------

struct Parsed {
  std::shared_ptr<const Expr> expr;
  ListOrder order;
};

class Parser {
 public:
  Parser(std::string_view src, const SearchAttributeTypes& custom)
      : src_(src), lex_(src), custom_(custom) {}

  Result<Parsed> parse() {
    Parsed out;
    if (lex_.peek().kind == Tok::kEnd) {
      return out;
    }
    // A leading ORDER is the order clause unless it names an attribute and no BY follows.
    const Token& first = lex_.peek();
    const bool order_only = is_keyword(first, "ORDER") &&
                            (is_keyword(lex_.peek(1), "BY") || !known_attribute(first.text));
    if (!order_only) {
      CAIRN_ASSIGN_OR_RETURN(Expr e, parse_or(0));
      out.expr = std::make_shared<const Expr>(std::move(e));
    }
    if (is_keyword(lex_.peek(), "ORDER")) {
      CAIRN_RETURN_IF_ERROR(parse_order(&out.order));
    } else if (lex_.peek().kind != Tok::kEnd) {
      return unexpected("AND, OR, ORDER BY or the end of the filter");
    }
    return out;
  }

 private:
  Token take() {
    last_ = lex_.take();
    has_last_ = true;
    return last_;
  }

  // "expected <what> after <last token>, found <next token>[<hint>]", or the lexer's error.
  Status unexpected(const std::string& what, bool say_after = true, const std::string& hint = "") {
    const Token& found = lex_.peek();
    if (found.kind == Tok::kError) {
      return found.error;
    }
    std::string after = say_after && has_last_ ? " after " + describe(last_) : "";
    return error_at(src_, found.pos,
                    "expected " + what + after + ", found " + describe(found) + hint);
  }

  bool known_attribute(const std::string& name) const {
    return system_search_attributes().count(name) > 0 || custom_.count(name) > 0;
  }

  Result<Expr> parse_or(int depth) { return parse_list(depth, Expr::Kind::kOr, "OR"); }
  Result<Expr> parse_and(int depth) { return parse_list(depth, Expr::Kind::kAnd, "AND"); }

  // operand {keyword operand}, where the operand is the next tighter level.
  Result<Expr> parse_list(int depth, Expr::Kind kind, std::string_view keyword) {
    auto operand = [&]() {
      return kind == Expr::Kind::kOr ? parse_and(depth) : parse_primary(depth);
    };
    CAIRN_ASSIGN_OR_RETURN(Expr first, operand());
    if (!is_keyword(lex_.peek(), keyword)) {
      return first;
    }
    Expr node;
    node.kind = kind;
    node.children.push_back(std::move(first));
    while (is_keyword(lex_.peek(), keyword)) {
      take();
      CAIRN_ASSIGN_OR_RETURN(Expr next, operand());
      node.children.push_back(std::move(next));
    }
    return node;
  }

  Result<Expr> parse_primary(int depth) {
    if (lex_.peek().kind != Tok::kLParen) {
      return parse_predicate();
    }
    if (depth >= kMaxListFilterDepth) {
      return error_at(
          src_, lex_.peek().pos,
          "parentheses nested more than " + std::to_string(kMaxListFilterDepth) + " deep");
    }
    Token open = take();
    CAIRN_ASSIGN_OR_RETURN(Expr inner, parse_or(depth + 1));
    if (lex_.peek().kind != Tok::kRParen) {
      return unexpected(
          "')' to close the '(' at position " + std::to_string(code_point_position(src_, open.pos)),
          /*say_after=*/false);
    }
    take();
    return inner;
  }

  Status resolve(const Token& name_tok, Expr* e) {
    const std::string& name = name_tok.text;
    for (const SystemAttribute& a : kSystemAttributes) {
      if (name == a.name) {
        e->field = a.field;
        e->type = a.type;
        e->name = name;
        return Status();
      }
    }
    auto it = custom_.find(name);
    if (it != custom_.end()) {
      if (!is_valid_indexed_value_type(it->second)) {
        return error_at(src_, name_tok.pos,
                        "attribute '" + name + "' is registered with an invalid type (" +
                            std::to_string(static_cast<int>(it->second)) + ")");
      }
      e->field = Field::kCustom;
      e->type = it->second;
      e->name = name;
      return Status();
    }
    std::string hint;
    for (const auto& [known, type] : system_search_attributes()) {
      hint = iequals(known, name) ? known : hint;
    }
    for (const auto& [known, type] : custom_) {
      hint = iequals(known, name) ? known : hint;
    }
    std::string message = "unknown attribute '" + name +
                          "': not a system attribute nor one registered in the namespace; see "
                          "`cairnctl search-attribute list`";
    if (!hint.empty()) {
      message += " (did you mean '" + hint + "'? attribute names are case-sensitive)";
    }
    return error_at(src_, name_tok.pos, message);
  }

  Result<Op> parse_operator() {
    static constexpr std::array<std::pair<Tok, Op>, 6> kSymbols = {{
        {Tok::kEq, Op::kEq},
        {Tok::kNe, Op::kNe},
        {Tok::kLt, Op::kLt},
        {Tok::kLe, Op::kLe},
        {Tok::kGt, Op::kGt},
        {Tok::kGe, Op::kGe},
    }};
    static constexpr char kWhat[] =
        "an operator (=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, NOT BETWEEN, STARTS_WITH, IS NULL, "
        "IS NOT NULL)";
    for (const auto& [tok, op] : kSymbols) {
      if (lex_.peek().kind == tok) {
        take();
        return op;
      }
    }
    if (is_keyword(lex_.peek(), "IN") || is_keyword(lex_.peek(), "BETWEEN") ||
        is_keyword(lex_.peek(), "STARTS_WITH")) {
      Token t = take();
      return is_keyword(t, "IN")        ? Op::kIn
             : is_keyword(t, "BETWEEN") ? Op::kBetween
                                        : Op::kStartsWith;
    }
    if (is_keyword(lex_.peek(), "NOT")) {
      take();
      if (is_keyword(lex_.peek(), "IN") || is_keyword(lex_.peek(), "BETWEEN")) {
        return is_keyword(take(), "IN") ? Op::kNotIn : Op::kNotBetween;
      }
      return unexpected("IN or BETWEEN");
    }
    if (is_keyword(lex_.peek(), "IS")) {
      take();
      bool negated = is_keyword(lex_.peek(), "NOT");
      if (negated) {
        take();
      }
      if (!is_keyword(lex_.peek(), "NULL")) {
        return unexpected(negated ? "NULL" : "NULL or NOT NULL");
      }
      take();
      return negated ? Op::kIsNotNull : Op::kIsNull;
    }
    return unexpected(kWhat);
  }

  Result<Expr> parse_predicate() {
    const Tok kind = lex_.peek().kind;
    if (kind != Tok::kIdent && kind != Tok::kQuotedIdent) {
      return unexpected("an attribute name");
    }
    // A reserved word here is a misplaced keyword, unless an attribute has that name.
    static constexpr std::array<std::string_view, 15> kReserved = {
        "AND",   "OR", "NOT", "IN",   "BETWEEN", "STARTS_WITH", "IS",   "NULL",
        "ORDER", "BY", "ASC", "DESC", "TRUE",    "FALSE",       "LIKE",
    };
    const Token& next = lex_.peek();
    if (kind == Tok::kIdent && !known_attribute(next.text) &&
        std::any_of(kReserved.begin(), kReserved.end(),
                    [&](std::string_view k) { return iequals(k, next.text); })) {
      return unexpected(
          "an attribute name", true,
          is_keyword(next, "NOT")
              ? " (NOT before a condition is not supported; use !=, NOT IN or NOT BETWEEN)"
              : " (an attribute named like a keyword is written in backticks)");
    }
    Token name_tok = take();
    Expr e;
    CAIRN_RETURN_IF_ERROR(resolve(name_tok, &e));
    const size_t op_pos = lex_.peek().pos;
    CAIRN_ASSIGN_OR_RETURN(e.op, parse_operator());
    const uint32_t ops = allowed_ops(e.field, e.type);
    if (!(ops & bit(e.op))) {
      return error_at(src_, op_pos,
                      "'" + e.name + "' is " + with_article(e.type) + " attribute: '" +
                          kOpNames[static_cast<int>(e.op)] + "' is not supported; use " +
                          op_list(ops));
    }
    switch (e.op) {
      case Op::kIsNull:
      case Op::kIsNotNull:
        break;
      case Op::kIn:
      case Op::kNotIn:
        CAIRN_RETURN_IF_ERROR(parse_in_list(&e));
        break;
      case Op::kBetween:
      case Op::kNotBetween:
        CAIRN_RETURN_IF_ERROR(parse_value(&e));
        if (!is_keyword(lex_.peek(), "AND")) {
          return unexpected("AND");
        }
        take();
        CAIRN_RETURN_IF_ERROR(parse_value(&e));
        break;
      default:
        CAIRN_RETURN_IF_ERROR(parse_value(&e));
        break;
    }
    return e;
  }

  Status parse_in_list(Expr* e) {
    if (lex_.peek().kind != Tok::kLParen) {
      return unexpected("'('");
    }
    take();
    if (lex_.peek().kind == Tok::kRParen) {
      return error_at(src_, lex_.peek().pos, "the IN list is empty; give at least one value");
    }
    while (true) {
      CAIRN_RETURN_IF_ERROR(parse_value(e));
      if (lex_.peek().kind == Tok::kRParen) {
        take();
        return Status();
      }
      if (lex_.peek().kind != Tok::kComma) {
        return unexpected("',' or ')'");
      }
      take();
    }
  }

  Status type_error(const Expr& e, const Token& t, const std::string& expected) {
    return error_at(src_, t.pos,
                    "'" + e.name + "' is " + with_article(e.type) + " attribute: expected " +
                        expected + ", found " + describe(t));
  }

  // Reads one literal, checks it against e's type and appends it, normalised, to e->values.
  Status parse_value(Expr* e) {
    const Token& next = lex_.peek();
    bool is_bool = is_keyword(next, "TRUE") || is_keyword(next, "FALSE");
    if (next.kind == Tok::kIdent && !is_bool && e->type == v1::INDEXED_VALUE_TYPE_BOOL) {
      return type_error(*e, next, "true or false");
    }
    if (next.kind == Tok::kIdent && !is_bool) {
      std::string after = has_last_ ? " after " + describe(last_) : "";
      return error_at(src_, next.pos,
                      "expected a value" + after + ", found '" + next.text +
                          "'; quote string values: '" + next.text + "'");
    }
    if (next.kind != Tok::kString && next.kind != Tok::kInt && next.kind != Tok::kDecimal &&
        !is_bool) {
      return unexpected("a value");
    }
    Token t = take();
    if (e->field == Field::kExecutionStatus) {
      for (const auto& [name, status] : kStatuses) {
        if (t.kind == Tok::kString && iequals(t.text, name)) {
          e->values.emplace_back(static_cast<int64_t>(status));
          return Status();
        }
      }
      if (t.kind != Tok::kString) {
        return type_error(*e, t, "a string");
      }
      std::string valid;
      for (const auto& [name, status] : kStatuses) {
        valid += (valid.empty() ? "" : ", ") + std::string(name);
      }
      return error_at(src_, t.pos,
                      describe(t) + " is not an ExecutionStatus; valid values: " + valid);
    }
    if (e->field == Field::kTaskFailure && t.kind == Tok::kString && e->op != Op::kStartsWith) {
      for (const std::string& name : task_failure_values()) {
        if (iequals(t.text, name)) {
          e->values.emplace_back(name);
          return Status();
        }
      }
      std::string valid;
      for (const std::string& name : task_failure_values()) {
        valid += (valid.empty() ? "" : ", ") + name;
      }
      return error_at(src_, t.pos, describe(t) + " is not a TaskFailure; valid values: " + valid);
    }
    switch (e->type) {
      case v1::INDEXED_VALUE_TYPE_KEYWORD:
      case v1::INDEXED_VALUE_TYPE_KEYWORD_LIST:
        if (t.kind != Tok::kString) {
          return type_error(*e, t, "a string");
        }
        e->values.emplace_back(t.text);
        return Status();
      case v1::INDEXED_VALUE_TYPE_TEXT:
        if (t.kind != Tok::kString) {
          return type_error(*e, t, "a string");
        }
        if (e->op != Op::kStartsWith) {
          e->words = lower_words(t.text);
          if (e->words.empty()) {
            return type_error(*e, t, "at least one word");
          }
        }
        e->values.emplace_back(lower(t.text));
        return Status();
      case v1::INDEXED_VALUE_TYPE_INT:
        if (t.kind != Tok::kInt) {
          return type_error(*e, t, "an integer");
        }
        e->values.emplace_back(t.int_value);
        return Status();
      case v1::INDEXED_VALUE_TYPE_DOUBLE:
        if (t.kind != Tok::kInt && t.kind != Tok::kDecimal) {
          return type_error(*e, t, "a number");
        }
        e->values.emplace_back(t.kind == Tok::kInt ? static_cast<double>(t.int_value)
                                                   : t.decimal_value);
        return Status();
      case v1::INDEXED_VALUE_TYPE_BOOL:
        if (!is_bool) {
          return type_error(*e, t, "true or false");
        }
        e->values.emplace_back(is_keyword(t, "TRUE"));
        return Status();
      case v1::INDEXED_VALUE_TYPE_DATETIME: {
        std::optional<int64_t> ms;
        if (t.kind == Tok::kString) {
          ms = parse_rfc3339_ms(t.text);
        }
        if (!ms) {
          return type_error(*e, t, "an RFC 3339 datetime string such as '2026-12-02T04:15:00Z'");
        }
        e->values.emplace_back(*ms);
        return Status();
      }
      default:
        return internal_error("list filter: attribute '" + e->name + "' has no valid type");
    }
  }

  Status parse_order(ListOrder* order) {
    take();  // ORDER
    if (!is_keyword(lex_.peek(), "BY")) {
      return unexpected("BY");
    }
    take();
    const Token& field = lex_.peek();
    if (field.kind != Tok::kIdent && field.kind != Tok::kQuotedIdent) {
      return unexpected("StartTime or CloseTime");
    }
    if (field.text == "StartTime" || field.text == "CloseTime") {
      order->field =
          field.text == "StartTime" ? ListOrderField::kStartTime : ListOrderField::kCloseTime;
    } else {
      return error_at(
          src_, field.pos,
          "cannot order by '" + field.text + "': only StartTime and CloseTime are supported");
    }
    take();
    if (is_keyword(lex_.peek(), "ASC") || is_keyword(lex_.peek(), "DESC")) {
      order->descending = is_keyword(take(), "DESC");
      if (lex_.peek().kind != Tok::kEnd) {
        return unexpected("the end of the filter");
      }
    } else if (lex_.peek().kind != Tok::kEnd) {
      return unexpected("ASC, DESC or the end of the filter");
    }
    return Status();
  }

  std::string_view src_;
  Lexer lex_;
  const SearchAttributeTypes& custom_;
  Token last_;  // the last token taken, for "after X" in messages
  bool has_last_ = false;
};

// ---- Evaluation -------------------------------------------------------------------------------

std::optional<SearchAttributeValue> field_value(const Expr& e, const v1::VisibilityRecord& r) {
  switch (e.field) {
    case Field::kWorkflowId:
      return SearchAttributeValue{r.workflow_id(), {}};
    case Field::kRunId:
      return SearchAttributeValue{r.run_id(), {}};
    case Field::kWorkflowType:
      return SearchAttributeValue{r.workflow_type(), {}};
    case Field::kTaskQueue:
      return SearchAttributeValue{r.task_queue(), {}};
    case Field::kExecutionStatus:
      return SearchAttributeValue{static_cast<int64_t>(r.status()), {}};
    case Field::kStartTime:
      return SearchAttributeValue{r.start_time_ms(), {}};
    case Field::kCloseTime:
      if (r.close_time_ms() == 0) {
        return std::nullopt;  // still running
      }
      return SearchAttributeValue{r.close_time_ms(), {}};
    case Field::kHistoryLength:
      return SearchAttributeValue{r.history_length(), {}};
    case Field::kTaskFailure:
      if (r.task_failure().empty()) {
        return std::nullopt;  // healthy
      }
      return SearchAttributeValue{r.task_failure(), {}};
    case Field::kCustom:
      break;
  }
  auto it = r.search_attributes().find(e.name);
  if (it == r.search_attributes().end()) {
    return std::nullopt;
  }
  std::optional<SearchAttributeValue> d = decode_search_attribute_value(e.type, it->second);
  if (d && e.type == v1::INDEXED_VALUE_TYPE_KEYWORD_LIST && d->list.empty()) {
    return std::nullopt;  // as in Temporal's Elasticsearch visibility, [] is missing
  }
  return d;
}

int compare(const Scalar& a, const Scalar& b) {
  CAIRN_CHECK(a.index() == b.index());
  return std::visit(
      [&](const auto& x) {
        const auto& y = std::get<std::decay_t<decltype(x)>>(b);
        return x < y ? -1 : (y < x ? 1 : 0);
      },
      a);
}

bool any_equal(const Scalar& v, const std::vector<Scalar>& set) {
  return std::any_of(set.begin(), set.end(), [&](const Scalar& s) { return compare(v, s) == 0; });
}

bool eval_scalar(const Expr& e, const Scalar& v) {
  const std::vector<Scalar>& vals = e.values;
  switch (e.op) {
    case Op::kEq:
      return compare(v, vals[0]) == 0;
    case Op::kNe:
      return compare(v, vals[0]) != 0;
    case Op::kLt:
      return compare(v, vals[0]) < 0;
    case Op::kLe:
      return compare(v, vals[0]) <= 0;
    case Op::kGt:
      return compare(v, vals[0]) > 0;
    case Op::kGe:
      return compare(v, vals[0]) >= 0;
    case Op::kIn:
      return any_equal(v, vals);
    case Op::kNotIn:
      return !any_equal(v, vals);
    case Op::kBetween:
      return compare(v, vals[0]) >= 0 && compare(v, vals[1]) <= 0;
    case Op::kNotBetween:
      return !(compare(v, vals[0]) >= 0 && compare(v, vals[1]) <= 0);
    case Op::kStartsWith:
      return std::get<std::string>(v).starts_with(std::get<std::string>(vals[0]));
    default:
      return false;
  }
}

bool eval_text(const Expr& e, const std::string& value) {
  if (e.op == Op::kStartsWith) {
    return lower(value).starts_with(std::get<std::string>(e.values[0]));
  }
  std::vector<std::string> have = lower_words(value);
  bool all = std::all_of(e.words.begin(), e.words.end(), [&](const std::string& w) {
    return std::find(have.begin(), have.end(), w) != have.end();
  });
  return e.op == Op::kEq ? all : !all;
}

bool eval_list(const Expr& e, const std::vector<std::string>& list) {
  bool any = std::any_of(list.begin(), list.end(),
                         [&](const std::string& s) { return any_equal(Scalar(s), e.values); });
  return (e.op == Op::kEq || e.op == Op::kIn) ? any : !any;
}

bool eval(const Expr& e, const v1::VisibilityRecord& r) {
  switch (e.kind) {
    case Expr::Kind::kAnd:
      return std::all_of(e.children.begin(), e.children.end(),
                         [&](const Expr& c) { return eval(c, r); });
    case Expr::Kind::kOr:
      return std::any_of(e.children.begin(), e.children.end(),
                         [&](const Expr& c) { return eval(c, r); });
    case Expr::Kind::kPredicate:
      break;
  }
  std::optional<SearchAttributeValue> v = field_value(e, r);
  if (e.op == Op::kIsNull || e.op == Op::kIsNotNull) {
    return v.has_value() == (e.op == Op::kIsNotNull);
  }
  if (!v) {
    return false;  // SQL null: no comparison holds, not even != or NOT IN
  }
  switch (e.type) {
    case v1::INDEXED_VALUE_TYPE_TEXT:
      return eval_text(e, std::get<std::string>(v->scalar));
    case v1::INDEXED_VALUE_TYPE_KEYWORD_LIST:
      return eval_list(e, v->list);
    default:
      return eval_scalar(e, v->scalar);
  }
}

}  // namespace

// ---- Public functions -------------------------------------------------------------------------

const SearchAttributeTypes& system_search_attributes() {
  static const SearchAttributeTypes* const kTypes = [] {
    auto* m = new SearchAttributeTypes;
    for (const SystemAttribute& a : kSystemAttributes) {
      (*m)[a.name] = a.type;
    }
    return m;
  }();
  return *kTypes;
}

ListFilter::ListFilter() = default;

Result<ListFilter> ListFilter::parse(std::string_view query, const SearchAttributeTypes& custom) {
  if (query.size() > kMaxListFilterBytes) {
    return invalid_argument("list filter: the filter is " + std::to_string(query.size()) +
                            " bytes long; at most " + std::to_string(kMaxListFilterBytes) +
                            " are allowed");
  }
  Parser parser(query, custom);
  CAIRN_ASSIGN_OR_RETURN(Parsed parsed, parser.parse());
  ListFilter filter;
  filter.expr_ = std::move(parsed.expr);
  filter.order_ = parsed.order;
  return filter;
}

namespace {

bool pins_open(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kAnd:
      return std::any_of(e.children.begin(), e.children.end(), pins_open);
    case Expr::Kind::kOr:
      return std::all_of(e.children.begin(), e.children.end(), pins_open);
    case Expr::Kind::kPredicate:
      break;
  }
  if (e.field == Field::kCloseTime) {
    return e.op == Op::kIsNull;
  }
  if (e.field == Field::kTaskFailure) {
    return e.op != Op::kIsNull;  // a closed run has none, and null matches no comparison
  }
  if (e.field != Field::kExecutionStatus || (e.op != Op::kEq && e.op != Op::kIn) ||
      e.values.empty()) {
    return false;
  }
  return std::all_of(e.values.begin(), e.values.end(), [](const Scalar& v) {
    const auto* status = std::get_if<int64_t>(&v);
    return status != nullptr && *status == v1::WORKFLOW_EXECUTION_STATUS_RUNNING;
  });
}

}  // namespace

bool ListFilter::only_open_runs() const { return expr_ != nullptr && pins_open(*expr_); }

bool ListFilter::matches(const v1::VisibilityRecord& record) const {
  return expr_ == nullptr || eval(*expr_, record);
}

}  // namespace cairn
