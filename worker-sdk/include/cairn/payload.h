// Payload converters: C++ values to and from proto Payloads. Types with nlohmann to_json /
// from_json (and every standard type nlohmann knows) travel as "json/plain"; cairn::Bytes as
// "binary/plain"; std::nullptr_t / std::monostate as "binary/null"; protobuf messages as
// "binary/protobuf" or "json/protobuf" (cairn/converters.h). Stateless and thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "cairn/converters.h"
#include "cairn/errors.h"
#include "cairn/v1/common.pb.h"

namespace cairn {

inline constexpr char kEncodingKey[] = "encoding";
inline constexpr char kEncodingJson[] = "json/plain";
inline constexpr char kEncodingBinary[] = "binary/plain";
inline constexpr char kEncodingNull[] = "binary/null";

// Opaque bytes, sent as they are ("binary/plain").
struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
};

namespace detail {

v1::Payload make_payload(std::string_view encoding, std::string data);
// The payload's encoding; "json/plain" when it has none.
std::string encoding_of(const v1::Payload& payload);
// A readable (demangled) name of a type, for error messages.
std::string demangle(const char* mangled);
[[noreturn]] void throw_payload_error(const v1::Payload& payload, const std::string& type_name,
                                      const std::string& what);

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

}  // namespace detail

// Serializes `value`. Throws PayloadError when the value cannot be serialized (e.g. invalid
// UTF-8 in a JSON string).
template <class T>
v1::Payload to_payload(const T& value) {
  if constexpr (std::is_same_v<T, v1::Payload>) {
    return value;
  } else if constexpr (std::is_same_v<T, Bytes>) {
    return detail::make_payload(kEncodingBinary, value.data);
  } else if constexpr (std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::monostate>) {
    return detail::make_payload(kEncodingNull, "");
  } else if constexpr (detail::is_optional<T>::value) {
    return value ? to_payload(*value) : detail::make_payload(kEncodingNull, "");
  } else if constexpr (is_proto_message_v<T>) {
    return detail::proto_to_payload(value, use_proto_json<T>::value);
  } else {
    try {
      nlohmann::json j = value;
      return detail::make_payload(kEncodingJson, j.dump());
    } catch (const nlohmann::json::exception& e) {
      throw PayloadError(std::string("cannot serialize ") + detail::demangle(typeid(T).name()) +
                         ": " + e.what());
    }
  }
}

// Deserializes `payload` as T. Throws PayloadError naming the type, the encoding and the reason
// when the payload is not a T.
template <class T>
T from_payload(const v1::Payload& payload) {
  std::string encoding = detail::encoding_of(payload);
  if constexpr (std::is_same_v<T, v1::Payload>) {
    return payload;
  } else if constexpr (detail::is_optional<T>::value) {
    if (encoding == kEncodingNull || (encoding == kEncodingJson && payload.data() == "null")) {
      return std::nullopt;
    }
    return from_payload<typename T::value_type>(payload);
  } else if constexpr (std::is_same_v<T, Bytes>) {
    if (encoding != kEncodingBinary) {
      detail::throw_payload_error(payload, "cairn::Bytes", "expected binary/plain");
    }
    return Bytes{payload.data()};
  } else if constexpr (is_proto_message_v<T>) {
    T message;
    detail::proto_from_payload(payload, &message);
    return message;
  } else {
    if (encoding == kEncodingNull) {
      if constexpr (std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::monostate>) {
        return T{};
      } else {
        detail::throw_payload_error(payload, detail::demangle(typeid(T).name()),
                                    "the payload is null");
      }
    } else if (encoding != kEncodingJson) {
      detail::throw_payload_error(payload, detail::demangle(typeid(T).name()),
                                  "unsupported encoding");
    }
    try {
      return nlohmann::json::parse(payload.data()).get<T>();
    } catch (const nlohmann::json::exception& e) {
      detail::throw_payload_error(payload, detail::demangle(typeid(T).name()), e.what());
    }
  }
}

// One payload per argument, in order.
template <class... A>
v1::Payloads to_payloads(const A&... args) {
  v1::Payloads out;
  (void)std::initializer_list<int>{(*out.add_payloads() = to_payload(args), 0)...};
  return out;
}

// The index-th value of `payloads` as T. Throws PayloadError when it is missing or not a T.
template <class T>
T from_payloads(const v1::Payloads& payloads, int index = 0) {
  if (index >= payloads.payloads_size()) {
    if constexpr (detail::is_optional<T>::value) {
      return T{};
    } else {
      throw PayloadError("missing value " + std::to_string(index) + " (of type " +
                         detail::demangle(typeid(T).name()) + "): only " +
                         std::to_string(payloads.payloads_size()) + " given");
    }
  }
  return from_payload<T>(payloads.payloads(index));
}

}  // namespace cairn
