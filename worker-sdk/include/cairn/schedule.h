// Schedules: durable cron / interval schedules run by the server, whose fires start workflows
// (cairn/v1/schedule.proto). ScheduleOptions are plain aggregates, checked where they are given
// (Client::create_schedule, ScheduleHandle::update) with the server's own rules
// (proto/schedule_spec.h), so a bad cron expression is refused with its column before any RPC.
// ScheduleHandle is a cheap copyable value bound to a Client; thread-safe like the Client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/options.h"
#include "cairn/payload.h"
#include "cairn/v1/schedule.pb.h"
#include "cairn/v1/service.pb.h"

namespace cairn {

namespace detail {
struct ClientCore;
}  // namespace detail

using ScheduleTime = std::chrono::system_clock::time_point;

// Fires at the Unix epoch + offset + k * every (UTC; intervals ignore the time zone):
// {.every = 90min, .offset = 15min} fires at 00:15, 01:45, 03:15, ...
struct ScheduleInterval {
  std::chrono::milliseconds every{0};   // > 0
  std::chrono::milliseconds offset{0};  // in [0, every)
};

// When a schedule fires: the union of its cron expressions and intervals, within
// [start_at, end_at].
struct ScheduleSpec {
  // 5 fields (minute hour day-of-month month day-of-week) or 6 (second first); ranges, steps,
  // lists, month and day names, and @yearly @monthly @weekly @daily @hourly (see
  // cairn/v1/schedule.proto). Matched on the wall clock of time_zone.
  std::vector<std::string> cron;
  std::vector<ScheduleInterval> intervals;
  std::string time_zone;                 // an IANA name ("Europe/Paris"); empty: UTC
  std::optional<ScheduleTime> start_at;  // unset: no lower bound
  std::optional<ScheduleTime> end_at;    // unset: no upper bound; not before start_at
  // Each fire is delayed by a deterministic amount in [0, jitter); the started workflow's id
  // keeps the nominal time.
  std::chrono::milliseconds jitter{0};
};

// What a fire does while an earlier action still runs (ScheduleOverlapPolicy in the proto).
enum class ScheduleOverlap {
  kSkip,            // the fire is skipped and counted (the default)
  kBufferOne,       // at most one fire waits for the running action; further ones are dropped
  kBufferAll,       // every fire waits, started one at a time in order
  kCancelOther,     // the running action is asked to cancel; the new one starts after it closes
  kTerminateOther,  // the running action is terminated; the new one starts after it closes
  kAllowAll,        // every fire starts at once
};

// The workflow a fire starts. Its id is "<workflow_id>-<nominal time, 2026-12-07T22:00:00Z>",
// workflow_id defaulting to the schedule id, so one nominal time never starts twice.
struct ScheduleWorkflowOptions {
  std::string task_queue;   // required
  std::string workflow_id;  // the base of the derived ids; empty: the schedule id
  std::chrono::milliseconds execution_timeout{0};  // 0: unlimited
  std::chrono::milliseconds run_timeout{0};        // 0: unlimited
  std::chrono::milliseconds task_timeout{0};       // 0: 10 s; at most 120 s
  std::optional<RetryPolicy> retry;                // unset: the workflow is not retried
  PayloadMap memo;
  PayloadMap search_attributes;  // registered attributes of the namespace
};

struct ScheduleAction {
  std::string workflow_type;  // required
  ScheduleWorkflowOptions workflow;
  v1::Payloads input;  // the workflow's arguments (encoded by ClientOptions::codecs when sent)

