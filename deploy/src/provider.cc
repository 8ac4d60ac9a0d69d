// The provider seam's shared pieces: errors, recorded state, the context's redaction and secret
// resolution, the loopback port allocator and the registry.
#include "cairn/deploy/provider.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cairn::deploy {
namespace {

using nlohmann::json;

const char* kind_type(ProviderErrorKind kind) {
  switch (kind) {
    case ProviderErrorKind::kInvalidInputs:
      return "ProviderInvalidInputs";
    case ProviderErrorKind::kFailed:
      return "ProviderFailed";
    case ProviderErrorKind::kUnavailable:
      return "ProviderUnavailable";
    case ProviderErrorKind::kTimeout:
      return "ProviderTimeout";
    case ProviderErrorKind::kCanceled:
      return "ProviderCanceled";
  }
  return "ProviderFailed";
}

bool kind_retryable(ProviderErrorKind kind) {
  return kind == ProviderErrorKind::kUnavailable || kind == ProviderErrorKind::kTimeout;
}

class LoopbackPortAllocator : public PortAllocator {
 public:
  int allocate() override {
    for (int attempt = 0; attempt < 64; ++attempt) {
      int port = bind_any();
      std::lock_guard<std::mutex> lock(mu_);
      if (port > 0 && recent_set_.count(port) == 0) {
        recent_.push_back(port);
        recent_set_.insert(port);
        if (recent_.size() > 256) {
          recent_set_.erase(recent_.front());
          recent_.pop_front();
        }
        return port;
      }
    }
    throw ProviderError(ProviderErrorKind::kUnavailable, "no free port on 127.0.0.1");
  }

 private:
  static int bind_any() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return -1;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    int port = -1;
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
  }

  std::mutex mu_;
  std::deque<int> recent_;
  std::set<int> recent_set_;
};

// Replaces every occurrence of `needle` in `text`.
void replace_all(std::string& text, const std::string& needle, const std::string& with) {
  if (needle.empty()) {
    return;
  }
  size_t at = 0;
  while ((at = text.find(needle, at)) != std::string::npos) {
    text.replace(at, needle.size(), with);
    at += with.size();
  }
}

}  // namespace

ProviderError::ProviderError(ProviderErrorKind kind, const std::string& message)
    : ApplicationError(message, kind_type(kind), !kind_retryable(kind)), kind_(kind) {}

const char* diff_kind_name(DiffKind kind) {
  switch (kind) {
    case DiffKind::kNone:
      return "none";
    case DiffKind::kUpdate:
      return "update";
    case DiffKind::kReplace:
      return "replace";
  }
  return "none";
}

json to_json(const ProviderState& state) {
  return {{"provider_id", state.provider_id},
          {"outputs", state.outputs},
          {"private_state", state.private_state}};
}

ProviderState provider_state_from_json(const json& j) {
  if (!j.is_object() || !j.contains("provider_id") || !j["provider_id"].is_string()) {
    throw ProviderError(ProviderErrorKind::kInvalidInputs,
                        "recorded resource state: expected an object with a provider_id");
  }
  ProviderState state;
  state.provider_id = j["provider_id"].get<std::string>();
  state.outputs = j.value("outputs", json::object());
  state.private_state = j.value("private_state", json::object());
  return state;
}

PortAllocator& loopback_port_allocator() {
  static LoopbackPortAllocator allocator;
  return allocator;
}

void ProviderContext::report(const json& progress) const {
  if (heartbeat) {
    heartbeat(redact(progress));
  }
}

void ProviderContext::log(LogLevel level, const std::string& message) const {
  if (logger) {
    logger(level, redact(message));
  }
}

std::string ProviderContext::redact(std::string text) const {
  // Longest first, so a secret containing another is removed whole.
  std::vector<std::string> sorted = secrets;
  std::sort(sorted.begin(), sorted.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& secret : sorted) {
    replace_all(text, secret, "[redacted]");
  }
  return text;
}

json ProviderContext::redact(const json& value) const {
  if (secrets.empty()) {
    return value;
  }
  if (value.is_string()) {
    return redact(value.get<std::string>());
  }
  if (value.is_array() || value.is_object()) {
    json out = value;
    for (auto it = out.begin(); it != out.end(); ++it) {
      *it = redact(static_cast<const json&>(*it));
    }
    return out;
  }
  return value;
}

bool is_secret_ref(const json& value) {
  return value.is_object() && value.size() == 1 && value.contains("secret") &&
         value["secret"].is_string();
}

