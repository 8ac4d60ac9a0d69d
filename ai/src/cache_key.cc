// The response cache's key: the SHA-256 of the canonical JSON of everything that changes a chat
// call's output. Canonical: object keys sorted (nlohmann's std::map objects), no whitespace, and
// numbers normalised so that the same value always prints the same way (0.0, -0.0 and 0 → 0;
// 1.0 → 1; unsigned → signed). Persisted in Redis keys: changing this text changes every key,
// so bump "v" when it must change.
#include <cmath>
#include <cstdio>
#include <limits>

#include <openssl/evp.h>

#include "cairn/ai/cache.h"

namespace cairn::ai {
namespace {

using nlohmann::json;

constexpr int kKeyVersion = 1;

json normalise(const json& v) {
  switch (v.type()) {
    case json::value_t::object: {
      json out = json::object();
      for (const auto& [k, x] : v.items()) {
        out[k] = normalise(x);
      }
      return out;
    }
    case json::value_t::array: {
      json out = json::array();
      for (const auto& x : v) {
        out.push_back(normalise(x));
      }
      return out;
    }
    case json::value_t::number_unsigned: {
      uint64_t u = v.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return static_cast<int64_t>(u);
      }
      return v;
    }
    case json::value_t::number_float: {
      double d = v.get<double>();
      // Integral values in the range where doubles are exact become integers.
      if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.007199254740992e15) {
        return static_cast<int64_t>(d);  // also folds -0.0 into 0
      }
      return v;
    }
    default:
      return v;
  }
}

json canonical(const ChatAttempt& attempt, const std::string& target, const std::string& model,
               const std::string& ns) {
  const ChatRequest& r = attempt.request;
  json messages = json::array();
  for (const auto& m : r.messages) {
    json calls = json::array();
    for (const auto& c : m.tool_calls) {
      calls.push_back({{"id", c.id}, {"name", c.name}, {"arguments", c.arguments}});
    }
    messages.push_back({{"role", m.role},
                        {"content", m.content},
                        {"name", m.name},
                        {"tool_call_id", m.tool_call_id},
                        {"tool_calls", calls},
                        {"content_ref", m.content_ref}});
  }
  json tools = json::array();
  for (const auto& t : r.tools) {
    tools.push_back(
        {{"name", t.name}, {"description", t.description}, {"parameters", t.parameters}});
  }
  json request = {{"model", r.model},
                  {"messages", messages},
                  {"temperature", r.temperature ? json(*r.temperature) : json()},
                  {"max_tokens", r.max_tokens ? json(*r.max_tokens) : json()},
                  {"stop", r.stop},
                  {"seed", r.seed ? json(*r.seed) : json()},
                  {"tools", tools},
                  {"tool_choice", r.tool_choice},
                  {"response_format", r.response_format}};
  return normalise(json{{"v", kKeyVersion},
                        {"namespace", ns},
                        {"prompt_version", attempt.prompt_version},
                        {"target", target},
                        {"model", model},
                        {"request", request}});
}

// Strings that are not valid UTF-8 (which JSON cannot carry) as {"$bytes": "<hex>"}, so that
// different byte strings keep different keys.
json escape_invalid_utf8(const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (const auto& [k, x] : v.items()) {
      out[k] = escape_invalid_utf8(x);
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& x : v) {
      out.push_back(escape_invalid_utf8(x));
    }
    return out;
  }
  if (v.is_string()) {
    try {
      (void)v.dump();
      return v;
    } catch (const json::type_error&) {
      static const char kHex[] = "0123456789abcdef";
      std::string hex;
      for (unsigned char c : v.get_ref<const std::string&>()) {
        hex.push_back(kHex[c >> 4]);
        hex.push_back(kHex[c & 0xf]);
      }
      return json{{"$bytes", hex}};
    }
  }
  return v;
}

}  // namespace

std::string ResponseCache::canonical_json(const ChatAttempt& attempt,
                                          const std::string& endpoint_or_tier,
                                          const std::string& model, const std::string& ns) {
  json c = canonical(attempt, endpoint_or_tier, model, ns);
  try {
    return c.dump();
  } catch (const json::type_error&) {  // invalid UTF-8 somewhere
    return escape_invalid_utf8(c).dump();
  }
}

std::string ResponseCache::cache_key(const ChatAttempt& attempt,
                                     const std::string& endpoint_or_tier, const std::string& model,
                                     const std::string& ns) {
  const std::string text = canonical_json(attempt, endpoint_or_tier, model, ns);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("cache key: SHA-256 failed (OpenSSL EVP_Digest)");
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

bool ResponseCache::cacheable(const ChatAttempt& attempt) {
  if (!attempt.use_cache || attempt.stream) {
    return false;
  }
  const auto& t = attempt.request.temperature;
  return (t && *t == 0.0) || attempt.cache_nondeterministic;
}

}  // namespace cairn::ai
