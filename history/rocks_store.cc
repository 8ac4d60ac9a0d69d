// RocksHistoryStore: the HistoryStore contract on RocksDB, one column family per entity (layout in
// history/keys.h). Thread-safe: concurrent synced commits share one write and one fsync through
// the GroupCommitter; this class adds the failed-state flag and the in-memory copy of the
// sequence high-water mark. Every RocksDB status becomes a cairn::Status in
// from_rocks(), and nowhere else.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string_view>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "history/group_commit.h"
#include "history/history_store.h"
#include "history/keys.h"
#include "history/rocks_options.h"
#include "history/rocks_store_env.h"
#include "history/store_checks.h"
#include "history/visibility.h"

namespace cairn {
namespace {

// The single place where a RocksDB status becomes a cairn::Status. `what` names the path and
// the object, e.g. "/data/cairn: commit of run default/order-7/3f2a".
Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) {
    return Status::ok_status();
  }
  std::string message = what + ": " + s.ToString();
  if (s.IsNotFound()) {
    return not_found(std::move(message));
  }
  if (s.IsCorruption()) {
    return data_loss(std::move(message));
  }
  if (s.IsInvalidArgument() || s.IsNotSupported()) {
    return invalid_argument(std::move(message));
  }
  if (s.IsNoSpace()) {
    return resource_exhausted(std::move(message));
  }
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() || s.IsIncomplete() ||
      s.IsShutdownInProgress() || s.IsAborted()) {
    return unavailable(std::move(message));
  }
  return internal_error(std::move(message));
}

rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

template <typename Proto>
Result<Proto> parse(std::string_view bytes, const std::string& what) {
  Proto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return data_loss(what + ": stored record does not parse");
  }
  return proto;
}

class RocksHistoryStore final : public HistoryStore {
 public:
  RocksHistoryStore(std::string path, bool sync, bool group_commit,
                    std::shared_ptr<rocksdb::Env> env, rocksdb::DB* db,
                    std::vector<rocksdb::ColumnFamilyHandle*> families)
      : path_(std::move(path)),
        sync_(sync),
        env_(std::move(env)),
        db_(db),
        families_(std::move(families)) {
    if (group_commit) {
      group_ = std::make_unique<GroupCommitter>(db_.get(), families_);
    }
  }

  ~RocksHistoryStore() override {
    for (auto* family : families_) {
      db_->DestroyColumnFamilyHandle(family).PermitUncheckedError();
    }
    db_->Close().PermitUncheckedError();  // nothing to do on error: every commit was synced
    db_.reset();
  }

  // Reads or creates StoreMeta and the sequence mark. Called once, before the store is shared.
  Status init(int32_t requested_shard_count);

  int32_t shard_count() const override { return shard_count_; }
  Result<v1::RunState> load_run(const RunKey& key) override;
  Result<v1::CurrentRun> load_current(const WorkflowKey& key) override;
  Status commit(const Transition& t) override;
  Result<EventPage> read_events(const RunKey& key, EventId from, int limit) override;
  Result<TaskPage> scan_tasks(ShardId shard, int64_t after_task_id, int limit) override;
  Result<TimerPage> scan_timers(ShardId shard, int64_t after_fire_time_ms, int64_t after_timer_seq,
                                int limit) override;
  Result<int64_t> max_sequence() override { return max_sequence_.load(); }
  Status forget_timers(const std::vector<v1::TimerRecord>& timers) override;
  Status put_namespace(const v1::NamespaceRecord& ns) override;
  Result<v1::NamespaceRecord> get_namespace(const std::string& name) override;
  Result<std::vector<v1::NamespaceRecord>> list_namespaces() override;
  Result<VisibilityPage> scan_visibility(const VisibilityScan& scan) override;
  Result<std::vector<RunKey>> list_runs_for_testing() override;

 private:
  // Called for each entry of a scan; set *stop to end it early.
  using Visitor = std::function<Status(std::string_view key, std::string_view value, bool* stop)>;

