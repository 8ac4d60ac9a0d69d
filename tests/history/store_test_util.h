// Helpers for HistoryStore tests: a temporary directory removed on destruction, and builders for
// run keys, transitions, tasks and timers. Not thread-safe; one per test.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <system_error>

#include <google/protobuf/util/message_differencer.h>
#include <stdlib.h>

#include "history/history_store.h"

namespace cairn {

// Readable RunKeys in gtest failure messages.
inline void PrintTo(const RunKey& key, std::ostream* os) {
  *os << "shard " << key.shard.value << " " << key.debug_string();
}

namespace store_test {

// A fresh directory under /tmp, deleted with everything in it when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/cairn-store-test-XXXXXX";
    CAIRN_CHECK(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A workflow id (with the given stem) whose shard_for() is `shard`.
inline std::string workflow_in_shard(const std::string& ns, const std::string& stem, int32_t shard,
                                     int32_t shard_count) {
  for (int i = 0;; ++i) {
    std::string id = stem + "-" + std::to_string(i);
    if (shard_for(ns, id, shard_count).value == shard) {
      return id;
    }
  }
}

inline RunKey run_in_shard(int32_t shard, int32_t shard_count, const std::string& stem,
                           const std::string& run_id) {
  std::string workflow_id = workflow_in_shard("default", stem, shard, shard_count);
  return RunKey{ShardId{shard}, "default", workflow_id, RunId{run_id}};
}

inline WorkflowKey workflow_of(const RunKey& key) {
  return WorkflowKey{key.shard, key.ns, key.workflow_id};
}

inline v1::HistoryEvent event(int64_t id) {
  v1::HistoryEvent e;
  e.set_event_id(id);
  e.set_event_time_ms(1000 + id);
  e.set_event_type(v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  return e;
}

// A transition of `key` appending events [first_event, first_event + count) and a state whose
// next_event_id follows them.
inline Transition transition(const RunKey& key, int64_t first_event, int64_t count) {
  Transition t;
  t.key = key;
  t.state.set_namespace_(key.ns);
  t.state.set_workflow_id(key.workflow_id);
  t.state.set_run_id(key.run_id.value);
  t.state.set_status(v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  t.state.set_next_event_id(first_event + count);
  t.state.set_db_version(first_event + count);
  (*t.state.mutable_memo())["owner"].set_data("team-a");
  for (int64_t id = first_event; id < first_event + count; ++id) {
    t.events.push_back(event(id));
  }
  return t;
}

inline v1::TaskRecord task(const RunKey& key, int64_t task_id) {
  v1::TaskRecord r;
  r.set_task_id(task_id);
  r.set_shard(key.shard.value);
  r.set_kind(v1::TASK_KIND_ACTIVITY);
  r.set_namespace_(key.ns);
  r.set_task_queue("q");
  r.set_workflow_id(key.workflow_id);
  r.set_run_id(key.run_id.value);
  r.set_scheduled_event_id(task_id);
  return r;
}

inline v1::TimerRecord timer(const RunKey& key, int64_t fire_time_ms, int64_t timer_seq) {
  v1::TimerRecord r;
  r.set_timer_seq(timer_seq);
  r.set_shard(key.shard.value);
  r.set_kind(v1::TIMER_KIND_USER_TIMER);
  r.set_fire_time_ms(fire_time_ms);
  r.set_namespace_(key.ns);
  r.set_workflow_id(key.workflow_id);
  r.set_run_id(key.run_id.value);
  r.set_timer_id("t" + std::to_string(timer_seq));
  return r;
}

inline bool same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

}  // namespace store_test
}  // namespace cairn
