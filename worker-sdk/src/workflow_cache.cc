#include "workflow_cache.h"

namespace cairn::detail {

std::optional<CachedRun> WorkflowCache::take(const std::string& run_id) {
  std::lock_guard lock(mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) {
    return std::nullopt;
  }
  CachedRun run = std::move(it->second.run);
  order_.erase(it->second.position);
  runs_.erase(it);
  return run;
}

std::vector<CachedRun> WorkflowCache::put(CachedRun run) {
  std::vector<CachedRun> evicted;
  std::lock_guard lock(mu_);
  if (capacity_ == 0) {
    evicted.push_back(std::move(run));
    return evicted;
  }
  auto existing = runs_.find(run.run_id);
  if (existing != runs_.end()) {
    // Put back by a query while a task replayed the run afresh (or the other way round): keep
    // the one further along.
    if (existing->second.run.replayer->next_event_id() >= run.replayer->next_event_id()) {
      evicted.push_back(std::move(run));
      return evicted;
    }
    evicted.push_back(std::move(existing->second.run));
    order_.erase(existing->second.position);
    runs_.erase(existing);
  }
  order_.push_front(run.run_id);
  std::string id = run.run_id;
  runs_.emplace(std::move(id), Slot{std::move(run), order_.begin()});
  while (runs_.size() > capacity_) {
    auto oldest = runs_.find(order_.back());
    evicted.push_back(std::move(oldest->second.run));
    runs_.erase(oldest);
    order_.pop_back();
  }
  return evicted;
}

std::vector<CachedRun> WorkflowCache::clear() {
  std::vector<CachedRun> all;
  std::lock_guard lock(mu_);
  for (auto& [id, slot] : runs_) {
    all.push_back(std::move(slot.run));
  }
  runs_.clear();
  order_.clear();
  return all;
}

size_t WorkflowCache::size() const {
  std::lock_guard lock(mu_);
  return runs_.size();
}

}  // namespace cairn::detail
