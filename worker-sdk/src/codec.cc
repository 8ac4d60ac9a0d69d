// The codec chain, the walk that finds every payload inside a proto message, and ZlibCodec.
#include "cairn/codec.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <zlib.h>

#include <functional>
#include <vector>

#include "cairn/errors.h"
#include "cairn/payload.h"

namespace cairn {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using Transform = std::function<v1::Payloads(const v1::Payloads&)>;

// A zlib-compressed payload never inflates past this: a guard against corrupt or hostile data.
constexpr size_t kMaxInflatedBytes = size_t{512} << 20;

std::string metadata_value(const v1::Payload& p, const char* key) {
  auto it = p.metadata().find(key);
  return it == p.metadata().end() ? std::string() : it->second;
}

// Visits every Payloads (and every lone Payload) under `m`, except search attributes. Only set
// fields are walked, so the cost follows the message's size, not its schema's.
void visit(Message* m, const Transform& fn) {
  const auto* descriptor = m->GetDescriptor();
  if (descriptor == v1::Payloads::descriptor()) {
    auto* payloads = dynamic_cast<v1::Payloads*>(m);
    if (payloads != nullptr) {
      *payloads = fn(*payloads);
    }
    return;
  }
  if (descriptor == v1::Payload::descriptor()) {
    auto* payload = dynamic_cast<v1::Payload*>(m);
    if (payload == nullptr) {
      return;
    }
    v1::Payloads one;
    *one.add_payloads() = std::move(*payload);
    v1::Payloads out = fn(one);
    if (out.payloads_size() != 1) {
      throw PayloadError("payload codec turned one payload into " +
                         std::to_string(out.payloads_size()));
    }
    *payload = std::move(*out.mutable_payloads(0));
    return;
  }
  const auto* reflection = m->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    // The server indexes search attributes: they travel as they are (like Temporal's, they are
    // not for secrets).
    if (f->name() == "search_attributes") {
      continue;
    }
    if (f->is_repeated()) {  // includes maps: their entries are messages with key and value
      int n = reflection->FieldSize(*m, f);
      for (int i = 0; i < n; ++i) {
        visit(reflection->MutableRepeatedMessage(m, f, i), fn);
      }
    } else {
      visit(reflection->MutableMessage(m, f), fn);
    }
  }
}

std::string deflate_bytes(const std::string& in, int level) {
  uLongf bound = compressBound(static_cast<uLong>(in.size()));
  std::string out(bound, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &bound,
                     reinterpret_cast<const Bytef*>(in.data()), static_cast<uLong>(in.size()),
                     level);
  if (rc != Z_OK) {
    throw PayloadError("zlib compression failed (code " + std::to_string(rc) + ")");
  }
  out.resize(bound);
  return out;
}

std::string inflate_bytes(const std::string& in) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) {
    throw PayloadError("zlib: inflateInit failed");
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
    if (out.size() > kMaxInflatedBytes) {
      rc = Z_MEM_ERROR;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      rc = Z_DATA_ERROR;  // truncated input: no progress possible
    }
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    throw PayloadError("zlib payload is corrupted (inflate code " + std::to_string(rc) + ")");
  }
  return out;
}

}  // namespace

v1::Payloads encode_payloads(const CodecChain& codecs, const v1::Payloads& payloads) {
  v1::Payloads out = payloads;
  for (const auto& codec : codecs) {
    out = codec->encode(out);
  }
  return out;
}

v1::Payloads decode_payloads(const CodecChain& codecs, const v1::Payloads& payloads) {
  v1::Payloads out = payloads;
  for (auto it = codecs.rbegin(); it != codecs.rend(); ++it) {
    out = (*it)->decode(out);
  }
  return out;
}

void encode_payloads_in(const CodecChain& codecs, Message* message) {
  if (codecs.empty()) {
    return;
  }
  visit(message, [&](const v1::Payloads& p) { return encode_payloads(codecs, p); });
}

void decode_payloads_in(const CodecChain& codecs, Message* message) {
  if (codecs.empty()) {
    return;
  }
  visit(message, [&](const v1::Payloads& p) { return decode_payloads(codecs, p); });
}

ZlibCodec::ZlibCodec(size_t threshold_bytes, int level)
    : threshold_(threshold_bytes), level_(level) {}

v1::Payloads ZlibCodec::encode(const v1::Payloads& payloads) const {
  v1::Payloads out;
  for (const auto& p : payloads.payloads()) {
    std::string plain = p.SerializeAsString();
    if (plain.size() < threshold_) {
      *out.add_payloads() = p;
      continue;
    }
    std::string packed = deflate_bytes(plain, level_);
    if (packed.size() >= plain.size()) {
      *out.add_payloads() = p;  // incompressible: not worth a decode on the way back
      continue;
    }
    *out.add_payloads() = detail::make_payload(kEncodingZlib, std::move(packed));
  }
  return out;
}

v1::Payloads ZlibCodec::decode(const v1::Payloads& payloads) const {
  v1::Payloads out;
  for (const auto& p : payloads.payloads()) {
    if (metadata_value(p, kEncodingKey) != kEncodingZlib) {
      *out.add_payloads() = p;
      continue;
    }
    if (!out.add_payloads()->ParseFromString(inflate_bytes(p.data()))) {
      throw PayloadError("zlib payload is corrupted (inflated bytes are not a payload)");
    }
  }
  return out;
}

}  // namespace cairn
