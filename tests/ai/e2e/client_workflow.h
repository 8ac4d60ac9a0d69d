// The test workflow "client.chat" of the client's e2e suites: one "cairn.ai.chat" activity with
// the timeouts and retry policy its input names. tests/ai/workers/client.cc registers the same
// workflow in the ai-worker-client process (it cannot include test headers).
#pragma once

#include <chrono>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "cairn/ai/runtime.h"
#include "cairn/ai/types.h"
#include "cairn/workflow.h"

namespace cairn::ai::client_testing {

struct ChatCall {
  ChatAttempt attempt;
  int max_attempts = 3;
  int64_t initial_interval_ms = 50;  // backoff coefficient 1: every retry after this long
  int64_t heartbeat_ms = 0;
  int64_t start_to_close_ms = 30000;
  int64_t schedule_to_close_ms = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ChatCall, attempt, max_attempts,
                                                initial_interval_ms, heartbeat_ms,
                                                start_to_close_ms, schedule_to_close_ms)

inline ChatResult chat_workflow(WorkflowContext& ctx, ChatCall call) {
  ActivityOptions o;
  o.start_to_close = std::chrono::milliseconds(call.start_to_close_ms);
  o.schedule_to_close = std::chrono::milliseconds(call.schedule_to_close_ms);
  o.heartbeat = std::chrono::milliseconds(call.heartbeat_ms);
  o.retry.maximum_attempts = call.max_attempts;
  o.retry.initial_interval = std::chrono::milliseconds(call.initial_interval_ms);
  o.retry.backoff_coefficient = 1.0;
  return ctx.activity<ChatResult>(kChatActivity, call.attempt, o).get();
}

}  // namespace cairn::ai::client_testing
