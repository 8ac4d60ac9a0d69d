// References inside string values (cairn/deploy/spec.h): "${resource.output}", "$${" for a
// literal "${". Parsing is shared by validation (which reports malformed ones with a column),
// the graph (edges) and planning / apply (substitution).
#include <cctype>

#include "cairn/deploy/spec.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;

bool is_name(std::string_view s, bool allow_upper) {
  if (s.empty() || !(std::islower(static_cast<unsigned char>(s[0])) ||
                     (allow_upper && std::isalpha(static_cast<unsigned char>(s[0]))) ||
                     (allow_upper && s[0] == '_'))) {
    return false;
  }
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    bool ok = std::islower(u) || std::isdigit(u) || c == '_' || c == '-' ||
              (allow_upper && std::isupper(u));
    if (!ok) {
      return false;
    }
  }
  return true;
}

void collect(const json& value, std::vector<Reference>& out) {
  if (value.is_string()) {
    for (auto& r : parse_references(value.get_ref<const std::string&>())) {
      out.push_back(std::move(r));
    }
  } else if (value.is_array() || value.is_object()) {
    if (as_secret_ref(value)) {
      return;
    }
    for (const auto& v : value) {
      collect(v, out);
    }
  }
}

// The text of a value interpolated into a string.
std::string as_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

std::vector<Reference> parse_references(
    std::string_view text, const std::function<void(size_t, const std::string&)>& error) {
  std::vector<Reference> refs;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] != '$') {
      continue;
    }
    if (text[i + 1] == '$' && i + 2 < text.size() && text[i + 2] == '{') {
      i += 2;  // "$${": a literal "${"
      continue;
    }
    if (text[i + 1] != '{') {
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      if (error) {
        error(i, "reference \"" + std::string(text.substr(i)) +
                     "\" is not closed: write ${resource.output}");
      }
      break;
    }
    std::string_view body = text.substr(i + 2, close - i - 2);
    size_t dot = body.find('.');
    std::string_view resource = body.substr(0, dot);
    std::string_view output = dot == std::string_view::npos ? "" : body.substr(dot + 1);
    if (dot == std::string_view::npos || !is_name(resource, false) || !is_name(output, true)) {
      if (error) {
        error(i, "malformed reference \"${" + std::string(body) +
                     "}\": write ${resource.output} (a resource name, a dot, an output name)");
      }
    } else {
      refs.push_back(Reference{std::string(resource), std::string(output), i, close - i + 1});
    }
    i = close;
  }
  return refs;
}

std::optional<Reference> whole_reference(std::string_view text) {
  auto refs = parse_references(text);
  if (refs.size() == 1 && refs[0].offset == 0 && refs[0].length == text.size()) {
    return refs[0];
  }
  return std::nullopt;
}

std::vector<Reference> references_in(const json& value) {
  std::vector<Reference> out;
  collect(value, out);
  return out;
}

bool is_known_after_apply(const json& value) {
  return value.is_object() && value.size() == 1 && value.contains("known_after_apply");
}

json substitute(const json& value, const OutputLookup& lookup, bool* unknown) {
  if (value.is_array()) {
    json out = json::array();
    for (const auto& v : value) {
      out.push_back(substitute(v, lookup, unknown));
    }
    return out;
  }
  if (value.is_object()) {
    if (as_secret_ref(value)) {
      return value;
    }
    json out = json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      out[it.key()] = substitute(it.value(), lookup, unknown);
    }
    return out;
  }
  if (!value.is_string()) {
    return value;
  }
  const std::string& text = value.get_ref<const std::string&>();
  auto refs = parse_references(text);
  auto mark_unknown = [&] {
    if (unknown != nullptr) {
      *unknown = true;
    }
    return json{{"known_after_apply", text}};
  };
  if (auto whole = whole_reference(text)) {
    auto v = lookup(*whole);
    return v ? *v : mark_unknown();
  }
  std::string out;
  size_t pos = 0;
  for (const auto& r : refs) {
    std::string_view literal(text.data() + pos, r.offset - pos);
    // Undo the "$${" escapes in the literal stretch.
    for (size_t i = 0; i < literal.size(); ++i) {
      if (literal.substr(i, 3) == "$${") {
        continue;
      }
      out.push_back(literal[i]);
    }
    auto v = lookup(r);
    if (!v) {
      return mark_unknown();
    }
    out += as_text(*v);
    pos = r.offset + r.length;
  }
  std::string_view rest(text.data() + pos, text.size() - pos);
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest.substr(i, 3) == "$${") {
      continue;
    }
    out.push_back(rest[i]);
  }
  return out;
}

}  // namespace cairn::deploy
