// The executor of transfer tasks (TASK_KIND_TRANSFER): the cross-run half of child workflows,
// signals and cancel requests to other runs, parent close policies and continue-as-new. Each
// effect is a separate transition on the target run, then one on the source run that records
// the outcome and removes the task. Thread-safe; runs on the engine's pool.
#pragma once

#include "cairn/v1/persistence.pb.h"
#include "server/engine.h"

namespace cairn::handlers {

// Executes `task` to completion, or answers why not (the task stays on disk; the engine retries
// it in process with backoff, and a restart runs it again). Idempotent: the target deduplicates
// by the task's request id, the source by the initiated event id, so a redo after a crash or a
// failure between the two transitions applies nothing twice.
Status execute_transfer(Engine& e, const v1::TaskRecord& task);

}  // namespace cairn::handlers
