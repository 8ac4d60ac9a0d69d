// WorkerImpl: the machinery behind cairn::Worker — workflow and activity long-poll threads, the
// replay of each workflow task, and a lazily grown pool of activity threads bounded by
// max_concurrent_activities. Thread-safe; owned by Worker.
#pragma once

#include <grpcpp/client_context.h>

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

 private:
  void workflow_poll_loop();
  void activity_poll_loop();
  void handle_workflow_task(const v1::PollWorkflowTaskQueueResponse& task);
  // A query (or update validation) task: replay, answer, no commands (query_task.cc).
  void handle_query_task(const v1::PollWorkflowTaskQueueResponse& task);
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
  void release_slot();
  bool stopping();

  std::shared_ptr<ClientCore> core_;
  WorkerOptions options_;
  std::map<std::string, WorkflowFunction> workflows_;  // read-only after start()
  std::map<std::string, ActivityFunction> activities_;  // read-only after start()
  StackPool stacks_;

  std::mutex stop_mu_;  // serialises stop()
  std::mutex mu_;
  std::condition_variable cv_;
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
