#include "ai/endpoint/handlers.h"

#include <cstring>
#include <ctime>

#include "cairn/ai/tokenizer.h"

namespace cairn::ai::endpoint {
namespace {

using nlohmann::json;

constexpr size_t kMaxEmbeddingInputs = 2048;

// Compact JSON; a byte sequence that is not UTF-8 becomes U+FFFD instead of throwing.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Reply invalid(const std::string& param, const std::string& message) {
  return error_reply(400, "invalid_request_error", param + ": " + message, "", param);
}

// A message's content: a string, null, or an array of {"type": "text", "text": ...} parts.
bool read_content(const json& v, const std::string& where, std::string* out, Reply* error) {
  if (v.is_null()) {
    return true;
  }
  if (v.is_string()) {
    *out = v.get<std::string>();
    return true;
  }
  if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) {
      const json& part = v[i];
      if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
          !part["text"].is_string()) {
        *error = invalid(where + "[" + std::to_string(i) + "]",
                         "only {\"type\": \"text\", \"text\": \"...\"} parts are supported");
        return false;
      }
      *out += part["text"].get<std::string>();
    }
    return true;
  }
  *error = invalid(where, "expected a string, null or an array of text parts");
  return false;
}

bool read_message(const json& m, size_t index, Message* out, Reply* error) {
  std::string where = "messages[" + std::to_string(index) + "]";
  if (!m.is_object()) {
    *error = invalid(where, "expected an object with \"role\" and \"content\"");
    return false;
  }
  std::string role =
      m.contains("role") && m["role"].is_string() ? m["role"].get<std::string>() : "";
  if (role != "system" && role != "user" && role != "assistant" && role != "tool" &&
      role != "developer") {
    *error = invalid(where + ".role", "expected one of system, developer, user, assistant, tool");
    return false;
  }
  out->role = role;
  if (m.contains("content") &&
      !read_content(m["content"], where + ".content", &out->content, error)) {
    return false;
  }
  if (m.contains("name") && m["name"].is_string()) {
    out->name = m["name"].get<std::string>();
  }
  if (role == "tool") {
    if (!m.contains("tool_call_id") || !m["tool_call_id"].is_string()) {
      *error = invalid(where + ".tool_call_id", "a tool message must name the call it answers");
      return false;
    }
    out->tool_call_id = m["tool_call_id"].get<std::string>();
  }
  if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
    for (size_t i = 0; i < m["tool_calls"].size(); ++i) {
      const json& c = m["tool_calls"][i];
      std::string cw = where + ".tool_calls[" + std::to_string(i) + "]";
      if (!c.is_object() || !c.contains("function") || !c["function"].is_object() ||
          !c["function"].contains("name") || !c["function"]["name"].is_string()) {
        *error = invalid(cw,
                         "expected {\"id\", \"type\": \"function\", \"function\": {\"name\", "
                         "\"arguments\"}}");
        return false;
      }
      ToolCall call;
      call.id = c.value("id", "");
      call.name = c["function"]["name"].get<std::string>();
      const json& args = c["function"].value("arguments", json(""));
      call.arguments = args.is_string() ? args.get<std::string>() : dump(args);
      out->tool_calls.push_back(std::move(call));
    }
  }
  return true;
}

bool read_tools(const json& tools, std::vector<ToolSpec>* out, Reply* error) {
  if (!tools.is_array()) {
    *error = invalid("tools", "expected an array of {\"type\": \"function\", \"function\": {...}}");
    return false;
  }
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    std::string where = "tools[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("function") || !t["function"].is_object() ||
        !t["function"].contains("name") || !t["function"]["name"].is_string()) {
      *error = invalid(where, "expected {\"type\": \"function\", \"function\": {\"name\": ...}}");
      return false;
    }
    const json& f = t["function"];
    ToolSpec spec;
    spec.name = f["name"].get<std::string>();
    if (f.contains("description") && f["description"].is_string()) {
      spec.description = f["description"].get<std::string>();
    }
    if (f.contains("parameters") && f["parameters"].is_object()) {
      spec.parameters = f["parameters"];
    }
    out->push_back(std::move(spec));
  }
  return true;
}

