// Secret references and digests (cairn/deploy/spec.h). A secret's value exists only in the
// caller's memory: every message here names the reference, never the value, and what is
// recorded is an HMAC digest.
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cairn/deploy/spec.h"

namespace cairn::deploy {
namespace {

std::string hex(const unsigned char* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0xf]);
  }
  return out;
}

bool is_env_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) {
    return false;
  }
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string SecretRef::to_string() const {
  return (source == Source::kEnv ? "env:" : "file:") + target;
}

std::optional<SecretRef> parse_secret_ref(std::string_view text) {
  if (text.substr(0, 4) == "env:" && is_env_name(text.substr(4))) {
    return SecretRef{SecretRef::Source::kEnv, std::string(text.substr(4))};
  }
  if (text.substr(0, 5) == "file:" && text.size() > 5) {
    return SecretRef{SecretRef::Source::kFile, std::string(text.substr(5))};
  }
  return std::nullopt;
}

std::optional<SecretRef> as_secret_ref(const nlohmann::json& value) {
  if (!value.is_object() || value.empty() || value.size() > 2) {
    return std::nullopt;
  }
  auto it = value.find("secret");
  if (it == value.end() || !it->is_string()) {
    return std::nullopt;
  }
  if (value.size() == 2 && !value.contains("digest")) {
    return std::nullopt;
  }
  return parse_secret_ref(it->get_ref<const std::string&>());
}

std::string resolve_secret(const SecretRef& ref, const std::string& base_dir) {
  if (ref.source == SecretRef::Source::kEnv) {
    const char* v = std::getenv(ref.target.c_str());
    if (v == nullptr || *v == '\0') {
      throw SecretError("secret " + ref.to_string() + ": the environment variable " + ref.target +
                        " is not set (or empty)");
    }
    return v;
  }
  std::string path = ref.target;
  if (!base_dir.empty() && !path.empty() && path[0] != '/') {
    path = base_dir + "/" + path;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw SecretError("secret " + ref.to_string() + ": cannot read " + path);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string value = buf.str();
  if (!value.empty() && value.back() == '\n') {
    value.pop_back();
    if (!value.empty() && value.back() == '\r') {
      value.pop_back();
    }
  }
  if (value.empty()) {
    throw SecretError("secret " + ref.to_string() + ": " + path + " is empty");
  }
  return value;
}

std::string secret_digest(std::string_view value, std::string_view key) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(value.data()), value.size(), out, &n);
  return hex(out, n);
}

std::string sha256_hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, EVP_sha256(), nullptr);
  return hex(out, n);
}

}  // namespace cairn::deploy
