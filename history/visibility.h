// What listing sees of a run: the VisibilityRecord derived from its mutable state, written by the
// store in the batch of every transition that sets Transition::update_visibility. Pure;
// thread-safe.
#pragma once

#include <string>

#include "cairn/v1/persistence.pb.h"
#include "proto/enum_names.h"
#include "history/ids.h"

namespace cairn {

v1::VisibilityRecord visibility_record(const v1::RunState& state, ShardId shard);

// Whether the task_failure fields of the run's visibility record differ between two states (a
// transition that changes them rewrites the record in its batch).
bool task_failure_visibility_changed(const v1::RunState& before, const v1::RunState& after);

enum class VisibilityIndex;
// The keys.h index byte of an index.
char visibility_index_byte(VisibilityIndex index);

}  // namespace cairn
