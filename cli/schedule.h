// cairnctl schedule create | describe | list | update | pause | unpause | trigger | backfill |
// delete: durable cron / interval schedules (cairn/schedule.h). Not thread-safe: one command
// runs per process.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace cairnctl {

// Adds the `schedule` command group to `app`.
void add_schedule_commands(CLI::App& app, Globals& g, Action& action);

}  // namespace cairnctl
