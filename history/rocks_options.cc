#include "history/rocks_options.h"

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include "history/keys.h"

namespace cairn {
namespace {

// Merges 8-byte big-endian values by keeping the maximum. Concurrent commits each merge their own
// highest sequence into `meta/max_sequence`; max is order-independent, so no lock is needed
// around the write and the stored mark never goes down.
class MaxU64MergeOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing_value,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* logger) const override {
    auto operand = keys::decode_u64(std::string_view(value.data(), value.size()));
    if (!operand) {
      return false;
    }
    uint64_t result = *operand;
    if (existing_value != nullptr) {
      auto existing =
          keys::decode_u64(std::string_view(existing_value->data(), existing_value->size()));
      if (!existing) {
        return false;
      }
      result = std::max(result, *existing);
    }
    *new_value = keys::encode_u64(result);
    return true;
  }
  // Persisted in the OPTIONS file: never rename.
  const char* Name() const override { return "cairn.MaxU64"; }
};

}  // namespace

std::vector<rocksdb::ColumnFamilyDescriptor> rocks_family_descriptors(size_t block_cache_bytes,
                                                                      size_t write_buffer_bytes) {
  // One block cache shared by every family, so the budget is what the operator configured.
  rocksdb::BlockBasedTableOptions plain;
  plain.block_cache = rocksdb::NewLRUCache(block_cache_bytes);
  rocksdb::BlockBasedTableOptions bloom = plain;
  // Point lookups dominate runs/current (load a run, check a workflow id): a bloom filter
  // answers most misses without reading a block.
  bloom.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions plain_family;
  plain_family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(plain));
  rocksdb::ColumnFamilyOptions bloom_family;
  bloom_family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(bloom));
  if (write_buffer_bytes > 0) {
    plain_family.write_buffer_size = write_buffer_bytes;
    bloom_family.write_buffer_size = write_buffer_bytes;
  }
  rocksdb::ColumnFamilyOptions meta_family = plain_family;
  meta_family.merge_operator = std::make_shared<MaxU64MergeOperator>();

  std::vector<rocksdb::ColumnFamilyDescriptor> families(kCfCount);
  families[kDefaultCf] = {rocksdb::kDefaultColumnFamilyName, plain_family};
  families[kRunsCf] = {std::string(keys::kRunsFamily), bloom_family};
  families[kCurrentCf] = {std::string(keys::kCurrentFamily), bloom_family};
  families[kEventsCf] = {std::string(keys::kEventsFamily), plain_family};
  families[kTasksCf] = {std::string(keys::kTasksFamily), plain_family};
  families[kTimersCf] = {std::string(keys::kTimersFamily), plain_family};
  families[kMetaCf] = {std::string(keys::kMetaFamily), meta_family};
  families[kVisibilityCf] = {std::string(keys::kVisibilityFamily), plain_family};
  return families;
}

rocksdb::DBOptions rocks_db_options(rocksdb::Env* env) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  // Synced writes reach RocksDB one group at a time (GroupCommitter), so the pipelined write
  // path and the spinning of waiting writers only cost CPU on two cores (measured with
  // transition_bench: both on was 5-10% slower at 1-16 threads).
  options.enable_pipelined_write = false;
  options.enable_write_thread_adaptive_yield = false;
  // Restart time is WAL replay: a column family's memtable is flushed only when it fills, so
  // without a cap the WAL grows to hundreds of MB under load and a restart after a crash
  // replays it all (4.1 s for W4's 100,000 runs). Past this size the families holding the
  // oldest WAL are flushed, which bounds the replay.
  options.max_total_wal_size = 64ull << 20;
  if (env != nullptr) {
    options.env = env;
  }
  return options;
}

}  // namespace cairn
