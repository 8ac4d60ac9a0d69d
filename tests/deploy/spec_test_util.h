// Test helpers for the stack spec and plan tests (tests/deploy/spec_*_test.cc, plan_*_test.cc).
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cairn/deploy/spec.h"

namespace cairn::deploy::testing {

// Parses `text` (named "stack.yaml") and fails the test, with the report, when it has errors.
inline StackSpec parse_ok(const std::string& text) {
  StackParseResult r = parse_stack(text, "stack.yaml");
  EXPECT_TRUE(r.ok()) << r.errors.report();
  if (!r.ok()) {
    return StackSpec{};
  }
  return *r.spec;
}

// The errors of a spec that must not parse, as "line:col: message" lines.
inline std::vector<std::string> errors_of(const std::string& text) {
  StackParseResult r = parse_stack(text, "stack.yaml");
  EXPECT_FALSE(r.ok()) << "the spec parsed";
  EXPECT_FALSE(r.spec.has_value());
  std::vector<std::string> out;
  for (const auto& e : r.errors.all()) {
    out.push_back(std::to_string(e.where.line) + ":" + std::to_string(e.where.column) + ": " +
                  e.message);
  }
  return out;
}

}  // namespace cairn::deploy::testing

#include "cairn/deploy/graph.h"
#include "cairn/deploy/plan.h"

namespace cairn::deploy::testing {

// The state an apply of `spec` would record when each resource reports `outputs[name]`: inputs
// resolved against those outputs (defaults in, secrets as written plus `digest` when given).
inline StackState applied(const StackSpec& spec,
                          const std::map<std::string, nlohmann::json>& outputs,
                          const std::string& digest = "") {
  StackState state;
  OutputLookup lookup = [&](const Reference& r) -> std::optional<nlohmann::json> {
    auto it = outputs.find(r.resource);
    if (it == outputs.end() || !it->second.contains(r.output)) {
      return std::nullopt;
    }
    return it->second[r.output];
  };
  for (const auto& r : spec.resources) {
    ResourceState s;
    s.type = r.type;
    s.inputs = substitute(r.inputs, lookup);
    if (!digest.empty()) {
      for (auto& [k, v] : s.inputs.items()) {
        if (as_secret_ref(v)) {
          v["digest"] = digest;
        }
      }
    }
    auto it = outputs.find(r.name);
    s.outputs = it == outputs.end() ? nlohmann::json::object() : it->second;
    s.provider_id = "id-" + r.name;
    s.dependencies = r.dependencies();
    state.resources[r.name] = s;
  }
  return state;
}

}  // namespace cairn::deploy::testing
