// The rules of schedules (cairn/v1/schedule.proto). A schedule is an *entity run*: workflow id
// "__schedule:<schedule id>" (schedule::entity_workflow_id), no events, its spec and state in
// RunState.schedule, RUNNING while the schedule exists. Everything a schedule does is one
// transition on that run, written in one synced batch with the timers and outbox tasks it needs:
//
//   create / update / patch / delete   — the RPCs;
//   fire_schedule                      — its TIMER_KIND_SCHEDULE_FIRE timer came due: every
//                                        nominal time up to now is processed (taken by the overlap
//                                        policy, or counted as missed beyond the catch-up window),
//                                        and the next fire is armed;
//   record_schedule_action_started     — the SCHEDULE_START transfer started (or could not start)
//                                        the action's workflow;
//   record_schedule_action_closed      — a started workflow closed (SCHEDULE_ACTION_CLOSED
//                                        transfer): recent actions, pause-on-failure, and the next
//                                        buffered start.
//
// Taking an action writes a TRANSFER_TYPE_SCHEDULE_START task whose request starts the workflow
// "<base>-<nominal time>" with request id "schedule:<id>:<nominal ms>:<action n>": the start and the
// schedule's record of it are separate commits (different shards), and a redo after a crash is
// recognised by the request id, so a fire is never lost (the task is on disk with the decision)
// and never doubled (the derived id and request id).
//
// Pure, like the rest of history/: time arrives in TransitionEnv. Same error contract as
// transitions.h: on a non-OK Status nothing is written.
#pragma once

#include <string>
#include <vector>

#include "cairn/v1/schedule.pb.h"
#include "cairn/v1/service.pb.h"
#include "history/transitions.h"
#include "proto/schedule_spec.h"

namespace cairn {

// At most this many nominal times are processed by one transition (a long catch-up continues in
// the next one, armed to fire at once), and at most this many fires wait in a buffer.
inline constexpr int kScheduleMaxActionsPerTransition = 100;
inline constexpr int kScheduleMaxBuffered = 1000;
inline constexpr int kScheduleRecentActions = 10;
// At most this many nominal times per backfill request.
inline constexpr int kScheduleMaxBackfill = 1000;

bool is_schedule_entity(const v1::RunState& state);

// The compiled spec of a schedule entity's state (the one place it is compiled from a stored
// state: fires, patches, describe, list).
Result<schedule::CompiledSpec> compile_schedule_spec(const v1::RunState& state);

// A new schedule's entity. `ms` must be empty; `key` is the entity run. REQUIRES: the request was
// validated (schedule::validate_schedule_id / validate_schedule). Fires are taken for nominal
// times after now.
Status create_schedule(const v1::CreateScheduleRequest& request, const RunKey& key,
                       const schedule::CompiledSpec& spec, const TransitionEnv& env,
                       MutableState* ms, Effects* out);

// Replaces spec, action, policies and state fields; fires resume for nominal times after now.
// kAborted when conflict_token is set and differs. kNotFound when the schedule was deleted.
Status update_schedule(MutableState* ms, const v1::UpdateScheduleRequest& request,
                       const schedule::CompiledSpec& spec, const TransitionEnv& env, Effects* out);

// Pause / unpause (with a note), trigger now, backfill ranges. The derived workflow ids of the
// actions taken or buffered are appended to `workflow_ids`. kInvalidArgument (nothing written)
// for a backfill whose end is before its start or that covers more than kScheduleMaxBackfill
// nominal times, or pause and unpause together.
Status patch_schedule(MutableState* ms, const v1::SchedulePatch& patch,
                      const schedule::CompiledSpec& spec, const TransitionEnv& env, Effects* out,
                      std::vector<std::string>* workflow_ids);

// Closes the entity (status COMPLETED): no more fires; running actions go on. kNotFound when
// already deleted.
Status delete_schedule(MutableState* ms, const TransitionEnv& env, Effects* out);

// The fire timer came due. Returns false when it was stale (only its removal is in `out`).
Result<bool> fire_schedule(MutableState* ms, const v1::TimerRecord& timer,
                           const schedule::CompiledSpec& spec, const TransitionEnv& env,
                           Effects* out);

// The outcome of a SCHEDULE_START transfer: the run started (run_id) or the start was refused
// (start_error non-empty). Returns false when there was nothing to record.
Result<bool> record_schedule_action_started(MutableState* ms, const std::string& workflow_id,
                                            const std::string& run_id,
                                            const std::string& start_error,
                                            const TransitionEnv& env, Effects* out);

// A workflow the schedule started closed. Returns false when the schedule did not know it as
// running (a redo, or the schedule was deleted).
Result<bool> record_schedule_action_closed(MutableState* ms, const std::string& workflow_id,
                                           const std::string& run_id,
                                           v1::WorkflowExecutionStatus status,
                                           int64_t close_time_ms, const TransitionEnv& env,
                                           Effects* out);

// The next `count` fires from now (describe, list), honouring pause and remaining actions.
std::vector<int64_t> schedule_future_times(const v1::ScheduleState& state,
                                           const schedule::CompiledSpec& spec, int64_t now_ms,
                                           int count);

}  // namespace cairn
