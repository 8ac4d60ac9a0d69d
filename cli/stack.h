// cairnctl stack plan | apply | status | destroy | history: stacks of resources provisioned by
// the per-stack entity workflow (cairn/deploy/stack.h) that a cairn-deploy-worker runs. A spec
// with errors is reported in full (file:line:col each) and exits 2 before anything is sent. Not
// thread-safe: one command runs per process.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace cairnctl {

// Adds the `stack` command group to `app`.
void add_stack_commands(CLI::App& app, Globals& g, Action& action);

}  // namespace cairnctl
