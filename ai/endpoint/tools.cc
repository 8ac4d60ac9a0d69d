#include "ai/endpoint/tools.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include "cairn/ai/tokenizer.h"

namespace cairn::ai::endpoint {
namespace {

// Verbs that name what a tool does rather than what it is about: "get_order" is about orders.
bool is_generic_part(const std::string& w) {
  static const std::set<std::string> kGeneric = {
      "get",   "set",   "lookup", "look", "up",     "find",   "search",
      "check", "fetch", "query",  "list", "create", "update", "tool",
      "run",   "call",  "do",     "make", "by",     "for",    "the"};
  return kGeneric.count(w) != 0;
}

// The parts of a tool name: "lookupOrder", "lookup_order", "kb.search" → lookup, order, ...
std::vector<std::string> name_parts(const std::string& name) {
  std::string spaced;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (i > 0 && std::isupper(static_cast<unsigned char>(c)) &&
        std::islower(static_cast<unsigned char>(name[i - 1]))) {
      spaced.push_back(' ');
    }
    spaced.push_back(c);
  }
  return words(spaced);
}

int match_score(const ToolSpec& tool, const std::string& question) {
  std::string lower;
  for (char c : question) {
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  std::string name_lower;
  for (char c : tool.name) {
    name_lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (!name_lower.empty() && lower.find(name_lower) != std::string::npos) {
    return 100;  // named outright
  }
  std::set<std::string> question_stems;
  for (const std::string& w : words(question)) {
    question_stems.insert(stem_word(w));
  }
  std::vector<std::string> parts = name_parts(tool.name);
  std::vector<std::string> keywords;
  for (const std::string& p : parts) {
    if (!is_generic_part(p)) {
      keywords.push_back(p);
    }
  }
  if (keywords.empty()) {
    keywords = parts;
  }
  int score = 0;
  for (const std::string& k : keywords) {
    score += question_stems.count(stem_word(k)) != 0 ? 1 : 0;
  }
  return score;
}

bool is_id_like(const std::string& name) {
  static const std::vector<std::string> kIdParts = {
      "id", "number", "order", "ticket", "account", "sku", "code", "reference", "ref", "invoice"};
  for (const std::string& part : name_parts(name)) {
    for (const std::string& k : kIdParts) {
      if (part == k) {
        return true;
      }
    }
  }
  return false;
}

// Runs of [A-Za-z0-9_-] in `text`, in order, trailing '-' and '_' dropped.
std::vector<std::string> raw_words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    while (!cur.empty() && (cur.back() == '-' || cur.back() == '_')) {
      cur.pop_back();
    }
    if (!cur.empty()) {
      out.push_back(cur);
    }
    cur.clear();
  };
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
      cur.push_back(c);
    } else {
      flush();
    }
  }
  flush();
  return out;
}

std::string first_with_digit(const std::string& text) {
  for (const std::string& w : raw_words(text)) {
    for (char c : w) {
      if (std::isdigit(static_cast<unsigned char>(c))) {
        return w;
      }
    }
  }
  return "";
}

std::string first_email(const std::string& text) {
  size_t at = text.find('@');
  while (at != std::string::npos) {
    size_t b = at;
    while (b > 0 && (std::isalnum(static_cast<unsigned char>(text[b - 1])) ||
                     std::string("._%+-").find(text[b - 1]) != std::string::npos)) {
      --b;
    }
    size_t e = at + 1;
    while (e < text.size() && (std::isalnum(static_cast<unsigned char>(text[e])) ||
                               text[e] == '.' || text[e] == '-')) {
      ++e;
    }
    while (e > at + 1 && text[e - 1] == '.') {
      --e;
    }
    if (b < at && e > at + 1) {
      return text.substr(b, e - b);
    }
    at = text.find('@', at + 1);
  }
  return "";
}

std::string trim_question(std::string q) {
  while (!q.empty() && (std::isspace(static_cast<unsigned char>(q.back())) || q.back() == '?')) {
    q.pop_back();
  }
  size_t b = 0;
  while (b < q.size() && std::isspace(static_cast<unsigned char>(q[b]))) {
    ++b;
  }
  return q.substr(b);
}

nlohmann::json argument_for(const std::string& name, const nlohmann::json& schema,
                            const std::string& question, bool required) {
  std::string type = schema.is_object() && schema.contains("type") && schema["type"].is_string()
                         ? schema["type"].get<std::string>()
                         : "string";
  if (schema.is_object() && schema.contains("enum") && schema["enum"].is_array() &&
      !schema["enum"].empty()) {
    std::set<std::string> q;
    for (const std::string& w : words(question)) {
      q.insert(stem_word(w));
    }
    for (const auto& v : schema["enum"]) {
      if (v.is_string()) {
        auto parts = words(v.get<std::string>());
        bool all = !parts.empty();
        for (const auto& p : parts) {
          all = all && q.count(stem_word(p)) != 0;
        }
        if (all) {
          return v;
        }
      }
    }
    return required ? schema["enum"][0] : nlohmann::json();
  }
  if (type == "integer" || type == "number") {
    for (const std::string& w : raw_words(question)) {
      if (!w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
          })) {
        return type == "integer" ? nlohmann::json(std::stoll(w)) : nlohmann::json(std::stod(w));
      }
    }
    return required ? nlohmann::json(0) : nlohmann::json();
  }
  if (type == "boolean") {
    return required ? nlohmann::json(false) : nlohmann::json();
  }
  if (type != "string") {
    return nlohmann::json();
  }
  std::string lower_name;
  for (char c : name) {
    lower_name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (lower_name.find("email") != std::string::npos) {
    std::string email = first_email(question);
    return !email.empty() || required ? nlohmann::json(email) : nlohmann::json();
  }
  if (is_id_like(name)) {
    std::string id = first_with_digit(question);
    return !id.empty() || required ? nlohmann::json(id) : nlohmann::json();
  }
  return trim_question(question);
}

}  // namespace

