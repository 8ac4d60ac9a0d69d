// Key encoding of the RocksDB history store: one function per column family, plus decoders for
// the keys a scan needs to read back. Pure functions on bytes; thread-safe. Used only by
// RocksHistoryStore (and its tests) — nothing here crosses the HistoryStore seam.
//
// Integers are big-endian so that byte order is numeric (and time) order. Strings are prefixed
// with their length (u32, big-endian), so no key of one entity is a prefix of another's.
// Persisted in RocksDB keys: never renumber, never reorder fields, never change a name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "history/ids.h"

namespace cairn::keys {

// Column family names. Persisted in RocksDB: never rename.
inline constexpr std::string_view kRunsFamily = "runs";
inline constexpr std::string_view kCurrentFamily = "current";
inline constexpr std::string_view kEventsFamily = "events";
inline constexpr std::string_view kTasksFamily = "tasks";
inline constexpr std::string_view kTimersFamily = "timers";
inline constexpr std::string_view kMetaFamily = "meta";
inline constexpr std::string_view kVisibilityFamily = "visibility";

// `meta` keys. Persisted in RocksDB keys: never rename.
inline constexpr std::string_view kStoreMetaKey = "store";  // StoreMeta
inline constexpr std::string_view kMaxSequenceKey =
    "max_sequence";                                          // u64 big-endian, merged by max
inline constexpr std::string_view kNamespacePrefix = "ns/";  // "ns/<name>" → NamespaceRecord

// The format written by this build into StoreMeta.format_version.
inline constexpr int32_t kFormatVersion = 1;

// ---- Primitive encodings ----------------------------------------------------------------------

void append_u32(std::string* out, uint32_t v);
void append_u64(std::string* out, uint64_t v);
// u32 length, then the bytes.
void append_string(std::string* out, std::string_view s);

// Consume from the front of *in; nullopt (and *in unspecified) when too short.
std::optional<uint32_t> read_u32(std::string_view* in);
std::optional<uint64_t> read_u64(std::string_view* in);
std::optional<std::string> read_string(std::string_view* in);

// 8-byte big-endian value (the `max_sequence` meta value).
std::string encode_u64(uint64_t v);
std::optional<uint64_t> decode_u64(std::string_view in);

// The smallest key greater than every key that starts with `prefix` (an exclusive upper bound for
// a prefix scan). Empty when no such key exists (prefix all 0xff): scan to the end.
std::string prefix_end(std::string_view prefix);

// ---- Column family keys -----------------------------------------------------------------------
// REQUIRES (all encoders): shard >= 0; integer ids >= 0. The store validates both before encoding.

// runs: shard u32 | namespace | workflow id | run id
std::string run_key(const RunKey& key);
std::optional<RunKey> decode_run_key(std::string_view key);

// current: shard u32 | namespace | workflow id
std::string current_key(const WorkflowKey& key);

// events: shard u32 | run id | event id u64
std::string events_prefix(ShardId shard, std::string_view run_id);
std::string event_key(ShardId shard, std::string_view run_id, int64_t event_id);
struct DecodedEventKey {
  ShardId shard;
  std::string run_id;
  int64_t event_id = 0;
};
std::optional<DecodedEventKey> decode_event_key(std::string_view key);

// tasks: shard u32 | task id u64
// timers: shard u32 | fire time ms u64 | timer seq u64
std::string shard_prefix(ShardId shard);  // the prefix of one shard in tasks and timers
std::string task_key(ShardId shard, int64_t task_id);
struct DecodedTaskKey {
  ShardId shard;
  int64_t task_id = 0;
};
std::optional<DecodedTaskKey> decode_task_key(std::string_view key);

std::string timer_key(ShardId shard, int64_t fire_time_ms, int64_t timer_seq);
struct DecodedTimerKey {
  ShardId shard;
  int64_t fire_time_ms = 0;
  int64_t timer_seq = 0;
};
std::optional<DecodedTimerKey> decode_timer_key(std::string_view key);

// visibility: index byte ('s' by start time, 'c' by close time) | namespace | time ms u64 |
// run id. Every run has an 's' entry; an open run also an 'o' one, a closed run a 'c' one. The value is the whole
// VisibilityRecord, so a listing reads one index and nothing else.
inline constexpr char kVisibilityByStart = 's';
inline constexpr char kVisibilityByClose = 'c';
inline constexpr char kVisibilityOpen = 'o';  // open runs only, by start time; deleted at close
// Schedules' entities (RunState.schedule), by creation time, while the schedule exists; they are
// in no other index, so workflow listings never see them.
inline constexpr char kVisibilitySchedules = 'S';
std::string visibility_prefix(char index, std::string_view ns);
std::string visibility_key(char index, std::string_view ns, int64_t time_ms, std::string_view run_id);

// meta: "ns/" then the raw name (the name is the whole rest of the key).
std::string namespace_key(std::string_view name);

}  // namespace cairn::keys
