// The OpenAI wire format (see openai_wire.h).
#include "openai_wire.h"

#include <stdexcept>

namespace cairn::ai {
namespace {

using nlohmann::json;

std::string string_or_empty(const json& j, const char* key) {
  auto it = j.find(key);
  if (it != j.end() && it->is_string()) {
    return it->get<std::string>();
  }
  return "";
}

int64_t int_or_zero(const json& j, const char* key) {
  auto it = j.find(key);
  if (it != j.end() && it->is_number()) {
    return it->get<int64_t>();
  }
  return 0;
}

json message_json(const Message& m, size_t index) {
  if (m.content.empty() && !m.content_ref.empty()) {
    throw std::invalid_argument("message " + std::to_string(index) + " (" + m.role +
                                ") still refers to " + m.content_ref +
                                ": resolve content_ref before calling the model");
  }
  json j = {{"role", m.role}};
  if (m.content.empty() && !m.tool_calls.empty()) {
    j["content"] = nullptr;  // an assistant turn that only calls tools
  } else {
    j["content"] = m.content;
  }
  if (!m.name.empty()) {
    j["name"] = m.name;
  }
  if (!m.tool_call_id.empty()) {
    j["tool_call_id"] = m.tool_call_id;
  }
  if (!m.tool_calls.empty()) {
    json calls = json::array();
    for (const auto& c : m.tool_calls) {
      calls.push_back({{"id", c.id},
                       {"type", "function"},
                       {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    }
    j["tool_calls"] = std::move(calls);
  }
  return j;
}

std::vector<ToolCall> parse_tool_calls(const json& calls) {
  std::vector<ToolCall> out;
  if (!calls.is_array()) {
    return out;
  }
  for (const auto& c : calls) {
    ToolCall t;
    t.id = string_or_empty(c, "id");
    if (auto f = c.find("function"); f != c.end() && f->is_object()) {
      t.name = string_or_empty(*f, "name");
      if (auto a = f->find("arguments"); a != f->end()) {
        t.arguments = a->is_string() ? a->get<std::string>() : a->dump();
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

json chat_request_body(const ChatRequest& request, const std::string& model, bool stream) {
  json body;
  body["model"] = request.model.empty() ? model : request.model;
  json messages = json::array();
  for (size_t i = 0; i < request.messages.size(); ++i) {
    messages.push_back(message_json(request.messages[i], i));
  }
  body["messages"] = std::move(messages);
  if (request.temperature) {
    body["temperature"] = *request.temperature;
  }
  if (request.max_tokens) {
    body["max_tokens"] = *request.max_tokens;
  }
  if (!request.stop.empty()) {
    body["stop"] = request.stop;
  }
  if (request.seed) {
    body["seed"] = *request.seed;
  }
  if (!request.tools.empty()) {
    json tools = json::array();
    for (const auto& t : request.tools) {
      json f = {{"name", t.name}, {"parameters", t.parameters}};
      if (!t.description.empty()) {
        f["description"] = t.description;
      }
      tools.push_back({{"type", "function"}, {"function", std::move(f)}});
    }
    body["tools"] = std::move(tools);
  }
  if (!request.tool_choice.is_null()) {
    body["tool_choice"] = request.tool_choice;
  }
  if (!request.response_format.is_null()) {
    body["response_format"] = request.response_format;
  }
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  return body;
}

Usage parse_usage(const json& usage) {
  Usage u;
  if (!usage.is_object()) {
    return u;
  }
  u.prompt_tokens = int_or_zero(usage, "prompt_tokens");
  u.completion_tokens = int_or_zero(usage, "completion_tokens");
  if (auto d = usage.find("prompt_tokens_details"); d != usage.end() && d->is_object()) {
    u.cached_tokens = int_or_zero(*d, "cached_tokens");
  }
  return u;
}

ChatResponse parse_chat_response(const json& body) {
  if (!body.is_object()) {
    throw std::runtime_error("the answer is not a JSON object");
  }
  auto choices = body.find("choices");
  if (choices == body.end() || !choices->is_array() || choices->empty()) {
    throw std::runtime_error("the answer has no choices");
  }
  const json& choice = (*choices)[0];
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) {
    throw std::runtime_error("the answer's first choice has no message");
  }
  ChatResponse r;
  r.id = string_or_empty(body, "id");
  r.model = string_or_empty(body, "model");
  r.message.role = string_or_empty(*message, "role");
  if (r.message.role.empty()) {
    r.message.role = "assistant";
  }
  r.message.content = string_or_empty(*message, "content");
  if (auto calls = message->find("tool_calls"); calls != message->end()) {
    r.message.tool_calls = parse_tool_calls(*calls);
  }
  r.finish_reason = string_or_empty(choice, "finish_reason");
  if (!string_or_empty(*message, "refusal").empty()) {
    r.finish_reason = "content_filter";  // a refusal is a content filter by another name
  }
  if (auto u = body.find("usage"); u != body.end()) {
    r.usage = parse_usage(*u);
  }
  return r;
}

std::string ChatStreamAccumulator::add(const json& chunk) {
  if (!chunk.is_object()) {
    throw std::runtime_error("a stream chunk is not a JSON object");
  }
  if (id_.empty()) {
    id_ = string_or_empty(chunk, "id");
  }
  if (model_.empty()) {
    model_ = string_or_empty(chunk, "model");
  }
  if (auto u = chunk.find("usage"); u != chunk.end() && u->is_object()) {
    usage_ = parse_usage(*u);
  }
  std::string delta_text;
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array()) {
    return delta_text;
  }
  for (const auto& choice : *choices) {
    if (int_or_zero(choice, "index") != 0) {
      continue;  // n > 1 is not requested
    }
    if (auto f = choice.find("finish_reason"); f != choice.end() && f->is_string()) {
      finish_reason_ = f->get<std::string>();
    }
    auto delta = choice.find("delta");
    if (delta == choice.end() || !delta->is_object()) {
      continue;
    }
    std::string content = string_or_empty(*delta, "content");
    if (!content.empty()) {
      saw_token_ = true;
      content_ += content;
      delta_text += content;
    }
    std::string refusal = string_or_empty(*delta, "refusal");
    if (!refusal.empty()) {
      saw_token_ = true;
      refusal_ += refusal;
    }
    auto calls = delta->find("tool_calls");
    if (calls == delta->end() || !calls->is_array()) {
      continue;
    }
    for (const auto& c : *calls) {
      saw_token_ = true;
      int index = static_cast<int>(int_or_zero(c, "index"));
      ToolCall& t = tool_calls_[index];
      if (std::string id = string_or_empty(c, "id"); !id.empty()) {
        t.id = id;
      }
      if (auto f = c.find("function"); f != c.end() && f->is_object()) {
        t.name += string_or_empty(*f, "name");
        t.arguments += string_or_empty(*f, "arguments");
      }
    }
  }
  return delta_text;
}

ChatResponse ChatStreamAccumulator::response() const {
  ChatResponse r;
  r.id = id_;
  r.model = model_;
  r.message.role = "assistant";
  r.message.content = content_;
  for (const auto& [index, call] : tool_calls_) {
    r.message.tool_calls.push_back(call);
  }
  r.finish_reason = refusal_.empty() ? finish_reason_ : "content_filter";
  r.usage = usage_;
  return r;
}

json embedding_request_body(const EmbeddingRequest& request, const std::string& model) {
  return {{"model", request.model.empty() ? model : request.model},
          {"input", request.input},
          {"encoding_format", "float"}};
}

EmbeddingResponse parse_embedding_response(const json& body, size_t expected) {
  if (!body.is_object()) {
    throw std::runtime_error("the answer is not a JSON object");
  }
  auto data = body.find("data");
  if (data == body.end() || !data->is_array()) {
    throw std::runtime_error("the answer has no data list");
  }
  if (data->size() != expected) {
    throw std::runtime_error("the answer has " + std::to_string(data->size()) + " embeddings for " +
                             std::to_string(expected) + " inputs");
  }
  EmbeddingResponse r;
  r.model = string_or_empty(body, "model");
  r.data.resize(expected);
  std::vector<bool> seen(expected, false);
  for (size_t i = 0; i < data->size(); ++i) {
    const json& item = (*data)[i];
    size_t index = item.contains("index") && item["index"].is_number_unsigned()
                       ? item["index"].get<size_t>()
                       : i;
    auto vec = item.find("embedding");
    if (index >= expected || seen[index] || vec == item.end() || !vec->is_array()) {
      throw std::runtime_error("embedding " + std::to_string(i) +
                               " has a bad or repeated index or no vector");
    }
    seen[index] = true;
    r.data[index] = vec->get<std::vector<float>>();
  }
  if (auto u = body.find("usage"); u != body.end()) {
    r.usage = parse_usage(*u);
  }
  return r;
}

}  // namespace cairn::ai
