// QueryRegistry: queries (and update validations) waiting for a worker's answer. In memory only:
// queries are not durable, and a server restart fails the waiting callers (their calls end).
// A query is added with a callback, offered to the run's workflow task queue as a TASK_KIND_QUERY
// record, and answered exactly once: by the worker's RespondQueryTaskCompleted, or dropped by the
// caller's deadline / cancellation. Thread-safe; owned by the Engine.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "cairn/v1/service.pb.h"
#include "history/ids.h"

namespace cairn {

class QueryRegistry {
 public:
  using Callback = std::function<void(const v1::RespondQueryTaskCompletedRequest&)>;

  struct Pending {
    RunKey run;
    v1::WorkflowQuery query;
    Callback on_answer;
  };

  // Registers a query on `run`; returns its query id (filled into `query`).
  std::string add(const RunKey& run, v1::WorkflowQuery query, Callback on_answer);
  // The query while it waits for an answer; nullopt once answered or dropped.
  std::optional<Pending> find(const std::string& query_id) const;
  // Delivers an answer: runs the callback on this thread and forgets the query. False when the
  // query is unknown (answered already, or its caller gave up).
  bool answer(const v1::RespondQueryTaskCompletedRequest& answer);
  // Forgets a query whose caller gave up. False when already gone.
  bool drop(const std::string& query_id);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  uint64_t next_ = 0;                                   // guarded by mu_
  std::unordered_map<std::string, Pending> pending_;   // guarded by mu_
};

}  // namespace cairn
