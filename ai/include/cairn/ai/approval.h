// Human approval: a durable wait in workflow code for a person's yes or no. request_approval()
// marks the run AwaitingApproval (search attributes), accepts the answer as the update
// "cairn.approval.answer" (a validator refuses unknown approvers and second answers) or from a
// webhook (the activity "cairn.ai.approval.notify" POSTs the request and completes async), and
// takes the escalation and timeout paths on durable timers, so a replay decides the same way.
// Workflow-side functions run on the workflow fiber; the client-side helpers are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/client.h"
#include "cairn/errors.h"
#include "cairn/worker.h"
#include "cairn/workflow.h"

namespace cairn::ai {

// Names users and tools see. Stable: part of histories and of the cairnctl commands.
inline constexpr char kApprovalAnswerUpdate[] = "cairn.approval.answer";
inline constexpr char kApprovalPendingQuery[] = "cairn.approval.pending";
inline constexpr char kApprovalNotifyActivity[] = "cairn.ai.approval.notify";
// Search attributes (register_approval_search_attributes registers all of them).
inline constexpr char kAwaitingApprovalAttribute[] = "AwaitingApproval";        // Bool
inline constexpr char kApprovalIdAttribute[] = "ApprovalId";                    // Keyword
inline constexpr char kApprovalWhatAttribute[] = "ApprovalWhat";                // Text
inline constexpr char kApprovalRequestedAtAttribute[] = "ApprovalRequestedAt";  // Datetime
inline constexpr char kApprovalApproversAttribute[] = "ApprovalApprovers";      // KeywordList

// A second wait, with more people, after the first one timed out. No approvers: no escalation.
struct Escalation {
  std::vector<std::string> approvers;
  std::chrono::milliseconds timeout{0};  // > 0 when approvers are given
};

// What to approve and who may. Checked by request_approval (OptionsError naming the field):
// `what` not empty, at least one approver, no empty approver name, timeout > 0, an escalation
// with approvers has a timeout > 0, webhook_url empty or http(s)://.
struct ApprovalRequest {
  std::string id;          // empty: a deterministic one ("approval-" + ctx.uuid())
  std::string what;        // one line for people: "refund $420 to c-17"
  nlohmann::json details;  // anything the approver needs to see (shown by `approval show`)
  std::vector<std::string> approvers;
  std::chrono::milliseconds timeout{0};  // durable: no worker is held while waiting
  Escalation escalation;
  // When set, the request is POSTed there as JSON (an ApprovalNotice) and whoever receives it
  // may answer with answer_approval_notice(); the update stays open as well.
  std::string webhook_url;
};

// How the approval ended. via: "update" (an approver answered), "webhook" (the webhook's
// receiver completed the notify activity), "escalation" (an answer by update after the request
// was escalated), "timeout" (nobody answered in time: approved = false, by empty).
struct ApprovalDecision {
  bool approved = false;
  std::string by;
  std::string comment;
  std::string via;
  int64_t decided_at_ms = 0;  // workflow time (ctx.now()) when the decision took effect
  std::string approval_id;
  bool escalated = false;  // the escalation wait had begun
  bool operator==(const ApprovalDecision&) const = default;
};

// The argument of the update "cairn.approval.answer". approval_id empty: the pending one.
struct ApprovalAnswer {
  std::string approval_id;
  bool approved = false;
  std::string by;
  std::string comment;
  bool operator==(const ApprovalAnswer&) const = default;
};

// What the webhook receives (POST, Content-Type application/json). task_token is the notify
// activity's token, base64; answer with answer_approval_notice(), or complete the activity by
// (workflow_id, run_id, activity_id) with an ApprovalDecision.
struct ApprovalNotice {
  std::string approval_id;
  std::string namespace_;
  std::string workflow_id;
  std::string run_id;
  std::string activity_id;
  std::string task_token;
  std::string what;
  nlohmann::json details;
  std::vector<std::string> approvers;  // who may answer now
  bool escalated = false;
  int64_t requested_at_ms = 0;
  int64_t deadline_ms = 0;  // when this wait times out (workflow time)
  bool operator==(const ApprovalNotice&) const = default;
};

// What the query "cairn.approval.pending" answers: the run's latest approval.
// state: "waiting", "escalated", "approved", "rejected", "timed_out", "canceled".
struct ApprovalStatus {
  std::string approval_id;
  std::string what;
  nlohmann::json details;
  std::string state;
  std::vector<std::string> approvers;  // who may answer now (escalation included)
  std::vector<std::string> escalation_approvers;
  int64_t requested_at_ms = 0;
  int64_t deadline_ms = 0;
  std::string webhook_url;
  std::string webhook_error;  // the notify activity's failure, when it failed
  std::optional<ApprovalDecision> decision;
  // Answers that arrived and were not taken (a webhook answer by an unknown approver, a webhook
  // answer after the decision), each {"by", "via", "reason"}.
  nlohmann::json ignored = nlohmann::json::array();
  bool pending() const { return state == "waiting" || state == "escalated"; }
};

// A refused answer. type(): "ApprovalConflict" (already decided: "already approved by X at T"),
// "UnknownApprover", "ApprovalTimedOut" (answers after the timeout), "ApprovalNotFound" (another
// approval id, or none pending), "InvalidAnswer" (no `by`). Non-retryable.
class ApprovalError : public ApplicationError {
 public:
  ApprovalError(const std::string& message, std::string type)
      : ApplicationError(message, std::move(type), /*non_retryable=*/true) {}
};

// Waits for an answer to `request` and returns it. Durable: survives worker and server restarts
// (the wait is a timer in history); the same history always gives the same decision. Steps:
// upserts AwaitingApproval = true, ApprovalId, ApprovalWhat, ApprovalRequestedAt and
// ApprovalApprovers; registers the update "cairn.approval.answer" (ApprovalAnswer ->
// ApprovalDecision) and the query "cairn.approval.pending" (ApprovalStatus); with a
// webhook_url, schedules "cairn.ai.approval.notify"; waits up to `timeout` for the first valid
// answer (update or webhook, whichever history has first); then, with an escalation, notifies
// again and waits up to escalation.timeout, the approvers and the escalation approvers
// answering; else decides "timeout" (approved = false). Finally AwaitingApproval = false and
// pending notify activities are canceled. Later answers are refused (ApprovalConflict /
// ApprovalTimedOut). One approval at a time per run: a later call replaces the handlers.
// Throws OptionsError (see ApprovalRequest), CanceledError when the run is canceled while it
// waits (AwaitingApproval is cleared first). REQUIRES: the search attributes are registered
// in the namespace (register_approval_search_attributes), and a worker that registered
// register_approval_activities() when webhook_url is set.
ApprovalDecision request_approval(WorkflowContext& ctx, const ApprovalRequest& request);

// Worker-side options of the approval activities.
struct ApprovalActivityOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  // Called once per decision taken live on this worker's task queue (not on replay) with the
  // wait in seconds (workflow time): the seam for AiMetrics::record_approval_wait.
  std::function<void(double wait_seconds, const ApprovalDecision&)> on_decided;
};

