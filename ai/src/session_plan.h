// The pure parts of a Session call, kept apart from workflow code so unit tests reach them: the
// routing decision the "cairn.ai.route" activity records, the fallback rules applied to a failed
// tier, and the deterministic reservation keys. Stateless functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "cairn/ai/claim_check.h"
#include "cairn/ai/router.h"
#include "cairn/ai/session.h"
#include "cairn/v1/common.pb.h"

namespace cairn::ai::session_internal {

// The routing decision for `input` under `router`'s config: the plan, each tier's reservation
// bound and model, and — when `blobs` is set — the message contents above `blob_threshold`
// stored in it (their references in `offloaded`). Contents already held by reference are read
// from `blobs` to count the prompt. Throws what Router::plan and the blob store throw.
RouteDecision decide_route(const Router& router, BlobStore* blobs, size_t blob_threshold,
                           const RouteInput& input);

// The most a call on `tier` can cost: every prompt token of min(context window, 2 × estimate +
// 64), the completion bound, the whole `max_duration_ms`. std::nullopt: unpriced.
std::optional<Micros> tier_max_cost(const RouterConfig& config, const TierConfig& tier,
                                    int64_t prompt_tokens, int64_t completion_tokens,
                                    int64_t max_duration_ms);

// What to do after a tier failed.
struct FailureVerdict {
  bool fall_back = false;
  std::string reason;           // recorded in the FallbackNote and the fallback metric
  bool larger_context = false;  // the next tier must have a larger context window
};

// The rule for a failed "cairn.ai.chat" activity with cause type `cause_type` ("" for a
// timeout) and `retry_state`. `canceled`: the activity or the run was canceled (never falls
// back).
FailureVerdict classify_failure(const std::string& cause_type, v1::RetryState retry_state,
                                bool canceled);

// The index of the tier to try after tier `failed` of `decision`, or std::nullopt when none is
// left. With `larger_context`, tiers whose known context window is not larger than the failed
// tier's are skipped.
std::optional<size_t> next_tier(const RouteDecision& decision, size_t failed, bool larger_context);

// "<run id>/<session name>/<call>/<tier index>".
std::string reservation_key(const std::string& run_id, const std::string& session_name,
                            int64_t call, size_t tier_index);

}  // namespace cairn::ai::session_internal
