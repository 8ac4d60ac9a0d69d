// Client and WorkflowHandle: one gRPC call per operation; result() long-polls for the close
// event and rides out server restarts.
#include "cairn/client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <thread>

#include "options_check.h"
#include "rpc.h"

namespace cairn {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A result wait is one long-poll of at most this long, repeated until the caller's timeout.
constexpr milliseconds kResultPoll{60'000};
constexpr milliseconds kMaxBackoff{5'000};

v1::WorkflowExecution execution(const std::string& workflow_id, const std::string& run_id) {
  v1::WorkflowExecution e;
  e.set_workflow_id(workflow_id);
  e.set_run_id(run_id);
  return e;
}

v1::StartWorkflowExecutionRequest start_request(const detail::ClientCore& core,
                                                const std::string& type,
                                                const StartWorkflowOptions& o,
                                                const v1::Payloads& input) {
  v1::StartWorkflowExecutionRequest req;
  req.set_namespace_(core.options.ns);
  req.set_workflow_id(o.id.empty() ? detail::random_uuid() : o.id);
  req.mutable_workflow_type()->set_name(type);
  req.set_task_queue(o.task_queue);
  *req.mutable_input() = input;
  req.set_workflow_execution_timeout_ms(o.execution_timeout.count());
  req.set_workflow_run_timeout_ms(o.run_timeout.count());
  req.set_workflow_task_timeout_ms(o.task_timeout.count());
  req.set_identity(core.options.identity);
  // A fresh request id per call unless the caller gives one: a caller's own retry of the same
  // logical start should pass the same id to be deduplicated.
  req.set_request_id(o.request_id.empty() ? detail::random_uuid() : o.request_id);
  req.set_workflow_id_reuse_policy(o.id_reuse_policy);
  req.set_workflow_id_conflict_policy(o.id_conflict_policy);
  req.mutable_memo()->insert(o.memo.begin(), o.memo.end());
  req.mutable_search_attributes()->insert(o.search_attributes.begin(), o.search_attributes.end());
  if (o.retry) {
    *req.mutable_retry_policy() = to_proto(*o.retry);
  }
  encode_payloads_in(core.options.codecs, &req);
  return req;
}

// A call that the server deduplicates, retried while it is unavailable (ClientOptions).
template <class Call>
grpc::Status call_deduplicated(const detail::ClientCore& core, Call&& call) {
  return detail::call_until_available(std::forward<Call>(call), detail::kRpcTimeout,
                                      core.options.unavailable_retry_deadline,
                                      core.options.address);
}

bool is_close_event(v1::EventType t) {
  switch (t) {
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return true;
    default:
      return false;
  }
}

}  // namespace

Client::Client(ClientOptions options) : core_(std::make_shared<detail::ClientCore>()) {
  if (options.identity.empty()) {
    options.identity = detail::default_identity();
  }
  core_->options = std::move(options);
  grpc::ChannelArguments args;
  // Reconnect quickly after a server restart (gRPC's default backoff grows to two minutes).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(256 * 1024 * 1024);  // whole histories arrive in one message
  core_->channel = grpc::CreateCustomChannel(core_->options.address,
                                             grpc::InsecureChannelCredentials(), args);
  core_->stub = v1::WorkflowService::NewStub(core_->channel);
}

WorkflowHandle Client::start_payloads(const std::string& type, const StartWorkflowOptions& o,
                                      const v1::Payloads& input) {
  detail::check_start_options(type, o);
  // Built once: every retry carries the same workflow id and request id.
  v1::StartWorkflowExecutionRequest req = start_request(*core_, type, o, input);
  v1::StartWorkflowExecutionResponse resp;
  detail::check(call_deduplicated(*core_,
                                  [&](grpc::ClientContext* ctx) {
                                    return core_->stub->StartWorkflowExecution(ctx, req, &resp);
                                  }),
                "start workflow " + req.workflow_id());
  return WorkflowHandle(core_, req.workflow_id(), resp.run_id());
}

WorkflowHandle Client::signal_with_start_payloads(const std::string& type,
                                                  const StartWorkflowOptions& o,
                                                  const v1::Payloads& input,
                                                  const std::string& signal_name,
                                                  const v1::Payloads& signal_input) {
  detail::check_start_options(type, o);
  if (signal_name.empty()) {
    throw OptionsError("signal-with-start of workflow \"" + type +
                           "\": signal_name is required",
                       "signal_name");
  }
  v1::SignalWithStartWorkflowExecutionRequest req;
  *req.mutable_start() = start_request(*core_, type, o, input);
  req.set_signal_name(signal_name);
  *req.mutable_signal_input() = encode_payloads(core_->options.codecs, signal_input);
  v1::SignalWithStartWorkflowExecutionResponse resp;
  detail::check(call_deduplicated(*core_,
                                  [&](grpc::ClientContext* ctx) {
                                    return core_->stub->SignalWithStartWorkflowExecution(ctx, req,
                                                                                         &resp);
                                  }),
                "signal-with-start workflow " + req.start().workflow_id());
  return WorkflowHandle(core_, req.start().workflow_id(), resp.run_id());
}

WorkflowHandle Client::handle(const std::string& workflow_id, const std::string& run_id) {
  return WorkflowHandle(core_, workflow_id, run_id);
}

bool Client::wait_until_ready(std::chrono::milliseconds timeout) {
  auto ctx = detail::make_context(timeout, /*wait_for_ready=*/true);
  v1::GetSystemInfoResponse resp;
  return core_->stub->GetSystemInfo(ctx.get(), v1::GetSystemInfoRequest(), &resp).ok();
}

WorkflowHandle::WorkflowHandle(std::shared_ptr<detail::ClientCore> core, std::string workflow_id,
                               std::string run_id)
    : core_(std::move(core)), workflow_id_(std::move(workflow_id)), run_id_(std::move(run_id)) {}

v1::Payloads WorkflowHandle::result_payloads(std::chrono::milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  std::string run_id = run_id_;
  bool followed = false;  // run_id is the next run of a continue-as-new
  milliseconds backoff{100};
  for (;;) {
    auto remaining = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (remaining.count() <= 0) {
      throw TimeoutError("workflow " + workflow_id_ + ": no result within " +
                         std::to_string(timeout.count()) + " ms");
    }
    v1::GetWorkflowExecutionHistoryRequest req;
    req.set_namespace_(core_->options.ns);
    *req.mutable_execution() = execution(workflow_id_, run_id);
    req.set_wait_new_event(true);
    req.set_history_event_filter_type(v1::HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT);
    v1::GetWorkflowExecutionHistoryResponse resp;
    // wait_for_ready: while the server restarts, the call waits for it instead of failing.
    auto ctx = detail::make_context(std::min(remaining, kResultPoll), /*wait_for_ready=*/true);
    grpc::Status st = core_->stub->GetWorkflowExecutionHistory(ctx.get(), req, &resp);
    if (!st.ok()) {
      if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        continue;
      }
      // The next run of a continue-as-new is started by the server just after the previous
      // one closes (a transfer task): until then it is not found.
      if (st.error_code() == grpc::StatusCode::UNAVAILABLE ||
          st.error_code() == grpc::StatusCode::CANCELLED ||
          (followed && st.error_code() == grpc::StatusCode::NOT_FOUND)) {
        std::this_thread::sleep_for(std::min(followed ? milliseconds(10) : backoff, remaining));
        backoff = std::min(backoff * 2, kMaxBackoff);
        continue;
      }
      detail::check(st, "wait for workflow " + workflow_id_);
    }
    backoff = milliseconds(100);
    if (run_id.empty()) {
      run_id = resp.run_id();
    }
    const v1::HistoryEvent* close = nullptr;
    for (const auto& e : resp.history().events()) {
      if (is_close_event(e.event_type())) {
        close = &e;
      }
    }
    if (close == nullptr) {
      continue;  // answered at the poll's deadline: poll again
    }
    v1::HistoryEvent decoded = *close;
    decode_payloads_in(core_->options.codecs, &decoded);
    close = &decoded;
    std::string who = "workflow " + workflow_id_ + " (run " + run_id + ")";
    switch (close->event_type()) {
      case v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        return close->workflow_execution_completed_event_attributes().result();
      case v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: {
        const auto& f = close->workflow_execution_failed_event_attributes().failure();
        throw WorkflowFailedError(who + " failed: " + f.message(),
                                  v1::WORKFLOW_EXECUTION_STATUS_FAILED, f);
      }
      case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: {
        v1::Failure f;
        f.set_message("workflow canceled");
        *f.mutable_canceled_failure_info()->mutable_details() =
            close->workflow_execution_canceled_event_attributes().details();
        throw WorkflowFailedError(who + " was canceled", v1::WORKFLOW_EXECUTION_STATUS_CANCELED,
                                  f);
      }
      case v1::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: {
        v1::Failure f;
        f.set_message(close->workflow_execution_terminated_event_attributes().reason());
        f.mutable_terminated_failure_info();
        throw WorkflowFailedError(who + " was terminated: " + f.message(),
                                  v1::WORKFLOW_EXECUTION_STATUS_TERMINATED, f);
      }
      case v1::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: {
        v1::Failure f;
        f.set_message("workflow timed out");
        f.mutable_timeout_failure_info();
        throw WorkflowFailedError(who + " timed out", v1::WORKFLOW_EXECUTION_STATUS_TIMED_OUT, f);
      }
      default:  // continued as new: wait for the new run
        run_id = close->workflow_execution_continued_as_new_event_attributes()
                     .new_execution_run_id();
        followed = true;
        break;
    }
  }
}

void WorkflowHandle::signal_payloads(const std::string& name, const v1::Payloads& input) {
  v1::SignalWorkflowExecutionRequest req;
  req.set_namespace_(core_->options.ns);
  *req.mutable_workflow_execution() = execution(workflow_id_, run_id_);
  req.set_signal_name(name);
  *req.mutable_input() = encode_payloads(core_->options.codecs, input);
  req.set_identity(core_->options.identity);
  req.set_request_id(detail::random_uuid());
  v1::SignalWorkflowExecutionResponse resp;
  detail::check(call_deduplicated(*core_,
                                  [&](grpc::ClientContext* ctx) {
                                    return core_->stub->SignalWorkflowExecution(ctx, req, &resp);
                                  }),
                "signal " + name + " to workflow " + workflow_id_);
}

void WorkflowHandle::cancel(const std::string& reason) {
  v1::RequestCancelWorkflowExecutionRequest req;
  req.set_namespace_(core_->options.ns);
  *req.mutable_workflow_execution() = execution(workflow_id_, run_id_);
  req.set_identity(core_->options.identity);
  req.set_request_id(detail::random_uuid());
  req.set_reason(reason);
  v1::RequestCancelWorkflowExecutionResponse resp;
  detail::check(call_deduplicated(*core_,
                                  [&](grpc::ClientContext* ctx) {
                                    return core_->stub->RequestCancelWorkflowExecution(ctx, req,
                                                                                       &resp);
                                  }),
                "cancel workflow " + workflow_id_);
}

void WorkflowHandle::terminate(const std::string& reason) {
  v1::TerminateWorkflowExecutionRequest req;
  req.set_namespace_(core_->options.ns);
  *req.mutable_workflow_execution() = execution(workflow_id_, run_id_);
  req.set_reason(reason);
  req.set_identity(core_->options.identity);
  v1::TerminateWorkflowExecutionResponse resp;
  // No request id: a retry after a terminate that took effect is refused as a closed run.
  detail::check(call_deduplicated(*core_,
                                  [&](grpc::ClientContext* ctx) {
                                    return core_->stub->TerminateWorkflowExecution(ctx, req,
                                                                                   &resp);
                                  }),
                "terminate workflow " + workflow_id_);
}

v1::DescribeWorkflowExecutionResponse WorkflowHandle::describe() {
  v1::DescribeWorkflowExecutionRequest req;
  req.set_namespace_(core_->options.ns);
  *req.mutable_execution() = execution(workflow_id_, run_id_);
  v1::DescribeWorkflowExecutionResponse resp;
  auto ctx = detail::make_context(detail::kRpcTimeout);
  detail::check(core_->stub->DescribeWorkflowExecution(ctx.get(), req, &resp),
                "describe workflow " + workflow_id_);
  decode_payloads_in(core_->options.codecs, &resp);
  return resp;
}

std::vector<v1::HistoryEvent> WorkflowHandle::history() { return history(nullptr); }

std::vector<v1::HistoryEvent> WorkflowHandle::history(
    const std::function<void(size_t)>& on_page) {
  std::vector<v1::HistoryEvent> events;
  std::string token;
  std::string run_id = run_id_;
  for (;;) {
    v1::GetWorkflowExecutionHistoryRequest req;
    req.set_namespace_(core_->options.ns);
    *req.mutable_execution() = execution(workflow_id_, run_id);
    req.set_next_page_token(token);
    v1::GetWorkflowExecutionHistoryResponse resp;
    auto ctx = detail::make_context(detail::kRpcTimeout);
    detail::check(core_->stub->GetWorkflowExecutionHistory(ctx.get(), req, &resp),
                  "history of workflow " + workflow_id_);
    // Later pages must read the same run even if a new one starts meanwhile.
    if (run_id.empty()) {
      run_id = resp.run_id();
    }
    for (auto& e : *resp.mutable_history()->mutable_events()) {
      events.push_back(std::move(e));
    }
    if (on_page) {
      on_page(events.size());
    }
    if (resp.next_page_token().empty() || resp.history().events_size() == 0) {
      return events;
    }
    token = resp.next_page_token();
  }
}

}  // namespace cairn
