// The rules of every transition: given a run's MutableState and a request (or a fired timer),
// validate, produce events, apply them, and say which tasks and timers the transition creates.
// Pure: time and id allocation arrive through TransitionEnv; nothing here does I/O.
//
// Contract shared by every function below:
// - On a non-OK Status the caller discards `ms` (the server works on a copy) and writes nothing.
//   Errors name the run and the id: "run default/wf-1/3f2a: activity 12 not found (stale task token)".
// - On OK, `out` holds what must be committed in one write together with ms.state():
//   the events appended (ids consecutive from the old next_event_id, already applied to ms),
//   the tasks and timers to add or remove, and the current-run pointer when the run opened/closed.
// - Events that arrive while a workflow task is *started* (signals, activity results, fired
//   timers, cancel requests) are not appended at once: their effect on state is applied
//   immediately, the event is kept in RunState.buffered_events, and the buffer is flushed (ids
//   assigned, references such as ActivityTaskCompleted.started_event_id fixed) right after the
//   workflow task's Completed/Failed/TimedOut event, followed by a new WorkflowTaskScheduled.
// - A workflow task is scheduled (event + TaskRecord) whenever a new event reaches a run that has
//   no workflow task pending; when one is scheduled but not started, the event simply joins it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cairn/v1/command.pb.h"
#include "cairn/v1/persistence.pb.h"
#include "cairn/v1/service.pb.h"
#include "history/ids.h"
#include "history/mutable_state.h"
#include "proto/status.h"

