// Replayer: runs a run's workflow tasks. Its first replay() replays the history so far through
// the workflow function on a fresh fiber — matching each command the code issues against the
// event history recorded for it, resolving futures from completion events in history order — and
// returns the new commands of the current task, or the reason the task fails (non-determinism, a
// bug in the workflow code). A worker that keeps the run cached (sticky execution) then feeds
// each later task's new events to the same Replayer: the fiber stays suspended where the code
// waits, so nothing is replayed twice. No gRPC, no threads: tests drive it with hand-built
// histories. Used by one thread at a time.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cairn/v1/command.pb.h"
#include "cairn/v1/history.pb.h"
#include "cairn/v1/service.pb.h"
#include "cairn/replayer.h"
#include "cairn/worker.h"
#include "cairn/workflow.h"
#include "fiber.h"

namespace cairn::detail {

using cairn::ReplayResult;

// Side effects are recorded as markers with this name, their value under this details key.
inline constexpr char kSideEffectMarker[] = "SideEffect";
inline constexpr char kSideEffectKey[] = "data";
// Patches (ctx.patched) are "Version" markers with the patch id under kMarkerIdKey; local
// activities are "LocalActivity" markers (local_activity.cc has their details).
inline constexpr char kVersionMarker[] = "Version";
inline constexpr char kLocalActivityMarker[] = "LocalActivity";
inline constexpr char kMarkerIdKey[] = "id";

// child_replay.cc: the *Initiated events of child workflows and external signals / cancels, and
// whether a command produced one (same workflow id, and type or signal name).
bool is_external_command_event(v1::EventType type);
bool matches_external(const v1::HistoryEvent& event, const v1::Command& command);

class Replayer final : public WorkflowCore {
 public:
  // `info` needs workflow_id and run_id; the rest is read from WorkflowExecutionStarted.
  Replayer(WorkflowFunction fn, WorkflowInfo info, StackPool& stacks = StackPool::shared());
  ~Replayer() override;
  Replayer(const Replayer&) = delete;
  Replayer& operator=(const Replayer&) = delete;

  // Replays `events` up to and including the current WorkflowTaskStarted: the first call gets
  // the full history, each later call the events after the previous call's last one (whose
  // workflow task completed with the returned commands). REQUIRES: no earlier call failed the
  // task or closed the run; events continue at next_event_id().
  ReplayResult replay(const google::protobuf::RepeatedPtrField<v1::HistoryEvent>& events);
  ReplayResult replay(const std::vector<v1::HistoryEvent>& events);
  // The id of the event the next batch starts with; 0 before the first replay().
  int64_t next_event_id() const { return next_event_id_; }
  // The code finished (completed, failed, was canceled or continued as new).
  bool closed() const { return closed_; }
  // A replay() failed the task: this Replayer's state is no longer the run's.
  bool failed() const { return failed_.has_value(); }

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
  // Child workflows and requests to other runs (child_replay.cc).
  ChildStart start_child(const std::string& type, v1::Payloads input,
                         const ChildWorkflowOptions& options) override;
  std::shared_ptr<FutureState> signal_external(const std::string& workflow_id,
                                               const std::string& run_id, const std::string& name,
                                               v1::Payloads input) override;
  std::shared_ptr<FutureState> cancel_external(const std::string& workflow_id,
                                               const std::string& run_id) override;
  bool patched(const std::string& patch_id, bool deprecated) override;
  void upsert_search_attributes(const PayloadMap& attributes) override;
  std::shared_ptr<FutureState> schedule_local_activity(const std::string& type,
                                                       v1::Payloads input,
                                                       const LocalActivityOptions& o) override;
  bool await_condition(const std::function<bool()>& ready,
                       std::optional<std::chrono::milliseconds> timeout) override;
  std::shared_ptr<ScopeState> new_scope(bool non_cancellable) override;
  std::shared_ptr<ScopeState> swap_scope(std::shared_ptr<ScopeState> scope) override;
  void cancel_scope(ScopeState& scope) override;

  // The activities local_activity() may run (owned by the worker; must outlive the replayer).
  // Unset: a local activity fails with ActivityNotRegistered.
  void set_local_activities(const std::map<std::string, ActivityFunction>* fns) {
    local_fns_ = fns;
  }

  // Queries and updates (query_update.cc).
  void set_query_handler(const std::string& name, PayloadHandler handler) override;
  void set_update_handler(const std::string& name, PayloadHandler handler,
                          PayloadHandler validator) override;
  // Replays for a query: workflow code runs only at workflow tasks that completed without
  // closing the run. REQUIRES: before replay(); `query` outlives it.
  void set_query(const v1::WorkflowQuery* query) { query_ = query; }
  // After replay(): the answer to the query set with set_query().
  v1::RespondQueryTaskCompletedRequest answer_query();
  // A cached run (its last replay() ended at a completed task): answers `query` from the live
  // state, replaying nothing.
  v1::RespondQueryTaskCompletedRequest answer_live_query(const v1::WorkflowQuery& query) {
    query_ = &query;
    v1::RespondQueryTaskCompletedRequest out = answer_query();
    query_ = nullptr;
    return out;
  }
  // Updates delivered with the current workflow task. REQUIRES: before replay().
  void set_new_updates(std::vector<v1::WorkflowUpdateRequest> updates) {
    new_updates_ = std::move(updates);
  }
  // After replay(): the delivered updates the validators (or the lack of a handler) rejected.
  const std::vector<v1::WorkflowUpdateRejection>& update_rejections() const { return rejections_; }

