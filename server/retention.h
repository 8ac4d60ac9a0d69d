// RetentionSweeper: deletes closed runs — state, history and visibility — once their close time is
// older than their namespace's retention period. Open runs are never touched. One background
// thread that wakes every `interval_ms`; each pass walks every namespace's close-time index
// from the oldest closed run and stops at the first one still inside the period, so a pass costs
// the runs it deletes plus one read per namespace. Thread-safe; owned by Server.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "server/engine.h"

namespace cairn {

class RetentionSweeper {
 public:
  RetentionSweeper(Engine* engine, int64_t interval_ms);
  ~RetentionSweeper();  // stop()

  void start();
  void stop();  // idempotent; waits for a pass in progress

  // One pass over every namespace now; the number of runs deleted. Errors name the run.
  Result<int64_t> sweep_once();

 private:
  void loop();

  Engine* engine_;
  const int64_t interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace cairn
