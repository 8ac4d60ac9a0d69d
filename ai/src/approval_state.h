// The pure rules of an approval: which answers are taken and which are refused (with what
// message), option checks, and the small encodings the approval code shares (RFC 3339 times,
// base64 task tokens). No workflow context, no I/O: unit-tested directly. Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cairn/ai/approval.h"

namespace cairn::ai::approval_internal {

// Why an answer is not taken: an ApprovalError type and a message for people.
struct Refusal {
  std::string type;
  std::string message;
};

// The refusal of `answer` against the approval as `status` describes it (its decision, state
// and the approvers allowed now), or nullopt when the answer is taken.
std::optional<Refusal> check_answer(const ApprovalStatus& status, const ApprovalAnswer& answer);

// Throws OptionsError naming the field ("what", "approvers", "approvers[1]", "timeout",
// "escalation.timeout", "escalation.approvers[0]", "webhook_url", "id") when `request` breaks a
// rule listed at ApprovalRequest.
void check_request(const ApprovalRequest& request);

// The refusal as the validator throws it: "TYPE: message", so that the type survives the
// update's rejection (which carries only a message).
ApprovalError to_error(const Refusal& refusal);

// "2026-12-07T02:30:00.123Z" for milliseconds since the epoch.
std::string rfc3339(int64_t ms);
// "30s", "1m30s", "2h", "250ms": a wait for messages.
std::string duration_words(int64_t ms);
// Standard base64 with padding; decode returns nullopt for malformed input.
std::string base64_encode(const std::string& bytes);
std::optional<std::string> base64_decode(const std::string& text);

// `approvers` with every name of `more` not already in it, in order.
std::vector<std::string> merged(std::vector<std::string> approvers,
                                const std::vector<std::string>& more);

}  // namespace cairn::ai::approval_internal

namespace cairn::ai::approval_internal {

// The on_decided hook of register_approval_activities, by task queue (approval_activity.cc).
// run_decided_hook calls the hook of `task_queue`, if any; exceptions it throws are swallowed
// (metrics must not fail a workflow task).
void set_decided_hook(const std::string& task_queue,
                      std::function<void(double, const ApprovalDecision&)> hook);
void run_decided_hook(const std::string& task_queue, double wait_seconds,
                      const ApprovalDecision& decision);

}  // namespace cairn::ai::approval_internal
