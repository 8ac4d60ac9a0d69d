// Validation shared by every HistoryStore implementation, so that all backends accept and reject
// exactly the same requests (the conformance suite relies on it). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "history/history_store.h"

namespace cairn {

// kInvalidArgument unless 0 <= shard < shard_count. `what` names the object for the message.
Status check_shard(ShardId shard, int32_t shard_count, std::string_view what);

// kInvalidArgument (and nothing may be written) when the transition breaks a REQUIRES of
// Transition: the run's shard is out of range; events are not consecutive ids >= 1 ending at
// state.next_event_id - 1; a task or timer is in another shard than the run (no cross-shard
// transactions) or has a task_id/timer_seq < 1 or a negative fire time.
Status check_transition(const Transition& transition, int32_t shard_count);

// kInvalidArgument unless limit >= 1.
Status check_limit(int limit, std::string_view what);

// The highest task_id / timer_seq the transition adds; 0 when it adds none.
int64_t max_sequence_of(const Transition& transition);

// kAborted when the transition's first event is already stored (`stored` says so): a retry of a
// transition that was written but not answered (an unknown outcome), or one that raced another
// writer of the run. Nothing may be written; the caller reloads the run and decides again.
Status check_events_not_stored(const Transition& transition, bool stored);

}  // namespace cairn
