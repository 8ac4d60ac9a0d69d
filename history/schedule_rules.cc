// Schedules: the entity run's transitions (history/schedule_rules.h).
#include "history/schedule_rules.h"

#include <algorithm>

#include "history/child_rules.h"
#include "history/transition_context.h"

namespace cairn {
namespace {

using rules::TransitionContext;

constexpr int64_t kCountCap = 100'000'000;

std::string schedule_name(const v1::ScheduleState& s, const v1::RunState& run) {
  return "schedule " + run.namespace_() + "/" + s.schedule_id();
}

Status check_open(const MutableState& ms) {
  if (!ms.is_open() || !ms.state().has_schedule()) {
    return not_found("schedule " +
                     (ms.state().has_schedule() ? ms.state().schedule().schedule_id()
                                                : ms.state().workflow_id()) +
                     " not found in namespace " + ms.state().namespace_() + " (deleted)");
  }
  return Status();
}

v1::ScheduleOverlapPolicy effective(v1::ScheduleOverlapPolicy given,
                                    const v1::ScheduleState& s) {
  v1::ScheduleOverlapPolicy p =
      given != v1::SCHEDULE_OVERLAP_POLICY_UNSPECIFIED ? given
                                                      : s.schedule().policies().overlap_policy();
  return p == v1::SCHEDULE_OVERLAP_POLICY_UNSPECIFIED ? v1::SCHEDULE_OVERLAP_POLICY_SKIP : p;
}

std::string new_conflict_token(const TransitionEnv& env, const v1::RunState& run) {
  return std::to_string(run.db_version() + 1) + "-" + std::to_string(env.now_ms);
}

// The timer that fires the armed nominal time, if any, leaves with this transition.
void disarm(TransitionContext& tx, int32_t shard) {
  v1::ScheduleState* s = tx.ms().mutable_schedule();
  if (s->next_timer_seq() != 0) {
    v1::TimerRecord t;
    t.set_timer_seq(s->next_timer_seq());
    t.set_shard(shard);
    t.set_kind(v1::TIMER_KIND_SCHEDULE_FIRE);
    t.set_fire_time_ms(s->next_fire_ms());
    t.set_namespace_(tx.state().namespace_());
    t.set_workflow_id(tx.state().workflow_id());
    t.set_run_id(tx.state().run_id());
    tx.out().remove_timers.push_back(std::move(t));
  }
  s->set_next_nominal_ms(0);
  s->set_next_fire_ms(0);
  s->set_next_timer_seq(0);
}

bool exhausted(const v1::ScheduleState& s) {
  return s.schedule().limited_actions() && s.schedule().remaining_actions() <= 0;
}

// Arms the timer of the first nominal time after last_processed (none while paused, out of
// actions, or past the spec's end). `at_once`: more is due already (a long catch-up), so the
// timer fires now and the next transition continues.
void arm(TransitionContext& tx, const schedule::CompiledSpec& spec, bool at_once, int32_t shard) {
  disarm(tx, shard);
  v1::ScheduleState* s = tx.ms().mutable_schedule();
  if (s->schedule().paused() || exhausted(*s)) {
    return;
  }
  std::optional<int64_t> next = spec.next(s->last_processed_ms());
  if (!next) {
    return;
  }
  int64_t fire = *next + schedule::jitter_for(s->schedule_id(), *next,
                                              s->schedule().spec().jitter_ms());
  if (at_once) {
    fire = std::min(fire, tx.now());
  }
  tx.add_timer(v1::TIMER_KIND_SCHEDULE_FIRE, fire, 0, 0);
  s->set_next_nominal_ms(*next);
  s->set_next_fire_ms(fire);
  s->set_next_timer_seq(tx.out().add_timers.back().timer_seq());
}

void push_recent(v1::ScheduleInfo* info, v1::ScheduleActionResult result) {
  *info->add_recent_actions() = std::move(result);
  while (info->recent_actions_size() > kScheduleRecentActions) {
    info->mutable_recent_actions()->erase(info->mutable_recent_actions()->begin());
  }
}

// Writes the SCHEDULE_START transfer for `nominal` and records the action as running (starting).
std::string start_action(TransitionContext& tx, int64_t nominal, v1::ScheduleActionCause cause) {
  v1::ScheduleState* s = tx.ms().mutable_schedule();
  const v1::ScheduleAction& a = s->schedule().action();
  const std::string wid = schedule::derived_workflow_id(s->schedule_id(), a, nominal);

  v1::StartWorkflowExecutionRequest req;
  req.set_namespace_(tx.state().namespace_());
  req.set_workflow_id(wid);
  *req.mutable_workflow_type() = a.workflow_type();
  req.set_task_queue(a.task_queue());
  *req.mutable_input() = a.input();
  req.set_workflow_execution_timeout_ms(a.workflow_execution_timeout_ms());
  req.set_workflow_run_timeout_ms(a.workflow_run_timeout_ms());
  req.set_workflow_task_timeout_ms(a.workflow_task_timeout_ms());
  req.set_identity("schedule " + s->schedule_id());
  // Unique per decision (the action counter), the same on every redo of this task: a redo is
  // recognised, a second decision for the same nominal time (a repeated backfill) is refused by
  // the id reuse policy below.
  req.set_request_id("schedule:" + s->schedule_id() + ":" + std::to_string(nominal) + ":" +
                     std::to_string(s->info().action_count() + 1));
  // The derived id names one nominal time: it starts once, ever.
  req.set_workflow_id_reuse_policy(v1::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE);
  if (a.has_retry_policy()) {
    *req.mutable_retry_policy() = a.retry_policy();
  }
  *req.mutable_memo() = a.memo();
  *req.mutable_search_attributes() = a.search_attributes();

  v1::TransferTask t;
  t.set_type(v1::TRANSFER_TYPE_SCHEDULE_START);
  t.set_target_namespace(req.namespace_());
  t.set_target_workflow_id(wid);
  t.set_request_id(req.request_id());
  t.mutable_scheduled_by()->set_namespace_(req.namespace_());
  t.mutable_scheduled_by()->set_schedule_id(s->schedule_id());
  t.mutable_scheduled_by()->set_nominal_time_ms(nominal);
  *t.mutable_start_request() = std::move(req);
  tx.add_task(v1::TASK_KIND_TRANSFER, rules::kTransferQueue, 0, 0);
  *tx.out().add_tasks.back().mutable_transfer() = std::move(t);

  v1::ScheduleActionResult* r = s->mutable_info()->add_running_actions();
  r->set_nominal_time_ms(nominal);
  r->set_actual_time_ms(tx.now());
  r->set_workflow_id(wid);
  r->set_cause(cause);
  s->mutable_info()->set_action_count(s->info().action_count() + 1);
  return wid;
}

// Cancels or terminates every running action (the targets deduplicate a repeated request).
void stop_running(TransitionContext& tx, bool terminate) {
  const v1::ScheduleState& s = tx.state().schedule();
  for (const auto& running : s.info().running_actions()) {
    v1::TransferTask t;
    t.set_type(v1::TRANSFER_TYPE_SCHEDULE_STOP_ACTION);
    t.set_target_namespace(tx.state().namespace_());
    t.set_target_workflow_id(running.workflow_id());
    t.set_target_run_id(running.run_id());
    t.set_terminate(terminate);
    t.set_request_id("schedule:" + s.schedule_id() + ":stop:" + running.workflow_id());
    tx.add_task(v1::TASK_KIND_TRANSFER, rules::kTransferQueue, 0, 0);
    *tx.out().add_tasks.back().mutable_transfer() = std::move(t);
  }
}

void buffer(v1::ScheduleState* s, int64_t nominal, int64_t now, v1::ScheduleActionCause cause,
            v1::ScheduleOverlapPolicy policy) {
  if (s->info().buffered_starts_size() >= kScheduleMaxBuffered) {
    s->mutable_info()->set_buffer_dropped(s->info().buffer_dropped() + 1);
    return;
  }
  v1::ScheduleBufferedStart* b = s->mutable_info()->add_buffered_starts();
  b->set_nominal_time_ms(nominal);
  b->set_actual_time_ms(now);
  b->set_cause(cause);
  b->set_overlap_policy(policy);
}

// One fire (scheduled, triggered or backfilled), decided by the overlap policy. Returns the
// derived workflow id when the action was started or buffered, empty when skipped.
std::string take_action(TransitionContext& tx, int64_t nominal, v1::ScheduleActionCause cause,
                        v1::ScheduleOverlapPolicy policy) {
  v1::ScheduleState* s = tx.ms().mutable_schedule();
  const bool running = s->info().running_actions_size() > 0;
  const std::string wid =
      schedule::derived_workflow_id(s->schedule_id(), s->schedule().action(), nominal);
  for (const auto& r : s->info().running_actions()) {
    if (r.workflow_id() == wid) {
      s->mutable_info()->set_overlap_skipped(s->info().overlap_skipped() + 1);
      return "";  // this very nominal time runs already (a backfill over a running fire)
    }
  }
  if (!running && s->info().buffered_starts_size() == 0) {
    return start_action(tx, nominal, cause);
  }
  switch (policy) {
    case v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL:
      return start_action(tx, nominal, cause);
    case v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
      if (s->info().buffered_starts_size() > 0) {
        s->mutable_info()->set_overlap_skipped(s->info().overlap_skipped() + 1);
        return "";
      }
      buffer(s, nominal, tx.now(), cause, policy);
      return wid;
    case v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
      buffer(s, nominal, tx.now(), cause, policy);
      return wid;
    case v1::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER:
    case v1::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER: {
      // Only the newest fire waits for the running ones to close.
      if (s->info().buffered_starts_size() > 0) {
        s->mutable_info()->set_overlap_skipped(s->info().overlap_skipped() +
                                               s->info().buffered_starts_size());
        s->mutable_info()->clear_buffered_starts();
      }
      buffer(s, nominal, tx.now(), cause, policy);
      stop_running(tx, policy == v1::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER);
      return wid;
    }
    case v1::SCHEDULE_OVERLAP_POLICY_SKIP:
    default:
      s->mutable_info()->set_overlap_skipped(s->info().overlap_skipped() + 1);
      return "";
  }
}

// Starts buffered fires while nothing runs (one at a time; ALLOW_ALL never buffers).
void drain_buffer(TransitionContext& tx) {
  v1::ScheduleState* s = tx.ms().mutable_schedule();
  while (s->info().running_actions_size() == 0 && s->info().buffered_starts_size() > 0) {
    v1::ScheduleBufferedStart b = s->info().buffered_starts(0);
    s->mutable_info()->mutable_buffered_starts()->erase(
        s->mutable_info()->mutable_buffered_starts()->begin());
    start_action(tx, b.nominal_time_ms(), b.cause());
  }
}

void touch(TransitionContext& tx) {
  v1::ScheduleState* s = tx.ms().mutable_schedule();
  s->mutable_info()->set_update_time_ms(tx.now());
}

}  // namespace

bool is_schedule_entity(const v1::RunState& state) { return state.has_schedule(); }

Result<schedule::CompiledSpec> compile_schedule_spec(const v1::RunState& state) {
  return schedule::CompiledSpec::compile(state.schedule().schedule().spec());
}

Status create_schedule(const v1::CreateScheduleRequest& request, const RunKey& key,
                       const schedule::CompiledSpec& spec, const TransitionEnv& env,
                       MutableState* ms, Effects* out) {
  v1::RunState run;
  run.set_namespace_(key.ns);
  run.set_workflow_id(key.workflow_id);
  run.set_run_id(key.run_id.value);
  run.mutable_workflow_type()->set_name(request.schedule().action().workflow_type().name());
  run.set_task_queue(request.schedule().action().task_queue());
  run.set_status(v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  run.set_start_time_ms(env.now_ms);
  run.set_next_event_id(1);
  run.set_start_request_id(request.request_id());
  run.set_first_run_id(key.run_id.value);
  *run.mutable_memo() = request.memo();
  *run.mutable_search_attributes() = request.search_attributes();
  v1::ScheduleState* s = run.mutable_schedule();
  s->set_schedule_id(request.schedule_id());
  *s->mutable_schedule() = request.schedule();
  s->mutable_info()->set_create_time_ms(env.now_ms);
  s->mutable_info()->set_update_time_ms(env.now_ms);
  s->set_last_processed_ms(env.now_ms);
  s->set_conflict_token(new_conflict_token(env, run));
  s->set_identity(request.identity());
  *s->mutable_search_attributes() = request.search_attributes();
  *s->mutable_memo() = request.memo();
  *ms = MutableState(std::move(run));

  TransitionContext tx(ms, env, out);
  arm(tx, spec, /*at_once=*/false, env.shard);
  v1::CurrentRun current;
  current.set_run_id(key.run_id.value);
  current.set_status(v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  current.set_start_request_id(request.request_id());
  out->current = std::move(current);
  return Status();
}

Status update_schedule(MutableState* ms, const v1::UpdateScheduleRequest& request,
                       const schedule::CompiledSpec& spec, const TransitionEnv& env,
                       Effects* out) {
  CAIRN_RETURN_IF_ERROR(check_open(*ms));
  v1::ScheduleState* s = ms->mutable_schedule();
  if (!request.conflict_token().empty() && request.conflict_token() != s->conflict_token()) {
    return aborted(schedule_name(*s, ms->state()) + ": changed since it was read (conflict token " +
                   request.conflict_token() + ", now " + s->conflict_token() +
                   "); describe it again and retry the update");
  }
  TransitionContext tx(ms, env, out);
  *s->mutable_schedule() = request.schedule();
  s->set_last_processed_ms(std::max(s->last_processed_ms(), env.now_ms));
  s->set_conflict_token(new_conflict_token(env, ms->state()));
  s->set_identity(request.identity());
  touch(tx);
  arm(tx, spec, false, env.shard);
  return Status();
}

Status patch_schedule(MutableState* ms, const v1::SchedulePatch& patch,
                      const schedule::CompiledSpec& spec, const TransitionEnv& env, Effects* out,
                      std::vector<std::string>* workflow_ids) {
  CAIRN_RETURN_IF_ERROR(check_open(*ms));
  if (!patch.pause().empty() && !patch.unpause().empty()) {
    return invalid_argument("patch: pause and unpause together; send one of them");
  }
  // Validate every backfill before changing anything.
  std::vector<std::vector<int64_t>> backfills;
  int total = 0;
  for (int i = 0; i < patch.backfill_size(); ++i) {
    const v1::ScheduleBackfill& b = patch.backfill(i);
    const std::string field = "patch.backfill[" + std::to_string(i) + "]";
    if (b.end_time_ms() < b.start_time_ms()) {
      return invalid_argument(field + ": end_time (" + schedule::format_utc(b.end_time_ms()) +
                              ") is before start_time (" +
                              schedule::format_utc(b.start_time_ms()) + ")");
    }
    std::vector<int64_t> times;
    std::optional<int64_t> t = spec.next(b.start_time_ms() - 1);
    while (t && *t <= b.end_time_ms()) {
      if (++total > kScheduleMaxBackfill) {
        return invalid_argument(field + ": the backfills cover more than " +
                                std::to_string(kScheduleMaxBackfill) +
                                " fires; split them into smaller ranges");
      }
      times.push_back(*t);
      t = spec.next(*t);
    }
    backfills.push_back(std::move(times));
  }
  TransitionContext tx(ms, env, out);
  v1::ScheduleState* s = ms->mutable_schedule();
  v1::Schedule* sch = s->mutable_schedule();
  if (!patch.pause().empty()) {
    sch->set_paused(true);
    sch->set_notes(patch.pause());
    disarm(tx, env.shard);
  }
  if (!patch.unpause().empty()) {
    if (sch->paused()) {
      // Nominal times that passed while paused are not caught up.
      s->mutable_info()->set_paused_skipped(
          s->info().paused_skipped() + spec.count_between(s->last_processed_ms(), env.now_ms,
                                                          kCountCap));
      s->set_last_processed_ms(std::max(s->last_processed_ms(), env.now_ms));
    }
    sch->set_paused(false);
    sch->set_notes(patch.unpause());
    arm(tx, spec, false, env.shard);
  }
  if (patch.trigger_immediately()) {
    std::string wid = take_action(tx, env.now_ms, v1::SCHEDULE_ACTION_CAUSE_TRIGGER,
                                  effective(patch.trigger_overlap_policy(), *s));
    if (!wid.empty()) {
      workflow_ids->push_back(wid);
    }
  }
  for (size_t i = 0; i < backfills.size(); ++i) {
    v1::ScheduleOverlapPolicy policy = effective(patch.backfill(i).overlap_policy(), *s);
    for (int64_t t : backfills[i]) {
      std::string wid = take_action(tx, t, v1::SCHEDULE_ACTION_CAUSE_BACKFILL, policy);
      if (!wid.empty()) {
        workflow_ids->push_back(wid);
      }
    }
  }
  s->set_conflict_token(new_conflict_token(env, ms->state()));
  touch(tx);
  return Status();
}

Status delete_schedule(MutableState* ms, const TransitionEnv& env, Effects* out) {
  CAIRN_RETURN_IF_ERROR(check_open(*ms));
  TransitionContext tx(ms, env, out);
  disarm(tx, env.shard);
  touch(tx);
  ms->close_entity(v1::WORKFLOW_EXECUTION_STATUS_COMPLETED, env.now_ms);
  tx.mark_closed();
  return Status();
}

Result<bool> fire_schedule(MutableState* ms, const v1::TimerRecord& timer,
                           const schedule::CompiledSpec& spec, const TransitionEnv& env,
                           Effects* out) {
  out->remove_timers.push_back(timer);
  if (!ms->is_open() || !ms->state().has_schedule() ||
      ms->state().schedule().next_timer_seq() != timer.timer_seq()) {
    return false;  // disarmed or re-armed since: this record only leaves
  }
  TransitionContext tx(ms, env, out);
  v1::ScheduleState* s = ms->mutable_schedule();
  s->set_next_timer_seq(0);  // consumed: arm() must not remove it twice
  const int64_t now = env.now_ms;
  const int64_t window = schedule::catchup_window_ms(s->schedule().policies());
  const v1::ScheduleOverlapPolicy policy =
      effective(v1::SCHEDULE_OVERLAP_POLICY_UNSPECIFIED, *s);
  // Fires older than the catch-up window are counted, not taken (counted without enumerating
  // when the server was down for long).
  if (now - window > s->last_processed_ms()) {
    std::optional<int64_t> first = spec.next(s->last_processed_ms());
    if (first && *first < now - window) {
      s->mutable_info()->set_missed_catchup_window(
          s->info().missed_catchup_window() +
          spec.count_between(s->last_processed_ms(), now - window - 1, kCountCap));
      s->set_last_processed_ms(now - window - 1);
    }
  }
  int taken = 0;
  bool more = false;
  for (;;) {
    std::optional<int64_t> t = spec.next(s->last_processed_ms());
    if (!t || *t > now) {
      break;
    }
    const int64_t due = *t + schedule::jitter_for(s->schedule_id(), *t,
                                                  s->schedule().spec().jitter_ms());
    if (due > now) {
      break;  // its jittered fire time has not come: the timer is re-armed for it
    }
    if (taken == kScheduleMaxActionsPerTransition) {
      more = true;
      break;
    }
    if (s->schedule().paused() || exhausted(*s)) {
      break;
    }
    if (now - *t > window) {
      s->mutable_info()->set_missed_catchup_window(s->info().missed_catchup_window() + 1);
    } else {
      take_action(tx, *t, v1::SCHEDULE_ACTION_CAUSE_SCHEDULED, policy);
      if (s->schedule().limited_actions()) {
        s->mutable_schedule()->set_remaining_actions(s->schedule().remaining_actions() - 1);
      }
    }
    s->set_last_processed_ms(*t);
    ++taken;
  }
  touch(tx);
  arm(tx, spec, more, env.shard);
  return true;
}

Result<bool> record_schedule_action_started(MutableState* ms, const std::string& workflow_id,
                                            const std::string& run_id,
                                            const std::string& start_error,
                                            const TransitionEnv& env, Effects* out) {
  if (!ms->is_open() || !ms->state().has_schedule()) {
    return false;
  }
  TransitionContext tx(ms, env, out);
  v1::ScheduleInfo* info = ms->mutable_schedule()->mutable_info();
  for (int i = 0; i < info->running_actions_size(); ++i) {
    v1::ScheduleActionResult* r = info->mutable_running_actions(i);
    if (r->workflow_id() != workflow_id) {
      continue;
    }
    if (!start_error.empty()) {
      v1::ScheduleActionResult done = *r;
      done.set_start_error(start_error);
      info->mutable_running_actions()->erase(info->mutable_running_actions()->begin() + i);
      push_recent(info, std::move(done));
      drain_buffer(tx);
      touch(tx);
      return true;
    }
    if (r->run_id() == run_id && r->status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
      return false;  // a redo
    }
    r->set_run_id(run_id);
    r->set_status(v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
    touch(tx);
    return true;
  }
  // It closed before its start was recorded here: fill in the run id of the recent entry.
  for (auto& r : *info->mutable_recent_actions()) {
    if (r.workflow_id() == workflow_id && r.run_id().empty()) {
      r.set_run_id(run_id);
      if (!start_error.empty()) {
        r.set_start_error(start_error);
      }
      return true;
    }
  }
  return false;
}

Result<bool> record_schedule_action_closed(MutableState* ms, const std::string& workflow_id,
                                           const std::string& run_id,
                                           v1::WorkflowExecutionStatus status,
                                           int64_t close_time_ms, const TransitionEnv& env,
                                           Effects* out) {
  if (!ms->is_open() || !ms->state().has_schedule()) {
    return false;
  }
  TransitionContext tx(ms, env, out);
  v1::ScheduleState* s = ms->mutable_schedule();
  v1::ScheduleInfo* info = s->mutable_info();
  for (int i = 0; i < info->running_actions_size(); ++i) {
    if (info->running_actions(i).workflow_id() != workflow_id) {
      continue;
    }
    v1::ScheduleActionResult done = info->running_actions(i);
    if (done.run_id().empty()) {
      done.set_run_id(run_id);
    }
    done.set_status(status);
    done.set_close_time_ms(close_time_ms);
    info->mutable_running_actions()->erase(info->mutable_running_actions()->begin() + i);
    push_recent(info, std::move(done));
    if (s->schedule().policies().pause_on_failure() &&
        status != v1::WORKFLOW_EXECUTION_STATUS_COMPLETED && !s->schedule().paused()) {
      s->mutable_schedule()->set_paused(true);
      s->mutable_schedule()->set_notes("paused on failure: " + workflow_id + " closed " +
                                       v1::WorkflowExecutionStatus_Name(status));
      disarm(tx, env.shard);
    }
    drain_buffer(tx);
    touch(tx);
    return true;
  }
  return false;
}

std::vector<int64_t> schedule_future_times(const v1::ScheduleState& state,
                                           const schedule::CompiledSpec& spec, int64_t now_ms,
                                           int count) {
  std::vector<int64_t> out;
  if (state.schedule().paused()) {
    return out;
  }
  int64_t budget = state.schedule().limited_actions() ? state.schedule().remaining_actions()
                                                      : count;
  int64_t after = std::max(state.last_processed_ms(), now_ms);
  if (state.next_nominal_ms() != 0 && state.next_nominal_ms() <= now_ms) {
    after = state.next_nominal_ms() - 1;  // armed and about to fire
  }
  for (int64_t t : spec.next_n(after, static_cast<int>(std::min<int64_t>(count, budget)))) {
    out.push_back(t);
  }
  return out;
}

}  // namespace cairn
