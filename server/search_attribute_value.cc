// Search attribute values: one JSON decoder per type, the checks built on it, and RFC 3339.
// Stateless apart from immutable tables.
#include "server/search_attribute_value.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

#include <nlohmann/json.hpp>

namespace cairn {
namespace {

using json = nlohmann::json;

constexpr char kEncodingKey[] = "encoding";
constexpr char kEncodingJson[] = "json/plain";

struct TypeInfo {
  v1::IndexedValueType type;
  const char* name;
  const char* json_shape;  // for messages
};

constexpr std::array<TypeInfo, 7> kTypes = {{
    {v1::INDEXED_VALUE_TYPE_KEYWORD, "Keyword", "a JSON string"},
    {v1::INDEXED_VALUE_TYPE_TEXT, "Text", "a JSON string"},
    {v1::INDEXED_VALUE_TYPE_INT, "Int", "a JSON integer"},
    {v1::INDEXED_VALUE_TYPE_DOUBLE, "Double", "a JSON number"},
    {v1::INDEXED_VALUE_TYPE_BOOL, "Bool", "true or false"},
    {v1::INDEXED_VALUE_TYPE_DATETIME, "Datetime",
     "an RFC 3339 string such as \"2026-12-02T04:15:00Z\""},
    {v1::INDEXED_VALUE_TYPE_KEYWORD_LIST, "KeywordList", "a JSON array of strings"},
}};

const TypeInfo* find_type(v1::IndexedValueType type) {
  for (const TypeInfo& t : kTypes) {
    if (t.type == type) {
      return &t;
    }
  }
  return nullptr;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }


// Howard Hinnant's days_from_civil: proleptic Gregorian, any year.
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int days_in_month(int64_t y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Exactly `n` ASCII digits at `pos`.
bool read_digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) {
    return false;
  }
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(s[i])) {
      return false;
    }
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

std::optional<SearchAttributeValue> decode_json(v1::IndexedValueType type, const json& j) {
  using V = SearchAttributeValue;
  switch (type) {
    case v1::INDEXED_VALUE_TYPE_KEYWORD:
    case v1::INDEXED_VALUE_TYPE_TEXT:
      return j.is_string() ? std::optional<V>(V{j.get<std::string>(), {}}) : std::nullopt;
    case v1::INDEXED_VALUE_TYPE_INT: {
      // nlohmann keeps non-negative integers as uint64: reject those past int64.
      constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
      bool fits = j.is_number_integer() && !(j.is_number_unsigned() && j.get<uint64_t>() > kMax);
      return fits ? std::optional<V>(V{j.get<int64_t>(), {}}) : std::nullopt;
    }
    case v1::INDEXED_VALUE_TYPE_DOUBLE: {
      bool fits = j.is_number() && std::isfinite(j.get<double>());
      return fits ? std::optional<V>(V{j.get<double>(), {}}) : std::nullopt;
    }
    case v1::INDEXED_VALUE_TYPE_BOOL:
      return j.is_boolean() ? std::optional<V>(V{j.get<bool>(), {}}) : std::nullopt;
    case v1::INDEXED_VALUE_TYPE_DATETIME: {
      std::optional<int64_t> ms;
      if (j.is_string()) {
        ms = parse_rfc3339_ms(j.get_ref<const std::string&>());
      }
      return ms ? std::optional<V>(V{*ms, {}}) : std::nullopt;
    }
    case v1::INDEXED_VALUE_TYPE_KEYWORD_LIST: {
      if (!j.is_array()) {
        return std::nullopt;
      }
      V v{std::string(), {}};
      for (const json& e : j) {
        if (!e.is_string()) {
          return std::nullopt;
        }
        v.list.push_back(e.get<std::string>());
      }
      return v;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

bool is_valid_indexed_value_type(v1::IndexedValueType type) { return find_type(type) != nullptr; }

std::optional<SearchAttributeValue> decode_search_attribute_value(v1::IndexedValueType type,
                                                                  const v1::Payload& payload) {
  auto enc = payload.metadata().find(kEncodingKey);
  if (enc == payload.metadata().end() || enc->second != kEncodingJson) {
    return std::nullopt;
  }
  json j = json::parse(payload.data(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return std::nullopt;
  }
  return decode_json(type, j);
}

Status check_search_attribute_value(const std::string& name, v1::IndexedValueType type,
                                    const v1::Payload& value) {
  const TypeInfo* info = find_type(type);
  if (info == nullptr) {
    return invalid_argument("search attribute '" + name + "' has no valid type (" +
                            std::to_string(static_cast<int>(type)) + ")");
  }
  const std::string expected = std::string(type == v1::INDEXED_VALUE_TYPE_INT ? "an " : "a ") +
                               info->name + " (" + info->json_shape + ")";
  auto enc = value.metadata().find(kEncodingKey);
  if (enc == value.metadata().end() || enc->second != kEncodingJson) {
    std::string got = enc == value.metadata().end() ? "a payload without an encoding"
                                                    : "encoding '" + enc->second + "'";
    return invalid_argument("search attribute '" + name + "' must be " + expected +
                            " in a json/plain payload; got " + got);
  }
  json j = json::parse(value.data(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded() && decode_json(type, j)) {
    return Status();
  }
  // Show the start of the value, cut on a UTF-8 boundary.
  std::string_view data = value.data();
  std::string got;
  if (data.empty()) {
    got = "an empty payload";
  } else if (data.size() <= 64) {
    got = std::string(data);
  } else {
    size_t n = 64;
    while (n > 0 && (static_cast<unsigned char>(data[n]) & 0xC0) == 0x80) {
      --n;
    }
    got = std::string(data.substr(0, n)) + "...";
  }
  if (j.is_discarded()) {
    got += " (not valid JSON)";
  }
  return invalid_argument("search attribute '" + name + "' must be " + expected + "; got " + got);
}

std::optional<int64_t> parse_rfc3339_ms(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS is fixed width; then an optional fraction and a required zone.
  int y, mo, d, h, mi, s;
  if (t.size() < 20 || !read_digits(t, 0, 4, &y) || t[4] != '-' || !read_digits(t, 5, 2, &mo) ||
      t[7] != '-' || !read_digits(t, 8, 2, &d) || (t[10] != 'T' && t[10] != 't') ||
      !read_digits(t, 11, 2, &h) || t[13] != ':' || !read_digits(t, 14, 2, &mi) || t[16] != ':' ||
      !read_digits(t, 17, 2, &s)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59) {
    return std::nullopt;
  }
  size_t i = 19;
  int64_t frac_ms = 0;
  if (t[i] == '.') {
    const size_t first = ++i;
    for (int scale = 100; i < t.size() && is_digit(t[i]); ++i, scale /= 10) {
      frac_ms += (t[i] - '0') * scale;  // digits past the third have scale 0: truncated
    }
    if (i == first) {
      return std::nullopt;
    }
  }
  int64_t offset_min = 0;
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
    ++i;
  } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    int oh, om;
    if (!read_digits(t, i + 1, 2, &oh) || i + 3 >= t.size() || t[i + 3] != ':' ||
        !read_digits(t, i + 4, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_min = (t[i] == '-' ? -1 : 1) * (oh * 60 + om);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != t.size()) {
    return std::nullopt;
  }
  const int64_t days = days_from_civil(y, mo, d);
  return (((days * 24 + h) * 60 + mi - offset_min) * 60 + s) * 1000 + frac_ms;
}

const char* indexed_value_type_name(v1::IndexedValueType type) {
  const TypeInfo* info = find_type(type);
  return info == nullptr ? "Unspecified" : info->name;
}

}  // namespace cairn
