// Client calls for queries, updates and async activity completion.
#include <algorithm>
#include <thread>

#include "cairn/client.h"
#include "failure.h"
#include "rpc.h"

namespace cairn {
namespace {

// Updates retried by the caller's own loop: a call that hit its deadline is sent again with the
// same update id, which the server deduplicates.
constexpr std::chrono::milliseconds kUpdatePoll{50'000};

}  // namespace

v1::Payloads WorkflowHandle::query_payloads(const std::string& name, const v1::Payloads& args,
                                            std::chrono::milliseconds timeout) {
  v1::QueryWorkflowRequest req;
  req.set_namespace_(core_->options.ns);
  req.mutable_execution()->set_workflow_id(workflow_id_);
  req.mutable_execution()->set_run_id(run_id_);
  req.set_query_type(name);
  *req.mutable_query_args() = encode_payloads(core_->options.codecs, args);
  v1::QueryWorkflowResponse resp;
  auto ctx = detail::make_context(timeout);
  detail::check(core_->stub->QueryWorkflow(ctx.get(), req, &resp),
                "query " + name + " on workflow " + workflow_id_);
  return decode_payloads(core_->options.codecs, resp.query_result());
}

v1::Payloads WorkflowHandle::update_payloads(const std::string& update_id, const std::string& name,
                                             const v1::Payloads& args,
                                             std::chrono::milliseconds timeout) {
  v1::UpdateWorkflowExecutionRequest req;
  req.set_namespace_(core_->options.ns);
  req.mutable_workflow_execution()->set_workflow_id(workflow_id_);
  req.mutable_workflow_execution()->set_run_id(run_id_);
  req.set_update_id(update_id.empty() ? detail::random_uuid() : update_id);
  req.set_name(name);
  *req.mutable_input() = encode_payloads(core_->options.codecs, args);
  req.set_identity(core_->options.identity);
  req.set_wait_stage(v1::UPDATE_WAIT_STAGE_COMPLETED);
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = now + timeout;
  // The same update id on every try: the server answers a repeat with the first one's outcome.
  const auto unavailable_until = now + core_->options.unavailable_retry_deadline;
  std::chrono::milliseconds backoff = detail::kUnavailableFirstBackoff;
  v1::UpdateWorkflowExecutionResponse resp;
  for (;;) {
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto ctx = detail::make_context(std::clamp(remaining, std::chrono::milliseconds(1), kUpdatePoll),
                                    /*wait_for_ready=*/true);
    grpc::Status st = core_->stub->UpdateWorkflowExecution(ctx.get(), req, &resp);
    if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
        std::chrono::steady_clock::now() < deadline) {
      continue;  // the same update id: the server answers with its outcome
    }
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE &&
        std::chrono::steady_clock::now() < std::min(deadline, unavailable_until)) {
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, detail::kUnavailableMaxBackoff);
      continue;
    }
    detail::check(st, "update " + name + " (" + req.update_id() + ") on workflow " + workflow_id_);
    break;
  }
  decode_payloads_in(core_->options.codecs, &resp);
  if (resp.rejected()) {
    throw ApplicationError("update " + name + " rejected: " + resp.failure().message(),
                           "UpdateRejected", /*non_retryable=*/true);
  }
  if (resp.has_failure()) {
    const v1::Failure& f = resp.failure();
    std::string type = f.has_application_failure_info() ? f.application_failure_info().type() : "";
    throw ApplicationError("update " + name + " failed: " + f.message(), type);
  }
  return resp.result();
}

void Client::complete_activity_payloads(const std::string& task_token, const v1::Payloads& result) {
  v1::RespondActivityTaskCompletedRequest req;
  req.set_task_token(task_token);
  *req.mutable_result() = result;
  req.set_identity(core_->options.identity);
  encode_payloads_in(core_->options.codecs, &req);  // codec boundary (cairn/codec.h)
  v1::RespondActivityTaskCompletedResponse resp;
  detail::check(detail::call_with_retry([&](grpc::ClientContext* ctx) {
                  return core_->stub->RespondActivityTaskCompleted(ctx, req, &resp);
                }),
                "complete activity by task token");
}

void Client::complete_activity_by_id_payloads(const std::string& workflow_id,
                                              const std::string& run_id,
                                              const std::string& activity_id,
                                              const v1::Payloads& result) {
  v1::RespondActivityTaskCompletedByIdRequest req;
  req.set_namespace_(core_->options.ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  req.set_activity_id(activity_id);
  *req.mutable_result() = result;
  req.set_identity(core_->options.identity);
  encode_payloads_in(core_->options.codecs, &req);  // codec boundary (cairn/codec.h)
  v1::RespondActivityTaskCompletedByIdResponse resp;
  detail::check(detail::call_with_retry([&](grpc::ClientContext* ctx) {
                  return core_->stub->RespondActivityTaskCompletedById(ctx, req, &resp);
                }),
                "complete activity " + activity_id + " of workflow " + workflow_id);
}

void Client::fail_activity(const std::string& task_token, const ApplicationError& error) {
  v1::RespondActivityTaskFailedRequest req;
  req.set_task_token(task_token);
  *req.mutable_failure() = detail::to_failure(std::make_exception_ptr(error));
  req.set_identity(core_->options.identity);
  encode_payloads_in(core_->options.codecs, &req);  // codec boundary (cairn/codec.h)
  v1::RespondActivityTaskFailedResponse resp;
  detail::check(detail::call_with_retry([&](grpc::ClientContext* ctx) {
                  return core_->stub->RespondActivityTaskFailed(ctx, req, &resp);
                }),
                "fail activity by task token");
}

void Client::fail_activity(const std::string& workflow_id, const std::string& run_id,
                           const std::string& activity_id, const ApplicationError& error) {
  v1::RespondActivityTaskFailedByIdRequest req;
  req.set_namespace_(core_->options.ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  req.set_activity_id(activity_id);
  *req.mutable_failure() = detail::to_failure(std::make_exception_ptr(error));
  req.set_identity(core_->options.identity);
  encode_payloads_in(core_->options.codecs, &req);  // codec boundary (cairn/codec.h)
  v1::RespondActivityTaskFailedByIdResponse resp;
  detail::check(detail::call_with_retry([&](grpc::ClientContext* ctx) {
                  return core_->stub->RespondActivityTaskFailedById(ctx, req, &resp);
                }),
                "fail activity " + activity_id + " of workflow " + workflow_id);
}

bool Client::heartbeat_activity(const std::string& workflow_id, const std::string& run_id,
                                const std::string& activity_id, const v1::Payloads& details) {
  v1::RecordActivityTaskHeartbeatByIdRequest req;
  req.set_namespace_(core_->options.ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  req.set_activity_id(activity_id);
  *req.mutable_details() = details;
  req.set_identity(core_->options.identity);
  encode_payloads_in(core_->options.codecs, &req);  // codec boundary (cairn/codec.h)
  v1::RecordActivityTaskHeartbeatByIdResponse resp;
  auto ctx = detail::make_context(detail::kRpcTimeout);
  detail::check(core_->stub->RecordActivityTaskHeartbeatById(ctx.get(), req, &resp),
                "heartbeat activity " + activity_id + " of workflow " + workflow_id);
  return resp.cancel_requested();
}

}  // namespace cairn
