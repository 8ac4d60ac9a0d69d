// The client side of human approval: reading an approval's status (the query, completed from
// history for a run that closed in the workflow task that decided) and answering it by update.
#include <map>
#include <set>

#include "approval_state.h"
#include "cairn/ai/approval.h"

namespace cairn::ai {
namespace {

using namespace approval_internal;

bool is_closed(const std::string& message) {
  return message.find("is closed") != std::string::npos ||
         message.find("closed before update") != std::string::npos;
}

// A query on a closed run sees the workflow as of its last wait before the task that closed
// it: when that task took the decision, the query still says "waiting". The decision is then
// read from history, in the order the workflow took answers: the first successful answer
// update, or the first valid webhook answer; with neither, a run that completed after the
// deadline timed out.
void settle_from_history(WorkflowHandle& h, const v1::DescribeWorkflowExecutionResponse& d,
                         ApprovalStatus& s) {
  std::set<int64_t> answer_updates;  // accepted event ids
  std::set<int64_t> notices;         // scheduled event ids of this approval's notify activities
  const std::string prefix = "cairn.approval." + s.approval_id;
  for (const v1::HistoryEvent& e : h.history()) {
    std::optional<ApprovalDecision> taken;
    if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED &&
        e.workflow_execution_update_accepted_event_attributes().name() == kApprovalAnswerUpdate) {
      answer_updates.insert(e.event_id());
    } else if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) {
      const auto& a = e.workflow_execution_update_completed_event_attributes();
      if (answer_updates.count(a.accepted_event_id()) == 1 && !a.has_failure()) {
        taken = from_payloads<ApprovalDecision>(a.result());
      }
    } else if (e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const auto& a = e.activity_task_scheduled_event_attributes();
      if (a.activity_type().name() == kApprovalNotifyActivity &&
          a.activity_id().rfind(prefix, 0) == 0) {
        notices.insert(e.event_id());
      }
    } else if (e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED &&
               notices.count(e.activity_task_completed_event_attributes().scheduled_event_id())) {
      auto w =
          from_payloads<ApprovalDecision>(e.activity_task_completed_event_attributes().result());
      if (!check_answer(s, ApprovalAnswer{"", w.approved, w.by, w.comment})) {
        w.via = "webhook";
        w.approval_id = s.approval_id;
        w.decided_at_ms = e.event_time_ms();
        w.escalated = s.state == "escalated";
        taken = w;
      }
    }
    if (taken) {
      s.state = taken->approved ? "approved" : "rejected";
      s.decision = std::move(taken);
      return;
    }
  }
  const auto& info = d.workflow_execution_info();
  if (info.status() == v1::WORKFLOW_EXECUTION_STATUS_COMPLETED &&
      info.close_time_ms() >= s.deadline_ms) {
    ApprovalDecision t;
    t.via = "timeout";
    t.approval_id = s.approval_id;
    t.decided_at_ms = info.close_time_ms();
    t.escalated = s.state == "escalated";
    t.comment = "no answer before the deadline";
    s.state = "timed_out";
    s.decision = t;
    return;
  }
  s.state = "canceled";  // the run closed (canceled, terminated, failed) while it waited
}

}  // namespace

ApprovalStatus approval_status(Client& client, const std::string& workflow_id,
                               const std::string& run_id) {
  WorkflowHandle h = client.handle(workflow_id, run_id);
  ApprovalStatus s;
  try {
    s = h.query<ApprovalStatus>(kApprovalPendingQuery);
  } catch (const RpcError& e) {
    // An unknown query type: the run's code never registered the approval query.
    if (e.code() == grpc::StatusCode::INVALID_ARGUMENT &&
        std::string(e.what()).find("known query types") != std::string::npos) {
      throw ApprovalError("workflow " + workflow_id +
                              " has no approval: it never called request_approval (or has not "
                              "reached it yet)",
                          "ApprovalNotFound");
    }
    throw;
  }
  if (s.pending()) {
    v1::DescribeWorkflowExecutionResponse d = h.describe();
    if (d.workflow_execution_info().status() != v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
      settle_from_history(h, d, s);
    }
  }
  return s;
}

ApprovalDecision answer_approval(Client& client, const std::string& workflow_id,
                                 const ApprovalAnswer& answer, const std::string& run_id) {
  try {
    return client.handle(workflow_id, run_id)
        .update<ApprovalDecision>(kApprovalAnswerUpdate, answer);
  } catch (const ApprovalError&) {
    throw;
  } catch (const ApplicationError& e) {
    const std::string m = e.what();
    const std::string type = approval_refusal_type(m);
    if (!type.empty()) {
      throw ApprovalError(m.substr(m.find(type + ": ") + type.size() + 2), type);
    }
    if (m.find(std::string("unknown update type ") + kApprovalAnswerUpdate) != std::string::npos) {
      throw ApprovalError("workflow " + workflow_id +
                              " has no pending approval: it never called request_approval (or "
                              "has not reached it yet)",
                          "ApprovalNotFound");
    }
    throw;
  } catch (const RpcError& e) {
    if (!is_closed(e.what())) {
      throw;
    }
    // The run is closed: say how its approval ended, when it had one.
    ApprovalStatus s;
    try {
      s = approval_status(client, workflow_id, run_id);
    } catch (const std::exception&) {
      throw ApprovalError(
          "workflow " + workflow_id + " is closed: no approval is pending (" + e.what() + ")",
          "ApprovalNotFound");
    }
    auto refusal = check_answer(s, answer);
    if (refusal && refusal->type != "UnknownApprover") {
      throw ApprovalError(refusal->message + " (the run is closed)", refusal->type);
    }
    throw ApprovalError("approval " + s.approval_id + " of workflow " + workflow_id +
                            " is no longer pending: the run is closed",
                        "ApprovalNotFound");
  }
}

}  // namespace cairn::ai
