// Where payloads cross between user code and the wire inside the SDK: the one helper each way
// that every boundary (client.cc, worker.cc, activity_runner.cc, the replayer tool) goes
// through, so that ClientOptions::codecs applies everywhere. Internal; thread-safe.
#pragma once

#include "cairn/codec.h"

namespace cairn::detail {

// `raw` as user code must see it: `raw` itself when there are no codecs, otherwise a decoded
// copy kept in *scratch. Throws what a codec throws (e.g. PayloadError on a wrong key).
template <class M>
const M& decoded(const CodecChain& codecs, const M& raw, M* scratch) {
  if (codecs.empty()) {
    return raw;
  }
  *scratch = raw;
  decode_payloads_in(codecs, scratch);
  return *scratch;
}

// Encodes, in place, every payload of a message about to be sent.
inline void encode_outgoing(const CodecChain& codecs, google::protobuf::Message* message) {
  encode_payloads_in(codecs, message);
}

}  // namespace cairn::detail
