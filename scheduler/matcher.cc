#include "scheduler/matcher.h"

#include <algorithm>
#include <functional>
#include <utility>

namespace cairn {
namespace {

const char* kind_name(v1::TaskKind kind) {
  switch (kind) {
    case v1::TASK_KIND_WORKFLOW:
      return "workflow";
    case v1::TASK_KIND_ACTIVITY:
      return "activity";
    default:
      return "unspecified";
  }
}

}  // namespace

std::string QueueKey::debug_string() const {
  std::string out;
  out.reserve(ns.size() + name.size() + 16);
  out.append(ns).append("/").append(name).append(" (").append(kind_name(kind)).append(")");
  return out;
}

size_t Matcher::KeyHash::operator()(const QueueKey& k) const {
  size_t h = std::hash<std::string>()(k.ns);
  h = h * 31 + std::hash<std::string>()(k.name);
  return h * 31 + static_cast<size_t>(k.kind);
}

void Matcher::offer(const QueueKey& queue, v1::TaskRecord task) {
  std::shared_ptr<PollWaiter> winner;
  {
    std::lock_guard lock(mu_);
    Queue& q = queues_[queue];
    if (task.task_id() != 0 && q.queued_ids.count(task.task_id()) > 0) {
      return;
    }
    // Oldest first. A waiter that loses try_claim() was cancelled (deadline, disconnect) and
    // answered by its canceller; it is dropped here even if remove() has not run yet.
    while (!q.waiters.empty()) {
      std::shared_ptr<PollWaiter> w = std::move(q.waiters.front());
      q.waiters.pop_front();
      if (w->try_claim()) {
        winner = std::move(w);
        break;
      }
    }
    if (!winner) {
      if (task.task_id() != 0) {
        q.queued_ids.insert(task.task_id());
      }
      q.backlog.push_back(std::move(task));
      return;
    }
  }
  // Outside the lock: deliver() finishes an RPC or hands work to a pool, and may poll again.
  // The claim already makes this waiter ours alone.
  winner->deliver(std::move(task));
}

std::optional<v1::TaskRecord> Matcher::poll(const QueueKey& queue,
                                            std::shared_ptr<PollWaiter> waiter, int64_t now_ms,
                                            const std::string& identity) {
  std::lock_guard lock(mu_);
  Queue& q = queues_[queue];
  q.last_poll_time_ms = std::max(q.last_poll_time_ms, now_ms);
  if (!identity.empty()) {
    if (q.recent_pollers.size() >= kMaxRecentPollers && q.recent_pollers.count(identity) == 0) {
      std::erase_if(q.recent_pollers, [&](const auto& p) {
        return p.second < now_ms - kRecentPollerMs;
      });
    }
    if (q.recent_pollers.size() < kMaxRecentPollers || q.recent_pollers.count(identity) != 0) {
      q.recent_pollers[identity] = now_ms;
    }
  }
  if (!q.backlog.empty()) {
    v1::TaskRecord task = std::move(q.backlog.front());
    q.backlog.pop_front();
    if (task.task_id() != 0) {
      q.queued_ids.erase(task.task_id());
    }
    return task;
  }
  // Cancelled waiters at the head would otherwise pile up when nothing is offered and nobody
  // calls remove(); pruning the head keeps this O(1) amortised.
  while (!q.waiters.empty() && q.waiters.front()->claimed()) {
    q.waiters.pop_front();
  }
  q.waiters.push_back(std::move(waiter));
  return std::nullopt;
}

void Matcher::remove(const QueueKey& queue, const PollWaiter* waiter) {
  std::lock_guard lock(mu_);
  auto it = queues_.find(queue);
  if (it == queues_.end()) {
    return;
  }
  auto& waiters = it->second.waiters;
  // Linear, but a queue's waiters are few (one per idle worker poller) and removal is per
  // poll timeout, not per task.
  auto pos = std::find_if(waiters.begin(), waiters.end(),
                          [&](const std::shared_ptr<PollWaiter>& w) { return w.get() == waiter; });
  if (pos != waiters.end()) {
    waiters.erase(pos);
  }
}

std::vector<std::shared_ptr<PollWaiter>> Matcher::drain_waiters() {
  std::vector<std::shared_ptr<PollWaiter>> drained;
  std::lock_guard lock(mu_);
  for (auto& [key, q] : queues_) {
    for (auto& w : q.waiters) {
      if (w->try_claim()) {
        drained.push_back(std::move(w));
      }
    }
    q.waiters.clear();
  }
  return drained;
}

QueueStats Matcher::stats(const QueueKey& queue) const {
  QueueStats out;
  std::lock_guard lock(mu_);
  auto it = queues_.find(queue);
  if (it == queues_.end()) {
    return out;
  }
  const Queue& q = it->second;
  out.backlog = static_cast<int64_t>(q.backlog.size());
  out.pollers = std::count_if(q.waiters.begin(), q.waiters.end(),
                              [](const std::shared_ptr<PollWaiter>& w) { return !w->claimed(); });
  out.last_poll_time_ms = q.last_poll_time_ms;
  for (const auto& [identity, at] : q.recent_pollers) {
    if (at >= q.last_poll_time_ms - kRecentPollerMs) {
      out.recent_pollers.emplace_back(identity, at);
    }
  }
  std::sort(out.recent_pollers.begin(), out.recent_pollers.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

}  // namespace cairn
