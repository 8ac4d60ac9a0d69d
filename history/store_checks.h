// Validation shared by every HistoryStore implementation, so that all backends accept and reject
// exactly the same requests (the conformance suite relies on it). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "history/history_store.h"

namespace cairn {

// kInvalidArgument unless 0 <= shard < shard_count. `what` names the object for the message.
Status check_shard(ShardId shard, int32_t shard_count, std::string_view what);

// One run a transition writes: its main run or one of other_runs. Views into the transition,
// valid while it lives.
struct RunView {
  const RunKey* key;
  const v1::RunState* state;
  const std::vector<v1::HistoryEvent>* events;
  bool update_visibility;
};

// The transition's runs, the main run first.
std::vector<RunView> runs_of(const Transition& transition);

// kInvalidArgument (and nothing may be written) when the transition breaks a REQUIRES of
// Transition: the run's shard is out of range; for any run, events are not consecutive ids >= 1
// ending at state.next_event_id - 1; another run is of another workflow id (or shard) or repeats
// a run id; a task or timer is in another shard than the run (no cross-shard transactions) or
// has a task_id/timer_seq < 1 or a negative fire time; a delete carries events or other runs.
// kFailedPrecondition for a delete of an open run.
Status check_transition(const Transition& transition, int32_t shard_count);

// kInvalidArgument unless limit >= 1.
Status check_limit(int limit, std::string_view what);

// The highest task_id / timer_seq the transition adds; 0 when it adds none.
int64_t max_sequence_of(const Transition& transition);

// kAborted when the first event of one run of a transition is already stored (`stored` says
// so): a retry of a transition that was written but not answered (an unknown outcome), or one
// that raced another writer of the run. Nothing may be written; the caller reloads the run and
// decides again. Checked for every run of the transition that appends events.
Status check_events_not_stored(const RunView& run, bool stored);

}  // namespace cairn
