// ThreadPool: a fixed set of threads running submitted jobs in FIFO order. The server runs every
// blocking transition here, so gRPC's callback threads never wait on a disk sync. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cairn {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();  // runs the jobs already queued, then joins

  // Queues a job. After shutdown() jobs are run inline on the caller's thread, so none is lost.
  void submit(std::function<void()> job);
  void shutdown();  // idempotent
  // Waits until no job is queued or running, or the timeout passes; true when idle. Jobs
  // submitted meanwhile are waited for too.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  int running_ = 0;                         // jobs being run; guarded by mu_
  std::condition_variable idle_cv_;         // signalled when a job finishes
  std::vector<std::thread> threads_;
};

}  // namespace cairn
