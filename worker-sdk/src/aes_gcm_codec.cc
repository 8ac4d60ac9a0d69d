// AesGcmCodec: AES-256-GCM over OpenSSL's EVP interface. Error messages name files, variables
// and key ids, never key bytes; the key is wiped with OPENSSL_cleanse when the codec dies.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "cairn/codec.h"
#include "cairn/errors.h"
#include "cairn/payload.h"

namespace cairn {
namespace {

constexpr char kCipherName[] = "AES-256-GCM";
constexpr char kDecryptionFailed[] = "payload decryption failed (wrong key or corrupted payload)";
// Bound to every ciphertext as associated data, with the key id: a payload cannot be moved to
// another key id, and a future format can never be confused with this one.
constexpr char kAadPrefix[] = "cairn/aes-256-gcm/v1/";

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

std::string metadata_value(const v1::Payload& p, const char* key) {
  auto it = p.metadata().find(key);
  return it == p.metadata().end() ? std::string() : it->second;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Wipes a string's bytes before it is freed.
struct Wiped {
  std::string text;
  ~Wiped() { OPENSSL_cleanse(text.data(), text.size()); }
};

}  // namespace

AesGcmCodec::AesGcmCodec(std::string key, std::string key_id)
    : key_(std::move(key)), key_id_(std::move(key_id)) {
  if (key_.size() != kKeyBytes) {
    size_t n = key_.size();
    OPENSSL_cleanse(key_.data(), key_.size());
    throw std::invalid_argument("AesGcmCodec: the key must be 32 bytes, got " + std::to_string(n));
  }
  if (key_id_.empty()) {
    OPENSSL_cleanse(key_.data(), key_.size());
    throw std::invalid_argument("AesGcmCodec: the key id must not be empty");
  }
}

AesGcmCodec::~AesGcmCodec() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::string AesGcmCodec::parse_key(std::string text, const std::string& what) {
  Wiped raw{std::move(text)};
  if (raw.text.size() == kKeyBytes) {
    return raw.text;  // raw bytes: may legitimately contain whitespace, so no trimming
  }
  size_t begin = 0;
  size_t end = raw.text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(raw.text[begin]))) {
    ++begin;
  }
  while (end > begin && std::isspace(static_cast<unsigned char>(raw.text[end - 1]))) {
    --end;
  }
  if (end - begin == 2 * kKeyBytes) {
    std::string key(kKeyBytes, '\0');
    bool ok = true;
    for (size_t i = 0; i < kKeyBytes && ok; ++i) {
      int hi = hex_digit(raw.text[begin + 2 * i]);
      int lo = hex_digit(raw.text[begin + 2 * i + 1]);
      ok = hi >= 0 && lo >= 0;
      key[i] = static_cast<char>(ok ? (hi << 4) | lo : 0);
    }
    if (ok) {
      return key;
    }
    OPENSSL_cleanse(key.data(), key.size());
  }
  throw std::invalid_argument(what + ": expected 32 raw bytes or 64 hex characters (" +
                              std::to_string(end - begin) + " bytes after trimming)");
}

std::shared_ptr<AesGcmCodec> AesGcmCodec::from_file(const std::string& path, std::string key_id) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::invalid_argument("AES key file " + path + ": cannot be read");
  }
  Wiped content;
  std::ostringstream buf;
  buf << in.rdbuf();
  content.text = buf.str();
  // The stream's copy cannot be wiped through its interface; overwrite it instead.
  buf.str(std::string(content.text.size(), '\0'));
  Wiped key{parse_key(content.text, "AES key file " + path)};
  return std::make_shared<AesGcmCodec>(key.text, std::move(key_id));
}

std::shared_ptr<AesGcmCodec> AesGcmCodec::from_env(const std::string& variable,
                                                   std::string key_id) {
  const char* value = std::getenv(variable.c_str());
  if (value == nullptr || *value == '\0') {
    throw std::invalid_argument("AES key variable " + variable + " is not set");
  }
  Wiped key{parse_key(value, "AES key variable " + variable)};
  return std::make_shared<AesGcmCodec>(key.text, std::move(key_id));
}