std::optional<ToolSpec> choose_tool(const ChatRequest& request, const std::string& question) {
  if (request.tools.empty()) {
    return std::nullopt;
  }
  const nlohmann::json& choice = request.tool_choice;
  if (choice.is_string() && choice.get<std::string>() == "none") {
    return std::nullopt;
  }
  if (choice.is_object() && choice.contains("function") && choice["function"].is_object()) {
    std::string forced = choice["function"].value("name", "");
    for (const ToolSpec& t : request.tools) {
      if (t.name == forced) {
        return t;
      }
    }
    return std::nullopt;
  }
  int best = 0;
  const ToolSpec* chosen = nullptr;
  for (const ToolSpec& t : request.tools) {
    int score = match_score(t, question);
    if (score > best) {
      best = score;
      chosen = &t;
    }
  }
  if (chosen == nullptr && choice.is_string() && choice.get<std::string>() == "required") {
    chosen = &request.tools.front();
  }
  if (chosen == nullptr) {
    return std::nullopt;
  }
  return *chosen;
}

nlohmann::json build_arguments(const ToolSpec& tool, const std::string& question) {
  nlohmann::json args = nlohmann::json::object();
  const nlohmann::json& params = tool.parameters;
  if (!params.is_object() || !params.contains("properties") || !params["properties"].is_object()) {
    return args;
  }
  std::set<std::string> required;
  if (params.contains("required") && params["required"].is_array()) {
    for (const auto& r : params["required"]) {
      if (r.is_string()) {
        required.insert(r.get<std::string>());
      }
    }
  }
  for (const auto& [name, schema] : params["properties"].items()) {
    nlohmann::json v = argument_for(name, schema, question, required.count(name) != 0);
    if (!v.is_null()) {
      args[name] = v;
    }
  }
  return args;
}

std::string structured_answer(const nlohmann::json& response_format, const std::string& answer,
                              const std::string& question) {
  using nlohmann::json;
  auto dump = [](const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); };
  std::string type = response_format.is_object() ? response_format.value("type", "") : "";
  if (type == "json_object") {
    return dump({{"answer", answer}});
  }
  if (type != "json_schema") {
    return answer;
  }
  const json* schema = nullptr;
  if (response_format.contains("json_schema") && response_format["json_schema"].is_object() &&
      response_format["json_schema"].contains("schema")) {
    schema = &response_format["json_schema"]["schema"];
  }
  json out = json::object();
  if (schema == nullptr || !schema->is_object() || !schema->contains("properties") ||
      !(*schema)["properties"].is_object()) {
    return dump({{"answer", answer}});
  }
  for (const auto& [name, prop] : (*schema)["properties"].items()) {
    std::string t = prop.is_object() ? prop.value("type", "string") : "string";
    if (prop.is_object() && prop.contains("enum")) {
      json v = argument_for(name, prop, question, /*required=*/false);
      out[name] = v.is_null() ? argument_for(name, prop, answer, /*required=*/true) : v;
    } else if (t == "integer" || t == "number" || t == "boolean") {
      out[name] = argument_for(name, prop, question, /*required=*/true);
    } else if (t == "array") {
      out[name] = json::array({answer});
    } else if (t == "object") {
      out[name] = json::object();
    } else {
      out[name] = answer;
    }
  }
  return dump(out);
}

std::string render_tool_result(const std::string& content) {
  nlohmann::json j = nlohmann::json::parse(content, nullptr, /*allow_exceptions=*/false);
  auto scalar = [](const nlohmann::json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  if (j.is_object()) {
    std::string out;
    for (const auto& [key, value] : j.items()) {
      std::string k = key;
      for (char& c : k) {
        c = c == '_' ? ' ' : c;
      }
      out += (out.empty() ? "" : ", ") + k + " is " + scalar(value);
    }
    return out.empty() ? "no details" : out;
  }
  if (j.is_array()) {
    std::string out;
    for (const auto& item : j) {
      out += (out.empty() ? "" : "; ") +
             (item.is_object() ? render_tool_result(item.dump()) : scalar(item));
    }
    return out.empty() ? "nothing" : out;
  }
  if (j.is_string()) {
    return j.get<std::string>();
  }
  return content;
}

std::string tool_call_id(const std::string& name, const std::string& arguments, size_t index) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : name + "\x1f" + arguments + "\x1f" + std::to_string(index)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  uint64_t h2 = h * 0x9E3779B97F4A7C15ull;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx%08llx", static_cast<unsigned long long>(h),
                static_cast<unsigned long long>(h2 >> 32));
  return std::string("call_") + buf;
}

}  // namespace cairn::ai::endpoint
