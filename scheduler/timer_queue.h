// TimerQueue: the in-memory view of the durable timers (user timers, every timeout, retry
// backoff). The durable copy lives in HistoryStore's timers; the server loads it on start-up with
// load() and adds new timers after each commit. Thread-safe. Owned by the server.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include "cairn/v1/persistence.pb.h"
#include "scheduler/clock.h"

namespace cairn {

class TimerQueue {
 public:
  // Called for each due timer, in (fire_time, seq) order, never under the queue's lock. With a
  // SystemClock it runs on the queue's own thread; with a ManualClock inside advance().
  using FireFn = std::function<void(const v1::TimerRecord&)>;

  TimerQueue(Clock* clock, FireFn fire);
  ~TimerQueue();  // stops the thread

  // Starts the firing thread (SystemClock) or hooks the clock's on_advance (ManualClock: pass
  // use_thread=false).
  void start(bool use_thread = true);
  void stop();  // idempotent; pending timers stay (they are durable elsewhere)

  void add(const v1::TimerRecord& timer);
  void add_all(const std::vector<v1::TimerRecord>& timers);
  // Fires every timer due at clock->now_ms() now, on the calling thread. Returns how many fired.
  int fire_due();

  size_t size() const;
  // The earliest fire time, or INT64_MAX when empty.
  int64_t next_fire_time_ms() const;

 private:
  struct Later {
    bool operator()(const v1::TimerRecord& a, const v1::TimerRecord& b) const;
  };
  void run();

  Clock* clock_;
  FireFn fire_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::priority_queue<v1::TimerRecord, std::vector<v1::TimerRecord>, Later> heap_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cairn