json ProviderContext::resolve_secrets(const json& inputs) {
  if (is_secret_ref(inputs)) {
    std::string ref = inputs["secret"].get<std::string>();
    std::optional<std::string> value;
    if (secret_source) {
      value = secret_source(ref);
    } else if (ref.rfind("env:", 0) == 0) {
      if (const char* v = std::getenv(ref.c_str() + 4)) {
        value = v;
      }
    } else if (ref.rfind("file:", 0) == 0) {
      std::ifstream in(ref.substr(5));
      if (in) {
        std::stringstream buffer;
        buffer << in.rdbuf();
        std::string text = buffer.str();
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
          text.pop_back();
        }
        value = text;
      }
    }
    if (!value) {
      throw ProviderError(ProviderErrorKind::kInvalidInputs,
                          "secret " + ref + ": not found (expected env:NAME or file:PATH)");
    }
    if (!value->empty()) {
      secrets.push_back(*value);
    }
    return *value;
  }
  if (inputs.is_array() || inputs.is_object()) {
    json out = inputs;
    for (auto it = out.begin(); it != out.end(); ++it) {
      *it = resolve_secrets(static_cast<const json&>(*it));
    }
    return out;
  }
  return inputs;
}

std::filesystem::path ProviderContext::key_dir(const std::string& key) const {
  bool plain = !key.empty() && key.size() <= 128 && key != "." && key != "..";
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    plain = plain && ok;
  }
  if (!plain) {
    throw ProviderError(
        ProviderErrorKind::kInvalidInputs,
        "idempotency key '" + key + "': expected 1-128 characters of [A-Za-z0-9._-], not . or ..");
  }
  if (state_dir.empty()) {
    throw ProviderError(ProviderErrorKind::kInvalidInputs, "provider context: no state_dir");
  }
  std::filesystem::path dir = state_dir / key;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw ProviderError(ProviderErrorKind::kFailed,
                        "state directory " + dir.string() + ": " + ec.message());
  }
  return dir;
}

ProviderState Provider::revert_drift(ProviderContext& ctx, const ProviderState& recorded) {
  throw ProviderError(
      ProviderErrorKind::kFailed,
      type() + " " + recorded.provider_id + ": drift cannot be reverted in place (recreate it)");
}

json Provider::snapshot(ProviderContext&, const ProviderState&) { return nullptr; }

ProviderState Provider::restore(ProviderContext&, const ProviderState& recorded, const json&) {
  return recorded;
}

json Provider::stats(ProviderContext&, const ProviderState&) { return json::object(); }

Diff diff_fields(const json& old_inputs, const json& new_inputs,
                 const std::vector<std::string>& updatable) {
  Diff diff;
  std::set<std::string> keys;
  for (const json* side : {&old_inputs, &new_inputs}) {
    if (side->is_object()) {
      for (auto it = side->begin(); it != side->end(); ++it) {
        keys.insert(it.key());
      }
    }
  }
  for (const std::string& key : keys) {
    json a = old_inputs.is_object() ? old_inputs.value(key, json()) : json();
    json b = new_inputs.is_object() ? new_inputs.value(key, json()) : json();
    if (a == b) {
      continue;
    }
    diff.changed.push_back(key);
    if (std::find(updatable.begin(), updatable.end(), key) == updatable.end()) {
      diff.replace.push_back(key);
    }
  }
  if (!diff.replace.empty()) {
    diff.kind = DiffKind::kReplace;
  } else if (!diff.changed.empty()) {
    diff.kind = DiffKind::kUpdate;
  }
  return diff;
}

Diff diff_by_schema(const TypeSchema& type, const json& old_inputs, const json& new_inputs) {
  std::vector<std::string> updatable;
  for (const InputSchema& i : type.inputs) {
    if (!i.replace_on_change) {
      updatable.push_back(i.name);
    }
  }
  return diff_fields(old_inputs, new_inputs, updatable);
}

void ProviderRegistry::add(std::unique_ptr<Provider> provider) {
  std::string type = provider->type();
  if (providers_.count(type) != 0) {
    throw ProviderError(ProviderErrorKind::kInvalidInputs,
                        "provider type '" + type + "' is already registered");
  }
  providers_.emplace(std::move(type), std::move(provider));
}

Provider* ProviderRegistry::find(std::string_view type) const {
  auto it = providers_.find(type);
  return it == providers_.end() ? nullptr : it->second.get();
}

Provider& ProviderRegistry::get(std::string_view type) const {
  if (Provider* p = find(type)) {
    return *p;
  }
  std::string known;
  for (const auto& [name, _] : providers_) {
    known += (known.empty() ? "" : ", ") + name;
  }
  throw ProviderError(ProviderErrorKind::kInvalidInputs,
                      "unknown resource type '" + std::string(type) + "' (known: " + known + ")");
}

std::vector<std::string> ProviderRegistry::types() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : providers_) {
    out.push_back(name);
  }
  return out;
}

void register_local_providers(ProviderRegistry& registry, const LocalProviderOptions& options) {
  registry.add(make_process_provider());
  registry.add(make_model_endpoint_provider(options));
  registry.add(make_redis_provider(options));
  registry.add(make_command_provider());
  registry.add(make_router_provider(options));
  registry.add(make_vector_index_provider(options));
}

}  // namespace cairn::deploy
