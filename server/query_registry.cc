#include "server/query_registry.h"

namespace cairn {

std::string QueryRegistry::add(const RunKey& run, v1::WorkflowQuery query, Callback on_answer) {
  std::lock_guard lock(mu_);
  std::string id = "q" + std::to_string(++next_) + "-" + run.run_id.value;
  query.set_query_id(id);
  pending_[id] = Pending{run, std::move(query), std::move(on_answer)};
  return id;
}

std::optional<QueryRegistry::Pending> QueryRegistry::find(const std::string& query_id) const {
  std::lock_guard lock(mu_);
  auto it = pending_.find(query_id);
  if (it == pending_.end()) {
    return std::nullopt;
  }
  return it->second;
}

bool QueryRegistry::answer(const v1::RespondQueryTaskCompletedRequest& answer) {
  Callback cb;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(answer.query_id());
    if (it == pending_.end()) {
      return false;
    }
    cb = std::move(it->second.on_answer);
    pending_.erase(it);
  }
  cb(answer);  // outside the lock: it may finish an RPC
  return true;
}

bool QueryRegistry::drop(const std::string& query_id) {
  std::lock_guard lock(mu_);
  return pending_.erase(query_id) > 0;
}

size_t QueryRegistry::size() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

}  // namespace cairn
