#include "history/ids.h"

namespace cairn {

std::string RunKey::debug_string() const {
  return ns + "/" + workflow_id + "/" + run_id.value;
}

ShardId shard_for(const std::string& ns, const std::string& workflow_id, int32_t shard_count) {
  // FNV-1a, 64 bit. Persisted semantics: changing it moves every run to another shard.
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (unsigned char c : ns) {
    mix(c);
  }
  mix(0);
  for (unsigned char c : workflow_id) {
    mix(c);
  }
  return ShardId{static_cast<int32_t>(h % static_cast<uint64_t>(shard_count))};
}

}  // namespace cairn