 private:
  struct LocalActivityRecord;  // local_activity.cc
  struct ActivityRecord {
    std::string type;
    std::string id;
    int64_t scheduled_event_id = 0;  // 0 until matched with ActivityTaskScheduled
    std::shared_ptr<FutureState> state;
    std::shared_ptr<ScopeState> scope;  // the scope it was scheduled in
    ActivityCancellationType cancellation_type = ActivityCancellationType::kTryCancel;
    bool cancel_requested = false;  // by its scope (or the workflow's cancel request)
  };
  // A command issued by the code and not yet matched with its event.
  struct ExternalRecord;  // child_replay.cc: a child workflow, or a signal / cancel request
  struct PendingCommand {
    v1::Command command;
    std::shared_ptr<ActivityRecord> activity;  // for ScheduleActivityTask
    std::shared_ptr<ExternalRecord> external;  // for StartChild / SignalExternal / CancelExternal
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
  // child_replay.cc: resolves the futures of children and external requests from their events.
  void resolve_external(const v1::HistoryEvent& event);
  void issue_external(v1::Command command, std::shared_ptr<ExternalRecord> record);
  // Requests cancellation of the started children whose scope is canceled.
  void cancel_canceled_children();
  // versioning.cc: patch markers per workflow task, and Version markers the code dropped.
  void scan_patch_markers(const std::vector<const v1::HistoryEvent*>& events,
                          const std::vector<bool>& runs);
  bool skips_patch_marker(const v1::HistoryEvent& event) const;
  // cancellation.cc: cancels pending work whose scope is canceled.
  void cancel_canceled_work();
  void cancel_activity(ActivityRecord& activity);
  // local_activity.cc: recorded LocalActivity markers; after the fiber blocks, runs (or replays)
  // the local activities due and records their markers. True when a future was resolved.
  void scan_local_activity_markers(const std::vector<const v1::HistoryEvent*>& events);
  bool run_local_activities();
  // query_update.cc: accepted updates by the task that delivered them; for a query, where the
  // code runs and where replay ends. Runs the updates of the task at `e`; true when any ran.
  void prepare_handlers(const std::vector<const v1::HistoryEvent*>& events,
                        std::vector<bool>& runs, size_t* end);
  bool run_updates(const v1::HistoryEvent& e, bool last_task);
  void run_update(const std::string& update_id, const std::string& name, const v1::Payloads& input);
  void set_blocked_on(std::string what) {
    blocked_on_ = std::move(what);
    blocked_state_ = nullptr;
  }
  // A future: described when asked, so that a later match (its scheduled event) shows.
  void set_blocked_on(const FutureState& state) { blocked_state_ = &state; }
  static std::string format_time(std::chrono::system_clock::time_point t);  // UTC, ISO 8601

  WorkflowFunction fn_;
  WorkflowInfo info_;
  StackPool& stacks_;
  std::unique_ptr<Fiber> fiber_;
  v1::Payloads input_;
  bool started_ = false;  // WorkflowExecutionStarted seen
  bool closed_ = false;   // the code finished and issued its close command
  int64_t next_event_id_ = 0;
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
  std::map<int64_t, std::shared_ptr<ExternalRecord>> externals_;  // by *Initiated event id

  // Cancellation scopes: the root is the workflow; activities not yet resolved.
  std::shared_ptr<ScopeState> root_scope_ = std::make_shared<ScopeState>();
  std::shared_ptr<ScopeState> scope_ = root_scope_;
  std::vector<std::shared_ptr<ActivityRecord>> open_activities_;
  std::map<std::string, std::shared_ptr<ScopeState>> timer_scopes_;  // by timer id
  // Versioning: patch ids recorded by each workflow task's commands (by its WorkflowTaskStarted
  // event id), those of the task the code runs at, and the answers given so far.
  std::map<int64_t, std::set<std::string>> task_patches_;
  std::set<std::string> current_patches_;
  std::map<std::string, bool> patches_;
  // Local activities: recorded markers by activity id (oldest first), those not yet resolved.
  std::map<std::string, std::deque<v1::MarkerRecordedEventAttributes>> recorded_local_;
  std::vector<std::shared_ptr<LocalActivityRecord>> local_activities_;
  const std::map<std::string, ActivityFunction>* local_fns_ = nullptr;
  std::chrono::milliseconds task_timeout_{10'000};
  std::chrono::steady_clock::time_point task_wall_start_;

  // Queries and updates.
  struct UpdateHandlers {
    PayloadHandler handler;
    PayloadHandler validator;  // empty: accept everything
  };
  std::map<std::string, PayloadHandler> query_handlers_;
  std::map<std::string, UpdateHandlers> update_handlers_;
  const v1::WorkflowQuery* query_ = nullptr;
  std::map<int64_t, std::vector<v1::WorkflowUpdateRequest>> accepted_at_;  // by delivering task
  std::vector<v1::WorkflowUpdateRequest> new_updates_;
  std::vector<v1::WorkflowUpdateRejection> rejections_;
  std::string blocked_on_;  // what the workflow fiber waits for, for __stack_trace
  const FutureState* blocked_state_ = nullptr;  // or this future (alive while the fiber waits)
};

}  // namespace cairn::detail
