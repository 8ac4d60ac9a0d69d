#include "history/keys.h"

namespace cairn::keys {

void append_u32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

void append_u64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

void append_string(std::string* out, std::string_view s) {
  append_u32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

std::optional<uint32_t> read_u32(std::string_view* in) {
  if (in->size() < 4) {
    return std::nullopt;
  }
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v = (v << 8) | static_cast<unsigned char>((*in)[i]);
  }
  in->remove_prefix(4);
  return v;
}

std::optional<uint64_t> read_u64(std::string_view* in) {
  if (in->size() < 8) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<unsigned char>((*in)[i]);
  }
  in->remove_prefix(8);
  return v;
}

std::optional<std::string> read_string(std::string_view* in) {
  auto size = read_u32(in);
  if (!size || in->size() < *size) {
    return std::nullopt;
  }
  std::string s(in->substr(0, *size));
  in->remove_prefix(*size);
  return s;
}

std::string encode_u64(uint64_t v) {
  std::string out;
  append_u64(&out, v);
  return out;
}

std::optional<uint64_t> decode_u64(std::string_view in) {
  auto v = read_u64(&in);
  if (!v || !in.empty()) {
    return std::nullopt;
  }
  return v;
}

std::string prefix_end(std::string_view prefix) {
  // Drop trailing 0xff bytes (nothing is above them at that position), then increment the last
  // remaining byte: every key starting with `prefix` sorts below the result.
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) {
    end.pop_back();
  }
  if (!end.empty()) {
    end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  }
  return end;
}

std::string shard_prefix(ShardId shard) {
  std::string out;
  append_u32(&out, static_cast<uint32_t>(shard.value));
  return out;
}

std::string run_key(const RunKey& key) {
  std::string out = shard_prefix(key.shard);
  append_string(&out, key.ns);
  append_string(&out, key.workflow_id);
  append_string(&out, key.run_id.value);
  return out;
}

std::optional<RunKey> decode_run_key(std::string_view key) {
  auto shard = read_u32(&key);
  if (!shard) {
    return std::nullopt;
  }
  auto ns = read_string(&key);
  if (!ns) {
    return std::nullopt;
  }
  auto workflow_id = read_string(&key);
  if (!workflow_id) {
    return std::nullopt;
  }
  auto run_id = read_string(&key);
  if (!run_id || !key.empty()) {
    return std::nullopt;
  }
  return RunKey{ShardId{static_cast<int32_t>(*shard)}, std::move(*ns), std::move(*workflow_id),
                RunId{std::move(*run_id)}};
}

std::string current_key(const WorkflowKey& key) {
  std::string out = shard_prefix(key.shard);
  append_string(&out, key.ns);
  append_string(&out, key.workflow_id);
  return out;
}

std::string events_prefix(ShardId shard, std::string_view run_id) {
  std::string out = shard_prefix(shard);
  append_string(&out, run_id);
  return out;
}

std::string event_key(ShardId shard, std::string_view run_id, int64_t event_id) {
  std::string out = events_prefix(shard, run_id);
  append_u64(&out, static_cast<uint64_t>(event_id));
  return out;
}

std::optional<DecodedEventKey> decode_event_key(std::string_view key) {
  auto shard = read_u32(&key);
  if (!shard) {
    return std::nullopt;
  }
  auto run_id = read_string(&key);
  if (!run_id) {
    return std::nullopt;
  }
  auto event_id = read_u64(&key);
  if (!event_id || !key.empty()) {
    return std::nullopt;
  }
  return DecodedEventKey{ShardId{static_cast<int32_t>(*shard)}, std::move(*run_id),
                         static_cast<int64_t>(*event_id)};
}

std::string task_key(ShardId shard, int64_t task_id) {
  std::string out = shard_prefix(shard);
  append_u64(&out, static_cast<uint64_t>(task_id));
  return out;
}

std::optional<DecodedTaskKey> decode_task_key(std::string_view key) {
  auto shard = read_u32(&key);
  if (!shard) {
    return std::nullopt;
  }
  auto task_id = read_u64(&key);
  if (!task_id || !key.empty()) {
    return std::nullopt;
  }
  return DecodedTaskKey{ShardId{static_cast<int32_t>(*shard)}, static_cast<int64_t>(*task_id)};
}

std::string timer_key(ShardId shard, int64_t fire_time_ms, int64_t timer_seq) {
  std::string out = shard_prefix(shard);
  append_u64(&out, static_cast<uint64_t>(fire_time_ms));
  append_u64(&out, static_cast<uint64_t>(timer_seq));
  return out;
}

std::optional<DecodedTimerKey> decode_timer_key(std::string_view key) {
  auto shard = read_u32(&key);
  if (!shard) {
    return std::nullopt;
  }
  auto fire_time_ms = read_u64(&key);
  if (!fire_time_ms) {
    return std::nullopt;
  }
  auto timer_seq = read_u64(&key);
  if (!timer_seq || !key.empty()) {
    return std::nullopt;
  }
  return DecodedTimerKey{ShardId{static_cast<int32_t>(*shard)}, static_cast<int64_t>(*fire_time_ms),
                         static_cast<int64_t>(*timer_seq)};
}

std::string namespace_key(std::string_view name) {
  std::string out(kNamespacePrefix);
  out.append(name);
  return out;
}

std::string visibility_prefix(char index, std::string_view ns) {
  std::string key(1, index);
  append_string(&key, ns);
  return key;
}

std::string visibility_key(char index, std::string_view ns, int64_t time_ms,
                           std::string_view run_id) {
  std::string key = visibility_prefix(index, ns);
  append_u64(&key, static_cast<uint64_t>(time_ms));
  key.append(run_id);
  return key;
}

}  // namespace cairn::keys
