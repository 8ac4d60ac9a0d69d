// HistoryStore: the durable home of runs, events, pending tasks and timers — the persistence seam.
// Implementations are thread-safe. commit() is atomic (all of the transition or none of it) and
// durable on OK (WAL synced) unless the transition asks only to be buffered. A failed sync puts the
// store in a failed, read-only state: every later write answers kUnavailable/kDataLoss. Nothing
// storage-engine shaped crosses this seam.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/v1/history.pb.h"
#include "cairn/v1/persistence.pb.h"
#include "history/ids.h"
#include "proto/status.h"

namespace cairn {

// How long commit() waits. Persisted nowhere; chosen per transition by the engine.
enum class Durability {
  // The WAL is synced before commit() returns: what the caller is told of is on disk.
  kSynced,
  // Written to the WAL without waiting for the disk. Visible to reads at once, survives a crash
  // of the process (the WAL is in the kernel's buffers), and is made durable by the next synced
  // commit, which the WAL orders after it. For records recovery does not need: a task handed to
  // a worker stays in the outbox until a synced transition consumes it, so a lost start only
  // means the task is delivered again (activities run at least once).
  kBuffered,
};

// Another run of the transition's workflow id, written in the same batch (see Transition).
struct RunWrite {
  RunKey key;  // REQUIRES: same shard, namespace and workflow id as Transition::key; another run id
  // The run's new mutable state. REQUIRES: state.next_event_id is one past the last event.
  v1::RunState state;
  // Appended to the run's history. REQUIRES: ids consecutive, continuing the stored history.
  std::vector<v1::HistoryEvent> events;
  bool update_visibility = false;  // as Transition::update_visibility, for this run
};

// Everything one transition writes, in one batch: one decision, one write.
//
// Multi-run rule: a transition may carry more than one run of the same workflow id (which is
// the same shard by construction: shard_for() hashes only the namespace and the workflow id).
// Reset (close the current run, start the reset run), start with TERMINATE_EXISTING (terminate
// the old run, start the new one) and continue-as-new (close the run, start its successor) each
// write both runs in one batch, so no crash and no concurrent start can observe one half. Runs
// of different workflow ids never share a transition (their locks and, usually, their shards
// differ): those hand-offs go through an outbox task (TASK_KIND_TRANSFER).
struct Transition {
  RunKey key;
  // The run's new mutable state. REQUIRES: state.next_event_id is one past the last event.
  v1::RunState state;
  // Appended to the run's history. REQUIRES: ids consecutive, continuing the stored history.
  std::vector<v1::HistoryEvent> events;
  // When set, the workflow id's current-run pointer is replaced (starts, closes). One pointer
  // per workflow id, so one per transition, however many runs it carries.
  std::optional<v1::CurrentRun> current;
  std::vector<v1::TaskRecord> add_tasks;     // outbox: tasks to put on task queues
  std::vector<v1::TaskRecord> remove_tasks;  // tasks consumed by this transition (by task_id)
  std::vector<v1::TimerRecord> add_timers;
  std::vector<v1::TimerRecord> remove_timers;  // by (shard, fire_time_ms, timer_seq)
  Durability durability = Durability::kSynced;
  // The run's visibility record (history/visibility.h) is rewritten from `state` in the same
  // batch: set by starts, closes and search-attribute upserts.
  bool update_visibility = false;
  // Further runs of the same workflow id written in the same batch (the multi-run rule above).
  std::vector<RunWrite> other_runs;
  // The run `key` is deleted for good instead of written: its state, events and visibility
  // records (found from `state`, which must be the stored state), and the current-run pointer
  // when it names this run and `current` is not set. REQUIRES: state is closed (else
  // kFailedPrecondition, nothing written), events empty. Deleting a run that is gone is a no-op.
  // REQUIRES: the caller holds the workflow id's lock (the pointer is read, then replaced).
  bool delete_run = false;
  // REQUIRES: every task and timer record has shard == key.shard (no cross-shard transactions),
  // task_id / timer_seq >= 1 and fire_time_ms >= 0. commit() checks these (and the event ids
  // above, for every run) and answers kInvalidArgument, writing nothing, when one is broken.
};

struct EventPage {
  std::vector<v1::HistoryEvent> events;
  bool more = false;  // events past the last one returned exist
};

struct TaskPage {
  std::vector<v1::TaskRecord> tasks;  // ascending task_id
};

struct TimerPage {
  std::vector<v1::TimerRecord> timers;  // ascending (fire_time_ms, timer_seq)
};

// Which visibility index a listing walks.
enum class VisibilityIndex {
  kStartTime,
  kCloseTime,      // closed runs only
  kOpenStartTime,  // open runs only, by start time
  kSchedules,      // schedules (their entity runs) that exist, by creation time
};

struct VisibilityScan {
  std::string ns;
  VisibilityIndex index = VisibilityIndex::kStartTime;
  bool descending = true;  // newest first
  std::string after;       // a cursor from an earlier page; empty: from the first record
  int limit = 100;
};

struct VisibilityPage {
  std::vector<v1::VisibilityRecord> records;
  // cursors[i] continues a scan right after records[i] (same size as records).
  std::vector<std::string> cursors;
  bool more = false;  // records past the last one returned exist
};

class HistoryStore {
 public:
  virtual ~HistoryStore() = default;

