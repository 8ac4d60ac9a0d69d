// Tool calling of the deterministic endpoint: which offered tool a question asks for, the
// arguments it takes from the question (per the tool's JSON-schema properties), and a tool
// result rendered as prose. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/types.h"

namespace cairn::ai::endpoint {

// The tool the request's tool_choice and question call for, or nullopt for a text answer.
// tool_choice "none": nullopt; {"type":"function","function":{"name":N}}: N; "required": the
// best match or else the first tool; "auto" / unset: the tool whose name (or a keyword of its
// name, such as "order" in "lookup_order") the question mentions most, if any.
std::optional<ToolSpec> choose_tool(const ChatRequest& request, const std::string& question);

// The JSON arguments for `tool` built from `question`: enum properties get the value the
// question names; id-like properties (id, number, order, ticket, ...) the first word with a
// digit; email the first address; integers and numbers the first number; other strings the
// question itself. Required properties are always present.
nlohmann::json build_arguments(const ToolSpec& tool, const std::string& question);

// `answer` in the shape `response_format` asks for: {"type": "json_object"} gives
// {"answer": answer}; {"type": "json_schema", "json_schema": {"schema": S}} an object with every
// property of S — enums the value the question (else the answer) names or else the first,
// strings the answer, integers and numbers the first number of the question (else 0), booleans
// false, arrays of strings [answer]. Anything else (unset, "text"): `answer` as it is.
std::string structured_answer(const nlohmann::json& response_format, const std::string& answer,
                              const std::string& question);

// A tool's result as a sentence: a JSON object as "key is value" pairs, an array item by
// item, any other text as it is.
std::string render_tool_result(const std::string& content);

// A deterministic tool-call id ("call_" + 24 hex digits) for a call's name and arguments.
std::string tool_call_id(const std::string& name, const std::string& arguments, size_t index);

}  // namespace cairn::ai::endpoint
