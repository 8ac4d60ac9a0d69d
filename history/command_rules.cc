// The command → event rules of RespondWorkflowTaskCompleted (Temporal semantics).
#include "history/command_rules.h"

#include <algorithm>
#include <string_view>

#include "history/child_rules.h"
#include "history/retry_policy.h"
#include "history/update_rules.h"
#include "proto/enum_names.h"

namespace cairn::rules {
namespace {

using Attrs = v1::Command::AttributesCase;

Attrs expected_attributes(v1::CommandType type) {
  switch (type) {
    case v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: return Attrs::kScheduleActivityTaskCommandAttributes;
    case v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: return Attrs::kRequestCancelActivityTaskCommandAttributes;
    case v1::COMMAND_TYPE_START_TIMER: return Attrs::kStartTimerCommandAttributes;
    case v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: return Attrs::kCompleteWorkflowExecutionCommandAttributes;
    case v1::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: return Attrs::kFailWorkflowExecutionCommandAttributes;
    case v1::COMMAND_TYPE_CANCEL_TIMER: return Attrs::kCancelTimerCommandAttributes;
    case v1::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: return Attrs::kCancelWorkflowExecutionCommandAttributes;
    case v1::COMMAND_TYPE_RECORD_MARKER: return Attrs::kRecordMarkerCommandAttributes;
    case v1::COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: return Attrs::kUpsertWorkflowSearchAttributesCommandAttributes;
    case v1::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION: return Attrs::kContinueAsNewWorkflowExecutionCommandAttributes;
    case v1::COMMAND_TYPE_ACCEPT_WORKFLOW_UPDATE: return Attrs::kAcceptWorkflowUpdateCommandAttributes;
    case v1::COMMAND_TYPE_COMPLETE_WORKFLOW_UPDATE: return Attrs::kCompleteWorkflowUpdateCommandAttributes;
    case v1::COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: return Attrs::kStartChildWorkflowExecutionCommandAttributes;
    case v1::COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: return Attrs::kSignalExternalWorkflowExecutionCommandAttributes;
    case v1::COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: return Attrs::kRequestCancelExternalWorkflowExecutionCommandAttributes;
    default: return Attrs::ATTRIBUTES_NOT_SET;
  }
}

bool is_close_command(v1::CommandType type) {
  return type == v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION ||
         type == v1::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION ||
         type == v1::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION ||
         type == v1::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION;
}

struct ActivityTimeouts {
  int64_t schedule_to_close = 0;
  int64_t schedule_to_start = 0;
  int64_t start_to_close = 0;
  int64_t heartbeat = 0;
};

// Temporal's derivation: start-to-close and schedule-to-start default to schedule-to-close and
// never exceed it; a heartbeat timeout longer than an attempt could never fire first.
Result<ActivityTimeouts> resolve_timeouts(const v1::ScheduleActivityTaskCommandAttributes& c) {
  const std::pair<int64_t, const char*> given[] = {
      {c.schedule_to_close_timeout_ms(), "schedule_to_close_timeout_ms"},
      {c.schedule_to_start_timeout_ms(), "schedule_to_start_timeout_ms"},
      {c.start_to_close_timeout_ms(), "start_to_close_timeout_ms"},
      {c.heartbeat_timeout_ms(), "heartbeat_timeout_ms"}};
  for (const auto& [value, field] : given) {
    if (value < 0) {
      return invalid_argument(std::string(field) + " must not be negative (got " +
                              std::to_string(value) + ")");
    }
  }
  ActivityTimeouts t{c.schedule_to_close_timeout_ms(), c.schedule_to_start_timeout_ms(),
                     c.start_to_close_timeout_ms(), c.heartbeat_timeout_ms()};
  if (t.schedule_to_close == 0 && t.start_to_close == 0) {
    return invalid_argument(
        "schedule_to_close_timeout_ms or start_to_close_timeout_ms is required");
  }
  if (t.start_to_close == 0) {
    t.start_to_close = t.schedule_to_close;
  }
  if (t.schedule_to_start == 0) {
    t.schedule_to_start = t.schedule_to_close;
  }
  if (t.schedule_to_close > 0) {
    t.start_to_close = std::min(t.start_to_close, t.schedule_to_close);
    t.schedule_to_start = std::min(t.schedule_to_start, t.schedule_to_close);
  }
  t.heartbeat = std::min(t.heartbeat, t.start_to_close);
  return t;
}

Status schedule_activity(TransitionContext& tx, const v1::ScheduleActivityTaskCommandAttributes& c,
                         const std::string& where, int64_t completed_event_id) {
  const Limits& limits = tx.limits();
  CAIRN_RETURN_IF_ERROR(with_context(check_id(c.activity_id(), limits, "activity_id"), where));
  CAIRN_RETURN_IF_ERROR(
      with_context(check_id(c.activity_type().name(), limits, "activity_type.name"), where));
  CAIRN_RETURN_IF_ERROR(
      with_context(check_id(c.task_queue(), limits, "task_queue", /*required=*/false), where));
  CAIRN_RETURN_IF_ERROR(with_context(check_payload_size(c.input(), limits, "input"), where));
  auto timeouts = resolve_timeouts(c);
  CAIRN_RETURN_IF_ERROR(with_context(timeouts.status(), where));
  auto policy = resolve_retry_policy(c.retry_policy());
  CAIRN_RETURN_IF_ERROR(with_context(policy.status(), where));
  for (const auto& [id, info] : tx.state().activities()) {
    if (info.activity_id() == c.activity_id()) {
      return invalid_argument(where + ": activity_id " + c.activity_id() +
                              " is already used by pending activity " + std::to_string(id));
    }
  }
  if (tx.state().activities_size() >= limits.max_pending_activities) {
    return resource_exhausted(where + ": the run already has " +
                              std::to_string(tx.state().activities_size()) +
                              " pending activities (limit " +
                              std::to_string(limits.max_pending_activities) + ")");
  }
  const std::string& queue = c.task_queue().empty() ? tx.state().task_queue() : c.task_queue();
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  auto* a = e.mutable_activity_task_scheduled_event_attributes();
  a->set_activity_id(c.activity_id());
  *a->mutable_activity_type() = c.activity_type();
  a->set_task_queue(queue);
  *a->mutable_input() = c.input();
  a->set_schedule_to_close_timeout_ms(timeouts->schedule_to_close);
  a->set_schedule_to_start_timeout_ms(timeouts->schedule_to_start);
  a->set_start_to_close_timeout_ms(timeouts->start_to_close);
  a->set_heartbeat_timeout_ms(timeouts->heartbeat);
  a->set_workflow_task_completed_event_id(completed_event_id);
  *a->mutable_retry_policy() = *policy;
  CAIRN_ASSIGN_OR_RETURN(int64_t id, tx.append(std::move(e)));

  tx.add_task(v1::TASK_KIND_ACTIVITY, queue, id, 1);
  if (timeouts->schedule_to_close > 0) {
    tx.add_timer(v1::TIMER_KIND_ACTIVITY_SCHEDULE_TO_CLOSE,
                 tx.now() + timeouts->schedule_to_close, id, 1);
  }
  // Equal to schedule-to-close (the default) it would only race that timer with a less
  // precise timeout type.
  if (timeouts->schedule_to_start > 0 &&
      (timeouts->schedule_to_close == 0 || timeouts->schedule_to_start < timeouts->schedule_to_close)) {
    tx.add_timer(v1::TIMER_KIND_ACTIVITY_SCHEDULE_TO_START,
                 tx.now() + timeouts->schedule_to_start, id, 1);
  }
  return Status();
}

Status request_cancel_activity(TransitionContext& tx,
                               const v1::RequestCancelActivityTaskCommandAttributes& c,
                               const std::string& where, int64_t completed_event_id,
                               bool* wake_workflow) {
  int64_t scheduled = c.scheduled_event_id();
  if (tx.ms().activity(scheduled) == nullptr) {
    // (A result still buffered is caught earlier: complete_workflow_task fails the task as
    // UNHANDLED_COMMAND so that the workflow sees the result.)
    return invalid_argument(where + ": activity " + std::to_string(scheduled) + " is not pending");
  }
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
  e.mutable_activity_task_cancel_requested_event_attributes()->set_scheduled_event_id(scheduled);
  e.mutable_activity_task_cancel_requested_event_attributes()->set_workflow_task_completed_event_id(
      completed_event_id);
  CAIRN_ASSIGN_OR_RETURN(int64_t requested, tx.append(std::move(e)));
  if (tx.ms().activity(scheduled)->started_time_ms() != 0) {
    return Status();  // the running attempt learns it from its next heartbeat
  }
  // Not running (queued, or waiting for a retry): canceled on the spot, and the workflow needs a
  // new task to learn it. The queued task and armed timers turn stale.
  v1::HistoryEvent canceled = tx.new_event(v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED);
  auto* a = canceled.mutable_activity_task_canceled_event_attributes();
  a->set_latest_cancel_requested_event_id(requested);
  a->set_scheduled_event_id(scheduled);
  CAIRN_RETURN_IF_ERROR(tx.append(std::move(canceled)).status());
  *wake_workflow = true;
  return Status();
}

Status start_timer(TransitionContext& tx, const v1::StartTimerCommandAttributes& c,
                   const std::string& where, int64_t completed_event_id) {
  CAIRN_RETURN_IF_ERROR(with_context(check_id(c.timer_id(), tx.limits(), "timer_id"), where));
  if (c.start_to_fire_timeout_ms() <= 0) {
    return invalid_argument(where + ": start_to_fire_timeout_ms must be > 0 (got " +
                            std::to_string(c.start_to_fire_timeout_ms()) + ")");
  }
  if (tx.ms().timer(c.timer_id()) != nullptr) {
    return invalid_argument(where + ": timer " + c.timer_id() + " is already pending");
  }
  for (const v1::HistoryEvent& b : tx.state().buffered_events()) {
    if (b.event_type() == v1::EVENT_TYPE_TIMER_FIRED &&
        b.timer_fired_event_attributes().timer_id() == c.timer_id()) {
      // Its TimerFired is not in history yet; a second TimerStarted before it would make the
      // history ambiguous.
      return invalid_argument(where + ": timer " + c.timer_id() +
                              " has fired and the workflow has not seen it yet");
    }
  }
  if (tx.state().timers_size() >= tx.limits().max_pending_timers) {
    return resource_exhausted(where + ": the run already has " +
                              std::to_string(tx.state().timers_size()) + " pending timers (limit " +
                              std::to_string(tx.limits().max_pending_timers) + ")");
  }
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_TIMER_STARTED);
  auto* a = e.mutable_timer_started_event_attributes();
  a->set_timer_id(c.timer_id());
  a->set_start_to_fire_timeout_ms(c.start_to_fire_timeout_ms());
  a->set_workflow_task_completed_event_id(completed_event_id);
  CAIRN_ASSIGN_OR_RETURN(int64_t id, tx.append(std::move(e)));
  tx.add_timer(v1::TIMER_KIND_USER_TIMER, tx.now() + c.start_to_fire_timeout_ms(), id, 0,
               c.timer_id());
  return Status();
}

Status cancel_timer(TransitionContext& tx, const v1::CancelTimerCommandAttributes& c,
                    const std::string& where, int64_t completed_event_id) {
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_TIMER_CANCELED);
  auto* a = e.mutable_timer_canceled_event_attributes();
  a->set_timer_id(c.timer_id());
  a->set_workflow_task_completed_event_id(completed_event_id);
  if (const v1::TimerInfo* info = tx.ms().timer(c.timer_id())) {
    a->set_started_event_id(info->started_event_id());
    return tx.append(std::move(e)).status();
  }
  // Temporal's rule: a timer that fired while this task ran (its TimerFired still buffered) can
  // still be canceled; the TimerCanceled replaces the TimerFired, whose effect — the timer
  // leaving the pending set — is already applied.
  auto* buffer = tx.ms().mutable_buffered_events();
  for (int i = 0; i < buffer->size(); ++i) {
    const v1::HistoryEvent& b = buffer->Get(i);
    if (b.event_type() == v1::EVENT_TYPE_TIMER_FIRED &&
        b.timer_fired_event_attributes().timer_id() == c.timer_id()) {
      a->set_started_event_id(b.timer_fired_event_attributes().started_event_id());
      buffer->DeleteSubrange(i, 1);
      return tx.append_applied(std::move(e)).status();
    }
  }
  return invalid_argument(where + ": timer " + c.timer_id() + " is not pending");
}