  // The shard count fixed when the store was created.
  virtual int32_t shard_count() const = 0;

  // The run's mutable state. kNotFound when the run does not exist.
  virtual Result<v1::RunState> load_run(const RunKey& key) = 0;

  // The current (latest) run of a workflow id. kNotFound when none was ever started.
  virtual Result<v1::CurrentRun> load_current(const WorkflowKey& key) = 0;

  // Writes one transition atomically; durably unless transition.durability is kBuffered (see
  // Durability). kUnavailable when the store has failed.
  // kInvalidArgument (nothing written) when a REQUIRES of Transition is broken, for any of its
  // runs; kFailedPrecondition (nothing written) for a delete_run of an open run.
  // kAborted (nothing written) when the first event of any of its runs is already stored: a retry
  // of a commit whose outcome was unknown (kUnavailable) that did land, or a race; reload the run
  // and decide again.
  // A failed write (I/O error, full disk) answers kUnavailable, or kDataLoss for corruption: the
  // outcome is unknown (the batch may be on disk) and the store refuses every later write.
  virtual Status commit(const Transition& transition) = 0;

  // Events with id >= from, ascending, at most `limit`. An unknown run gives an empty page.
  virtual Result<EventPage> read_events(const RunKey& key, EventId from, int limit) = 0;

  // Pending tasks of one shard with task_id > after_task_id, ascending, at most `limit`.
  virtual Result<TaskPage> scan_tasks(ShardId shard, int64_t after_task_id, int limit) = 0;

  // Timers of one shard ordered by (fire_time_ms, timer_seq), strictly after the given
  // position, at most `limit`. Start with (-1, -1).
  virtual Result<TimerPage> scan_timers(ShardId shard, int64_t after_fire_time_ms,
                                        int64_t after_timer_seq, int limit) = 0;

  // The highest task_id / timer_seq ever written (0 if none), so that allocation resumes above it
  // after a restart.
  virtual Result<int64_t> max_sequence() = 0;

  // Deletes timers that fired but no longer applied. Not synced: a lost delete only makes the
  // stale timer fire (and be dropped) again after a restart.
  virtual Status forget_timers(const std::vector<v1::TimerRecord>& timers) = 0;

  // Every call taking a shard or a run key answers kInvalidArgument when the shard is outside
  // [0, shard_count()), and every call taking a limit when limit < 1.

  // Namespaces (a small registry, synced writes). The engine is the only writer; it serialises
  // its writes and never holds a lock that RPCs take while put_namespace() syncs.
  virtual Status put_namespace(const v1::NamespaceRecord& ns) = 0;
  virtual Result<v1::NamespaceRecord> get_namespace(const std::string& name) = 0;  // kNotFound
  virtual Result<std::vector<v1::NamespaceRecord>> list_namespaces() = 0;

  // Visibility records of one namespace in index order, at most scan.limit. kInvalidArgument
  // for a malformed cursor.
  virtual Result<VisibilityPage> scan_visibility(const VisibilityScan& scan) = 0;

  // Every run of every shard, for tooling and tests (admin verify, crash tests). Order unspecified.
  virtual Result<std::vector<RunKey>> list_runs_for_testing() = 0;
};

struct RocksStoreOptions {
  std::string path;  // the data directory; created if missing
  int32_t shard_count =
      16;            // used only when the directory is created; later opens use the stored value
  bool sync = true;  // WAL fsync on every commit; false only for labelled benchmarks
  bool group_commit = true;  // concurrent synced commits share a write (GroupCommitter)
  size_t block_cache_bytes = 64 << 20;
};

// Opens (creating if needed) the RocksDB store. kInvalidArgument when the directory holds a store
// with a different format; kUnavailable/kDataLoss when RocksDB cannot open it (message says why).
Result<std::unique_ptr<HistoryStore>> open_rocks_store(const RocksStoreOptions& options);

// An in-memory store for fast tests; same contract, nothing durable.
std::unique_ptr<HistoryStore> make_memory_store(int32_t shard_count);

}  // namespace cairn
