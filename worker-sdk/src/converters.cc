// Protobuf payload converters (see cairn/converters.h).
#include "cairn/converters.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include "cairn/errors.h"
#include "cairn/payload.h"

namespace cairn::detail {

v1::Payload proto_to_payload(const google::protobuf::Message& message, bool json) {
  const std::string& type = message.GetDescriptor()->full_name();
  v1::Payload p;
  if (json) {
    std::string text;
    auto st = google::protobuf::util::MessageToJsonString(message, &text);
    if (!st.ok()) {
      throw PayloadError("cannot serialize " + type + " as protobuf JSON: " + st.ToString());
    }
    p = make_payload(kEncodingProtobufJson, std::move(text));
  } else {
    p = make_payload(kEncodingProtobuf, message.SerializeAsString());
  }
  (*p.mutable_metadata())[kMessageTypeKey] = type;
  return p;
}

void proto_from_payload(const v1::Payload& payload, google::protobuf::Message* out) {
  const std::string& type = out->GetDescriptor()->full_name();
  auto it = payload.metadata().find(kMessageTypeKey);
  if (it != payload.metadata().end() && !it->second.empty() && it->second != type) {
    throw_payload_error(payload, type, "the payload holds a " + it->second);
  }
  std::string encoding = encoding_of(payload);
  if (encoding == kEncodingProtobuf) {
    if (!out->ParseFromString(payload.data())) {
      throw_payload_error(payload, type, "invalid protobuf wire data");
    }
    return;
  }
  if (encoding == kEncodingProtobufJson || encoding == kEncodingJson) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;  // a newer sender may have added fields
    auto st = google::protobuf::util::JsonStringToMessage(payload.data(), out, options);
    if (!st.ok()) {
      throw_payload_error(payload, type, "invalid protobuf JSON: " + st.ToString());
    }
    return;
  }
  throw_payload_error(payload, type, "unsupported encoding for a protobuf message");
}

}  // namespace cairn::detail