v1::Payloads AesGcmCodec::encode(const v1::Payloads& payloads) const {
  const std::string aad = kAadPrefix + key_id_;
  v1::Payloads out;
  for (const auto& p : payloads.payloads()) {
    Wiped plain{p.SerializeAsString()};
    std::string data(kNonceBytes + plain.text.size() + kTagBytes, '\0');
    auto* nonce = reinterpret_cast<unsigned char*>(data.data());
    auto* cipher = nonce + kNonceBytes;
    if (RAND_bytes(nonce, kNonceBytes) != 1) {
      throw PayloadError("payload encryption failed: no random bytes for the nonce");
    }
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    int total = 0;
    bool ok =
        ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
        EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr,
                           reinterpret_cast<const unsigned char*>(key_.data()), nonce) == 1 &&
        EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                          reinterpret_cast<const unsigned char*>(aad.data()),
                          static_cast<int>(aad.size())) == 1 &&
        EVP_EncryptUpdate(ctx.get(), cipher, &len,
                          reinterpret_cast<const unsigned char*>(plain.text.data()),
                          static_cast<int>(plain.text.size())) == 1;
    total = len;
    ok = ok && EVP_EncryptFinal_ex(ctx.get(), cipher + total, &len) == 1;
    total += len;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, cipher + total) == 1;
    if (!ok || static_cast<size_t>(total) != plain.text.size()) {
      throw PayloadError("payload encryption failed (OpenSSL error)");
    }
    v1::Payload e = detail::make_payload(kEncodingEncrypted, std::move(data));
    (*e.mutable_metadata())[kEncryptionCipherKey] = kCipherName;
    (*e.mutable_metadata())[kEncryptionKeyIdKey] = key_id_;
    *out.add_payloads() = std::move(e);
  }
  return out;
}

v1::Payloads AesGcmCodec::decode(const v1::Payloads& payloads) const {
  v1::Payloads out;
  for (const auto& p : payloads.payloads()) {
    if (metadata_value(p, kEncodingKey) != kEncodingEncrypted) {
      *out.add_payloads() = p;
      continue;
    }
    std::string cipher_name = metadata_value(p, kEncryptionCipherKey);
    if (!cipher_name.empty() && cipher_name != kCipherName) {
      throw PayloadError("payload decryption failed: cipher " + cipher_name +
                         " is not supported (expected " + kCipherName + ")");
    }
    std::string key_id = metadata_value(p, kEncryptionKeyIdKey);
    if (key_id != key_id_) {
      throw PayloadError("payload decryption failed: the payload was encrypted with key id '" +
                         key_id + "', this codec holds key id '" + key_id_ + "'");
    }
    const std::string& data = p.data();
    if (data.size() < kNonceBytes + kTagBytes) {
      throw PayloadError(kDecryptionFailed);
    }
    const auto* nonce = reinterpret_cast<const unsigned char*>(data.data());
    const auto* cipher = nonce + kNonceBytes;
    const size_t cipher_len = data.size() - kNonceBytes - kTagBytes;
    std::string tag(data, data.size() - kTagBytes);
    const std::string aad = kAadPrefix + key_id_;
    Wiped plain{std::string(cipher_len, '\0')};
    auto* plain_bytes = reinterpret_cast<unsigned char*>(plain.text.data());
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    bool ok =
        ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
        EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr,
                           reinterpret_cast<const unsigned char*>(key_.data()), nonce) == 1 &&
        EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                          reinterpret_cast<const unsigned char*>(aad.data()),
                          static_cast<int>(aad.size())) == 1 &&
        EVP_DecryptUpdate(ctx.get(), plain_bytes, &len, cipher, static_cast<int>(cipher_len)) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1;
    int tail = 0;
    // The tag is checked here: any wrong key, nonce, aad or ciphertext bit fails.
    ok = ok && EVP_DecryptFinal_ex(ctx.get(), plain_bytes + len, &tail) == 1;
    if (!ok) {
      throw PayloadError(kDecryptionFailed);
    }
    if (!out.add_payloads()->ParseFromString(plain.text)) {
      throw PayloadError("payload decryption succeeded but the plaintext is not a payload");
    }
  }
  return out;
}

}  // namespace cairn
