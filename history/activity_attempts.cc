// How an activity attempt ends besides success: the retry decision, and the durable timers that
// end attempts (schedule-to-start, start-to-close, heartbeat, schedule-to-close) or start the
// next one (retry backoff). Every timer carries the attempt it was armed for, so a timer of an
// earlier attempt is recognised as stale.
#include <algorithm>
#include <string_view>
#include <vector>

#include "history/activity_rules.h"
#include "history/retry_policy.h"
#include "history/timer_rules.h"

namespace cairn::rules {
namespace {

int64_t schedule_to_close_deadline(const v1::ActivityInfo& info) {
  return info.schedule_to_close_timeout_ms() > 0
             ? info.scheduled_time_ms() + info.schedule_to_close_timeout_ms()
             : 0;
}

// Schedule-to-start and schedule-to-close end the activity whatever the retry policy says.
Status final_timeout(TransitionContext& tx, const v1::ActivityInfo& info, v1::TimeoutType type) {
  std::vector<v1::HistoryEvent> events;
  if (info.started_time_ms() != 0) {
    events.push_back(activity_started_event(tx, info));
  }
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT);
  auto* a = e.mutable_activity_task_timed_out_event_attributes();
  *a->mutable_failure() = activity_timeout_failure(type, info);
  if (info.has_last_failure()) {
    *a->mutable_failure()->mutable_cause() = info.last_failure();
  }
  a->set_scheduled_event_id(info.scheduled_event_id());
  a->set_retry_state(v1::RETRY_STATE_TIMEOUT);
  a->set_attempt(info.attempt());
  events.push_back(std::move(e));
  return tx.deliver(std::move(events));
}

bool running_attempt(const v1::ActivityInfo& info, const v1::TimerRecord& timer) {
  return info.attempt() == timer.attempt() && info.started_time_ms() != 0;
}

}  // namespace

v1::HistoryEvent activity_started_event(const TransitionContext& tx, const v1::ActivityInfo& info) {
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  // Written at close, but it records the start: its time is when the attempt started (as in
  // Temporal), so that history shows how long the attempt ran.
  e.set_event_time_ms(info.started_time_ms());
  auto* a = e.mutable_activity_task_started_event_attributes();
  a->set_scheduled_event_id(info.scheduled_event_id());
  a->set_identity(info.started_identity());
  a->set_attempt(info.attempt());
  if (info.has_last_failure()) {
    *a->mutable_last_failure() = info.last_failure();
  }
  return e;
}

v1::Failure activity_timeout_failure(v1::TimeoutType type, const v1::ActivityInfo& info) {
  std::string name = v1::TimeoutType_Name(type);
  constexpr std::string_view kPrefix = "TIMEOUT_TYPE_";
  if (name.compare(0, kPrefix.size(), kPrefix) == 0) {
    name.erase(0, kPrefix.size());
  }
  v1::Failure f;
  f.set_message("activity " + info.activity_id() + " (attempt " + std::to_string(info.attempt()) +
                ") timed out: " + name);
  f.set_source("Server");
  auto* t = f.mutable_timeout_failure_info();
  t->set_timeout_type(type);
  if (info.has_heartbeat_details()) {
    *t->mutable_last_heartbeat_details() = info.heartbeat_details();
  }
  return f;
}

Status end_failed_attempt(TransitionContext& tx, int64_t scheduled_event_id,
                          const v1::Failure& failure, const std::string& identity) {
  v1::ActivityInfo* info = tx.ms().mutable_activity(scheduled_event_id);
  CAIRN_CHECK(info != nullptr);
  RetryDecision d;
  if (info->cancel_requested()) {
    d.state = v1::RETRY_STATE_CANCEL_REQUESTED;  // the workflow no longer wants it
  } else {
    d = decide_retry(info->retry_policy(), info->attempt(), &failure, tx.now(),
                     schedule_to_close_deadline(*info));
  }
  if (d.retry) {
    // No event: retries stay out of history until the activity finally closes.
    info->set_attempt(info->attempt() + 1);
    info->set_started_time_ms(0);
    info->clear_started_identity();
    *info->mutable_last_failure() = failure;
    info->set_waiting_for_retry(true);
    info->set_next_attempt_time_ms(tx.now() + d.delay_ms);
    tx.add_timer(v1::TIMER_KIND_ACTIVITY_RETRY, info->next_attempt_time_ms(), scheduled_event_id,
                 info->attempt());
    return Status();
  }
  std::vector<v1::HistoryEvent> events;
  events.push_back(activity_started_event(tx, *info));
  if (failure.has_timeout_failure_info()) {
    v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT);
    auto* a = e.mutable_activity_task_timed_out_event_attributes();
    *a->mutable_failure() = failure;
    if (info->has_last_failure() && !failure.has_cause()) {
      *a->mutable_failure()->mutable_cause() = info->last_failure();
    }
    a->set_scheduled_event_id(scheduled_event_id);
    a->set_retry_state(d.state);
    a->set_attempt(info->attempt());
    events.push_back(std::move(e));
  } else {
    v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_ACTIVITY_TASK_FAILED);
    auto* a = e.mutable_activity_task_failed_event_attributes();
    *a->mutable_failure() = failure;
    a->set_scheduled_event_id(scheduled_event_id);
    a->set_identity(identity);
    a->set_retry_state(d.state);
    a->set_attempt(info->attempt());
    if (info->has_last_failure()) {
      *a->mutable_last_failure() = info->last_failure();  // the attempt before this one
    }
    events.push_back(std::move(e));
  }
  return tx.deliver(std::move(events));
}

