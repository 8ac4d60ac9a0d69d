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
#include <unordered_set>
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
  // use_thread=false). REQUIRES: called at most once.
  void start(bool use_thread = true);
  // Idempotent; pending timers stay (they are durable elsewhere). On return no fire callback
  // started by the queue's thread or by a clock advance is running, and none will start.
  // REQUIRES: not called from inside a fire callback.
  void stop();

  // A timer whose timer_seq is already queued is ignored (a re-load after a restart); seq 0 means
  // "unset" and is never deduplicated. A timer already due fires at the next fire_due() or on the
  // thread at once.
  void add(const v1::TimerRecord& timer);
  void add_all(const std::vector<v1::TimerRecord>& timers);
  // Fires every timer due at clock->now_ms() (read once, on entry), on the calling thread, one at
  // a time in (fire_time, seq) order. Timers that fire callbacks add and that are due at that
  // time fire in the same call. Works before start() and after stop(). Returns how many fired.
  int fire_due();

  size_t size() const;
  // The earliest fire time, or INT64_MAX when empty.
  int64_t next_fire_time_ms() const;

 private:
  struct Later {
    bool operator()(const v1::TimerRecord& a, const v1::TimerRecord& b) const;
  };
  void run();
  // Pops and fires timers due at now_ms until none is left; with honour_stop it also ends once
  // stop() has been called (the thread must not keep firing after stop()).
  int fire_until(int64_t now_ms, bool honour_stop);

  Clock* clock_;
  FireFn fire_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  // GUARDED_BY(mu_)
  std::priority_queue<v1::TimerRecord, std::vector<v1::TimerRecord>, Later> heap_;
  std::unordered_set<int64_t> queued_seqs_;  // GUARDED_BY(mu_): timer_seqs in heap_
  uint64_t generation_ = 0;  // GUARDED_BY(mu_): bumped when the thread must re-plan its wait
  bool stopping_ = false;    // GUARDED_BY(mu_)
  AdvanceListener advance_listener_;
  std::thread thread_;
};

}  // namespace cairn
