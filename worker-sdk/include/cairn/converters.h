// Protobuf payload converters: a generated message type travels as "binary/protobuf" (its wire
// bytes, the full message name under metadata "messageType"), or as "json/protobuf" (protobuf's
// canonical JSON) for types marked with use_proto_json. The choice is made per type at compile
// time by to_payload() in payload.h; from_payload() accepts either. Stateless and thread-safe.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <type_traits>

#include "cairn/v1/common.pb.h"

namespace cairn {

inline constexpr char kEncodingProtobuf[] = "binary/protobuf";
inline constexpr char kEncodingProtobufJson[] = "json/protobuf";
inline constexpr char kMessageTypeKey[] = "messageType";

// Specialize as std::true_type to send message type T as readable JSON instead of binary:
//   template <> struct cairn::use_proto_json<my::Order> : std::true_type {};
template <class T>
struct use_proto_json : std::false_type {};

template <class T>
inline constexpr bool is_proto_message_v = std::is_base_of_v<google::protobuf::Message, T>;

namespace detail {

// `message` as a payload: binary wire format, or protobuf JSON when `json`. Throws PayloadError
// when JSON printing fails.
v1::Payload proto_to_payload(const google::protobuf::Message& message, bool json);
// Fills `out` from `payload` (binary/protobuf, json/protobuf, or json/plain read as protobuf
// JSON). Throws PayloadError naming the message type when the encoding is another one, when
// the payload's messageType names a different type, or when the bytes do not parse.
void proto_from_payload(const v1::Payload& payload, google::protobuf::Message* out);

}  // namespace detail
}  // namespace cairn
