// Payload codecs: byte-level transforms (compression, encryption) applied to every payload on
// its way out of user code and undone on its way back in. A chain is configured once, in
// ClientOptions::codecs, and used by the Client and by every Worker made from it. Codecs are
// immutable after construction and thread-safe; the chain is shared by shared_ptr. Search
// attributes are the exception: the server indexes them, so they are never encoded.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "cairn/v1/common.pb.h"

namespace google::protobuf {
class Message;
}

namespace cairn {

// Metadata keys and encodings the built-in codecs write. Persisted in histories: never change.
inline constexpr char kEncodingZlib[] = "binary/zlib";
inline constexpr char kEncodingEncrypted[] = "binary/encrypted";
inline constexpr char kEncryptionKeyIdKey[] = "encryption-key-id";
inline constexpr char kEncryptionCipherKey[] = "encryption-cipher";

// One transform. encode() maps each payload to its encoded form (typically a new payload whose
// data is the serialized original and whose metadata names the codec); decode() undoes it and
// must pass through, unchanged, payloads this codec did not produce. Both throw PayloadError
// (or a subclass) when a payload cannot be transformed. Implementations must be thread-safe.
class PayloadCodec {
 public:
  virtual ~PayloadCodec() = default;
  virtual v1::Payloads encode(const v1::Payloads& payloads) const = 0;
  virtual v1::Payloads decode(const v1::Payloads& payloads) const = 0;
};

using CodecChain = std::vector<std::shared_ptr<PayloadCodec>>;

// Applies the chain on the way out: codecs[0] first, then codecs[1], ... So {zlib, aes}
// compresses, then encrypts. Returns `payloads` unchanged for an empty chain.
v1::Payloads encode_payloads(const CodecChain& codecs, const v1::Payloads& payloads);
// Undoes encode_payloads(): the last codec first. Throws what a codec throws.
v1::Payloads decode_payloads(const CodecChain& codecs, const v1::Payloads& payloads);

// Applies encode_payloads() / decode_payloads() to every Payloads inside `message`, recursively
// (a lone Payload, e.g. a memo value, is treated as a Payloads of one): a request, a command,
// a history event, a whole poll response. No-op for an empty chain. Throws what a codec throws;
// `message` is then partly transformed.
void encode_payloads_in(const CodecChain& codecs, google::protobuf::Message* message);
void decode_payloads_in(const CodecChain& codecs, google::protobuf::Message* message);

// Compresses (zlib/deflate) each payload whose serialized size is at least `threshold_bytes`,
// when that makes it smaller; others pass through unchanged.
class ZlibCodec final : public PayloadCodec {
 public:
  explicit ZlibCodec(size_t threshold_bytes = 256, int level = 6);
  v1::Payloads encode(const v1::Payloads& payloads) const override;
  v1::Payloads decode(const v1::Payloads& payloads) const override;

 private:
  size_t threshold_;
  int level_;
};

// Encrypts each payload with AES-256-GCM (OpenSSL): a random 12-byte nonce per payload, the
// key id in metadata and bound to the ciphertext as associated data. The encoded data is
// nonce || ciphertext || 16-byte tag; the plaintext is the serialized original payload.
// decode() of a payload with another key id throws PayloadError naming both ids; a wrong key or
// a modified payload throws PayloadError "payload decryption failed (wrong key or corrupted
// payload)". The key is held in memory only (wiped on destruction) and never appears in a log
// or an error message.
class AesGcmCodec final : public PayloadCodec {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kNonceBytes = 12;
  static constexpr size_t kTagBytes = 16;

  // `key`: 32 raw bytes. Throws std::invalid_argument for another length or an empty key_id.
  AesGcmCodec(std::string key, std::string key_id);
  ~AesGcmCodec() override;
  AesGcmCodec(const AesGcmCodec&) = delete;
  AesGcmCodec& operator=(const AesGcmCodec&) = delete;

  // The key from a file or an environment variable holding either 32 raw bytes or 64 hex
  // characters (surrounding whitespace ignored). Throws std::invalid_argument when the file or
  // variable is missing or holds something else (the message names the file or variable, never
  // its content).
  static std::shared_ptr<AesGcmCodec> from_file(const std::string& path, std::string key_id);
  static std::shared_ptr<AesGcmCodec> from_env(const std::string& variable, std::string key_id);
  // 32 raw bytes from `text` (32 raw bytes or 64 hex characters, whitespace trimmed); throws
  // std::invalid_argument("<what>: ...") otherwise.
  static std::string parse_key(std::string text, const std::string& what);

  const std::string& key_id() const { return key_id_; }
  v1::Payloads encode(const v1::Payloads& payloads) const override;
  v1::Payloads decode(const v1::Payloads& payloads) const override;

 private:
  std::string key_;
  std::string key_id_;
};

}  // namespace cairn
