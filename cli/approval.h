// cairnctl approval list | show | approve | reject: human approvals of the AI batteries
// (cairn/ai/approval.h). Not thread-safe: one command runs per process.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace cairnctl {

// Adds the `approval` command group to `app`.
void add_approval_commands(CLI::App& app, Globals& g, Action& action);

}  // namespace cairnctl