  std::string name(const std::string& object) const { return path_ + ": " + object; }
  rocksdb::ColumnFamilyHandle* family(RocksFamily f) const { return families_[f]; }

  // The value at `key`, nullopt when absent.
  Result<std::optional<std::string>> get(RocksFamily f, std::string_view key,
                                         const std::string& what);
  // Visits keys in [start, end) in order (end empty: to the end of the family).
  Status scan(RocksFamily f, std::string_view start, std::string_view end, const std::string& what,
              const Visitor& visit);
  // Parses the values in [start, end) into *out, at most `limit` of them. When `more` is given
  // it tells whether entries remain past the limit.
  template <typename Proto>
  Status collect(RocksFamily f, std::string_view start, std::string_view end,
                 const std::string& what, size_t limit, std::vector<Proto>* out,
                 bool* more = nullptr) {
    return scan(f, start, end, what,
                [&](std::string_view, std::string_view value, bool* stop) -> Status {
                  if (out->size() == limit) {
                    *stop = true;
                    if (more != nullptr) {
                      *more = true;
                    }
                    return Status::ok_status();
                  }
                  CAIRN_ASSIGN_OR_RETURN(auto record, parse<Proto>(value, name(what)));
                  out->push_back(std::move(record));
                  return Status::ok_status();
                });
  }
  // Adds the run's state, events and visibility records to the batch (the first error in *s).
  void add_run(rocksdb::WriteBatch* batch, const RunView& run, rocksdb::Status* s);
  // Adds the deletion of t.key's run (Transition::delete_run) to the batch.
  Status add_delete(rocksdb::WriteBatch* batch, const Transition& t, rocksdb::Status* s);
  // Writes the batch. Any failure puts the store in the failed state (below).
  Status write(rocksdb::WriteBatch* batch, bool sync, const std::string& what);

  const std::string path_;
  const bool sync_;
  // Declared before db_: the Env must outlive the database.
  const std::shared_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> families_;
  std::unique_ptr<GroupCommitter> group_;  // null: each synced write syncs on its own
  int32_t shard_count_ = 0;                // set by init(), then constant
  // Highest task_id / timer_seq durably written; raised only after the write that carries it.
  std::atomic<int64_t> max_sequence_{0};

  // Failed state: after a write error nothing more is written, because RocksDB may have applied
  // the batch to the memtable without it being durable (LevelDB's rule: do not build on a write
  // whose fate is unknown). Reads keep working. failed_ is the lock-free fast path.
  std::atomic<bool> failed_{false};
  std::mutex failure_mu_;
  std::string failure_;  // guarded by failure_mu_: the first write error
};

Result<std::optional<std::string>> RocksHistoryStore::get(RocksFamily f, std::string_view key,
                                                          const std::string& what) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), family(f), slice(key), &value);
  if (s.IsNotFound()) {
    return std::optional<std::string>();
  }
  CAIRN_RETURN_IF_ERROR(from_rocks(s, name(what)));
  return std::optional<std::string>(std::move(value));
}

Status RocksHistoryStore::scan(RocksFamily f, std::string_view start, std::string_view end,
                               const std::string& what, const Visitor& visit) {
  rocksdb::ReadOptions options;
  rocksdb::Slice upper = slice(end);
  if (!end.empty()) {
    options.iterate_upper_bound = &upper;  // lets RocksDB stop at the bound, not the next key
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f)));
  for (it->Seek(slice(start)); it->Valid(); it->Next()) {
    bool stop = false;
    CAIRN_RETURN_IF_ERROR(visit(std::string_view(it->key().data(), it->key().size()),
                                std::string_view(it->value().data(), it->value().size()), &stop));
    if (stop) {
      return Status::ok_status();
    }
  }
  return from_rocks(it->status(), name(what));
}

