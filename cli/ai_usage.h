// cairnctl's view of a run's AI usage: tokens and cost by model and cache hits, computed from
// the run's history (the recorded results of its completed cairn.ai.chat / cairn.ai.embed
// activities) — `workflow usage` and the "AI usage" section of `workflow describe`. Not
// thread-safe: one command runs per process.
#pragma once

#include <string>

#include "cli/common.h"

namespace cairnctl {

// Registers `workflow usage -w ID [-r RUN]` (-o json: the report as JSON).
void add_ai_usage_commands(CLI::App& workflow, Globals& g, Action& action);

// describe's hooks for the run `d` describes: print the "AI usage" section (nothing when the
// run made no model call), or return `describe_json` with an "ai_usage" member added (unchanged
// when the run made no model call).
void print_ai_usage_section(cairn::Client& client, const v1::DescribeWorkflowExecutionResponse& d);
std::string with_ai_usage(cairn::Client& client, const v1::DescribeWorkflowExecutionResponse& d,
                          const std::string& describe_json);

}  // namespace cairnctl