namespace cairn {

// Explicit limits; bad input beyond them gets kInvalidArgument / kResourceExhausted and changes
// nothing. Validated once at server start-up.
struct Limits {
  int64_t max_payload_bytes = 2 << 20;        // any single Payloads (input, result, details)
  int32_t max_pending_activities = 2000;
  int32_t max_pending_timers = 2000;
  int32_t max_buffered_events = 1000;
  int32_t max_id_length = 1000;               // workflow id, activity id, timer id, names
  int64_t default_workflow_task_timeout_ms = 10'000;
  int64_t max_workflow_task_timeout_ms = 120'000;
  int32_t max_recent_request_ids = 64;        // dedup window for signals/cancels per run
  int64_t default_sticky_schedule_to_start_timeout_ms = 5'000;
  int64_t max_sticky_schedule_to_start_timeout_ms = 60'000;
  // Child workflows and requests to other runs pending at once (Temporal's defaults).
  int32_t max_pending_children = 2000;
  int32_t max_pending_signals = 2000;   // SignalExternalWorkflowExecution awaiting their outcome
  int32_t max_pending_cancels = 2000;   // RequestCancelExternalWorkflowExecution, likewise
  // History size. Past a suggest threshold every WorkflowTaskStarted carries
  // suggest_continue_as_new; past a max the run is terminated (a warning is logged at 80%).
  int64_t history_suggest_events = 4 * 1024;
  int64_t history_suggest_bytes = 4LL << 20;
  int64_t history_max_events = 51'200;
  int64_t history_max_bytes = 50LL << 20;
};

// Source of task ids and timer sequence numbers (unique and increasing across restarts: the
// server seeds it from HistoryStore::max_sequence()).
class SequenceAllocator {
 public:
  virtual ~SequenceAllocator() = default;
  virtual int64_t next() = 0;
};

struct TransitionEnv {
  int64_t now_ms = 0;
  SequenceAllocator* seq = nullptr;  // REQUIRES: non-null
  const Limits* limits = nullptr;    // REQUIRES: non-null
  int32_t shard = 0;                 // stamped on every TaskRecord / TimerRecord
};

struct Effects {
  std::vector<v1::HistoryEvent> events;
  std::optional<v1::CurrentRun> current;
  std::vector<v1::TaskRecord> add_tasks;
  std::vector<v1::TaskRecord> remove_tasks;
  std::vector<v1::TimerRecord> add_timers;
  std::vector<v1::TimerRecord> remove_timers;
  bool closed = false;  // the run closed in this transition
};

// Validates a start request on its own (ids, names, timeouts, retry policy, payload size).
// kInvalidArgument naming the field. Does not look at existing runs: the server applies the
// id reuse / conflict policies before calling start_workflow().
Status validate_start_request(const v1::StartWorkflowExecutionRequest& request, const Limits& limits);

// A new run: WorkflowExecutionStarted (+ WorkflowExecutionSignaled when signal_name is given,
// for signal-with-start) + WorkflowTaskScheduled, the workflow task, the run-timeout timer, and
// the current-run pointer. `ms` must be empty. REQUIRES: validate_start_request() passed.
Status start_workflow(const v1::StartWorkflowExecutionRequest& request, const RunKey& key,
                      const std::optional<std::string>& signal_name,
                      const v1::Payloads* signal_input, const TransitionEnv& env,
                      MutableState* ms, Effects* out);

// A reset run (ResetWorkflowExecution): `old_history` up to the WorkflowTaskStarted of the
// workflow task that `finish_event_id` (its WorkflowTaskCompleted / Failed / TimedOut) ended,
// then WorkflowTaskFailed (cause RESET_WORKFLOW, `reason`), the signals received after that point
// when `reapply_signals`, and a new WorkflowTaskScheduled. Activities and timers pending at the
// point get new tasks and timers (activities from attempt 1). `ms` must be empty; `key` is the
// new run. kInvalidArgument naming the event when finish_event_id is not such an event of the
// history; kFailedPrecondition when child workflows or external signals / cancels were pending
// at the point (not supported: pick an earlier or later workflow task).
Status reset_run(const std::vector<v1::HistoryEvent>& old_history, int64_t finish_event_id,
                 bool reapply_signals, const std::string& reason, const std::string& request_id,
                 const RunKey& key, const TransitionEnv& env, MutableState* ms, Effects* out);

// The last WorkflowTaskCompleted of a history (the default reset point); 0 when there is none.
int64_t last_completed_workflow_task(const std::vector<v1::HistoryEvent>& history);

// WorkflowExecutionSignaled. kNotFound when the run is closed. A request_id seen recently on this
// run is a no-op (OK, no events).
Status signal_workflow(MutableState* ms, const std::string& signal_name, const v1::Payloads& input,
                       const std::string& identity, const std::string& request_id,
                       const TransitionEnv& env, Effects* out);

// WorkflowExecutionCancelRequested (once; a second request is a no-op). kNotFound when closed.
Status request_cancel_workflow(MutableState* ms, const std::string& identity,
                               const std::string& request_id, const std::string& reason,
                               const TransitionEnv& env, Effects* out);

// WorkflowExecutionTerminated: closes the run at once, dropping pending work. kNotFound when closed.
Status terminate_workflow(MutableState* ms, const std::string& reason, const v1::Payloads& details,
                          const std::string& identity, const TransitionEnv& env, Effects* out);

// A poller took the workflow task `task`: WorkflowTaskStarted, the start-to-close timer, and the
// task removed from the outbox. kNotFound when the task is stale (the run closed, or the workflow
// task it names is gone or already started): the caller drops the task and polls on.
Result<v1::TaskToken> start_workflow_task(MutableState* ms, const v1::TaskRecord& task,
                                          const std::string& identity, const std::string& request_id,
                                          const TransitionEnv& env, Effects* out);

// The worker's commands for the started workflow task: WorkflowTaskCompleted, then one or more
// events per command (ActivityTaskScheduled + task + timeout timers, TimerStarted + timer,
// RequestCancelActivityTask → ActivityTaskCancelRequested (+ ActivityTaskCanceled when not
// started), CancelTimer → TimerCanceled, RecordMarker, Complete/Fail/CancelWorkflowExecution
// → close). kNotFound for a stale token (names the run and the task). kInvalidArgument for an
// invalid command (names its index and what is wrong: duplicate activity id, unknown timer,
// missing timeouts, oversize payload, a command after a close command).
// When buffered events exist and the commands close the run, the close is refused the way
// Temporal does: WorkflowTaskFailed (UNHANDLED_COMMAND), flush, and a new workflow task.
Status complete_workflow_task(MutableState* ms, const v1::TaskToken& token,
                              const google::protobuf::RepeatedPtrField<v1::Command>& commands,
                              const std::string& identity, const TransitionEnv& env, Effects* out);

// Sticky execution. The worker completing the current workflow task keeps the run cached and asks
// for the run's next tasks on its own queue: they go there, carrying only the new events, until
// one is not started within the timeout (then it moves to the normal queue), a workflow task
// fails or times out, or the worker resets stickiness. No events: stickiness is a dispatch
// preference, not part of the run's history.
// kInvalidArgument for an empty or over-long queue name, the run's own task queue, or a timeout
// outside (0, max_sticky_schedule_to_start_timeout_ms] (0 means the default).
// REQUIRES: called in the transition that completes the workflow task, before
// complete_workflow_task(), so that a task it schedules already goes to the sticky queue.
Status set_sticky_queue(MutableState* ms, const std::string& queue, int64_t schedule_to_start_ms,
                        const Limits& limits);
// Ends stickiness (the worker evicted the run, or stops): a task waiting on the sticky queue moves
// to the normal queue. Returns false when the run was not sticky (nothing to write).
Result<bool> reset_sticky_queue(MutableState* ms, const TransitionEnv& env, Effects* out);

// WorkflowTaskFailed and a new attempt: at once for attempt 2, then after a backoff
// (1 s, 2 s, … capped at 30 s) through a WORKFLOW_TASK_RETRY timer. kNotFound for a stale token.
Status fail_workflow_task(MutableState* ms, const v1::TaskToken& token,
                          v1::WorkflowTaskFailedCause cause, const v1::Failure& failure,
                          const std::string& identity, const TransitionEnv& env, Effects* out);

// What a poller needs to run the activity attempt it took.
struct ActivityStart {
  v1::TaskToken token;
  v1::ActivityInfo info;  // after the start (attempt, timeouts, last heartbeat details)
};

// A poller took activity task `task`: records the attempt as started (no event: retries leave no
// history), arms start-to-close and heartbeat timers, removes the task. kNotFound when stale.
Result<ActivityStart> start_activity_task(MutableState* ms, const v1::TaskRecord& task,
                                          const std::string& identity, const TransitionEnv& env,
                                          Effects* out);

// Records heartbeat details and time; returns whether cancellation was requested.
// kNotFound for a stale token (the attempt timed out, the activity or the run is gone).
Result<bool> record_activity_heartbeat(MutableState* ms, const v1::TaskToken& token,
                                       const v1::Payloads& details, const TransitionEnv& env,
                                       Effects* out);

// ActivityTaskStarted + ActivityTaskCompleted. kNotFound for a stale token.
Status complete_activity_task(MutableState* ms, const v1::TaskToken& token,
                              const v1::Payloads& result, const std::string& identity,
                              const TransitionEnv& env, Effects* out);

// Retried per the activity's retry policy (a backoff timer, no events), or finally
// ActivityTaskStarted + ActivityTaskFailed with the retry state. kNotFound for a stale token.
Status fail_activity_task(MutableState* ms, const v1::TaskToken& token, const v1::Failure& failure,
                          const v1::Payloads* last_heartbeat_details, const std::string& identity,
                          const TransitionEnv& env, Effects* out);

// ActivityTaskStarted + ActivityTaskCanceled. kFailedPrecondition when cancellation was not
// requested; kNotFound for a stale token.
Status cancel_activity_task(MutableState* ms, const v1::TaskToken& token, const v1::Payloads& details,
                            const std::string& identity, const TransitionEnv& env, Effects* out);

// A durable timer came due. Returns true when it applied (user timer fired, a timeout hit, a
// retry backoff ended and the task was re-queued, a workflow task retry was scheduled, the run
// timed out), false when it was stale (nothing to write but removing the timer, which `out`
// then contains). Timeouts retry per policy as failures do (heartbeat and start-to-close are
// retryable; schedule-to-start and schedule-to-close are final).
Result<bool> fire_timer(MutableState* ms, const v1::TimerRecord& timer, const TransitionEnv& env,
                        Effects* out);

// Task tokens travel as opaque bytes. kInvalidArgument when the bytes do not parse.
std::string encode_task_token(const v1::TaskToken& token);
Result<v1::TaskToken> decode_task_token(const std::string& bytes);

}  // namespace cairn
