// Strong id types and the run key shared by history/, scheduler/ and server/. Value types.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace cairn {

struct ShardId {
  int32_t value = 0;
  bool operator==(const ShardId&) const = default;
  auto operator<=>(const ShardId&) const = default;
};

struct EventId {
  int64_t value = 0;
  bool operator==(const EventId&) const = default;
  auto operator<=>(const EventId&) const = default;
};

struct RunId {
  std::string value;
  bool operator==(const RunId&) const = default;
  auto operator<=>(const RunId&) const = default;
};

// Names one run. The shard is a pure function of (namespace, workflow id): see shard_for().
struct RunKey {
  ShardId shard;
  std::string ns;
  std::string workflow_id;
  RunId run_id;
  bool operator==(const RunKey&) const = default;
  std::string debug_string() const;  // "default/order-7/3f2a…"
};

// Names a workflow id (all its runs) within a namespace.
struct WorkflowKey {
  ShardId shard;
  std::string ns;
  std::string workflow_id;
  bool operator==(const WorkflowKey&) const = default;
};

// shard = fnv1a64(namespace + '\0' + workflow_id) % shard_count.
// Persisted semantics (keys are laid out by shard): never change the hash.
ShardId shard_for(const std::string& ns, const std::string& workflow_id, int32_t shard_count);

struct RunKeyHash {
  size_t operator()(const RunKey& k) const {
    return std::hash<std::string>()(k.run_id.value) ^ std::hash<std::string>()(k.workflow_id);
  }
};

}  // namespace cairn
