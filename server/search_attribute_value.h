// Search attribute values: decoding and checking a custom attribute's JSON payload against its
// registered type, the RFC 3339 conversions that Datetime values use, and the names of the types.
// Split out of list_filter.h, which includes this header; the list filter decodes record values
// with the same function that start and upsert use to check them. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cairn/v1/common.pb.h"
#include "proto/status.h"

namespace cairn {

// A search attribute value decoded as its type.
struct SearchAttributeValue {
  // std::string (Keyword, Text), int64_t (Int; Datetime as unix ms), double (Double), bool (Bool).
  using Scalar = std::variant<std::string, int64_t, double, bool>;
  Scalar scalar;                  // every type but KeywordList
  std::vector<std::string> list;  // KeywordList
};

// True for the seven types a search attribute can be registered with (not UNSPECIFIED, not an
// unknown number).
bool is_valid_indexed_value_type(v1::IndexedValueType type);

// `payload` decoded as `type`: a "json/plain" payload (metadata key "encoding") whose data is a
// JSON string (Keyword, Text), an integer within int64 (Int), a finite number (Double), true or
// false (Bool), an RFC 3339 string (Datetime, to unix ms), an array of strings (KeywordList; may be
// empty). nullopt for anything else, including JSON null and an invalid `type`.
std::optional<SearchAttributeValue> decode_search_attribute_value(v1::IndexedValueType type,
                                                                  const v1::Payload& payload);

// OK when decode_search_attribute_value(type, value) succeeds. Otherwise kInvalidArgument naming
// the attribute and the expected type, e.g.
//   "search attribute 'Priority' must be an Int (a JSON integer); got \"high\""
//   "search attribute 'Priority' must be an Int (a JSON integer) in a json/plain payload; got
//    encoding 'binary/plain'"
// A JSON null is rejected too: a caller that lets null remove an attribute handles it first.
Status check_search_attribute_value(const std::string& name, v1::IndexedValueType type,
                                    const v1::Payload& value);

// RFC 3339 ("2026-12-02T04:15:00Z", "2026-12-02T04:15:00.123+01:00"; 't'/'z' also accepted) to
// unix milliseconds, UTC. Digits past milliseconds are truncated. nullopt when malformed or out of
// range (month 13, February 30, second 60, offset +24:00, ...).
std::optional<int64_t> parse_rfc3339_ms(std::string_view text);

// "Keyword", "Text", "Int", "Double", "Bool", "Datetime", "KeywordList"; "Unspecified" otherwise.
const char* indexed_value_type_name(v1::IndexedValueType type);

}  // namespace cairn
