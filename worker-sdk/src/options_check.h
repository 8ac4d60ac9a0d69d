// The SDK's checks of the options workflow code and clients give it: the rules the server
// applies to the commands and requests they become (history/retry_policy.cc,
// history/command_rules.cc, history/child_rules.cc, the start request's checks, and the
// server's default limits), written again here so that a bad option is refused where it is
// written instead of as a rejected workflow task. Pure functions of their arguments, so workflow
// code gets the same answer on every replay. Each throws cairn::OptionsError naming the field.
#pragma once

#include <chrono>
#include <string>

#include "cairn/options.h"
#include "cairn/workflow.h"

namespace cairn::detail {

// The server's default limits (history/transitions.h, Limits), which the SDK assumes.
inline constexpr size_t kMaxIdBytes = 1000;  // ids, names, task queues
inline constexpr int64_t kMaxWorkflowTaskTimeoutMs = 120'000;
inline constexpr size_t kMaxNamespaceBytes = 255;
inline constexpr size_t kMaxSearchAttributeNameBytes = 64;
inline constexpr int64_t kDefaultInitialIntervalMs = 1'000;

// `subject` is what the options configure, as messages name it: `activity "charge"`,
// `child workflow "order.flow"`, `timer`. `prefix` is the field path of the policy ("retry").
void check_retry_policy(const RetryPolicy& policy, const std::string& subject,
                        const std::string& prefix);

void check_activity_options(const std::string& type, const ActivityOptions& options);
void check_local_activity_options(const std::string& type, const LocalActivityOptions& options);
void check_child_options(const std::string& type, const ChildWorkflowOptions& options);
void check_start_options(const std::string& type, const StartWorkflowOptions& options);
void check_continue_as_new_request(const ContinueAsNewRequest& request);

// A durable wait of `duration`: zero is allowed (nothing to wait for), negative is not.
void check_duration(std::chrono::milliseconds duration, const std::string& subject,
                    const std::string& field);

// The target of a signal or cancel request to another run: workflow_id required, run_id
// optional; `signal_name` required for a signal (pass nullptr for a cancel).
void check_external_target(const std::string& subject, const std::string& workflow_id,
                           const std::string& run_id, const std::string* signal_name);

// Names of search attributes to set: letters, digits and '_', starting with a letter, at most
// 64 bytes, and not one of the system attributes (WorkflowId, RunId, ...).
void check_search_attribute_names(const PayloadMap& attributes, const std::string& subject,
                                  const std::string& field);

}  // namespace cairn::detail
