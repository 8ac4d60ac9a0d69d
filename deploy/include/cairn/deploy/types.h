// The resource type registry: for every type a stack spec may name, the schema of its inputs and
// outputs, whether it holds data, its cost model and whether `apply` can make it. Spec validation
// (spec.h), planning (plan.h) and the providers all read it. The registry is immutable after
// static initialisation: thread-safe; the schemas it returns live for the whole program.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/types.h"

namespace cairn::deploy {

using Micros = cairn::ai::Micros;  // money: integer micro-dollars, never floating point
inline constexpr int64_t kHoursPerMonth = 730;

// The JSON type a value must have. kNumber accepts integers and decimals; kMoney is a kNumber of
// dollars with at most 6 decimals, read exactly into Micros.
enum class ValueKind { kAny, kString, kInt, kNumber, kMoney, kBool, kList, kMap };
const char* kind_name(ValueKind kind);  // "a string", "an integer", …

struct InputSchema {
  std::string name;
  ValueKind kind = ValueKind::kString;
  bool required = false;
  std::optional<nlohmann::json> default_value;  // applied by parse_stack when the input is absent
  bool replace_on_change = false;    // a change replaces the resource instead of updating it
  bool secret = false;               // only {secret: "env:NAME"} / {secret: "file:PATH"} accepted
  std::vector<std::string> allowed;  // kString: the only accepted values (empty: any)
  std::vector<InputSchema> fields;   // kMap: its fields (empty: a free-form map)
  std::vector<InputSchema> element;  // kList: at most one, the schema of each element
  ValueKind map_values = ValueKind::kAny;  // kMap without fields: the type of each value
  std::string ref_type;  // when the value is a whole reference, the referenced resource's type
  std::optional<int64_t> min, max;  // kInt: accepted range
  std::string doc;                  // one line for docs and messages
};

struct OutputSchema {
  std::string name;
  ValueKind kind = ValueKind::kAny;
  // Inputs whose in-place update changes this output (replicas → urls). An output not listed as
  // changing keeps its recorded value across an in-place update; see plan.h.
  std::vector<std::string> changes_with;
};

struct TypeSchema {
  std::string name;  // "redis", or the prefix "aws:" for the cloud families
  std::vector<InputSchema> inputs;
  std::vector<OutputSchema> outputs;
  // Free-form inputs (cloud types): any field accepted, none checked except cost_per_hour,
  // holds_data and outputs.
  bool free_form = false;
  // Outputs are the names listed in the resource's `outputs` input (command, cloud types; cloud
  // types without that list accept any output name). Such outputs may change on any update.
  bool declared_outputs = false;
  bool apply_supported = true;  // false: declarable and planned, refused by apply
  std::string doc;

  const InputSchema* input(std::string_view name) const;
  // The output `name` of a resource of this type with these inputs, or nullopt. For declared
  // outputs the kind is kAny.
  std::optional<OutputSchema> output(std::string_view name, const nlohmann::json& inputs) const;
  // Output names of a resource of this type with these inputs (declared ones included).
  std::vector<std::string> output_names(const nlohmann::json& inputs) const;
};

// One problem of a resource's inputs: `field` is the input's path ("health.tcp", "args[2]",
// "tiers[0].urls"; "" for the inputs as a whole). Found by check_inputs and the providers'
// check().
struct InputError {
  std::string field;
  std::string message;
};

// The shape of `inputs` against `type`'s schema, every problem at once (empty: they conform):
// unknown fields (in nested maps too: "health.tcpp"), missing required ones, value kinds (kMoney
// by money_micros), allowed values, integer ranges, list elements, map values, and secrets —
// a secret input takes only a {secret: "env:NAME" | "file:PATH"} reference, which is also
// accepted wherever a string is. A {"known_after_apply": …} value (a plan's unknown output)
// passes. Defaults are not filled in and references are not resolved: this is the check of
// what the spec parser produced, as the providers receive it. Messages never quote a value
// written where a secret belongs.
std::vector<InputError> check_inputs(const TypeSchema& type, const nlohmann::json& inputs);

// The schema of `type_name` ("process", "aws:s3_bucket" → the aws family), or nullptr.
const TypeSchema* find_type(std::string_view type_name);
// Every type name in the registry (cloud families as "aws:*"), in registry order.
std::vector<std::string> type_names();

// Whether a resource of this type with these inputs holds data that a delete or replace loses:
// vector_index always; redis unless persistence is "none"; command and cloud types when their
// `holds_data` input is true.
bool holds_data(const TypeSchema& type, const nlohmann::json& inputs);

// Cost per hour from the inputs: model_endpoint price_per_hour × replicas; every other type its
// optional cost_per_hour (default 0). Inputs not yet known (not numbers) count as 0.
Micros cost_per_hour(const TypeSchema& type, const nlohmann::json& inputs);

// Exact micro-dollars of a JSON number of dollars (at most 6 decimals), or nullopt when `value`
// is not a number or has more decimals.
std::optional<Micros> money_micros(const nlohmann::json& value);
// "$1.25", "$0.000500", "-$3.00": at least two decimals, at most six, trailing zeros trimmed.
std::string format_money(Micros micros);

}  // namespace cairn::deploy
