// JSON form of the shared AI value types (the recorded form: activity inputs and results).
// Unset optionals, empty strings and empty lists are left out so that histories stay small;
// readers default every missing field.
#include "cairn/ai/types.h"

#include <cstdio>
#include <cstdlib>

namespace cairn::ai {
namespace {

using nlohmann::json;

void put_str(json& j, const char* key, const std::string& v) {
  if (!v.empty()) {
    j[key] = v;
  }
}

template <class T>
void put_opt(json& j, const char* key, const std::optional<T>& v) {
  if (v) {
    j[key] = *v;
  }
}

template <class T>
void put_list(json& j, const char* key, const std::vector<T>& v) {
  if (!v.empty()) {
    j[key] = v;
  }
}

void put_json(json& j, const char* key, const json& v) {
  if (!v.is_null()) {
    j[key] = v;
  }
}

void put_int(json& j, const char* key, int64_t v) {
  if (v != 0) {
    j[key] = v;
  }
}

template <class T>
void get(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) {
    it->get_to(out);
  }
}

template <class T>
void get_opt(const json& j, const char* key, std::optional<T>& out) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) {
    out = it->get<T>();
  } else {
    out.reset();
  }
}

void get_json(const json& j, const char* key, json& out) {
  auto it = j.find(key);
  out = it != j.end() ? *it : json();
}

}  // namespace

void to_json(json& j, const ToolCall& v) {
  j = json::object();
  put_str(j, "id", v.id);
  j["name"] = v.name;
  j["arguments"] = v.arguments;
}
void from_json(const json& j, ToolCall& v) {
  v = ToolCall();
  get(j, "id", v.id);
  get(j, "name", v.name);
  get(j, "arguments", v.arguments);
}

void to_json(json& j, const Message& v) {
  j = json::object();
  j["role"] = v.role;
  put_str(j, "content", v.content);
  put_str(j, "name", v.name);
  put_str(j, "tool_call_id", v.tool_call_id);
  put_list(j, "tool_calls", v.tool_calls);
  put_str(j, "content_ref", v.content_ref);
}
void from_json(const json& j, Message& v) {
  v = Message();
  get(j, "role", v.role);
  get(j, "content", v.content);
  get(j, "name", v.name);
  get(j, "tool_call_id", v.tool_call_id);
  get(j, "tool_calls", v.tool_calls);
  get(j, "content_ref", v.content_ref);
}

void to_json(json& j, const ToolSpec& v) {
  j = json::object();
  j["name"] = v.name;
  put_str(j, "description", v.description);
  j["parameters"] = v.parameters;
}
void from_json(const json& j, ToolSpec& v) {
  v = ToolSpec();
  get(j, "name", v.name);
  get(j, "description", v.description);
  get_json(j, "parameters", v.parameters);
  if (v.parameters.is_null()) {
    v.parameters = json::object();
  }
}

void to_json(json& j, const ChatRequest& v) {
  j = json::object();
  put_str(j, "model", v.model);
  j["messages"] = v.messages;
  put_opt(j, "temperature", v.temperature);
  put_opt(j, "max_tokens", v.max_tokens);
  put_list(j, "stop", v.stop);
  put_opt(j, "seed", v.seed);
  put_list(j, "tools", v.tools);
  put_json(j, "tool_choice", v.tool_choice);
  put_json(j, "response_format", v.response_format);
}
void from_json(const json& j, ChatRequest& v) {
  v = ChatRequest();
  get(j, "model", v.model);
  get(j, "messages", v.messages);
  get_opt(j, "temperature", v.temperature);
  get_opt(j, "max_tokens", v.max_tokens);
  get(j, "stop", v.stop);
  get_opt(j, "seed", v.seed);
  get(j, "tools", v.tools);
  get_json(j, "tool_choice", v.tool_choice);
  get_json(j, "response_format", v.response_format);
}

void to_json(json& j, const Usage& v) {
  j = json{{"prompt_tokens", v.prompt_tokens}, {"completion_tokens", v.completion_tokens}};
  put_int(j, "cached_tokens", v.cached_tokens);
}
void from_json(const json& j, Usage& v) {
  v = Usage();
  get(j, "prompt_tokens", v.prompt_tokens);
  get(j, "completion_tokens", v.completion_tokens);
  get(j, "cached_tokens", v.cached_tokens);
}

