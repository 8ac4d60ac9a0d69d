// WorkflowCache: the runs a worker keeps live between workflow tasks (sticky execution), each a
// Replayer whose fiber is suspended where the workflow code waits. Least recently used runs are
// evicted past the capacity; an evicted run's next task replays its full history. A task takes
// its run out of the cache while it runs, so one run is never used by two threads at once.
// Thread-safe.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "replayer.h"

namespace cairn::detail {

struct CachedRun {
  std::string workflow_id;
  std::string run_id;
  std::unique_ptr<Replayer> replayer;
};

class WorkflowCache {
 public:
  explicit WorkflowCache(size_t capacity) : capacity_(capacity) {}

  size_t capacity() const { return capacity_; }

  // Removes and returns the run, or nullopt when it is not cached.
  std::optional<CachedRun> take(const std::string& run_id);

  // Caches `run` as the most recently used and returns the runs evicted to stay within the
  // capacity (or `run` itself, when the cache holds the same run further along). Destroy them outside any lock of the caller's: destroying a Replayer unwinds its
  // fiber, which runs the workflow code's destructors.
  std::vector<CachedRun> put(CachedRun run);

  // Removes the run if cached (returned, for destruction by the caller).
  std::optional<CachedRun> erase(const std::string& run_id) { return take(run_id); }

  // Removes and returns every cached run.
  std::vector<CachedRun> clear();

  size_t size() const;

 private:
  using Order = std::list<std::string>;  // run ids, most recently used first
  struct Slot {
    CachedRun run;
    Order::iterator position;
  };

  const size_t capacity_;
  mutable std::mutex mu_;
  Order order_;                                  // GUARDED_BY(mu_)
  std::unordered_map<std::string, Slot> runs_;   // GUARDED_BY(mu_)
};

}  // namespace cairn::detail
