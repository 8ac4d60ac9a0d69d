// Test helpers for the stack spec and plan tests (tests/deploy/spec_*_test.cc, plan_*_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

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