Status record_marker(TransitionContext& tx, const v1::RecordMarkerCommandAttributes& c,
                     const std::string& where, int64_t completed_event_id) {
  CAIRN_RETURN_IF_ERROR(with_context(check_id(c.marker_name(), tx.limits(), "marker_name"), where));
  size_t bytes = c.failure().ByteSizeLong();
  for (const auto& [key, value] : c.details()) {
    bytes += key.size() + value.ByteSizeLong();
  }
  if (bytes > static_cast<size_t>(tx.limits().max_payload_bytes)) {
    return invalid_argument(where + ": marker details are " + std::to_string(bytes) +
                            " bytes, over the limit of " +
                            std::to_string(tx.limits().max_payload_bytes));
  }
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_MARKER_RECORDED);
  auto* a = e.mutable_marker_recorded_event_attributes();
  a->set_marker_name(c.marker_name());
  *a->mutable_details() = c.details();
  a->set_workflow_task_completed_event_id(completed_event_id);
  if (c.has_failure()) {
    *a->mutable_failure() = c.failure();
  }
  return tx.append(std::move(e)).status();
}

// Names and types were checked against the namespace by the server (search attributes are
// namespace configuration, outside the pure rules); here only the sizes.
Status upsert_search_attributes(TransitionContext& tx,
                                const v1::UpsertWorkflowSearchAttributesCommandAttributes& c,
                                const std::string& where, int64_t completed_event_id) {
  if (c.search_attributes().empty()) {
    return invalid_argument(where + ": no search attributes to upsert");
  }
  CAIRN_RETURN_IF_ERROR(with_context(
      check_payload_map(c.search_attributes(), tx.limits(), "search_attributes"), where));
  v1::HistoryEvent e = tx.new_event(v1::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
  auto* a = e.mutable_upsert_workflow_search_attributes_event_attributes();
  *a->mutable_search_attributes() = c.search_attributes();
  a->set_workflow_task_completed_event_id(completed_event_id);
  return tx.append(std::move(e)).status();
}

Status close_run(TransitionContext& tx, const v1::Command& command, const std::string& where,
                 int64_t completed_event_id) {
  v1::HistoryEvent e;
  switch (command.command_type()) {
    case v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: {
      const auto& c = command.complete_workflow_execution_command_attributes();
      CAIRN_RETURN_IF_ERROR(with_context(check_payload_size(c.result(), tx.limits(), "result"), where));
      e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
      auto* a = e.mutable_workflow_execution_completed_event_attributes();
      *a->mutable_result() = c.result();
      a->set_workflow_task_completed_event_id(completed_event_id);
      break;
    }
    case v1::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: {
      const auto& c = command.fail_workflow_execution_command_attributes();
      CAIRN_RETURN_IF_ERROR(
          with_context(check_payload_size(c.failure(), tx.limits(), "failure"), where));
      e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
      auto* a = e.mutable_workflow_execution_failed_event_attributes();
      *a->mutable_failure() = c.failure();
      // Workflow retries (a new run per attempt) come with continue-as-new; none yet.
      a->set_retry_state(v1::RETRY_STATE_RETRY_POLICY_NOT_SET);
      a->set_workflow_task_completed_event_id(completed_event_id);
      break;
    }
    default: {  // CANCEL_WORKFLOW_EXECUTION
      const auto& c = command.cancel_workflow_execution_command_attributes();
      CAIRN_RETURN_IF_ERROR(
          with_context(check_payload_size(c.details(), tx.limits(), "details"), where));
      e = tx.new_event(v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED);
      auto* a = e.mutable_workflow_execution_canceled_event_attributes();
      a->set_workflow_task_completed_event_id(completed_event_id);
      *a->mutable_details() = c.details();
      break;
    }
  }
  CAIRN_RETURN_IF_ERROR(tx.append(std::move(e)).status());
  tx.mark_closed();
  return Status();
}

// ", activity \"a1\"": what a command is about, for messages; empty when it has no id.
std::string command_subject(const v1::Command& c) {
  auto quoted = [](const char* what, const std::string& id) {
    constexpr size_t kShown = 100;  // the id is not validated yet: it may be huge
    std::string shown = id.size() > kShown ? id.substr(0, kShown) + "..." : id;
    return ", " + std::string(what) + " \"" + shown + "\"";
  };
  switch (c.attributes_case()) {
    case Attrs::kScheduleActivityTaskCommandAttributes:
      return quoted("activity", c.schedule_activity_task_command_attributes().activity_id());
    case Attrs::kRequestCancelActivityTaskCommandAttributes:
      return ", activity " +
             std::to_string(c.request_cancel_activity_task_command_attributes().scheduled_event_id());
    case Attrs::kStartTimerCommandAttributes:
      return quoted("timer", c.start_timer_command_attributes().timer_id());
    case Attrs::kCancelTimerCommandAttributes:
      return quoted("timer", c.cancel_timer_command_attributes().timer_id());
    case Attrs::kRecordMarkerCommandAttributes:
      return quoted("marker", c.record_marker_command_attributes().marker_name());
    case Attrs::kStartChildWorkflowExecutionCommandAttributes:
      return quoted("workflow", c.start_child_workflow_execution_command_attributes().workflow_id());
    case Attrs::kSignalExternalWorkflowExecutionCommandAttributes:
      return quoted("workflow",
                    c.signal_external_workflow_execution_command_attributes().execution().workflow_id());
    case Attrs::kRequestCancelExternalWorkflowExecutionCommandAttributes:
      return quoted("workflow",
                    c.request_cancel_external_workflow_execution_command_attributes().workflow_id());
    case Attrs::kAcceptWorkflowUpdateCommandAttributes:
      return quoted("update", c.accept_workflow_update_command_attributes().update_id());
    case Attrs::kCompleteWorkflowUpdateCommandAttributes:
      return quoted("update", c.complete_workflow_update_command_attributes().update_id());
    default:
      return "";
  }
}

}  // namespace