std::string hex64(uint64_t v) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i) {
    s[static_cast<size_t>(i)] = kDigits[v & 0xf];
    v >>= 4;
  }
  return s;
}

// The vector as little-endian float32 bytes in base64, as OpenAI's encoding_format "base64".
std::string base64_floats(const std::vector<float>& v) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  for (float f : v) {
    uint32_t u = 0;
    std::memcpy(&u, &f, sizeof u);
    for (int k = 0; k < 4; ++k) {
      bytes.push_back(static_cast<char>((u >> (8 * k)) & 0xff));
    }
  }
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) {
      n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    }
    if (i + 2 < bytes.size()) {
      n |= static_cast<unsigned char>(bytes[i + 2]);
    }
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

Reply json_reply(const json& body, int status = 200) { return Reply{status, dump(body), {}}; }

}  // namespace

Reply error_reply(int status, const std::string& type, const std::string& message,
                  const std::string& code, const std::string& param) {
  json err = {{"message", message},
              {"type", type},
              {"param", param.empty() ? json() : json(param)},
              {"code", code.empty() ? json() : json(code)}};
  return json_reply({{"error", err}}, status);
}

Handler::Handler(Options options) : options_(std::move(options)) {}

std::optional<Reply> Handler::check_auth(const std::string* authorization) {
  stats_.saw_authorization(authorization != nullptr);
  if (options_.api_key_env.empty()) {
    return std::nullopt;
  }
  if (authorization == nullptr) {
    return error_reply(401, "invalid_request_error",
                       "You didn't provide an API key: send the header Authorization: Bearer "
                       "<key>.",
                       "missing_api_key");
  }
  if (*authorization != "Bearer " + options_.api_key) {
    return error_reply(401, "invalid_request_error",
                       "Incorrect API key provided: check the key this endpoint was started "
                       "with (its --api-key-env variable).",
                       "invalid_api_key");
  }
  return std::nullopt;
}

bool Handler::wants_stream(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("stream") && j["stream"].is_boolean() &&
         j["stream"].get<bool>();
}

bool Handler::parse_chat(const std::string& body, ChatCall* call, Reply* error) const {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    *error = invalid("body", "expected a JSON object (a chat completion request)");
    return false;
  }
  ChatRequest& r = call->request;
  if (j.contains("model") && j["model"].is_string()) {
    r.model = j["model"].get<std::string>();
  }
  call->model = r.model.empty() ? options_.model : r.model;
  if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty()) {
    *error = invalid("messages", "expected a non-empty array of messages");
    return false;
  }
  for (size_t i = 0; i < j["messages"].size(); ++i) {
    Message m;
    if (!read_message(j["messages"][i], i, &m, error)) {
      return false;
    }
    r.messages.push_back(std::move(m));
  }
  if (j.contains("temperature") && !j["temperature"].is_null()) {
    if (!j["temperature"].is_number() || j["temperature"].get<double>() < 0 ||
        j["temperature"].get<double>() > 2) {
      *error = invalid("temperature", "expected a number between 0 and 2");
      return false;
    }
    r.temperature = j["temperature"].get<double>();
  }
  for (const char* field : {"max_tokens", "max_completion_tokens"}) {
    if (j.contains(field) && !j[field].is_null()) {
      if (!j[field].is_number_integer() || j[field].get<int64_t>() < 1) {
        *error = invalid(field, "expected a positive integer");
        return false;
      }
      r.max_tokens = j[field].get<int64_t>();
    }
  }
  if (j.contains("n") && !j["n"].is_null() && j["n"] != 1) {
    *error = invalid("n", "only n = 1 is supported");
    return false;
  }
  if (j.contains("stop") && !j["stop"].is_null()) {
    const json& stop = j["stop"];
    if (stop.is_string()) {
      r.stop.push_back(stop.get<std::string>());
    } else if (stop.is_array() && stop.size() <= 4) {
      for (const auto& s : stop) {
        if (!s.is_string()) {
          *error = invalid("stop", "expected a string or up to 4 strings");
          return false;
        }
        r.stop.push_back(s.get<std::string>());
      }
    } else {
      *error = invalid("stop", "expected a string or up to 4 strings");
      return false;
    }
  }
  if (j.contains("seed") && !j["seed"].is_null()) {
    if (!j["seed"].is_number_integer()) {
      *error = invalid("seed", "expected an integer");
      return false;
    }
    r.seed = j["seed"].get<int64_t>();
  }
  if (j.contains("tools") && !j["tools"].is_null() && !read_tools(j["tools"], &r.tools, error)) {
    return false;
  }
  if (j.contains("tool_choice")) {
    r.tool_choice = j["tool_choice"];
  }
  if (j.contains("response_format")) {
    r.response_format = j["response_format"];
  }
  call->stream = j.contains("stream") && j["stream"].is_boolean() && j["stream"].get<bool>();
  call->include_usage = j.contains("stream_options") && j["stream_options"].is_object() &&
                        j["stream_options"].value("include_usage", false);
  return true;
}

