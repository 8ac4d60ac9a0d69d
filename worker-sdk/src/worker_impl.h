// WorkerImpl: the machinery behind cairn::Worker — workflow long-poll threads on the task queue
// and on this worker's sticky queue, the cache of live runs and the replay of each workflow task
// (workflow_task.cc), activity long-poll threads and a lazily grown pool of activity threads
// bounded by max_concurrent_activities. Thread-safe; owned by Worker.
#pragma once

#include <grpcpp/client_context.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cairn/worker.h"
#include "fiber.h"
#include "log_limiter.h"
#include "workflow_cache.h"

namespace cairn::detail {

class WorkerImpl {
 public:
  WorkerImpl(Client& client, WorkerOptions options);
  ~WorkerImpl();

  void add_workflow(const std::string& name, WorkflowFunction fn);
  void add_activity(const std::string& name, ActivityFunction fn);
  void start();
  void stop();
  // Blocks until stop() has finished.
  void wait_stopped();
  const WorkerOptions& options() const { return options_; }
  WorkerStats stats() const;
  const std::string& sticky_queue() const { return sticky_queue_; }

 private:
  // Polls `queue` (the task queue, or this worker's sticky queue) for workflow tasks.
  void workflow_poll_loop(const std::string& queue);
  void activity_poll_loop();
  // workflow_task.cc: runs a workflow task on the run's cached Replayer or a new one, answers it,
  // and caches the run again for its next task.
  void handle_workflow_task(const v1::PollWorkflowTaskQueueResponse& task);
  // A partial (or, for a query, no) history for a run not in the cache: the same task with the
  // run's history up to event `last` (0: all of it).
  void fetch_full_history(const v1::PollWorkflowTaskQueueResponse& task, int64_t last,
                          v1::PollWorkflowTaskQueueResponse* full);
  // On stop: tells the server to send the cached runs' next tasks to the task queue at once
  // rather than after the sticky timeout, then drops the cache.
  void release_cached_runs();
  // A query (or update validation) task: replay, answer, no commands (query_task.cc).
  void handle_query_task(const v1::PollWorkflowTaskQueueResponse& task);
  std::optional<v1::RespondQueryTaskCompletedRequest> answer_from_cache(
      const v1::PollWorkflowTaskQueueResponse& task);
  void run_activity(const v1::PollActivityTaskQueueResponse& task);
  void executor_loop();
  void submit(std::function<void()> job);

  // A long-poll in flight, so that stop() can cancel it. False when stopping.
  bool begin_poll(grpc::ClientContext* ctx);
  void end_poll(grpc::ClientContext* ctx);
  // Waits `backoff` (or until stop()), then doubles it up to 5 s.
  void wait_backoff(std::chrono::milliseconds& backoff);
  // Takes a free activity slot, waiting for one; false when stopping.
  bool acquire_slot();
  // Takes a free activity slot if one is free now.
  bool try_acquire_slot();
  // Eager activity dispatch (workflow_task.cc): marks the commands whose activity can run here
  // now, taking a slot for each; returns how many were taken.
  int request_eager_activities(v1::RespondWorkflowTaskCompletedRequest* req);
  // Runs the activity tasks of a completion's response in the slots taken for them, and gives
  // back the slots the server did not use.
  void run_eager_activities(const v1::RespondWorkflowTaskCompletedResponse& resp, int reserved);
  void release_slot();
  bool stopping();

  std::shared_ptr<ClientCore> core_;
  WorkerOptions options_;
  std::map<std::string, WorkflowFunction> workflows_;  // read-only after start()
  std::map<std::string, ActivityFunction> activities_;  // read-only after start()
  StackPool stacks_;
  WorkflowCache cache_;
  std::string sticky_queue_;  // empty: sticky execution off

  struct Counters {
    std::atomic<int64_t> workflow_tasks{0}, cache_hits{0}, full_replays{0}, history_fetches{0},
        events_received{0}, evictions{0}, eager_activities{0};
  };
  Counters counters_;
  // Warnings about a run's workflow tasks (failed by this worker, rejected by the server, an
  // answer that did not get through) repeat on every retry: one line per run and kind a minute.
  LogLimiter task_warnings_;

  std::mutex stop_mu_;  // serialises stop()
  std::mutex mu_;
  std::condition_variable cv_;       // stopping_, stopped_
  std::condition_variable slot_cv_;  // free_slots_ (activity pollers wait for a slot)
  std::condition_variable jobs_cv_;  // jobs_ (idle executors wait for a job)
  bool started_ = false;                    // GUARDED_BY(mu_)
  bool stopping_ = false;                   // GUARDED_BY(mu_)
  bool stopped_ = false;                    // GUARDED_BY(mu_)
  std::set<grpc::ClientContext*> polls_;    // GUARDED_BY(mu_)
  int free_slots_;                          // GUARDED_BY(mu_)
  std::deque<std::function<void()>> jobs_;  // GUARDED_BY(mu_)
  int idle_executors_ = 0;                  // GUARDED_BY(mu_)
  bool executors_stopping_ = false;         // GUARDED_BY(mu_)
  std::vector<std::thread> executors_;      // GUARDED_BY(mu_)
  std::vector<std::thread> pollers_;
};

}  // namespace cairn::detail
