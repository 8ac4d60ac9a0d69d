// open_rocks_store() on a caller-supplied RocksDB Env: for tests that inject file-system faults
// (the failed-store contract) and for tools that need a special Env. Thread-safe like
// open_rocks_store(). rocksdb::Env is only forward-declared: no RocksDB header leaks from here.
#pragma once

#include <cstddef>
#include <memory>

#include "history/history_store.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace cairn {

// As open_rocks_store(), with every file operation going through `env` (null: RocksDB's default
// Env). The store keeps `env` alive until the database is closed. write_buffer_bytes: each column
// family's memtable size (0: the default, 64 MiB), small in tests that need flushes.
Result<std::unique_ptr<HistoryStore>> open_rocks_store_on_env(const RocksStoreOptions& options,
                                                              std::shared_ptr<rocksdb::Env> env,
                                                              size_t write_buffer_bytes = 0);

}  // namespace cairn
