// Registration of the session area's activities, and register_all: every area's activities and
// workflows in one call.
#include "cairn/ai/approval.h"
#include "cairn/ai/budget.h"
#include "cairn/ai/claim_check.h"
#include "cairn/ai/ingest.h"
#include "cairn/ai/metrics.h"
#include "cairn/ai/runtime.h"
#include "cairn/ai/session.h"
#include "cairn/ai/vector_activities.h"
#include "cairn/worker.h"
#include "session_plan.h"

namespace cairn::ai {

void register_session_activities(Worker& worker, AiRuntime& runtime) {
  AiRuntime* rt = &runtime;
  worker.register_activity(kRouteActivity, [rt](const RouteInput& input) {
    std::shared_ptr<BlobStore> blobs = rt->blob_store();
    return session_internal::decide_route(rt->router(), blobs.get(),
                                          rt->config().blob_threshold_bytes, input);
  });
  worker.register_activity(kFallbackActivity, [rt](const FallbackNote& note) {
    if (const std::shared_ptr<AiMetrics>& metrics = rt->metrics()) {
      metrics->record_fallback(note.from, note.to, note.reason);
    }
    return note;
  });
  worker.register_activity(kBudgetRejectionActivity, [rt](const BudgetRejection& note) {
    if (const std::shared_ptr<AiMetrics>& metrics = rt->metrics()) {
      metrics->record_budget_rejection(note.scope);
    }
    return note;
  });
  if (std::shared_ptr<BlobStore> blobs = runtime.blob_store()) {
    register_blob_activities(worker, std::move(blobs));
  }
}

void register_all(Worker& worker, Client& client, AiRuntime& runtime) {
  runtime.register_activities(worker);
  register_session_activities(worker, runtime);
  register_budget_activities(worker, client);
  ApprovalActivityOptions approval;
  if (std::shared_ptr<AiMetrics> metrics = runtime.metrics()) {
    approval.on_decided = [metrics](double wait_seconds, const ApprovalDecision&) {
      metrics->record_approval_wait(wait_seconds);
    };
  }
  register_approval_activities(worker, std::move(approval));
  register_ingest_workflow(worker);
}

void register_all(Worker& worker, Client& client, AiRuntime& runtime, VectorRegistry& vectors) {
  register_all(worker, client, runtime);
  AiRuntime* rt = &runtime;
  register_vector_activities(
      worker, vectors,
      [rt](ActivityContext& ctx, const EmbedAttempt& attempt) { return rt->embed(ctx, attempt); });
}

}  // namespace cairn::ai
