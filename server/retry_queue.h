// RetryQueue: in-process retries of the server's own background work — a transfer (outbox) task,
// a timer's firing, a task handed to a poller — when it fails for a cause that may pass (the
// store unavailable, a write refused while the disk is full). Each retry waits a backoff that
// doubles from `initial` to `maximum`; after `max_attempts` the work is given up in memory (it is
// still on disk, and a restart runs it again) and that is logged as an error. Failures are counted
// per cause and logged once per cause a minute, with how many were not logged. Thread-safe.
//
// With a thread (SystemClock) the due work is submitted to the pool; without one (a ManualClock
// in tests) it runs inside ManualClock::advance(), so a test advances by the backoff and finds the
// work redone.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "scheduler/clock.h"
#include "server/thread_pool.h"

namespace cairn {

struct RetryQueueOptions {
  int64_t initial_ms = 100;     // the first retry's wait, > 0
  int64_t maximum_ms = 10'000;  // the longest wait, >= initial_ms
  int max_attempts = 30;        // retries of one piece of work before it is given up in memory
};

class RetryQueue {
 public:
  RetryQueue(Clock* clock, ThreadPool* pool, RetryQueueOptions options = {});
  ~RetryQueue();

  void start(bool use_thread);
  // Stops the thread; work still waiting is dropped (it is on disk). Idempotent.
  void stop();

  // `work` failed for the `attempt`-th time (1: its first run) with `cause` (e.g. "UNAVAILABLE");
  // `what` names it in logs ("transfer task 42 of default/wf/run"). Schedules `again(attempt +
  // 1)` after the backoff, or gives up (false) when attempt >= max_attempts or after stop().
  // `kind` groups the counters and the once-a-minute log lines ("transfer", "timer", "task").
  bool retry(const std::string& kind, const std::string& what, const std::string& cause,
             int attempt, std::function<void(int next_attempt)> again);

  // The wait before retry number `attempt` (1-based).
  int64_t backoff_ms(int attempt) const;

  struct Counts {
    int64_t retried = 0;  // retries scheduled
    int64_t gave_up = 0;  // work given up after max_attempts
    int64_t pending = 0;  // retries waiting now
  };
  // Counters of one kind ("" for all kinds together).
  Counts counts(const std::string& kind = "") const;

 private:
  struct Item {
    std::string kind;
    std::function<void(int)> again;
    int next_attempt = 0;
  };
  struct CauseLog {
    int64_t last_logged_ms = INT64_MIN;
    int64_t suppressed = 0;
  };
  void run();
  void run_due();
  // Logs a failure of (kind, cause) at most once a minute; REQUIRES: mu_ held.
  void note_locked(const std::string& kind, const std::string& what, const std::string& cause,
                   int attempt, bool giving_up);

  Clock* clock_;
  ThreadPool* pool_;
  RetryQueueOptions options_;
  bool use_thread_ = false;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::multimap<int64_t, Item> due_;        // guarded by mu_, by due time
  std::map<std::string, Counts> counts_;    // guarded by mu_, by kind
  std::map<std::string, CauseLog> logged_;  // guarded by mu_, by kind + cause
  uint64_t changes_ = 0;                    // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::thread thread_;
  AdvanceListener advance_listener_;
};

}  // namespace cairn
