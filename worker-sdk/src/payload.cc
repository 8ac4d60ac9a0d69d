// Non-template halves of the payload converters and the retry policy conversion.
#include "cairn/payload.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include "cairn/options.h"

namespace cairn {
namespace detail {

v1::Payload make_payload(std::string_view encoding, std::string data) {
  v1::Payload p;
  (*p.mutable_metadata())[kEncodingKey] = std::string(encoding);
  p.set_data(std::move(data));
  return p;
}

std::string encoding_of(const v1::Payload& payload) {
  auto it = payload.metadata().find(kEncodingKey);
  if (it == payload.metadata().end() || it->second.empty()) {
    return kEncodingJson;
  }
  return it->second;
}

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                             std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(mangled);
}

void throw_payload_error(const v1::Payload& payload, const std::string& type_name,
                         const std::string& what) {
  std::string preview = payload.data().substr(0, 80);
  if (payload.data().size() > 80) {
    preview += "...";
  }
  throw PayloadError("cannot convert " + encoding_of(payload) + " payload '" + preview + "' to " +
                     type_name + ": " + what);
}

}  // namespace detail

v1::RetryPolicy to_proto(const RetryPolicy& policy) {
  v1::RetryPolicy p;
  p.set_initial_interval_ms(policy.initial_interval.count());
  p.set_backoff_coefficient(policy.backoff_coefficient);
  p.set_maximum_interval_ms(policy.maximum_interval.count());
  p.set_maximum_attempts(policy.maximum_attempts);
  for (const auto& t : policy.non_retryable_error_types) {
    p.add_non_retryable_error_types(t);
  }
  return p;
}

}  // namespace cairn
