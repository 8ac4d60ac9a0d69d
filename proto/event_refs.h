// Which earlier event a history event refers to: the one switch over event types that the
// server's state machine, the SDK's replayer and the CLI would otherwise each write out. Pure
// functions over the generated types, thread-safe.
#pragma once

#include <cstdint>

#include "cairn/v1/history.pb.h"

namespace cairn {

// The ActivityTaskScheduled event id that an activity event other than Scheduled (Started,
// Completed, Failed, TimedOut, CancelRequested, Canceled) refers to; 0 for any other event.
int64_t scheduled_event_id_of(const v1::HistoryEvent& e);

// True for the events that close an activity: Completed, Failed, TimedOut, Canceled.
bool closes_activity(v1::EventType type);

// The *Initiated event id that a child-workflow or external-workflow event other than Initiated
// (started, closed, start/signal/cancel failed, signaled, cancel requested) refers to; 0 for any
// other event.
int64_t initiated_event_id_of(const v1::HistoryEvent& e);

}  // namespace cairn
