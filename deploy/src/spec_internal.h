// Private to the spec parser (deploy/src/spec_*.cc): the positions of a parsed document's keys
// and values by JSON pointer, and the helpers that turn them into errors. Not thread-safe; one
// per parse_stack call.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/deploy/spec.h"

namespace cairn::deploy::spec_internal {

// One parse: the source (for columns inside strings), the positions, and the errors found.
struct ParseContext {
  std::string file;
  std::vector<std::string> lines;                   // the source, split at '\n'
  std::map<std::string, Location> key_positions;    // pointer → where the key was written
  std::map<std::string, Location> value_positions;  // pointer → where the value starts
  SpecErrors errors;
  // Map keys in the order written, by the map's pointer (JSON objects sort their keys).
  std::map<std::string, std::vector<std::string>> key_order;

  Location key_at(const std::string& pointer) const;    // falls back to the value, then line 0
  Location value_at(const std::string& pointer) const;  // falls back to the key, then line 0
  // Where `needle` is written at or after the value of `pointer` on its line, else value_at.
  Location find_in_value(const std::string& pointer, std::string_view needle) const;
  void error(Location where, std::string message) {
    errors.add(std::move(where), std::move(message));
  }
};

// A JSON pointer token ("~" → "~0", "/" → "~1").
std::string pointer_token(std::string_view key);

// ` (did you mean "x"?)` when one of `candidates` is close to `word`, else
// ` (expected one of: a, b, c)`; empty when there are no candidates.
std::string suggestion(std::string_view word, const std::vector<std::string>& candidates);

// A description of a value's JSON type for messages: "a string", "a list", …
std::string describe(const nlohmann::json& value);

// The rules of one value against its schema's kind and bounds — the kind, the allowed strings,
// the integer range, dollars with at most 6 decimals — shared by the spec validator and
// check_inputs (schema_check.cc), so the two never disagree. Returns the message naming `path`
// ("\"port\" must be between 0 and 65535, not -1"), or "" when the value passes. A list's
// elements and a map's fields are not looked into; `value` is not a secret reference.
std::string value_problem(const nlohmann::json& value, const InputSchema& s,
                          const std::string& path);

// Validates and completes the inputs of `resource` (of type `type`): unknown fields, missing
// required ones (defaults filled in), value types, secrets, references to `resources` (name →
// the raw inputs and type of every resource in the spec). `pointer` is the resource's inputs'
// document pointer.
struct KnownResource {
  const TypeSchema* type = nullptr;  // nullptr: unknown type (references to it are not checked)
  const nlohmann::json* inputs = nullptr;
  std::string type_name;
};
void validate_inputs(ResourceSpec& resource, const TypeSchema& type, const std::string& pointer,
                     const std::map<std::string, KnownResource>& resources, ParseContext& ctx);

// "500ms", "30s", "10m", "1h", "1d" → milliseconds; nullopt when malformed.
std::optional<int64_t> parse_duration_ms(const std::string& text);

// The top-level `reconcile:` block (spec_scaling.cc).
void parse_reconcile(const nlohmann::json& value, ParseContext& ctx, ReconcileSpec& out);
// A resource's `scaling:` block at document pointer `pointer`, checked against the spec's
// resources (the router of target tracking); sets r.scaling unless the block is not a map.
void parse_scaling(const nlohmann::json& value, const std::string& pointer, ResourceSpec& r,
                   const std::vector<ResourceSpec>& resources, ParseContext& ctx);

}  // namespace cairn::deploy::spec_internal