Status RocksHistoryStore::write(rocksdb::WriteBatch* batch, bool sync, const std::string& what) {
  if (failed_.load()) {
    std::lock_guard lock(failure_mu_);
    return unavailable(
        name("store failed after a write error: " + failure_ + "; restart the server"));
  }
  rocksdb::Status written;
  if (sync && group_) {
    written = group_->write(batch);
  } else {
    rocksdb::WriteOptions options;
    options.sync = sync;
    written = db_->Write(options, batch);
  }
  Status status = from_rocks(written, name(what));
  if (!status.ok() && status.code() != StatusCode::kDataLoss) {
    // A full disk too: the caller cannot tell whether the batch reached the disk, and no write
    // is taken until a restart, so this is not a quota to wait out (kResourceExhausted).
    status = unavailable(status.message());
  }
  if (!status.ok()) {
    std::lock_guard lock(failure_mu_);
    if (!failed_.exchange(true)) {
      failure_ = status.message();
    }
  }
  return status;
}

Status RocksHistoryStore::init(int32_t requested_shard_count) {
  CAIRN_ASSIGN_OR_RETURN(auto stored, get(kMetaCf, keys::kStoreMetaKey, "read store meta"));
  if (stored) {
    CAIRN_ASSIGN_OR_RETURN(auto meta, parse<v1::StoreMeta>(*stored, name("store meta")));
    if (meta.format_version() != keys::kFormatVersion) {
      return invalid_argument(name("store format_version " + std::to_string(meta.format_version()) +
                                   " is not supported (this build reads " +
                                   std::to_string(keys::kFormatVersion) + ")"));
    }
    if (meta.shard_count() < 1) {
      return data_loss(
          name("stored shard_count " + std::to_string(meta.shard_count()) + " is invalid"));
    }
    shard_count_ = meta.shard_count();
  } else {
    // A new directory. Runs without metadata would mean the meta record was lost: refuse to
    // guess a shard count, since every key is laid out by shard.
    bool has_runs = false;
    CAIRN_RETURN_IF_ERROR(
        scan(kRunsCf, "", "", "look for runs", [&](std::string_view, std::string_view, bool* stop) {
          has_runs = *stop = true;
          return Status::ok_status();
        }));
    if (has_runs) {
      return data_loss(name("holds runs but no store meta record"));
    }
    if (requested_shard_count < 1) {
      return invalid_argument(
          name("shard_count " + std::to_string(requested_shard_count) + " is not >= 1"));
    }
    v1::StoreMeta meta;
    meta.set_shard_count(requested_shard_count);
    meta.set_format_version(keys::kFormatVersion);
    rocksdb::WriteBatch batch;
    CAIRN_RETURN_IF_ERROR(
        from_rocks(batch.Put(family(kMetaCf), slice(keys::kStoreMetaKey), meta.SerializeAsString()),
                   name("store meta")));
    // Always synced, even for unsynced benchmarks: the shard count is the layout of every key.
    CAIRN_RETURN_IF_ERROR(write(&batch, /*sync=*/true, "write store meta"));
    shard_count_ = requested_shard_count;
  }
  CAIRN_ASSIGN_OR_RETURN(auto mark, get(kMetaCf, keys::kMaxSequenceKey, "read max_sequence"));
  if (mark) {
    auto value = keys::decode_u64(*mark);
    if (!value) {
      return data_loss(name("stored max_sequence is not 8 bytes"));
    }
    max_sequence_.store(static_cast<int64_t>(*value));
  }
  return Status::ok_status();
}

Result<v1::RunState> RocksHistoryStore::load_run(const RunKey& key) {
  std::string what = "run " + key.debug_string();
  CAIRN_RETURN_IF_ERROR(check_shard(key.shard, shard_count_, what));
  CAIRN_ASSIGN_OR_RETURN(auto value, get(kRunsCf, keys::run_key(key), "load " + what));
  if (!value) {
    return not_found(what + " not found");
  }
  return parse<v1::RunState>(*value, name(what));
}

Result<v1::CurrentRun> RocksHistoryStore::load_current(const WorkflowKey& key) {
  std::string what = "workflow " + key.ns + "/" + key.workflow_id;
  CAIRN_RETURN_IF_ERROR(check_shard(key.shard, shard_count_, what));
  CAIRN_ASSIGN_OR_RETURN(auto value,
                         get(kCurrentCf, keys::current_key(key), "load current " + what));
  if (!value) {
    return not_found(what + " has no current run");
  }
  return parse<v1::CurrentRun>(*value, name("current run of " + what));
}

