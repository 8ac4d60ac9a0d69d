// ActivityContext: what an activity function may use — its task info, heartbeats (progress
// details that a retry can resume from) and cancellation. One context per attempt, used by the
// thread that runs the attempt; cancel_requested() may be read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "cairn/payload.h"

namespace cairn {

struct ActivityInfo {
  std::string namespace_;
  std::string workflow_id;
  std::string run_id;
  std::string workflow_type;
  std::string activity_id;
  std::string activity_type;
  std::string task_queue;
  std::string task_token;
  int attempt = 1;
  std::chrono::milliseconds schedule_to_close{0};
  std::chrono::milliseconds start_to_close{0};
  std::chrono::milliseconds heartbeat_timeout{0};
  std::chrono::system_clock::time_point scheduled_time;
  std::chrono::system_clock::time_point started_time;
};

// Thrown (through ActivityContext::complete_async) to leave the activity pending: the worker
// does not report it, and a client completes it later by task token or by activity id. Not a
// cairn::Error, so that activity code catching Error does not swallow it.
struct CompleteAsync {};

namespace detail {

// Sends heartbeats for one attempt (implemented over gRPC by the worker; faked in tests).
class Heartbeater {
 public:
  virtual ~Heartbeater() = default;
  // Records `details`; returns true when the server asks the activity to cancel.
  virtual bool heartbeat(const v1::Payloads& details) = 0;
};

}  // namespace detail

class ActivityContext {
 public:
  ActivityContext(ActivityInfo info, v1::Payloads last_heartbeat_details,
                  detail::Heartbeater* heartbeater)
      : info_(std::move(info)),
        last_details_(std::move(last_heartbeat_details)),
        heartbeater_(heartbeater) {}

  const ActivityInfo& info() const { return info_; }

  // Records progress with the server (and keeps the heartbeat timeout from firing). Returns
  // true when the activity has been asked to cancel; it should then throw CanceledError.
  template <class T>
  bool heartbeat(const T& details) {
    return heartbeat_payloads(to_payloads(details));
  }
  bool heartbeat() { return heartbeat_payloads(v1::Payloads()); }
  bool heartbeat_payloads(const v1::Payloads& details) {
    if (heartbeater_ != nullptr && heartbeater_->heartbeat(details)) {
      cancel_requested_ = true;
    }
    return cancel_requested_;
  }

  // The details the previous attempt last recorded, if any.
  template <class T>
  std::optional<T> last_heartbeat_details() const {
    if (last_details_.payloads_size() == 0) {
      return std::nullopt;
    }
    return from_payloads<T>(last_details_);
  }

  // Leaves the activity pending (never returns): the worker sends no result, and the activity
  // is finished later with Client::complete_activity / fail_activity, by info().task_token or
  // by (workflow id, run id, activity id). Its timeouts still apply.
  [[noreturn]] void complete_async() { throw CompleteAsync(); }

  // True once a heartbeat answered that the activity (or its workflow) is being canceled.
  bool cancel_requested() const { return cancel_requested_; }

 private:
  ActivityInfo info_;
  v1::Payloads last_details_;
  detail::Heartbeater* heartbeater_;
  std::atomic<bool> cancel_requested_{false};
};

}  // namespace cairn
