#include "server/service.h"

#include <spdlog/spdlog.h>

#include "server/handlers/handlers.h"

namespace cairn {

grpc::Status to_grpc(const Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

namespace {

constexpr int64_t kPollMarginMs = 500;

// One task-queue long-poll. Deleted by gRPC in OnDone, after its single Finish().
// Ownership of the answer: while waiting, the current Waiter is registered with the matcher and
// the deadline queue; whoever claims it (a matched task, the deadline, cancellation, shutdown)
// finishes the call. A matched task that turns out stale sends the call back to waiting.
template <class Req, class Resp>
class PollCall final : public grpc::ServerUnaryReactor {
 public:
  using StartFn = Status (*)(Engine&, const v1::TaskRecord&, const Req&, Resp*);

  PollCall(WorkflowServiceImpl* svc, grpc::CallbackServerContext* ctx, const Req* req, Resp* resp,
           v1::TaskKind kind, StartFn start)
      : svc_(svc), req_(req), resp_(resp), start_(start) {
    queue_ = QueueKey{handlers::ns_or_default(req->namespace_()), req->task_queue(), kind};
    deadline_ms_ = svc->poll_deadline_ms(ctx);
  }

  void begin() {
    Status st = handlers::check_poll(svc_->engine(), queue_.ns, queue_.name);
    if (!st.ok()) {
      Finish(to_grpc(st));
      return;
    }
    wait();
  }

  void OnCancel() override {
    std::shared_ptr<Waiter> w;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      w = waiter_;
    }
    if (w && w->try_claim()) {
      svc_->engine().matcher().remove(queue_, w.get());
      svc_->deadlines().remove(w->deadline_ms, w->deadline_id);
      Finish(grpc::Status::CANCELLED);
    }
  }

  void OnDone() override { delete this; }

 private:
  struct Waiter final : PollWaiter, Expirable {
    explicit Waiter(PollCall* c) : call(c) {}
    void deliver(v1::TaskRecord task) override { call->on_task(this, std::move(task)); }
    void expire() override {
      if (try_claim()) {
        call->svc_->engine().matcher().remove(call->queue_, this);
        call->Finish(grpc::Status::OK);  // empty response: "no task, poll again"
      }
    }
    PollCall* call;
    int64_t deadline_ms = 0;
    uint64_t deadline_id = 0;
  };

  // REQUIRES: this call owns its answer (no unclaimed waiter registered).
  void wait() {
    // Once the waiter is registered another thread may claim it and finish (and delete) this
    // call, so everything used after registration is copied to locals first.
    WorkflowServiceImpl* svc = svc_;
    QueueKey queue = queue_;
    auto w = std::make_shared<Waiter>(this);
    grpc::Status early;
    bool finish_now = false;
    {
      std::lock_guard lock(mu_);
      if (cancelled_) {
        finish_now = true;
        early = grpc::Status::CANCELLED;
      } else if (svc->shutting_down() || svc->engine().clock().now_ms() >= deadline_ms_) {
        finish_now = true;
      } else {
        waiter_ = w;
      }
    }
    if (finish_now) {
      Finish(early);
      return;
    }
    w->deadline_ms = deadline_ms_;
    w->deadline_id = svc->deadlines().add(deadline_ms_, w);
    auto task =
        svc->engine().matcher().poll(queue, w, svc->engine().clock().now_ms(), req_->identity());
    if (task.has_value()) {
      if (w->try_claim()) {
        on_task(w.get(), std::move(*task));
      } else {
        // Cancelled or expired at the same moment: give the task to someone else.
        svc->engine().matcher().offer(queue, std::move(*task));
      }
    }
  }

  void on_task(Waiter* w, v1::TaskRecord task) {
    svc_->deadlines().remove(w->deadline_ms, w->deadline_id);
    svc_->engine().pool().submit([this, task = std::move(task)] {
      resp_->Clear();
      Status st = start_(svc_->engine(), task, *req_, resp_);
      if (st.ok()) {
        svc_->engine().task_start_succeeded(task.task_id());
        Finish(grpc::Status::OK);
        return;
      }
      resp_->Clear();
      if (st.code() == StatusCode::kNotFound) {
        wait();  // stale task: keep polling
        return;
      }
      // The task goes back to its queue after a backoff (logged there), and this poll is
      // answered with the cause: the worker polls again.
      svc_->engine().retry_task_start(queue_, task, st);
      Finish(to_grpc(st));
    });
  }

  WorkflowServiceImpl* svc_;
  const Req* req_;
  Resp* resp_;
  StartFn start_;
  QueueKey queue_;
  int64_t deadline_ms_ = 0;
  std::mutex mu_;
  bool cancelled_ = false;          // guarded by mu_
  std::shared_ptr<Waiter> waiter_;  // guarded by mu_
};

// GetWorkflowExecutionHistory with wait_new_event: answered when the run gets new events (or
// closes, for the close-event filter), at the deadline with an empty page, or at shutdown.
// The request is copied into a shared State so that a thread that lost the race to answer never
// touches the call (which gRPC deletes right after the winner's Finish()).
class HistoryCall final : public grpc::ServerUnaryReactor {
 public:
  HistoryCall(WorkflowServiceImpl* svc, grpc::CallbackServerContext* ctx,
              const v1::GetWorkflowExecutionHistoryRequest* req,
              v1::GetWorkflowExecutionHistoryResponse* resp)
      : resp_(resp), state_(std::make_shared<State>()) {
    state_->svc = svc;
    state_->req = *req;
    state_->deadline_ms = svc->poll_deadline_ms(ctx);
    state_->call = this;
  }

  void begin() {
    auto st = state_;
    st->svc->engine().pool().submit([st] { attempt(st); });
  }

  void OnCancel() override {
    std::shared_ptr<Watcher> w;
    {
      std::lock_guard lock(state_->mu);
      state_->cancelled = true;
      w = state_->watcher;
    }
    if (w && w->try_claim()) {
      state_->svc->engine().unwatch(w->key, w.get());
      state_->svc->deadlines().remove(w->deadline_ms, w->deadline_id);
      Finish(grpc::Status::CANCELLED);
    }
  }

  void OnDone() override { delete this; }

 private:
  struct Watcher;
  struct State {
    WorkflowServiceImpl* svc = nullptr;
    v1::GetWorkflowExecutionHistoryRequest req;
    int64_t deadline_ms = 0;
    HistoryCall* call = nullptr;  // touched only by the party that owns the answer
    std::mutex mu;
    bool cancelled = false;            // guarded by mu
    std::shared_ptr<Watcher> watcher;  // guarded by mu
  };

  struct Watcher final : HistoryWatcher, Expirable {
    Watcher(std::shared_ptr<State> s, RunKey k) : state(std::move(s)), key(std::move(k)) {}
    void notify() override {
      if (try_claim()) {
        state->svc->deadlines().remove(deadline_ms, deadline_id);
        auto st = state;
        st->svc->engine().pool().submit([st] { attempt(st); });
      }
    }
    bool close_only() const override {
      return state->req.history_event_filter_type() == v1::HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;
    }
    void expire() override {
      if (try_claim()) {
        state->svc->engine().unwatch(key, this);
        v1::GetWorkflowExecutionHistoryResponse empty;
        empty.set_next_page_token(state->req.next_page_token());  // continue from the same place
        finish(*state, std::move(empty), grpc::Status::OK);
      }
    }
    std::shared_ptr<State> state;
    RunKey key;
    int64_t deadline_ms = 0;
    uint64_t deadline_id = 0;
  };

  // REQUIRES: the caller owns the answer.
  static void finish(State& st, v1::GetWorkflowExecutionHistoryResponse resp, grpc::Status status) {
    HistoryCall* call = st.call;
    if (status.ok()) {
      call->resp_->Swap(&resp);
    }
    call->Finish(status);
  }

  // REQUIRES: the caller owns the answer.
  static void attempt(const std::shared_ptr<State>& st) {
    Engine& engine = st->svc->engine();
    v1::GetWorkflowExecutionHistoryResponse resp;
    std::optional<RunKey> wait_on;
    Status s = handlers::read_history(engine, st->req, &resp, &wait_on);
    if (!s.ok()) {
      finish(*st, {}, to_grpc(s));
      return;
    }
    if (!wait_on.has_value()) {
      finish(*st, std::move(resp), grpc::Status::OK);
      return;
    }
    auto w = std::make_shared<Watcher>(st, *wait_on);
    {
      std::lock_guard lock(st->mu);
      if (st->cancelled) {
        w.reset();
      } else if (!st->svc->shutting_down() && engine.clock().now_ms() < st->deadline_ms) {
        st->watcher = w;
      }
    }
    if (!w) {
      finish(*st, {}, grpc::Status::CANCELLED);
      return;
    }
    if (st->watcher != w) {
      resp.Clear();
      resp.set_next_page_token(st->req.next_page_token());
      finish(*st, std::move(resp), grpc::Status::OK);
      return;
    }
    w->deadline_ms = st->deadline_ms;
    w->deadline_id = st->svc->deadlines().add(st->deadline_ms, w);
    engine.watch(*wait_on, w);
    // Events may have been committed between the read and watch(): read once more. From here
    // on another thread may own the answer, so only `st` and `w` are touched.
    v1::GetWorkflowExecutionHistoryResponse again;
    std::optional<RunKey> still;
    Status s2 = handlers::read_history(engine, st->req, &again, &still);
    if ((!s2.ok() || !still.has_value()) && w->try_claim()) {
      engine.unwatch(w->key, w.get());
      st->svc->deadlines().remove(w->deadline_ms, w->deadline_id);
      finish(*st, std::move(again), to_grpc(s2));
    }
  }

  v1::GetWorkflowExecutionHistoryResponse* resp_;
  std::shared_ptr<State> state_;
};

}  // namespace

WorkflowServiceImpl::WorkflowServiceImpl(Engine* engine)
    : engine_(engine), deadlines_(&engine->clock()) {}

WorkflowServiceImpl::~WorkflowServiceImpl() { deadlines_.stop(); }

void WorkflowServiceImpl::start(bool use_thread) { deadlines_.start(use_thread); }

void WorkflowServiceImpl::begin_shutdown() {
  shutting_down_ = true;
  deadlines_.expire_all();
}

int64_t WorkflowServiceImpl::poll_deadline_ms(Ctx* ctx) const {
  int64_t now = engine_->clock().now_ms();
  int64_t deadline = now + engine_->options().max_poll_ms;
  auto client = ctx->deadline();
  if (client != std::chrono::system_clock::time_point::max()) {
    int64_t client_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(client.time_since_epoch()).count();
    deadline = std::min(deadline, client_ms - kPollMarginMs);
  }
  return deadline;
}

template <class Fn>
WorkflowServiceImpl::Reactor* WorkflowServiceImpl::unary(Ctx* ctx, Fn fn) {
  Reactor* reactor = ctx->DefaultReactor();
  engine_->pool().submit([reactor, fn = std::move(fn)]() mutable { reactor->Finish(to_grpc(fn())); });
  return reactor;
}

#define CAIRN_UNARY(Method, Req, Resp, handler)                               \
  WorkflowServiceImpl::Reactor* WorkflowServiceImpl::Method(Ctx* ctx, const v1::Req* req, \
                                                            v1::Resp* resp) {  \
    return unary(ctx, [this, req, resp] { return handlers::handler(*engine_, *req, resp); }); \
  }

CAIRN_UNARY(RegisterNamespace, RegisterNamespaceRequest, RegisterNamespaceResponse, register_namespace)
CAIRN_UNARY(DescribeNamespace, DescribeNamespaceRequest, DescribeNamespaceResponse, describe_namespace)
CAIRN_UNARY(ListNamespaces, ListNamespacesRequest, ListNamespacesResponse, list_namespaces)
CAIRN_UNARY(StartWorkflowExecution, StartWorkflowExecutionRequest, StartWorkflowExecutionResponse, start_workflow)
CAIRN_UNARY(SignalWorkflowExecution, SignalWorkflowExecutionRequest, SignalWorkflowExecutionResponse, signal_workflow)
CAIRN_UNARY(SignalWithStartWorkflowExecution, SignalWithStartWorkflowExecutionRequest, SignalWithStartWorkflowExecutionResponse, signal_with_start)
CAIRN_UNARY(RequestCancelWorkflowExecution, RequestCancelWorkflowExecutionRequest, RequestCancelWorkflowExecutionResponse, request_cancel_workflow)
CAIRN_UNARY(TerminateWorkflowExecution, TerminateWorkflowExecutionRequest, TerminateWorkflowExecutionResponse, terminate_workflow)
CAIRN_UNARY(DescribeWorkflowExecution, DescribeWorkflowExecutionRequest, DescribeWorkflowExecutionResponse, describe_workflow)
CAIRN_UNARY(RespondWorkflowTaskCompleted, RespondWorkflowTaskCompletedRequest, RespondWorkflowTaskCompletedResponse, respond_workflow_task_completed)
CAIRN_UNARY(RespondWorkflowTaskFailed, RespondWorkflowTaskFailedRequest, RespondWorkflowTaskFailedResponse, respond_workflow_task_failed)
CAIRN_UNARY(ResetStickyTaskQueue, ResetStickyTaskQueueRequest, ResetStickyTaskQueueResponse, reset_sticky_task_queue)
CAIRN_UNARY(RecordActivityTaskHeartbeat, RecordActivityTaskHeartbeatRequest, RecordActivityTaskHeartbeatResponse, record_activity_heartbeat)
CAIRN_UNARY(RespondActivityTaskCompleted, RespondActivityTaskCompletedRequest, RespondActivityTaskCompletedResponse, respond_activity_completed)
CAIRN_UNARY(RespondActivityTaskFailed, RespondActivityTaskFailedRequest, RespondActivityTaskFailedResponse, respond_activity_failed)
CAIRN_UNARY(RespondActivityTaskCanceled, RespondActivityTaskCanceledRequest, RespondActivityTaskCanceledResponse, respond_activity_canceled)
CAIRN_UNARY(RecordActivityTaskHeartbeatById, RecordActivityTaskHeartbeatByIdRequest, RecordActivityTaskHeartbeatByIdResponse, record_activity_heartbeat_by_id)
CAIRN_UNARY(RespondActivityTaskCompletedById, RespondActivityTaskCompletedByIdRequest, RespondActivityTaskCompletedByIdResponse, respond_activity_completed_by_id)
CAIRN_UNARY(RespondActivityTaskFailedById, RespondActivityTaskFailedByIdRequest, RespondActivityTaskFailedByIdResponse, respond_activity_failed_by_id)
CAIRN_UNARY(RespondActivityTaskCanceledById, RespondActivityTaskCanceledByIdRequest, RespondActivityTaskCanceledByIdResponse, respond_activity_canceled_by_id)
CAIRN_UNARY(RespondQueryTaskCompleted, RespondQueryTaskCompletedRequest, RespondQueryTaskCompletedResponse, respond_query_task_completed)

CAIRN_UNARY(UpdateNamespace, UpdateNamespaceRequest, UpdateNamespaceResponse, update_namespace)
CAIRN_UNARY(AddSearchAttributes, AddSearchAttributesRequest, AddSearchAttributesResponse, add_search_attributes)
CAIRN_UNARY(ListSearchAttributes, ListSearchAttributesRequest, ListSearchAttributesResponse, list_search_attributes)
CAIRN_UNARY(ListWorkflowExecutions, ListWorkflowExecutionsRequest, ListWorkflowExecutionsResponse, list_workflows)
CAIRN_UNARY(CountWorkflowExecutions, CountWorkflowExecutionsRequest, CountWorkflowExecutionsResponse, count_workflows)
CAIRN_UNARY(ResetWorkflowExecution, ResetWorkflowExecutionRequest, ResetWorkflowExecutionResponse, reset_workflow)
CAIRN_UNARY(VerifyWorkflowExecution, VerifyWorkflowExecutionRequest, VerifyWorkflowExecutionResponse, verify_workflow)
CAIRN_UNARY(DescribeTaskQueue, DescribeTaskQueueRequest, DescribeTaskQueueResponse, describe_task_queue)

CAIRN_UNARY(CreateSchedule, CreateScheduleRequest, CreateScheduleResponse, create_schedule)
CAIRN_UNARY(DescribeSchedule, DescribeScheduleRequest, DescribeScheduleResponse, describe_schedule)
CAIRN_UNARY(UpdateSchedule, UpdateScheduleRequest, UpdateScheduleResponse, update_schedule)
CAIRN_UNARY(PatchSchedule, PatchScheduleRequest, PatchScheduleResponse, patch_schedule)
CAIRN_UNARY(DeleteSchedule, DeleteScheduleRequest, DeleteScheduleResponse, delete_schedule)
CAIRN_UNARY(ListSchedules, ListSchedulesRequest, ListSchedulesResponse, list_schedules)

#undef CAIRN_UNARY

WorkflowServiceImpl::Reactor* WorkflowServiceImpl::GetSystemInfo(
    Ctx* ctx, const v1::GetSystemInfoRequest* req, v1::GetSystemInfoResponse* resp) {
  Status st = handlers::get_system_info(*engine_, *req, resp);
  resp->set_waiting_polls(static_cast<int64_t>(deadlines_.size()));
  resp->set_serving(!shutting_down());
  Reactor* reactor = ctx->DefaultReactor();
  reactor->Finish(to_grpc(st));
  return reactor;
}

WorkflowServiceImpl::Reactor* WorkflowServiceImpl::GetWorkflowExecutionHistory(
    Ctx* ctx, const v1::GetWorkflowExecutionHistoryRequest* req,
    v1::GetWorkflowExecutionHistoryResponse* resp) {
  auto* call = new HistoryCall(this, ctx, req, resp);
  call->begin();
  return call;
}

WorkflowServiceImpl::Reactor* WorkflowServiceImpl::PollWorkflowTaskQueue(
    Ctx* ctx, const v1::PollWorkflowTaskQueueRequest* req, v1::PollWorkflowTaskQueueResponse* resp) {
  auto* call = new PollCall<v1::PollWorkflowTaskQueueRequest, v1::PollWorkflowTaskQueueResponse>(
      this, ctx, req, resp, v1::TASK_KIND_WORKFLOW, &handlers::start_workflow_task);
  call->begin();
  return call;
}

WorkflowServiceImpl::Reactor* WorkflowServiceImpl::PollActivityTaskQueue(
    Ctx* ctx, const v1::PollActivityTaskQueueRequest* req, v1::PollActivityTaskQueueResponse* resp) {
  auto* call = new PollCall<v1::PollActivityTaskQueueRequest, v1::PollActivityTaskQueueResponse>(
      this, ctx, req, resp, v1::TASK_KIND_ACTIVITY, &handlers::start_activity_task);
  call->begin();
  return call;
}

}  // namespace cairn