std::optional<Reply> Handler::check_context(const Completion& completion) const {
  if (options_.context_window <= 0 || completion.prompt_tokens <= options_.context_window) {
    return std::nullopt;
  }
  return error_reply(400, "invalid_request_error",
                     "This model's maximum context length is " +
                         std::to_string(options_.context_window) +
                         " tokens. However, your messages resulted in " +
                         std::to_string(completion.prompt_tokens) +
                         " tokens. Please reduce the length of the messages.",
                     "context_length_exceeded", "messages");
}

std::string Handler::next_id() {
  uint64_t n = next_id_.fetch_add(1);
  return "chatcmpl-" + hex64(n * 0x9E3779B97F4A7C15ull);
}

Reply Handler::chat_reply(const ChatCall& call, const Completion& completion, const std::string& id,
                          bool refused) const {
  json message = {{"role", "assistant"}};
  message["content"] =
      refused ? json("") : (completion.tool_calls.empty() ? json(completion.content) : json());
  if (refused) {
    message["refusal"] = "The request was refused by the content filter.";
  }
  if (!refused && !completion.tool_calls.empty()) {
    json calls = json::array();
    for (const ToolCall& c : completion.tool_calls) {
      calls.push_back({{"id", c.id},
                       {"type", "function"},
                       {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    }
    message["tool_calls"] = calls;
  }
  int64_t completion_tokens = refused ? 0 : completion.completion_tokens;
  json body = {
      {"id", id},
      {"object", "chat.completion"},
      {"created", static_cast<int64_t>(std::time(nullptr))},
      {"model", call.model},
      {"system_fingerprint", "cairn-model-endpoint"},
      {"choices",
       json::array({{{"index", 0},
                     {"message", message},
                     {"logprobs", nullptr},
                     {"finish_reason", refused ? "content_filter" : completion.finish_reason}}})},
      {"usage",
       {{"prompt_tokens", completion.prompt_tokens},
        {"completion_tokens", completion_tokens},
        {"total_tokens", completion.prompt_tokens + completion_tokens},
        {"prompt_tokens_details", {{"cached_tokens", 0}}}}}};
  return json_reply(body);
}

Reply Handler::embeddings(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("input")) {
    return invalid("input", "expected a string or an array of strings");
  }
  std::vector<std::string> inputs;
  const json& input = j["input"];
  if (input.is_string()) {
    inputs.push_back(input.get<std::string>());
  } else if (input.is_array()) {
    for (size_t i = 0; i < input.size(); ++i) {
      if (!input[i].is_string()) {
        return invalid("input[" + std::to_string(i) + "]", "expected a string");
      }
      inputs.push_back(input[i].get<std::string>());
    }
  } else {
    return invalid("input", "expected a string or an array of strings");
  }
  if (inputs.empty()) {
    return invalid("input", "expected at least one input");
  }
  if (inputs.size() > kMaxEmbeddingInputs) {
    return invalid("input", "at most 2048 inputs per request, got " +
                                std::to_string(inputs.size()) + ": split the batch");
  }
  int64_t dim = options_.embedding_dim;
  if (j.contains("dimensions") && !j["dimensions"].is_null()) {
    if (!j["dimensions"].is_number_integer() || j["dimensions"].get<int64_t>() < 1 ||
        j["dimensions"].get<int64_t>() > 4096) {
      return invalid("dimensions", "expected an integer between 1 and 4096");
    }
    dim = j["dimensions"].get<int64_t>();
  }
  bool base64 = false;
  if (j.contains("encoding_format") && !j["encoding_format"].is_null()) {
    std::string format =
        j["encoding_format"].is_string() ? j["encoding_format"].get<std::string>() : "";
    if (format != "float" && format != "base64") {
      return invalid("encoding_format", "expected \"float\" or \"base64\"");
    }
    base64 = format == "base64";
  }
  std::string model =
      j.contains("model") && j["model"].is_string() && !j["model"].get<std::string>().empty()
          ? j["model"].get<std::string>()
          : options_.model;
  json data = json::array();
  int64_t tokens = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    tokens += count_tokens(inputs[i]);
    std::vector<float> v = hashed_embedding(inputs[i], static_cast<size_t>(dim));
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", base64 ? json(base64_floats(v)) : json(v)}});
  }
  return json_reply({{"object", "list"},
                     {"data", data},
                     {"model", model},
                     {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
}

Reply Handler::models() const {
  return json_reply({{"object", "list"},
                     {"data", json::array({{{"id", options_.model},
                                            {"object", "model"},
                                            {"created", 0},
                                            {"owned_by", "cairn"}}})}});
}

Reply Handler::fault_reply(const Fault& fault) {
  if (fault.mode == FaultMode::kRateLimit) {
    Reply r = error_reply(429, "rate_limit_error",
                          "Rate limit reached for requests: retry after the delay in the "
                          "Retry-After header.",
                          fault.error_code.empty() ? "rate_limit_exceeded" : fault.error_code);
    if (!fault.retry_after.empty()) {
      r.headers.emplace_back("Retry-After", fault.retry_after);
    }
    if (fault.retry_after_ms >= 0) {
      r.headers.emplace_back("retry-after-ms", std::to_string(fault.retry_after_ms));
    }
    return r;
  }
  std::string type = fault.status >= 500 ? "server_error" : "invalid_request_error";
  if (fault.error_code == "insufficient_quota") {
    type = "insufficient_quota";
  }
  return error_reply(fault.status, type,
                     "The endpoint answered " + std::to_string(fault.status) +
                         " because a fault was set through /control/faults.",
                     fault.error_code);
}

Reply Handler::set_faults(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  Fault fault;
  std::string error;
  if (!parse_fault(j, &fault, &error)) {
    return error_reply(400, "invalid_request_error", error);
  }
  faults_.set(fault);
  return json_reply({{"ok", true}});
}

Reply Handler::stats_reply() const { return json_reply(stats_.to_json()); }

Reply Handler::reset() {
  faults_.reset();
  stats_.reset();
  return json_reply({{"ok", true}});
}

std::string Handler::chunk_event(const ChatCall& call, const std::string& id, const json& delta,
                                 const json& finish_reason) const {
  json chunk = {{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", static_cast<int64_t>(std::time(nullptr))},
                {"model", call.model},
                {"system_fingerprint", "cairn-model-endpoint"},
                {"choices", json::array({{{"index", 0},
                                          {"delta", delta},
                                          {"logprobs", nullptr},
                                          {"finish_reason", finish_reason}}})}};
  return "data: " + dump(chunk) + "\n\n";
}

std::string Handler::usage_event(const ChatCall& call, const std::string& id,
                                 const Completion& completion) const {
  json chunk = {{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", static_cast<int64_t>(std::time(nullptr))},
                {"model", call.model},
                {"choices", json::array()},
                {"usage",
                 {{"prompt_tokens", completion.prompt_tokens},
                  {"completion_tokens", completion.completion_tokens},
                  {"total_tokens", completion.prompt_tokens + completion.completion_tokens},
                  {"prompt_tokens_details", {{"cached_tokens", 0}}}}}};
  return "data: " + dump(chunk) + "\n\n";
}

std::string Handler::error_event(const Fault& fault) {
  json err = {
      {"error",
       {{"message",
         "The stream was interrupted: a stream_error fault was set through "
         "/control/faults."},
        {"type", "server_error"},
        {"param", nullptr},
        {"code", fault.error_code.empty() ? json("stream_interrupted") : json(fault.error_code)}}}};
  return "data: " + dump(err) + "\n\n";
}

}  // namespace cairn::ai::endpoint