void RocksHistoryStore::add_run(rocksdb::WriteBatch* batch, const RunView& run,
                                rocksdb::Status* s) {
  auto record = [s](rocksdb::Status put) {
    if (s->ok()) {
      *s = std::move(put);
    }
  };
  const RunKey& key = *run.key;
  const v1::RunState& state = *run.state;
  record(batch->Put(family(kRunsCf), keys::run_key(key), state.SerializeAsString()));
  for (const auto& event : *run.events) {
    record(batch->Put(family(kEventsCf),
                      keys::event_key(key.shard, key.run_id.value, event.event_id()),
                      event.SerializeAsString()));
  }
  if (run.update_visibility && state.has_schedule()) {
    // A schedule's entity: its own index only, while the schedule exists.
    const std::string vkey = keys::visibility_key(keys::kVisibilitySchedules, state.namespace_(),
                                                  state.start_time_ms(), state.run_id());
    if (state.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
      record(batch->Put(family(kVisibilityCf), vkey,
                        visibility_record(state, key.shard).SerializeAsString()));
    } else {
      record(batch->Delete(family(kVisibilityCf), vkey));
    }
  } else if (run.update_visibility) {
    const v1::VisibilityRecord vis = visibility_record(state, key.shard);
    const std::string value = vis.SerializeAsString();
    record(batch->Put(family(kVisibilityCf),
                      keys::visibility_key(keys::kVisibilityByStart, vis.namespace_(),
                                           vis.start_time_ms(), vis.run_id()),
                      value));
    const std::string open_key = keys::visibility_key(keys::kVisibilityOpen, vis.namespace_(),
                                                      vis.start_time_ms(), vis.run_id());
    if (vis.close_time_ms() > 0) {
      record(batch->Put(family(kVisibilityCf),
                        keys::visibility_key(keys::kVisibilityByClose, vis.namespace_(),
                                             vis.close_time_ms(), vis.run_id()),
                        value));
      record(batch->Delete(family(kVisibilityCf), open_key));
    } else {
      record(batch->Put(family(kVisibilityCf), open_key, value));
    }
  }
}

Status RocksHistoryStore::add_delete(rocksdb::WriteBatch* batch, const Transition& t,
                                     rocksdb::Status* s) {
  auto record = [s](rocksdb::Status op) {
    if (s->ok()) {
      *s = std::move(op);
    }
  };
  const RunKey& key = t.key;
  const v1::RunState& state = t.state;
  record(batch->Delete(family(kRunsCf), keys::run_key(key)));
  const std::string events = keys::events_prefix(key.shard, key.run_id.value);
  record(batch->DeleteRange(family(kEventsCf), events, keys::prefix_end(events)));
  record(batch->Delete(family(kVisibilityCf),
                       keys::visibility_key(keys::kVisibilityByStart, key.ns, state.start_time_ms(),
                                            key.run_id.value)));
  record(batch->Delete(family(kVisibilityCf),
                       keys::visibility_key(keys::kVisibilityByClose, key.ns, state.close_time_ms(),
                                            key.run_id.value)));
  record(batch->Delete(family(kVisibilityCf),
                       keys::visibility_key(keys::kVisibilityOpen, key.ns, state.start_time_ms(),
                                            key.run_id.value)));
  if (t.current) {
    return Status::ok_status();  // the transition replaces the pointer itself
  }
  // Read, then deleted in the batch: the caller holds the workflow id's lock, so no start
  // replaces the pointer in between.
  const WorkflowKey workflow{key.shard, key.ns, key.workflow_id};
  const std::string what = "delete run " + key.debug_string();
  CAIRN_ASSIGN_OR_RETURN(auto current, get(kCurrentCf, keys::current_key(workflow), what));
  if (current) {
    CAIRN_ASSIGN_OR_RETURN(auto pointer, parse<v1::CurrentRun>(*current, name(what)));
    if (pointer.run_id() == key.run_id.value) {
      record(batch->Delete(family(kCurrentCf), keys::current_key(workflow)));
    }
  }
  return Status::ok_status();
}

