// Replayer: runs one workflow task. It replays the run's full history through the workflow
// function on a fresh fiber — matching each command the code issues against the event history
// recorded for it, resolving futures from completion events in history order — and returns the
// new commands of the current task, or the reason the task fails (non-determinism, a bug in the
// workflow code). No gRPC, no threads: tests drive it with hand-built histories.
// One Replayer per workflow task, used by one thread.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cairn/v1/command.pb.h"
#include "cairn/v1/history.pb.h"
#include "cairn/replayer.h"
#include "cairn/worker.h"
#include "cairn/workflow.h"
#include "fiber.h"

namespace cairn::detail {

using cairn::ReplayResult;

// Side effects are recorded as markers with this name, their value under this details key.
inline constexpr char kSideEffectMarker[] = "SideEffect";
inline constexpr char kSideEffectKey[] = "data";

class Replayer final : public WorkflowCore {
 public:
  // `info` needs workflow_id and run_id; the rest is read from WorkflowExecutionStarted.
  Replayer(WorkflowFunction fn, WorkflowInfo info, StackPool& stacks = StackPool::shared());
  ~Replayer() override;
  Replayer(const Replayer&) = delete;
  Replayer& operator=(const Replayer&) = delete;

  // Replays `events`: the full history up to and including the current WorkflowTaskStarted.
  // REQUIRES: called once.
  ReplayResult replay(const google::protobuf::RepeatedPtrField<v1::HistoryEvent>& events);
  ReplayResult replay(const std::vector<v1::HistoryEvent>& events);

  // WorkflowCore, called from workflow code on the fiber.
  std::shared_ptr<FutureState> schedule_activity(const std::string& type, v1::Payloads input,
                                                 const ActivityOptions& options) override;
  std::shared_ptr<FutureState> start_timer(std::chrono::milliseconds duration) override;
  void await(FutureState& state) override;
  std::optional<v1::Payloads> receive_signal(
      const std::string& name, std::optional<std::chrono::milliseconds> timeout) override;
  std::optional<v1::Payloads> try_receive_signal(const std::string& name) override;
  v1::Payloads side_effect(const std::function<v1::Payloads()>& fn) override;
  std::chrono::system_clock::time_point now() const override { return now_; }
  uint64_t random() override { return rng_(); }
  std::string uuid() override;
  bool cancel_requested() const override { return cancel_requested_; }
  bool is_replaying() const override { return replaying_; }
  const WorkflowInfo& info() const override { return info_; }

 private:
  struct ActivityRecord {
    std::string type;
    std::string id;
    int64_t scheduled_event_id = 0;  // 0 until matched with ActivityTaskScheduled
    std::shared_ptr<FutureState> state;
  };
  // A command issued by the code and not yet matched with its event.
  struct PendingCommand {
    v1::Command command;
    std::shared_ptr<ActivityRecord> activity;  // for ScheduleActivityTask
  };

  ReplayResult run(const std::vector<const v1::HistoryEvent*>& events);
  // Applies one event; false when the task must fail (result_ says why).
  bool apply(const v1::HistoryEvent& event, bool run_code, bool last_task);
  bool match_command_event(const v1::HistoryEvent& event);
  void resolve_activity(const v1::HistoryEvent& event);
  // Runs workflow code for the task whose WorkflowTaskStarted is `event`.
  bool run_workflow_task(const v1::HistoryEvent& event, bool last_task);
  void propagate_cancel();
  void fiber_body();
  void cancel_timer(const std::string& timer_id);
  void fail_task(v1::WorkflowTaskFailedCause cause, v1::Failure failure);
  void non_determinism(int64_t event_id, const std::string& history_has,
                       const std::string& code_issued);
  void issue(v1::Command command, std::shared_ptr<ActivityRecord> activity = nullptr);
  std::optional<v1::Payloads> pop_signal(const std::string& name);

  WorkflowFunction fn_;
  WorkflowInfo info_;
  StackPool& stacks_;
  std::unique_ptr<Fiber> fiber_;
  v1::Payloads input_;
  bool started_ = false;  // WorkflowExecutionStarted seen
  bool closed_ = false;   // the code finished and issued its close command
  std::deque<PendingCommand> pending_;
  std::map<int64_t, std::shared_ptr<ActivityRecord>> activities_;  // by scheduled event id
  std::map<std::string, std::shared_ptr<FutureState>> timers_;     // open timers by timer id
  std::map<std::string, std::deque<v1::Payloads>> signals_;        // buffered, by signal name
  std::vector<v1::Payloads> recorded_side_effects_;
  size_t side_effect_seq_ = 0;
  int64_t seq_ = 0;  // command sequence: activity and timer ids
  bool cancel_requested_ = false;
  bool cancel_propagated_ = false;
  bool replaying_ = false;
  std::chrono::system_clock::time_point now_;
  std::mt19937_64 rng_;
  std::optional<ReplayResult> failed_;
};

}  // namespace cairn::detail