std::string describe_command(const v1::Command& command, int index) {
  // SCHEDULE_ACTIVITY_TASK → ScheduleActivityTask, as workflow authors know the commands.
  std::string name =
      enum_camel_case(v1::CommandType_Name(command.command_type()), "COMMAND_TYPE_");
  if (name.empty()) {
    name = "type " + std::to_string(static_cast<int>(command.command_type()));
  }
  return "command " + std::to_string(index) + " (" + name + command_subject(command) + ")";
}

Result<CommandPlan> check_commands(const google::protobuf::RepeatedPtrField<v1::Command>& commands,
                                   const std::string& run) {
  CommandPlan plan;
  int close_index = -1;
  for (int i = 0; i < commands.size(); ++i) {
    const v1::Command& c = commands.Get(i);
    std::string where = "run " + run + ": " + describe_command(c, i);
    Attrs expected = expected_attributes(c.command_type());
    if (expected == Attrs::ATTRIBUTES_NOT_SET) {
      return invalid_argument(where + ": unknown command type");
    }
    if (c.attributes_case() != expected) {
      return invalid_argument(where + ": attributes missing or of another command type");
    }
    if (close_index >= 0) {
      return invalid_argument(where + ": no command may follow " +
                              describe_command(commands.Get(close_index), close_index) +
                              ", which closes the run");
    }
    if (is_close_command(c.command_type())) {
      close_index = i;
      plan.closes = true;
    }
  }
  return plan;
}

