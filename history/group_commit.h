// GroupCommitter: concurrent synced writes to one RocksDB share one write and one WAL sync.
// The first writer to find no write in flight leads: it takes every batch queued so far, writes
// them as one synced WriteBatch and wakes their writers; the next leader takes the batches that
// queued meanwhile. Thread-safe; owned by RocksHistoryStore, which outlives its writers.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

namespace cairn {

class GroupCommitter {
 public:
  // REQUIRES: `db` and `families` (every column family the batches write) outlive this object.
  GroupCommitter(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& families);

  // Writes `batch` with a WAL sync, in one write with whatever other batches are queued. Returns
  // the status of that write: on OK the batch is durable. Batches of one group are applied in
  // queue order, each atomically.
  rocksdb::Status write(rocksdb::WriteBatch* batch);

 private:
  struct Writer {
    explicit Writer(rocksdb::WriteBatch* b) : batch(b) {}
    rocksdb::WriteBatch* batch;
    rocksdb::Status status;
    bool done = false;             // guarded by mu_
    std::condition_variable wake;  // done, or first in the queue with no group in flight
  };

  // Writes `group` (the leader's batch first) as one synced write.
  rocksdb::Status write_group(const std::deque<Writer*>& group);

  rocksdb::DB* const db_;
  std::vector<rocksdb::ColumnFamilyHandle*> by_id_;  // indexed by column family id
  std::mutex mu_;
  std::deque<Writer*> queue_;  // guarded by mu_: waiting for the next group
  bool leading_ = false;       // guarded by mu_: a group write is in flight
};

}  // namespace cairn