void arm_schedule_to_start(TransitionContext& tx, const v1::ActivityInfo& info) {
  if (info.schedule_to_start_timeout_ms() <= 0) {
    return;
  }
  int64_t fire = tx.now() + info.schedule_to_start_timeout_ms();
  int64_t deadline = schedule_to_close_deadline(info);
  if (deadline == 0 || fire < deadline) {
    tx.add_timer(v1::TIMER_KIND_ACTIVITY_SCHEDULE_TO_START, fire, info.scheduled_event_id(),
                 info.attempt());
  }
}

Result<bool> fire_activity_timer(TransitionContext& tx, const v1::TimerRecord& timer) {
  v1::ActivityInfo* info = tx.ms().mutable_activity(timer.event_id());
  if (info == nullptr) {
    return false;  // the activity closed (or the run did)
  }
  switch (timer.kind()) {
    case v1::TIMER_KIND_ACTIVITY_RETRY:
      if (!info->waiting_for_retry() || info->attempt() != timer.attempt()) {
        return false;
      }
      info->set_waiting_for_retry(false);
      info->clear_next_attempt_time_ms();
      info->set_current_attempt_scheduled_time_ms(tx.now());
      tx.add_task(v1::TASK_KIND_ACTIVITY, info->task_queue(), info->scheduled_event_id(),
                  info->attempt());
      arm_schedule_to_start(tx, *info);
      return true;

    case v1::TIMER_KIND_ACTIVITY_SCHEDULE_TO_START:
      if (info->attempt() != timer.attempt() || info->started_time_ms() != 0 ||
          info->waiting_for_retry()) {
        return false;
      }
      CAIRN_RETURN_IF_ERROR(final_timeout(tx, *info, v1::TIMEOUT_TYPE_SCHEDULE_TO_START));
      return true;

    case v1::TIMER_KIND_ACTIVITY_SCHEDULE_TO_CLOSE:
      // Armed once for the whole activity, across attempts.
      CAIRN_RETURN_IF_ERROR(final_timeout(tx, *info, v1::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE));
      return true;

    case v1::TIMER_KIND_ACTIVITY_START_TO_CLOSE:
      if (!running_attempt(*info, timer)) {
        return false;
      }
      CAIRN_RETURN_IF_ERROR(end_failed_attempt(
          tx, info->scheduled_event_id(),
          activity_timeout_failure(v1::TIMEOUT_TYPE_START_TO_CLOSE, *info), std::string()));
      return true;

    case v1::TIMER_KIND_ACTIVITY_HEARTBEAT: {
      if (!running_attempt(*info, timer)) {
        return false;
      }
      // One timer per attempt, moved forward lazily: a heartbeat only records its time, and the
      // timer re-arms itself at the deadline that time implies.
      int64_t last = std::max(info->last_heartbeat_time_ms(), info->started_time_ms());
      int64_t deadline = last + info->heartbeat_timeout_ms();
      if (deadline > tx.now()) {
        tx.add_timer(v1::TIMER_KIND_ACTIVITY_HEARTBEAT, deadline, info->scheduled_event_id(),
                     info->attempt());
        return true;
      }
      CAIRN_RETURN_IF_ERROR(end_failed_attempt(
          tx, info->scheduled_event_id(),
          activity_timeout_failure(v1::TIMEOUT_TYPE_HEARTBEAT, *info), std::string()));
      return true;
    }

    default:
      return false;
  }
}

}  // namespace cairn::rules
