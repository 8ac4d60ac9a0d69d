// Positioned spec errors and the report (cairn/deploy/spec.h), and the message helpers the
// parser shares (spec_internal.h).
#include <algorithm>
#include <tuple>

#include "spec_internal.h"

namespace cairn::deploy {

std::string Location::to_string() const {
  if (line <= 0) {
    return file;
  }
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string SpecError::to_string() const { return where.to_string() + ": error: " + message; }

void SpecErrors::add(Location where, std::string message) {
  errors_.push_back(SpecError{std::move(where), std::move(message)});
}

void SpecErrors::sort() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const SpecError& a, const SpecError& b) {
    return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
  });
}

std::string SpecErrors::report() const {
  std::string out;
  for (const auto& e : errors_) {
    out += e.to_string() + "\n";
  }
  out += std::to_string(errors_.size()) + (errors_.size() == 1 ? " error" : " errors");
  return out;
}

StackSpecError::StackSpecError(SpecErrors errors)
    : cairn::Error(errors.report()), errors_(std::move(errors)) {}

namespace spec_internal {

Location ParseContext::key_at(const std::string& pointer) const {
  if (auto it = key_positions.find(pointer); it != key_positions.end()) {
    return it->second;
  }
  if (auto it = value_positions.find(pointer); it != value_positions.end()) {
    return it->second;
  }
  return Location{file, 0, 0};
}

Location ParseContext::value_at(const std::string& pointer) const {
  if (auto it = value_positions.find(pointer); it != value_positions.end()) {
    return it->second;
  }
  return key_at(pointer);
}

Location ParseContext::find_in_value(const std::string& pointer, std::string_view needle) const {
  Location at = value_at(pointer);
  if (at.line <= 0 || at.line > static_cast<int>(lines.size())) {
    return at;
  }
  const std::string& line = lines[at.line - 1];
  size_t from = at.column > 0 ? static_cast<size_t>(at.column - 1) : 0;
  size_t found = line.find(needle, std::min(from, line.size()));
  if (found != std::string::npos) {
    at.column = static_cast<int>(found) + 1;
  }
  return at;
}

std::string pointer_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      // A swap of two neighbours counts as one edit ("maxmeomry").
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev[j - 1]);
      }
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  if (candidates.empty()) {
    return "";
  }
  const std::string* best = nullptr;
  size_t best_distance = 0;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (best == nullptr || d < best_distance) {
      best = &c;
      best_distance = d;
    }
  }
  size_t limit = std::max<size_t>(2, std::min(word.size(), best->size()) / 3);
  if (best_distance <= limit && best_distance < best->size()) {
    return " (did you mean \"" + *best + "\"?)";
  }
  std::string list;
  for (const auto& c : candidates) {
    list += (list.empty() ? "" : ", ") + c;
  }
  return " (expected one of: " + list + ")";
}

std::string describe(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "nothing";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "an integer";
    case nlohmann::json::value_t::number_float:
      return "a decimal number";
    case nlohmann::json::value_t::array:
      return "a list";
    case nlohmann::json::value_t::object:
      return "a map";
    default:
      return "a value";
  }
}

}  // namespace spec_internal
}  // namespace cairn::deploy
