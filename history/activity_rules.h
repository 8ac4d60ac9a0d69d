// Internal to history/: how an activity attempt ends (retry or final close), shared by the RPC
// rules (transitions_activity.cc) and the timeout timers (activity_attempts.cc).
#pragma once

#include <string>

#include "history/transition_context.h"

namespace cairn::rules {

// ActivityTaskStarted for the activity's current attempt, written just before its closing event
// (retries leave no other trace): the attempt, the poller's identity, the previous failure.
v1::HistoryEvent activity_started_event(const TransitionContext& tx, const v1::ActivityInfo& info);

// A Failure with TimeoutFailureInfo of `type` carrying the attempt's last heartbeat details.
v1::Failure activity_timeout_failure(v1::TimeoutType type, const v1::ActivityInfo& info);

// The current attempt of activity `scheduled_event_id` failed or timed out with `failure`
// (timeouts carry TimeoutFailureInfo). Either a retry per the activity's policy — attempt + 1,
// last_failure kept, an ACTIVITY_RETRY timer after the backoff, no event — or, when the policy,
// the schedule-to-close deadline or a cancel request says no, the final ActivityTaskStarted +
// ActivityTaskFailed (ActivityTaskTimedOut for timeouts) with the retry state.
// REQUIRES: the activity is pending.
Status end_failed_attempt(TransitionContext& tx, int64_t scheduled_event_id,
                          const v1::Failure& failure, const std::string& identity);

// Arms ACTIVITY_SCHEDULE_TO_START for the current attempt when the activity has that timeout and
// it would expire before the schedule-to-close deadline (which covers it otherwise).
void arm_schedule_to_start(TransitionContext& tx, const v1::ActivityInfo& info);

}  // namespace cairn::rules