void to_json(json& j, const ChatResponse& v) {
  j = json::object();
  put_str(j, "id", v.id);
  put_str(j, "model", v.model);
  j["message"] = v.message;
  put_str(j, "finish_reason", v.finish_reason);
  j["usage"] = v.usage;
}
void from_json(const json& j, ChatResponse& v) {
  v = ChatResponse();
  get(j, "id", v.id);
  get(j, "model", v.model);
  get(j, "message", v.message);
  get(j, "finish_reason", v.finish_reason);
  get(j, "usage", v.usage);
}

void to_json(json& j, const EmbeddingRequest& v) {
  j = json::object();
  put_str(j, "model", v.model);
  j["input"] = v.input;
}
void from_json(const json& j, EmbeddingRequest& v) {
  v = EmbeddingRequest();
  get(j, "model", v.model);
  get(j, "input", v.input);
}

void to_json(json& j, const EmbeddingResponse& v) {
  j = json::object();
  put_str(j, "model", v.model);
  j["data"] = v.data;
  j["usage"] = v.usage;
}
void from_json(const json& j, EmbeddingResponse& v) {
  v = EmbeddingResponse();
  get(j, "model", v.model);
  get(j, "data", v.data);
  get(j, "usage", v.usage);
}

void to_json(json& j, const ChatAttempt& v) {
  j = json::object();
  j["request"] = v.request;
  put_str(j, "tier", v.tier);
  if (!v.use_cache) {
    j["use_cache"] = false;
  }
  if (v.cache_nondeterministic) {
    j["cache_nondeterministic"] = true;
  }
  put_str(j, "cache_namespace", v.cache_namespace);
  put_str(j, "prompt_version", v.prompt_version);
  if (v.stream) {
    j["stream"] = true;
  }
}
void from_json(const json& j, ChatAttempt& v) {
  v = ChatAttempt();
  get(j, "request", v.request);
  get(j, "tier", v.tier);
  get(j, "use_cache", v.use_cache);
  get(j, "cache_nondeterministic", v.cache_nondeterministic);
  get(j, "cache_namespace", v.cache_namespace);
  get(j, "prompt_version", v.prompt_version);
  get(j, "stream", v.stream);
}

void to_json(json& j, const ChatResult& v) {
  j = json::object();
  j["response"] = v.response;
  put_str(j, "tier", v.tier);
  put_str(j, "endpoint", v.endpoint);
  put_str(j, "model", v.model);
  j["usage"] = v.usage;
  j["cost_micros"] = v.cost_micros;
  if (v.cache_hit) {
    j["cache_hit"] = true;
  }
  put_int(j, "duration_ms", v.duration_ms);
}
void from_json(const json& j, ChatResult& v) {
  v = ChatResult();
  get(j, "response", v.response);
  get(j, "tier", v.tier);
  get(j, "endpoint", v.endpoint);
  get(j, "model", v.model);
  get(j, "usage", v.usage);
  get(j, "cost_micros", v.cost_micros);
  get(j, "cache_hit", v.cache_hit);
  get(j, "duration_ms", v.duration_ms);
}

void to_json(json& j, const EmbedAttempt& v) {
  j = json::object();
  j["request"] = v.request;
  put_str(j, "tier", v.tier);
}
void from_json(const json& j, EmbedAttempt& v) {
  v = EmbedAttempt();
  get(j, "request", v.request);
  get(j, "tier", v.tier);
}

void to_json(json& j, const EmbedResult& v) {
  j = json::object();
  j["response"] = v.response;
  put_str(j, "tier", v.tier);
  put_str(j, "endpoint", v.endpoint);
  put_str(j, "model", v.model);
  j["usage"] = v.usage;
  j["cost_micros"] = v.cost_micros;
  put_int(j, "duration_ms", v.duration_ms);
}
void from_json(const json& j, EmbedResult& v) {
  v = EmbedResult();
  get(j, "response", v.response);
  get(j, "tier", v.tier);
  get(j, "endpoint", v.endpoint);
  get(j, "model", v.model);
  get(j, "usage", v.usage);
  get(j, "cost_micros", v.cost_micros);
  get(j, "duration_ms", v.duration_ms);
}

std::string format_dollars(Micros micros) {
  const char* sign = micros < 0 ? "-" : "";
  uint64_t m =
      micros < 0 ? static_cast<uint64_t>(-(micros + 1)) + 1 : static_cast<uint64_t>(micros);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s$%llu.%06llu", sign,
                static_cast<unsigned long long>(m / 1'000'000),
                static_cast<unsigned long long>(m % 1'000'000));
  return buf;
}

}  // namespace cairn::ai
