// ListFilter: the filter language of ListWorkflowExecutions / CountWorkflowExecutions, modelled on
// Temporal's visibility list filter. Parsed once per request against the namespace's custom search
// attributes, then evaluated on each candidate VisibilityRecord. The value checks and RFC 3339
// helpers live in search_attribute_value.h, included here. A parsed ListFilter is immutable: copy
// it freely and call matches() from any number of threads. The free functions are thread-safe.
//
// Grammar (keywords case-insensitive, attribute names case-sensitive):
//   query      := [expr] [ORDER BY (StartTime | CloseTime) [ASC | DESC]]
//   expr       := and_expr {OR and_expr}
//   and_expr   := primary {AND primary}
//   primary    := '(' expr ')' | predicate
//   predicate  := attr ('=' | '!=' | '<' | '<=' | '>' | '>=') value
//               | attr [NOT] IN '(' value {',' value} ')'
//               | attr [NOT] BETWEEN value AND value
//               | attr STARTS_WITH string
//               | attr IS [NOT] NULL
//   attr       := identifier | '`' any characters but '`' '`'
//   value      := 'string' | "string" | integer | decimal | TRUE | FALSE
// Null semantics are SQL's: a record without the attribute matches no comparison (not even != or
// NOT IN), only IS NULL.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cairn/v1/common.pb.h"
#include "cairn/v1/persistence.pb.h"
#include "proto/status.h"
#include "server/search_attribute_value.h"

namespace cairn {

// Attribute name -> type. The custom attributes of a namespace, or the system ones.
using SearchAttributeTypes = std::map<std::string, v1::IndexedValueType>;

// Query length and parenthesis nesting limits; parse() rejects a filter beyond them.
inline constexpr size_t kMaxListFilterBytes = 4096;
inline constexpr int kMaxListFilterDepth = 32;

// The built-in attributes every run has: WorkflowId, RunId, WorkflowType, TaskQueue (Keyword),
// ExecutionStatus (Keyword; values Running, Completed, Failed, Canceled, Terminated,
// ContinuedAsNew, TimedOut), StartTime, CloseTime (Datetime; CloseTime is null while the run is
// open), HistoryLength (Int), TaskFailure (Keyword; why the run's workflow tasks fail:
// BadCommand, NonDeterministicError, WorkerUnhandledFailure, BadSearchAttributes, TimedOut, ...;
// null while they succeed). A system attribute shadows a custom one of the same name.
const SearchAttributeTypes& system_search_attributes();

enum class ListOrderField { kStartTime, kCloseTime };

struct ListOrder {
  ListOrderField field = ListOrderField::kStartTime;
  bool descending = true;
};

namespace list_filter_internal {
struct Expr;
}  // namespace list_filter_internal

class ListFilter {
 public:
  // Matches every record, default order (StartTime DESC).
  ListFilter();

  // Parses `query` against the system attributes and `custom` (the namespace's registered ones).
  // An empty or all-whitespace query matches every record with the default order.
  // kInvalidArgument on any error, with a message of the form
  //   "list filter: at position 17: expected a value after '=', found the end of the filter"
  // where the position is the 1-based offset, in Unicode code points (bytes for ASCII), of the
  // offending token, or the length + 1 at the end of the filter. The two limit errors
  // ("list filter: the filter is 5000 bytes long; at most 4096 are allowed", and nesting beyond
  // kMaxListFilterDepth parentheses) follow the same prefix.
  // The result does not refer to `query` or `custom` after the call.
  static Result<ListFilter> parse(std::string_view query, const SearchAttributeTypes& custom);

  // True when `record` satisfies the filter. A custom attribute whose stored payload does not
  // decode as its registered type (or an empty keyword list) counts as absent, i.e. null.
  bool matches(const v1::VisibilityRecord& record) const;

  const ListOrder& order() const { return order_; }

  // True when only open runs can match: the filter's conjunction pins ExecutionStatus =
  // 'Running' (or IN ('Running')) or CloseTime IS NULL, in every branch of an OR. A listing can
  // then walk the index of open runs instead of every run of the namespace.
  bool only_open_runs() const;

 private:
  std::shared_ptr<const list_filter_internal::Expr> expr_;  // null: matches everything
  ListOrder order_;
};

}  // namespace cairn
