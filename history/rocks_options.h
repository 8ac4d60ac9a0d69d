// RocksDB tuning of the history store: the column families in the order RocksHistoryStore indexes
// them, their table options (shared block cache, bloom filters, the sequence merge operator) and
// the database options. Pure construction; thread-safe. RocksDB types are only forward-declared
// here: include the RocksDB headers in the .cc that uses the results.
#pragma once

#include <cstddef>
#include <vector>

namespace rocksdb {
struct ColumnFamilyDescriptor;
struct DBOptions;
class Env;
}  // namespace rocksdb

namespace cairn {

// Index of each column family in the descriptors below and in the handles DB::Open returns.
enum RocksFamily : size_t {
  kDefaultCf,
  kRunsCf,
  kCurrentCf,
  kEventsCf,
  kTasksCf,
  kTimersCf,
  kMetaCf,
  kVisibilityCf,
  kCfCount
};

// One descriptor per RocksFamily, in that order, sharing one block cache of `block_cache_bytes`.
// write_buffer_bytes: each family's memtable size (0: RocksDB's default, 64 MiB); tests set it
// small to reach flushes with little data.
std::vector<rocksdb::ColumnFamilyDescriptor> rocks_family_descriptors(
    size_t block_cache_bytes, size_t write_buffer_bytes = 0);

// Options for DB::Open: creates the database and missing families; `env` may be null (default).
rocksdb::DBOptions rocks_db_options(rocksdb::Env* env);

}  // namespace cairn
