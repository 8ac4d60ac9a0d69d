#include "server/search_attribute_value.h"

#include <string>

#include <gtest/gtest.h>

namespace cairn {
namespace {

v1::Payload json_payload(std::string data) {
  v1::Payload p;
  (*p.mutable_metadata())["encoding"] = "json/plain";
  p.set_data(std::move(data));
  return p;
}

TEST(DecodeSearchAttributeValueTest, DecodesEachType) {
  using V = SearchAttributeValue::Scalar;
  auto decode = [](v1::IndexedValueType t, const char* data) {
    return decode_search_attribute_value(t, json_payload(data));
  };
  EXPECT_EQ(decode(v1::INDEXED_VALUE_TYPE_KEYWORD, "\"acme\"")->scalar, V(std::string("acme")));
  EXPECT_EQ(decode(v1::INDEXED_VALUE_TYPE_TEXT, "\"a b\"")->scalar, V(std::string("a b")));
  EXPECT_EQ(decode(v1::INDEXED_VALUE_TYPE_INT, "-42")->scalar, V(int64_t{-42}));
  EXPECT_EQ(decode(v1::INDEXED_VALUE_TYPE_DOUBLE, "7")->scalar, V(7.0));
  EXPECT_EQ(decode(v1::INDEXED_VALUE_TYPE_BOOL, "true")->scalar, V(true));
  EXPECT_EQ(decode(v1::INDEXED_VALUE_TYPE_DATETIME, "\"1970-01-01T00:00:01.5Z\"")->scalar,
            V(int64_t{1500}));
  EXPECT_EQ(decode(v1::INDEXED_VALUE_TYPE_KEYWORD_LIST, "[\"x\", \"y\"]")->list,
            (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(decode(v1::INDEXED_VALUE_TYPE_INT, "null"), std::nullopt);
  EXPECT_EQ(decode(v1::INDEXED_VALUE_TYPE_UNSPECIFIED, "1"), std::nullopt);
  v1::Payload binary = json_payload("1");
  (*binary.mutable_metadata())["encoding"] = "binary/plain";
  EXPECT_EQ(decode_search_attribute_value(v1::INDEXED_VALUE_TYPE_INT, binary), std::nullopt);
  EXPECT_TRUE(is_valid_indexed_value_type(v1::INDEXED_VALUE_TYPE_KEYWORD_LIST));
  EXPECT_FALSE(is_valid_indexed_value_type(v1::INDEXED_VALUE_TYPE_UNSPECIFIED));
  EXPECT_FALSE(is_valid_indexed_value_type(static_cast<v1::IndexedValueType>(99)));
}

TEST(CheckSearchAttributeValueTest, AcceptsValuesOfTheirType) {
  struct Case {
    v1::IndexedValueType type;
    const char* data;
  };
  for (const Case& c : {
           Case{v1::INDEXED_VALUE_TYPE_KEYWORD, "\"acme\""},
           Case{v1::INDEXED_VALUE_TYPE_TEXT, "\"some words\""},
           Case{v1::INDEXED_VALUE_TYPE_INT, "-9223372036854775808"},
           Case{v1::INDEXED_VALUE_TYPE_INT, "9223372036854775807"},
           Case{v1::INDEXED_VALUE_TYPE_DOUBLE, "1.5e3"},
           Case{v1::INDEXED_VALUE_TYPE_DOUBLE, "7"},
           Case{v1::INDEXED_VALUE_TYPE_BOOL, "false"},
           Case{v1::INDEXED_VALUE_TYPE_DATETIME, "\"2026-12-02T04:15:00.123+01:00\""},
           Case{v1::INDEXED_VALUE_TYPE_KEYWORD_LIST, "[\"a\", \"b\"]"},
           Case{v1::INDEXED_VALUE_TYPE_KEYWORD_LIST, "[]"},
       }) {
    Status s = check_search_attribute_value("Attr", c.type, json_payload(c.data));
    EXPECT_TRUE(s.ok()) << c.data << ": " << s.to_string();
  }
}

TEST(CheckSearchAttributeValueTest, RejectsValuesNamingTheAttributeAndType) {
  struct Case {
    v1::IndexedValueType type;
    const char* data;
    const char* message;
  };
  const Case kCases[] = {
      {v1::INDEXED_VALUE_TYPE_INT, "\"high\"",
       "search attribute 'Attr' must be an Int (a JSON integer); got \"high\""},
      {v1::INDEXED_VALUE_TYPE_INT, "3.0",
       "search attribute 'Attr' must be an Int (a JSON integer); got 3.0"},
      {v1::INDEXED_VALUE_TYPE_INT, "9223372036854775808",
       "search attribute 'Attr' must be an Int (a JSON integer); got 9223372036854775808"},
      {v1::INDEXED_VALUE_TYPE_KEYWORD, "5",
       "search attribute 'Attr' must be a Keyword (a JSON string); got 5"},
      {v1::INDEXED_VALUE_TYPE_TEXT, "null",
       "search attribute 'Attr' must be a Text (a JSON string); got null"},
      {v1::INDEXED_VALUE_TYPE_DOUBLE, "\"1.5\"",
       "search attribute 'Attr' must be a Double (a JSON number); got \"1.5\""},
      {v1::INDEXED_VALUE_TYPE_BOOL, "1",
       "search attribute 'Attr' must be a Bool (true or false); got 1"},
      {v1::INDEXED_VALUE_TYPE_DATETIME, "\"2026-12-02\"",
       "search attribute 'Attr' must be a Datetime (an RFC 3339 string such as "
       "\"2026-12-02T04:15:00Z\"); got \"2026-12-02\""},
      {v1::INDEXED_VALUE_TYPE_KEYWORD_LIST, "[\"a\", 2]",
       "search attribute 'Attr' must be a KeywordList (a JSON array of strings); got [\"a\", 2]"},
      {v1::INDEXED_VALUE_TYPE_KEYWORD_LIST, "\"a\"",
       "search attribute 'Attr' must be a KeywordList (a JSON array of strings); got \"a\""},
      {v1::INDEXED_VALUE_TYPE_KEYWORD, "acme",
       "search attribute 'Attr' must be a Keyword (a JSON string); got acme (not valid JSON)"},
      {v1::INDEXED_VALUE_TYPE_KEYWORD, "",
       "search attribute 'Attr' must be a Keyword (a JSON string); got an empty payload (not valid "
       "JSON)"},
  };
  for (const Case& c : kCases) {
    Status s = check_search_attribute_value("Attr", c.type, json_payload(c.data));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.data;
    EXPECT_EQ(s.message(), c.message) << c.data;
  }
}

TEST(CheckSearchAttributeValueTest, RequiresJsonEncodingAndAValidType) {
  v1::Payload p = json_payload("\"acme\"");
  (*p.mutable_metadata())["encoding"] = "binary/plain";
  EXPECT_EQ(
      check_search_attribute_value("Customer", v1::INDEXED_VALUE_TYPE_KEYWORD, p).message(),
      "search attribute 'Customer' must be a Keyword (a JSON string) in a json/plain payload; "
      "got encoding 'binary/plain'");
  p.mutable_metadata()->clear();
  EXPECT_EQ(
      check_search_attribute_value("Customer", v1::INDEXED_VALUE_TYPE_KEYWORD, p).message(),
      "search attribute 'Customer' must be a Keyword (a JSON string) in a json/plain payload; "
      "got a payload without an encoding");
  Status s =
      check_search_attribute_value("X", v1::INDEXED_VALUE_TYPE_UNSPECIFIED, json_payload("1"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "search attribute 'X' has no valid type (0)");
  std::string big = "\"" + std::string(100, 'x') + "\"";
  EXPECT_EQ(
      check_search_attribute_value("N", v1::INDEXED_VALUE_TYPE_INT, json_payload(big)).message(),
      "search attribute 'N' must be an Int (a JSON integer); got \"" + std::string(63, 'x') +
          "...");
}

TEST(Rfc3339Test, ParsesUtcOffsetsAndFractions) {
  EXPECT_EQ(parse_rfc3339_ms("2026-12-02T04:15:00Z"), 1796184900000);
  EXPECT_EQ(parse_rfc3339_ms("2026-12-02t04:15:00z"), 1796184900000);
  EXPECT_EQ(parse_rfc3339_ms("2026-12-02T05:15:00+01:00"), 1796184900000);
  EXPECT_EQ(parse_rfc3339_ms("2026-12-01T23:45:00-04:30"), 1796184900000);
  EXPECT_EQ(parse_rfc3339_ms("2026-12-02T04:15:00.123+01:00"), 1796181300123);
  EXPECT_EQ(parse_rfc3339_ms("2026-12-02T04:15:00.5Z"), 1796184900500);
  EXPECT_EQ(parse_rfc3339_ms("2026-12-02T04:15:00.123999999Z"), 1796184900123);  // truncated
  EXPECT_EQ(parse_rfc3339_ms("2024-02-29T12:00:00Z"), 1709208000000);
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_ms("1969-12-31T23:59:59.999Z"), -1);
}

TEST(Rfc3339Test, RejectsMalformedText) {
  for (const char* bad :
       {"", "2026-12-02", "2026-12-02T04:15:00", "2026-12-02 04:15:00Z", "2026-13-02T04:15:00Z",
        "2026-00-02T04:15:00Z", "2026-02-29T04:15:00Z", "2026-04-31T04:15:00Z",
        "2026-12-02T24:00:00Z", "2026-12-02T04:60:00Z", "2026-12-02T04:15:60Z",
        "2026-12-02T04:15:00.Z", "2026-12-02T04:15:00+1:00", "2026-12-02T04:15:00+01:0",
        "2026-12-02T04:15:00+01:00x", "2026-12-02T04:15:00Zx", "2026-12-02T04:15:00+24:00",
        "20261-2-02T04:15:00Z", "2026-12-02T04:15:0aZ"}) {
    EXPECT_EQ(parse_rfc3339_ms(bad), std::nullopt) << bad;
  }
}

TEST(IndexedValueTypeTest, NamesEveryType) {
  EXPECT_STREQ(indexed_value_type_name(v1::INDEXED_VALUE_TYPE_KEYWORD_LIST), "KeywordList");
  EXPECT_STREQ(indexed_value_type_name(v1::INDEXED_VALUE_TYPE_DATETIME), "Datetime");
  EXPECT_STREQ(indexed_value_type_name(v1::INDEXED_VALUE_TYPE_INT), "Int");
  EXPECT_STREQ(indexed_value_type_name(v1::INDEXED_VALUE_TYPE_UNSPECIFIED), "Unspecified");
}

}  // namespace
}  // namespace cairn