Status RocksHistoryStore::commit(const Transition& t) {
  CAIRN_RETURN_IF_ERROR(check_transition(t, shard_count_));
  const ShardId shard = t.key.shard;
  for (const RunView& run : runs_of(t)) {
    if (run.events->empty()) {
      continue;
    }
    // A point read, not a transaction: the caller serialises the writers of one workflow id
    // (the engine holds its lock), so the answer holds until the write below.
    CAIRN_ASSIGN_OR_RETURN(auto stored, get(kEventsCf,
                                            keys::event_key(shard, run.key->run_id.value,
                                                            run.events->front().event_id()),
                                            "check events of run " + run.key->debug_string()));
    CAIRN_RETURN_IF_ERROR(check_events_not_stored(run, stored.has_value()));
  }
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  auto record = [&s](rocksdb::Status put) {
    if (s.ok()) {
      s = std::move(put);
    }
  };
  if (t.delete_run) {
    CAIRN_RETURN_IF_ERROR(add_delete(&batch, t, &s));
  } else {
    // Every run of the transition in the same batch (the multi-run rule): all or none.
    for (const RunView& run : runs_of(t)) {
      add_run(&batch, run, &s);
    }
  }
  if (t.current) {
    WorkflowKey workflow{shard, t.key.ns, t.key.workflow_id};
    record(
        batch.Put(family(kCurrentCf), keys::current_key(workflow), t.current->SerializeAsString()));
  }
  // Removals before additions; MemoryHistoryStore applies them in the same order.
  for (const auto& task : t.remove_tasks) {
    record(batch.Delete(family(kTasksCf), keys::task_key(shard, task.task_id())));
  }
  for (const auto& task : t.add_tasks) {
    record(batch.Put(family(kTasksCf), keys::task_key(shard, task.task_id()),
                     task.SerializeAsString()));
  }
  for (const auto& timer : t.remove_timers) {
    record(batch.Delete(family(kTimersCf),
                        keys::timer_key(shard, timer.fire_time_ms(), timer.timer_seq())));
  }
  for (const auto& timer : t.add_timers) {
    record(batch.Put(family(kTimersCf),
                     keys::timer_key(shard, timer.fire_time_ms(), timer.timer_seq()),
                     timer.SerializeAsString()));
  }
  // The mark goes in the same batch as the sequences it covers, so that a restart never hands
  // out a task_id or timer_seq again, even after the task itself was removed.
  const int64_t sequence = max_sequence_of(t);
  if (sequence > max_sequence_.load()) {
    record(batch.Merge(family(kMetaCf), slice(keys::kMaxSequenceKey),
                       keys::encode_u64(static_cast<uint64_t>(sequence))));
  }
  const std::string what = "commit of run " + t.key.debug_string();
  CAIRN_RETURN_IF_ERROR(from_rocks(s, name(what)));
  CAIRN_RETURN_IF_ERROR(write(&batch, sync_ && t.durability == Durability::kSynced, what));
  int64_t seen = max_sequence_.load();
  while (sequence > seen && !max_sequence_.compare_exchange_weak(seen, sequence)) {
  }
  return Status::ok_status();
}

Result<EventPage> RocksHistoryStore::read_events(const RunKey& key, EventId from, int limit) {
  std::string what = "run " + key.debug_string();
  CAIRN_RETURN_IF_ERROR(check_shard(key.shard, shard_count_, what));
  CAIRN_RETURN_IF_ERROR(check_limit(limit, what + ": read_events"));
  const std::string prefix = keys::events_prefix(key.shard, key.run_id.value);
  const std::string start =
      keys::event_key(key.shard, key.run_id.value, std::max<int64_t>(from.value, 0));
  EventPage page;
  CAIRN_RETURN_IF_ERROR(collect(kEventsCf, start, keys::prefix_end(prefix), "events of " + what,
                                limit, &page.events, &page.more));
  return page;
}

