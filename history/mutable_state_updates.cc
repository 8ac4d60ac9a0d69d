// The workflow-update half of MutableState::apply(): WorkflowExecutionUpdateAccepted and
// WorkflowExecutionUpdateCompleted. An update's admitted state is not an event (it is written by
// the update rules, history/transitions_update.cc); these events move it on.
#include "history/mutable_state_apply.h"

namespace cairn::state_apply {

using Attrs = v1::HistoryEvent::AttributesCase;

v1::HistoryEvent::AttributesCase update_event_attributes(v1::EventType type) {
  switch (type) {
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
      return Attrs::kWorkflowExecutionUpdateAcceptedEventAttributes;
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
      return Attrs::kWorkflowExecutionUpdateCompletedEventAttributes;
    default:
      return Attrs::ATTRIBUTES_NOT_SET;
  }
}

bool is_update_event(v1::EventType type) {
  return update_event_attributes(type) != Attrs::ATTRIBUTES_NOT_SET;
}

Status apply_update_event(v1::RunState& s, const v1::HistoryEvent& e, const std::string& run) {
  if (s.status() != v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
    return event_error(run, e, "the run is not open");
  }
  if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) {
    const auto& a = e.workflow_execution_update_accepted_event_attributes();
    if (a.update_id().empty()) {
      return event_error(run, e, "update_id is empty");
    }
    auto it = s.updates().find(a.update_id());
    if (it != s.updates().end() && it->second.state() != v1::UPDATE_STATE_ADMITTED) {
      return event_error(run, e, "update " + a.update_id() + " is already " +
                                     v1::UpdateState_Name(it->second.state()));
    }
    // Rebuilt from events, the admitted entry does not exist: the event carries the request.
    v1::UpdateInfo& u = (*s.mutable_updates())[a.update_id()];
    u.set_update_id(a.update_id());
    u.set_name(a.name());
    *u.mutable_input() = a.input();
    u.set_state(v1::UPDATE_STATE_ACCEPTED);
    u.set_accepted_event_id(e.event_id());
    return Status();
  }
  const auto& a = e.workflow_execution_update_completed_event_attributes();
  auto it = s.mutable_updates()->find(a.update_id());
  if (it == s.mutable_updates()->end() || it->second.state() != v1::UPDATE_STATE_ACCEPTED) {
    return event_error(run, e, "update " + a.update_id() + " is not accepted");
  }
  v1::UpdateInfo& u = it->second;
  u.set_state(v1::UPDATE_STATE_COMPLETED);
  u.set_completed_event_id(e.event_id());
  u.clear_input();  // only the outcome is needed from now on (a repeated update id gets it)
  if (a.has_failure()) {
    *u.mutable_failure() = a.failure();
  } else {
    *u.mutable_result() = a.result();
  }
  forget_oldest_completed_updates(s);
  return Status();
}

void forget_oldest_completed_updates(v1::RunState& s) {
  // The state is copied and written by every transition of the run: an agent answering
  // thousands of updates must not make each step slower. The oldest outcomes go first; a
  // repeat of a forgotten update id is taken as a new update. Derived from event ids only, so
  // a rebuild from events forgets the same ones.
  int completed = 0;
  for (const auto& [id, u] : s.updates()) {
    completed += u.state() == v1::UPDATE_STATE_COMPLETED ? 1 : 0;
  }
  while (completed > kMaxCompletedUpdates) {
    auto oldest = s.mutable_updates()->end();
    for (auto it = s.mutable_updates()->begin(); it != s.mutable_updates()->end(); ++it) {
      if (it->second.state() == v1::UPDATE_STATE_COMPLETED &&
          (oldest == s.mutable_updates()->end() ||
           it->second.completed_event_id() < oldest->second.completed_event_id())) {
        oldest = it;
      }
    }
    s.mutable_updates()->erase(oldest);
    --completed;
  }
}

}  // namespace cairn::state_apply