  // ScheduleAction::start_workflow("scale_down", {.task_queue = "ops"}, "pool-a", 0)
  template <class... A>
  static ScheduleAction start_workflow(std::string workflow_type, ScheduleWorkflowOptions options,
                                       const A&... args) {
    return ScheduleAction{std::move(workflow_type), std::move(options), to_payloads(args...)};
  }
};

// A whole schedule. Checked before any RPC; OptionsError names the field ("spec.cron[1]",
// "spec.time_zone", "spec.intervals[0].every", "spec.end_at", "action.workflow.task_queue",
// "catchup_window", "remaining_actions", ...) and the message says what is wrong, e.g.
//   schedule "nightly" options: spec.cron[0]: "0 25 * * *": hour "25" at column 3 is out of
//   range 0-23
struct ScheduleOptions {
  ScheduleSpec spec;
  ScheduleAction action;
  ScheduleOverlap overlap = ScheduleOverlap::kSkip;
  // After downtime, fires missed by at most this much run (once each, in order); older ones are
  // skipped and counted. 0: one year; otherwise at least 1 s.
  std::chrono::milliseconds catchup_window{0};
  bool pause_on_failure = false;  // pause when an action fails, times out or is terminated
  bool paused = false;            // the initial state (later: pause() / unpause())
  std::string note;               // why it is paused, or anything the operator wants to say
  // Set: only this many more scheduled fires (>= 0); triggers and backfills do not count.
  std::optional<int64_t> remaining_actions;
  // The schedule's own memo and search attributes (listing filters), set on create only.
  PayloadMap memo;
  PayloadMap search_attributes;
  // Deduplicates retries of a create / update: empty, one drawn per call (and kept across its
  // retries while the server is unavailable).
  std::string request_id;
};

enum class ScheduleActionCause { kUnspecified, kScheduled, kTrigger, kBackfill };

// One action the schedule took.
struct ScheduleActionResult {
  ScheduleTime nominal;  // the spec's time (the trigger / backfill time for manual ones)
  ScheduleTime actual;   // when the start was decided
  std::string workflow_id;
  std::string run_id;  // empty until the start is recorded
  // RUNNING while open, then the close status; UNSPECIFIED while starting.
  v1::WorkflowExecutionStatus status = v1::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED;
  ScheduleActionCause cause = ScheduleActionCause::kUnspecified;
  std::optional<ScheduleTime> close_time;
  std::string start_error;  // set when the server refused the start
};

// A fire waiting for the running action to close.
struct ScheduleBufferedStart {
  ScheduleTime nominal;
  ScheduleTime actual;
  ScheduleActionCause cause = ScheduleActionCause::kUnspecified;
  ScheduleOverlap overlap = ScheduleOverlap::kSkip;
};

struct ScheduleDescription {
  std::string schedule_id;
  // The schedule as stored: spec, action (input decoded), policies, paused, note, remaining
  // actions, memo and search attributes. Edit and pass to ScheduleHandle::update().
  ScheduleOptions options;
  bool paused = false;
  std::string note;
  std::vector<ScheduleTime> next_fires;  // ascending
  std::vector<ScheduleActionResult> running_actions;
  std::vector<ScheduleActionResult> recent_actions;  // newest last
  std::vector<ScheduleBufferedStart> buffered_starts;
  int64_t action_count = 0;           // actions started
  int64_t missed_catchup_window = 0;  // fires older than the catch-up window
  int64_t overlap_skipped = 0;        // fires skipped by kSkip (or dropped by kBufferOne)
  int64_t buffer_dropped = 0;         // fires dropped because the buffer was full
  int64_t paused_skipped = 0;         // nominal times that passed while paused
  ScheduleTime create_time;
  ScheduleTime update_time;
  std::string conflict_token;
  v1::DescribeScheduleResponse raw;  // the server's answer, payloads decoded
};

// One entry of Client::list_schedules.
struct ScheduleSummary {
  std::string schedule_id;
  std::string workflow_type;
  bool paused = false;
  std::string note;
  ScheduleSpec spec;
  std::vector<ScheduleTime> next_fires;
  std::vector<ScheduleActionResult> recent_actions;  // the newest few
  PayloadMap memo;
  PayloadMap search_attributes;
};

class ScheduleHandle {
 public:
  ScheduleHandle(std::shared_ptr<detail::ClientCore> core, std::string schedule_id);

  const std::string& id() const { return id_; }

  // The schedule, its state and up to `next_fire_count` (1-100) next fire times. Throws
  // RpcError (NOT_FOUND for an unknown or deleted schedule).
  ScheduleDescription describe(int next_fire_count = 10);

  // Replaces spec, action and policies (and paused / note / remaining actions: as given).
  // options.memo / search_attributes are not changed by an update. Throws OptionsError before
  // any RPC, RpcError (NOT_FOUND); UNAVAILABLE is retried with the same request id.
  void update(const ScheduleOptions& options);
  // Reads the schedule, lets `edit` change it, and writes it back only if nobody changed it
  // meanwhile (the conflict token); on such a conflict, reads and edits again (up to 5 times,
  // then RpcError ABORTED). Throws what update() throws and what `edit` throws.
  void update(const std::function<void(ScheduleOptions&)>& edit);

  // Pauses (no scheduled fires until unpaused; triggers and backfills still run) / unpauses,
  // with a note saying why (empty: "paused by <identity>" / "unpaused by <identity>"). Throws
  // RpcError.
  void pause(const std::string& note = "");
  void unpause(const std::string& note = "");
  // Takes one action now, paused or not, under `overlap` (unset: the schedule's). Returns the
  // derived workflow id of the action taken or buffered (none when skipped). Throws RpcError.
  std::vector<std::string> trigger(std::optional<ScheduleOverlap> overlap = std::nullopt);
  // Takes the actions the spec gives in [start, end] (both inclusive), in order, as if they had
  // fired then, under `overlap` (unset: the schedule's). Returns their derived workflow ids.
  // Throws OptionsError (field "end") when end is before start, RpcError.
  std::vector<std::string> backfill(ScheduleTime start, ScheduleTime end,
                                    std::optional<ScheduleOverlap> overlap = std::nullopt);
  // Deletes the schedule; the workflows it started are not touched. Throws RpcError
  // (NOT_FOUND when there is no such schedule).
  void remove();

 private:
  void patch(const v1::SchedulePatch& patch, const std::string& what,
             v1::PatchScheduleResponse* resp);

  std::shared_ptr<detail::ClientCore> core_;
  std::string id_;
};

// Checks `options` for the schedule `schedule_id` as create_schedule does. Throws OptionsError
// naming the field.
void check_schedule_options(const std::string& schedule_id, const ScheduleOptions& options);

// The proto form of `options` (what CreateSchedule / UpdateSchedule carry; memo and search
// attributes of the schedule itself are separate fields of the request), and back.
v1::Schedule to_proto(const ScheduleOptions& options);
ScheduleOptions schedule_options_from_proto(const v1::Schedule& schedule);
v1::ScheduleOverlapPolicy to_proto(ScheduleOverlap overlap);
ScheduleOverlap overlap_from_proto(v1::ScheduleOverlapPolicy policy);

// Milliseconds since the Unix epoch, and back.
int64_t to_epoch_ms(ScheduleTime t);
ScheduleTime from_epoch_ms(int64_t ms);

}  // namespace cairn
