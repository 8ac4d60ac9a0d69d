// Activity tasks: run the registered function for one attempt and report how it ended.
#include <spdlog/spdlog.h>

#include "cairn/activity.h"
#include "codec_boundary.h"
#include "failure.h"
#include "rpc.h"
#include "worker_impl.h"

namespace cairn::detail {
namespace {

std::chrono::system_clock::time_point from_ms(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

// Heartbeats of one attempt over gRPC.
class GrpcHeartbeater final : public Heartbeater {
 public:
  GrpcHeartbeater(ClientCore& core, const std::string& token, const std::string& identity)
      : core_(core), token_(token), identity_(identity) {}

  bool heartbeat(const v1::Payloads& details) override {
    v1::RecordActivityTaskHeartbeatRequest req;
    req.set_task_token(token_);
    *req.mutable_details() = encode_payloads(core_.options.codecs, details);
    req.set_identity(identity_);
    v1::RecordActivityTaskHeartbeatResponse resp;
    auto ctx = make_context(kRpcTimeout);
    grpc::Status st = core_.stub->RecordActivityTaskHeartbeat(ctx.get(), req, &resp);
    if (st.ok()) {
      return resp.cancel_requested();
    }
    // NOT_FOUND: the attempt is over (timed out, or its run closed); nobody wants its result.
    return st.error_code() == grpc::StatusCode::NOT_FOUND;
  }

 private:
  ClientCore& core_;
  const std::string& token_;
  const std::string& identity_;
};

ActivityInfo activity_info(const v1::PollActivityTaskQueueResponse& t, const std::string& ns,
                           const std::string& task_queue) {
  ActivityInfo info;
  info.namespace_ = t.workflow_namespace().empty() ? ns : t.workflow_namespace();
  info.workflow_id = t.workflow_execution().workflow_id();
  info.run_id = t.workflow_execution().run_id();
  info.workflow_type = t.workflow_type().name();
  info.activity_id = t.activity_id();
  info.activity_type = t.activity_type().name();
  info.task_queue = task_queue;
  info.task_token = t.task_token();
  info.attempt = t.attempt() > 0 ? t.attempt() : 1;
  info.schedule_to_close = std::chrono::milliseconds(t.schedule_to_close_timeout_ms());
  info.start_to_close = std::chrono::milliseconds(t.start_to_close_timeout_ms());
  info.heartbeat_timeout = std::chrono::milliseconds(t.heartbeat_timeout_ms());
  info.scheduled_time = from_ms(t.scheduled_time_ms());
  info.started_time = from_ms(t.started_time_ms());
  return info;
}

}  // namespace

void WorkerImpl::run_activity(const v1::PollActivityTaskQueueResponse& raw_task) {
  // Payloads arrive as the client's codecs encoded them; the function sees them decoded. One
  // this worker cannot decode (say, a wrong key) fails the attempt retryably: a correctly
  // configured worker may take the next one.
  const CodecChain& codecs = core_->options.codecs;
  v1::PollActivityTaskQueueResponse scratch;
  const v1::PollActivityTaskQueueResponse* decoded_task = &raw_task;
  std::exception_ptr decode_error;
  try {
    decoded_task = &decoded(codecs, raw_task, &scratch);
  } catch (const std::exception& e) {
    decode_error = std::make_exception_ptr(ApplicationError(
        std::string("cannot decode the activity's payloads: ") + e.what(), "PayloadDecodeError"));
  }
  const v1::PollActivityTaskQueueResponse& task = *decoded_task;
  const std::string& type = task.activity_type().name();
  GrpcHeartbeater heartbeater(*core_, task.task_token(), options_.identity);
  ActivityContext ctx(activity_info(task, core_->options.ns, options_.task_queue),
                      task.heartbeat_details(), &heartbeater);
  enum class Outcome { kCompleted, kFailed, kCanceled } outcome = Outcome::kCompleted;
  v1::Payloads result;
  v1::Failure failure;
  v1::Payloads cancel_details;
  try {
    if (decode_error) {
      std::rethrow_exception(decode_error);
    }
    auto it = activities_.find(type);
    if (it == activities_.end()) {
      throw ApplicationError("activity type " + type + " is not registered on worker " +
                                 options_.identity + " (task queue " + options_.task_queue + ")",
                             "ActivityNotRegistered");
    }
    result = encode_payloads(codecs, it->second(ctx, task.input()));
  } catch (const CompleteAsync&) {
    spdlog::debug("cairn worker: activity {} ({}) left pending for async completion", type,
                  task.activity_id());
    return;  // completed later by a client, with the task token or the activity id
  } catch (const CanceledError& e) {
    if (ctx.cancel_requested()) {
      outcome = Outcome::kCanceled;
      cancel_details = e.details();
    } else {
      outcome = Outcome::kFailed;
      failure = to_failure(std::current_exception());
    }
  } catch (...) {
    outcome = Outcome::kFailed;
    failure = to_failure(std::current_exception());
  }
  try {
    encode_outgoing(codecs, &failure);
    cancel_details = encode_payloads(codecs, cancel_details);
  } catch (...) {
    // Details that cannot be encoded are not sent in the clear: report the encoding failure.
    outcome = Outcome::kFailed;
    failure = to_failure(std::current_exception());
  }

  // Retried while the server restarts: a result produced meanwhile is still delivered.
  grpc::Status st;
  switch (outcome) {
    case Outcome::kCompleted: {
      v1::RespondActivityTaskCompletedRequest req;
      req.set_task_token(task.task_token());
      *req.mutable_result() = std::move(result);
      req.set_identity(options_.identity);
      v1::RespondActivityTaskCompletedResponse resp;
      st = call_with_retry([&](grpc::ClientContext* rpc) {
        return core_->stub->RespondActivityTaskCompleted(rpc, req, &resp);
      });
      break;
    }
    case Outcome::kFailed: {
      spdlog::debug("cairn worker: activity {} ({}) attempt {} failed: {}", type,
                    task.activity_id(), task.attempt(), failure.message());
      v1::RespondActivityTaskFailedRequest req;
      req.set_task_token(task.task_token());
      *req.mutable_failure() = failure;
      req.set_identity(options_.identity);
      v1::RespondActivityTaskFailedResponse resp;
      st = call_with_retry([&](grpc::ClientContext* rpc) {
        return core_->stub->RespondActivityTaskFailed(rpc, req, &resp);
      });
      break;
    }
    case Outcome::kCanceled: {
      v1::RespondActivityTaskCanceledRequest req;
      req.set_task_token(task.task_token());
      *req.mutable_details() = cancel_details;
      req.set_identity(options_.identity);
      v1::RespondActivityTaskCanceledResponse resp;
      st = call_with_retry([&](grpc::ClientContext* rpc) {
        return core_->stub->RespondActivityTaskCanceled(rpc, req, &resp);
      });
      break;
    }
  }
  if (!st.ok()) {
    // NOT_FOUND is normal after a timeout: the server moved on without this attempt.
    auto level = st.error_code() == grpc::StatusCode::NOT_FOUND ? spdlog::level::info
                                                                : spdlog::level::warn;
    spdlog::log(level, "cairn worker: reporting activity {} ({}) of {} failed: {}: {}", type,
                task.activity_id(), task.workflow_execution().workflow_id(),
                status_code_name(st.error_code()), st.error_message());
  }
}

}  // namespace cairn::detail