Result<TaskPage> RocksHistoryStore::scan_tasks(ShardId shard, int64_t after_task_id, int limit) {
  CAIRN_RETURN_IF_ERROR(check_shard(shard, shard_count_, "scan_tasks"));
  CAIRN_RETURN_IF_ERROR(check_limit(limit, "scan_tasks"));
  TaskPage page;
  if (after_task_id == INT64_MAX) {
    return page;
  }
  const std::string prefix = keys::shard_prefix(shard);
  const std::string start = after_task_id < 0 ? prefix : keys::task_key(shard, after_task_id + 1);
  CAIRN_RETURN_IF_ERROR(collect(kTasksCf, start, keys::prefix_end(prefix),
                                "tasks of shard " + std::to_string(shard.value), limit,
                                &page.tasks));
  return page;
}

Result<TimerPage> RocksHistoryStore::scan_timers(ShardId shard, int64_t after_fire_time_ms,
                                                 int64_t after_timer_seq, int limit) {
  CAIRN_RETURN_IF_ERROR(check_shard(shard, shard_count_, "scan_timers"));
  CAIRN_RETURN_IF_ERROR(check_limit(limit, "scan_timers"));
  TimerPage page;
  // Seek to the first possible key strictly after (after_fire_time_ms, after_timer_seq).
  const std::string prefix = keys::shard_prefix(shard);
  std::string start = prefix;
  if (after_fire_time_ms >= 0 && after_timer_seq < INT64_MAX) {
    start = keys::timer_key(shard, after_fire_time_ms, std::max<int64_t>(after_timer_seq + 1, 0));
  } else if (after_fire_time_ms >= 0 && after_fire_time_ms < INT64_MAX) {
    start = keys::timer_key(shard, after_fire_time_ms + 1, 0);
  } else if (after_fire_time_ms >= 0) {
    return page;  // nothing sorts after (max, max)
  }
  CAIRN_RETURN_IF_ERROR(collect(kTimersCf, start, keys::prefix_end(prefix),
                                "timers of shard " + std::to_string(shard.value), limit,
                                &page.timers));
  return page;
}

Status RocksHistoryStore::forget_timers(const std::vector<v1::TimerRecord>& timers) {
  rocksdb::WriteBatch batch;
  for (const auto& timer : timers) {
    ShardId shard{timer.shard()};
    CAIRN_RETURN_IF_ERROR(check_shard(shard, shard_count_, "forget_timers"));
    if (timer.fire_time_ms() < 0 || timer.timer_seq() < 0) {
      continue;  // no such key can exist
    }
    CAIRN_RETURN_IF_ERROR(
        from_rocks(batch.Delete(family(kTimersCf),
                                keys::timer_key(shard, timer.fire_time_ms(), timer.timer_seq())),
                   name("forget_timers")));
  }
  // Unsynced on purpose (see the contract): a lost delete only re-fires a stale timer.
  return write(&batch, /*sync=*/false, "forget_timers");
}

Status RocksHistoryStore::put_namespace(const v1::NamespaceRecord& ns) {
  if (ns.name().empty()) {
    return invalid_argument("put_namespace: the namespace name is empty");
  }
  rocksdb::WriteBatch batch;
  CAIRN_RETURN_IF_ERROR(
      from_rocks(batch.Put(family(kMetaCf), keys::namespace_key(ns.name()), ns.SerializeAsString()),
                 name("namespace " + ns.name())));
  return write(&batch, sync_, "put namespace " + ns.name());
}

Result<v1::NamespaceRecord> RocksHistoryStore::get_namespace(const std::string& ns) {
  CAIRN_ASSIGN_OR_RETURN(auto value, get(kMetaCf, keys::namespace_key(ns), "get namespace " + ns));
  if (!value) {
    return not_found("namespace " + ns + " not found");
  }
  return parse<v1::NamespaceRecord>(*value, name("namespace " + ns));
}

