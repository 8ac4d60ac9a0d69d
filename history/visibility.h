// What listing sees of a run: the VisibilityRecord derived from its mutable state, written by the
// store in the batch of every transition that sets Transition::update_visibility. Pure;
// thread-safe.
#pragma once

#include "cairn/v1/persistence.pb.h"
#include "history/ids.h"

namespace cairn {

v1::VisibilityRecord visibility_record(const v1::RunState& state, ShardId shard);

enum class VisibilityIndex;
// The keys.h index byte of an index.
char visibility_index_byte(VisibilityIndex index);

}  // namespace cairn
