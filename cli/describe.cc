#include "cli/describe.h"

#include <iostream>
#include <map>

#include "cli/ai_usage.h"
#include "proto/enum_names.h"

namespace cairnctl {
namespace {

std::string activity_state(v1::PendingActivityState s) {
  std::string name = v1::PendingActivityState_Name(s);
  const std::string prefix = "PENDING_ACTIVITY_STATE_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

std::string failure_text(const v1::Failure& f) {
  std::string type =
      f.has_application_failure_info() ? f.application_failure_info().type() : std::string();
  return (type.empty() ? "" : type + ": ") + f.message();
}

void print_activity(const v1::PendingActivityInfo& a) {
  std::string attempts =
      std::to_string(a.attempt()) + " of " +
      (a.maximum_attempts() > 0 ? std::to_string(a.maximum_attempts()) : std::string("unlimited"));
  std::cout << "  " << a.activity_id() << "  " << a.activity_type().name() << "  "
            << activity_state(a.state()) << "\n"
            << "    attempt            " << attempts << "\n"
            << "    task queue         " << (a.task_queue().empty() ? "-" : a.task_queue()) << "\n";
  if (a.has_last_failure()) {
    std::cout << "    last failure       " << failure_text(a.last_failure()) << "\n";
  }
  if (a.next_attempt_schedule_time_ms() > 0) {
    std::cout << "    next retry         " << time_text(a.next_attempt_schedule_time_ms()) << "\n";
  }
  std::cout << "    heartbeat timeout  " << timeout_text(a.heartbeat_timeout_ms()) << "\n"
            << "    last heartbeat     " << time_text(a.last_heartbeat_time_ms()) << "\n";
  if (!a.last_worker_identity().empty()) {
    std::cout << "    last worker        " << a.last_worker_identity() << "\n";
  }
}

}  // namespace

std::string timeout_text(int64_t ms) { return ms <= 0 ? "-" : duration_text(ms); }

std::string cause_text(const v1::WorkflowTaskFailureInfo& f) { return cairn::task_failure_name(f); }

std::string task_failure_text(const v1::WorkflowTaskFailureInfo& f) {
  std::string text = cause_text(f);
  if (!f.failure().message().empty()) {
    text += ": " + f.failure().message();
  }
  return text + " (attempt " + std::to_string(f.attempt()) + ", at " + time_text(f.time_ms()) + ")";
}

std::string list_status_text(const v1::WorkflowExecutionInfo& info) {
  std::string status = status_text(info.status());
  if (!info.task_failure().empty()) {
    status += " (task failing: " + info.task_failure() + ")";
  }
  return status;
}

int describe(const Globals& g, const Target& t) {
  cairn::Client client = connect(g);
  v1::DescribeWorkflowExecutionResponse d = client.handle(t.workflow_id, t.run_id).describe();
  if (g.json()) {
    std::cout << with_ai_usage(client, d, to_json(d)) << "\n";
    return 0;
  }
  const auto& info = d.workflow_execution_info();
  std::cout << "workflow id   " << info.execution().workflow_id() << "\n"
            << "run id        " << info.execution().run_id() << "\n"
            << "type          " << info.type().name() << "\n"
            << "task queue    " << info.task_queue() << "\n"
            << "status        " << status_text(info.status())
            << (d.cancel_requested() ? " (cancel requested)" : "") << "\n"
            << "started       " << time_text(info.start_time_ms()) << "\n"
            << "closed        " << time_text(info.close_time_ms()) << "\n"
            << "history       " << info.history_length() << " events\n";
  // Sorted by name: proto maps have no order of their own.
  for (const auto& [label, map] : {std::pair{"search attributes", &info.search_attributes()},
                                   std::pair{"memo", &info.memo()}}) {
    if (map->empty()) {
      continue;
    }
    std::cout << label << ":\n";
    std::map<std::string, v1::Payload> sorted(map->begin(), map->end());
    for (const auto& [name, value] : sorted) {
      std::cout << "  " << name << " = " << payload_text(value) << "\n";
    }
  }
  if (d.has_workflow_task_failure()) {
    const auto& f = d.workflow_task_failure();
    std::cout << "workflow task failing:\n"
              << "  cause    " << cause_text(f) << "\n"
              << "  message  " << (f.failure().message().empty() ? "-" : f.failure().message())
              << "\n"
              << "  attempt  " << f.attempt() << "\n"
              << "  when     " << time_text(f.time_ms()) << " (event " << f.event_id() << ")\n";
  }
  if (d.has_pending_workflow_task()) {
    const auto& wt = d.pending_workflow_task();
    std::cout << "pending workflow task:\n"
              << "  attempt     " << wt.attempt() << "\n"
              << "  state       " << (wt.started_event_id() > 0 ? "STARTED" : "SCHEDULED") << "\n"
              << "  scheduled   " << time_text(wt.scheduled_time_ms()) << "\n";
    if (wt.started_event_id() > 0) {
      std::cout << "  started     " << time_text(wt.started_time_ms()) << " by "
                << (wt.identity().empty() ? "-" : wt.identity()) << "\n";
    }
    std::cout << "  task queue  " << (wt.task_queue().empty() ? "-" : wt.task_queue()) << "\n";
  }
  if (d.pending_activities_size() > 0) {
    std::cout << "pending activities:\n";
    for (const auto& a : d.pending_activities()) {
      print_activity(a);
    }
  }
  if (d.pending_timers_size() > 0) {
    std::cout << "pending timers: " << d.pending_timers_size() << "\n";
  }
  print_ai_usage_section(client, d);
  return 0;
}

}  // namespace cairnctl