Status apply_command(TransitionContext& tx, const v1::Command& command, int index,
                     int64_t completed_event_id, bool* wake_workflow) {
  const std::string where = "run " + tx.run() + ": " + describe_command(command, index);
  switch (command.command_type()) {
    case v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
      return schedule_activity(tx, command.schedule_activity_task_command_attributes(), where,
                               completed_event_id);
    case v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
      return request_cancel_activity(tx, command.request_cancel_activity_task_command_attributes(),
                                     where, completed_event_id, wake_workflow);
    case v1::COMMAND_TYPE_START_TIMER:
      return start_timer(tx, command.start_timer_command_attributes(), where, completed_event_id);
    case v1::COMMAND_TYPE_CANCEL_TIMER:
      return cancel_timer(tx, command.cancel_timer_command_attributes(), where, completed_event_id);
    case v1::COMMAND_TYPE_RECORD_MARKER:
      return record_marker(tx, command.record_marker_command_attributes(), where,
                           completed_event_id);
    case v1::COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      return upsert_search_attributes(
          tx, command.upsert_workflow_search_attributes_command_attributes(), where,
          completed_event_id);
    case v1::COMMAND_TYPE_ACCEPT_WORKFLOW_UPDATE:
      return accept_update(tx, command.accept_workflow_update_command_attributes(), where,
                           completed_event_id);
    case v1::COMMAND_TYPE_COMPLETE_WORKFLOW_UPDATE:
      return complete_update(tx, command.complete_workflow_update_command_attributes(), where,
                             completed_event_id);
    case v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
    case v1::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
    case v1::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
      return close_run(tx, command, where, completed_event_id);
    case v1::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
      return continue_as_new_command(
          tx, command.continue_as_new_workflow_execution_command_attributes(), where,
          completed_event_id);
    case v1::COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
      return start_child_command(tx, command.start_child_workflow_execution_command_attributes(),
                                 where, completed_event_id);
    case v1::COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
      return signal_external_command(
          tx, command.signal_external_workflow_execution_command_attributes(), where,
          completed_event_id);
    case v1::COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
      return cancel_external_command(
          tx, command.request_cancel_external_workflow_execution_command_attributes(), where,
          completed_event_id);
    default:
      return invalid_argument(where + ": unsupported command type");
  }
}

}  // namespace cairn::rules