// Registers "cairn.ai.approval.notify" on `worker` (POST with libcurl; a 2xx leaves the activity
// pending for the receiver; 408, 429, 5xx and network errors are retried; other statuses fail
// it with "WebhookRejected") and the on_decided hook for its task queue. REQUIRES: before
// worker.start().
void register_approval_activities(Worker& worker, ApprovalActivityOptions options = {});

// Registers the approval search attributes in the client's namespace. Idempotent (registering
// again is a no-op). Throws RpcError (e.g. ALREADY_EXISTS when one exists with another type).
void register_approval_search_attributes(Client& client);

// Answers the pending approval of `workflow_id` (run `run_id`; empty: the current run) by update
// and returns the decision. Throws ApprovalError for a refused answer (type() says why; the message
// is the workflow's, e.g. "approval a-1 already approved by alice at 2026-12-07T02:30:00.000Z via
// update"), ApprovalError "ApprovalNotFound" when the run has no approval, RpcError otherwise.
ApprovalDecision answer_approval(Client& client, const std::string& workflow_id,
                                 const ApprovalAnswer& answer, const std::string& run_id = "");

// The run's latest approval (the query "cairn.approval.pending"; works on closed runs: when
// the run closed in the workflow task that decided, the decision is read from its history, and
// a run that closed while waiting without being answered shows "canceled"). Throws ApprovalError
// "ApprovalNotFound" when the run never asked for one, RpcError otherwise.
ApprovalStatus approval_status(Client& client, const std::string& workflow_id,
                               const std::string& run_id = "");

// Parses the webhook's request body. Throws PayloadError when it is not an ApprovalNotice.
ApprovalNotice parse_approval_notice(const std::string& body);

// Completes the notify activity of `notice` with `decision` (by its task token). Throws
// RpcError NOT_FOUND when the activity no longer waits (the approval was decided by update, or
// timed out, or the run closed). The workflow takes `decision` only when decision.by is one of
// the approvers and nothing was decided before; otherwise it is listed in ApprovalStatus.ignored.
void answer_approval_notice(Client& client, const ApprovalNotice& notice,
                            const ApprovalDecision& decision);

// The ApprovalError type carried by a refused update's message ("ApprovalConflict", ...), or
// "" when the message has none.
std::string approval_refusal_type(const std::string& message);

// JSON (recorded form: update arguments and results, activity inputs, query answers).
void to_json(nlohmann::json& j, const ApprovalDecision& v);
void from_json(const nlohmann::json& j, ApprovalDecision& v);
void to_json(nlohmann::json& j, const ApprovalAnswer& v);
void from_json(const nlohmann::json& j, ApprovalAnswer& v);
void to_json(nlohmann::json& j, const ApprovalNotice& v);
void from_json(const nlohmann::json& j, ApprovalNotice& v);
void to_json(nlohmann::json& j, const ApprovalStatus& v);
void from_json(const nlohmann::json& j, ApprovalStatus& v);

}  // namespace cairn::ai