Result<std::vector<v1::NamespaceRecord>> RocksHistoryStore::list_namespaces() {
  std::vector<v1::NamespaceRecord> out;
  const std::string prefix(keys::kNamespacePrefix);
  CAIRN_RETURN_IF_ERROR(
      collect(kMetaCf, prefix, keys::prefix_end(prefix), "namespaces", SIZE_MAX, &out));
  return out;
}

Result<VisibilityPage> RocksHistoryStore::scan_visibility(const VisibilityScan& scan) {
  CAIRN_RETURN_IF_ERROR(check_limit(scan.limit, "scan_visibility"));
  const char index = visibility_index_byte(scan.index);
  const std::string prefix = keys::visibility_prefix(index, scan.ns);
  const std::string end = keys::prefix_end(prefix);
  if (!scan.after.empty() && scan.after.compare(0, prefix.size(), prefix) != 0) {
    return invalid_argument("scan_visibility: the cursor is not from a listing of namespace " +
                            scan.ns);
  }
  rocksdb::ReadOptions options;
  rocksdb::Slice lower = slice(prefix);
  rocksdb::Slice upper = slice(end);
  options.iterate_lower_bound = &lower;
  if (!end.empty()) {
    options.iterate_upper_bound = &upper;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(kVisibilityCf)));
  const rocksdb::Slice after = slice(scan.after);
  if (scan.descending) {
    if (scan.after.empty()) {
      it->SeekToLast();
    } else {
      it->SeekForPrev(after);
      if (it->Valid() && it->key() == after) {
        it->Prev();
      }
    }
  } else if (scan.after.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(after);
    if (it->Valid() && it->key() == after) {
      it->Next();
    }
  }
  VisibilityPage page;
  for (; it->Valid(); scan.descending ? it->Prev() : it->Next()) {
    if (static_cast<int>(page.records.size()) == scan.limit) {
      page.more = true;
      break;
    }
    CAIRN_ASSIGN_OR_RETURN(auto vis, parse<v1::VisibilityRecord>(
                                         std::string_view(it->value().data(), it->value().size()),
                                         name("visibility of namespace " + scan.ns)));
    page.records.push_back(std::move(vis));
    page.cursors.emplace_back(it->key().data(), it->key().size());
  }
  CAIRN_RETURN_IF_ERROR(from_rocks(it->status(), name("visibility of namespace " + scan.ns)));
  return page;
}

Result<std::vector<RunKey>> RocksHistoryStore::list_runs_for_testing() {
  std::vector<RunKey> out;
  CAIRN_RETURN_IF_ERROR(
      scan(kRunsCf, "", "", "list runs", [&](std::string_view key, std::string_view, bool*) {
        auto run = keys::decode_run_key(key);
        if (!run) {
          return data_loss(name("malformed key in runs"));
        }
        out.push_back(std::move(*run));
        return Status::ok_status();
      }));
  return out;
}

}  // namespace

Result<std::unique_ptr<HistoryStore>> open_rocks_store_on_env(const RocksStoreOptions& options,
                                                              std::shared_ptr<rocksdb::Env> env,
                                                              size_t write_buffer_bytes) {
  if (options.path.empty()) {
    return invalid_argument("open history store: the path is empty");
  }
  std::error_code error;
  std::filesystem::create_directories(options.path, error);
  if (error) {
    return unavailable(options.path + ": cannot create the data directory: " + error.message());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  CAIRN_RETURN_IF_ERROR(from_rocks(
      rocksdb::DB::Open(rocks_db_options(env.get()), options.path,
                        rocks_family_descriptors(options.block_cache_bytes, write_buffer_bytes),
                        &handles, &raw),
      options.path + ": open history store"));
  auto store = std::make_unique<RocksHistoryStore>(options.path, options.sync, options.group_commit,
                                                   std::move(env), raw, std::move(handles));
  CAIRN_RETURN_IF_ERROR(store->init(options.shard_count));
  return std::unique_ptr<HistoryStore>(std::move(store));
}

Result<std::unique_ptr<HistoryStore>> open_rocks_store(const RocksStoreOptions& options) {
  return open_rocks_store_on_env(options, nullptr);
}

}  // namespace cairn
