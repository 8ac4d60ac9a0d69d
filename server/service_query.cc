// WorkflowService calls that wait for a worker without holding a thread: QueryWorkflow (waits in
// the QueryRegistry) and UpdateWorkflowExecution (an optional validation query, one transition to
// admit the update, then a history watch until the update reaches the stage asked for).
// Whoever finishes a call first — an answer, a commit, the deadline, cancellation, shutdown —
// owns its single Finish(); the others find it finished and do nothing.
#include <spdlog/spdlog.h>

#include "server/handlers/handlers.h"
#include "server/service.h"

namespace cairn {
namespace {

// The shared state of one waiting call. Outlives the reactor (gRPC deletes that after Finish);
// nobody touches the reactor once `finished` is set.
template <class Resp>
class Waiting final : public Expirable, public std::enable_shared_from_this<Waiting<Resp>> {
 public:
  Waiting(WorkflowServiceImpl* svc, grpc::ServerUnaryReactor* reactor, Resp* resp,
          int64_t deadline_ms, std::string what)
      : svc_(svc), reactor_(reactor), resp_(resp), deadline_ms_(deadline_ms),
        what_(std::move(what)) {}

  WorkflowServiceImpl& svc() { return *svc_; }
  Engine& engine() { return svc_->engine(); }
  bool finished() const { return finished_.load(); }
  void set_what(std::string what) {
    std::lock_guard lock(mu_);
    what_ = std::move(what);
  }

  void arm_deadline() {
    uint64_t id = svc_->deadlines().add(deadline_ms_, this->weak_from_this());
    std::lock_guard lock(mu_);
    deadline_id_ = id;
  }
  // The query this call waits on, dropped from the registry if the call ends first.
  void set_query(const std::string& query_id) {
    {
      std::lock_guard lock(mu_);
      query_id_ = query_id;
    }
    if (finished()) {
      engine().queries().drop(query_id);
    }
  }
  void set_watch(const RunKey& key, std::shared_ptr<HistoryWatcher> watcher) {
    std::lock_guard lock(mu_);
    watch_key_ = key;
    watcher_ = std::move(watcher);
  }

  // Finishes the call with `status` (and `value` when OK). False when already finished.
  bool finish(const grpc::Status& status, const Resp* value = nullptr) {
    if (finished_.exchange(true)) {
      return false;
    }
    std::string query_id;
    std::shared_ptr<HistoryWatcher> watcher;
    std::optional<RunKey> key;
    uint64_t deadline_id = 0;
    {
      std::lock_guard lock(mu_);
      query_id.swap(query_id_);
      watcher.swap(watcher_);
      key = watch_key_;
      deadline_id = deadline_id_;
    }
    if (!query_id.empty()) {
      engine().queries().drop(query_id);
    }
    if (watcher && key) {
      engine().unwatch(*key, watcher.get());
    }
    if (deadline_id != 0) {
      svc_->deadlines().remove(deadline_ms_, deadline_id);
    }
    if (status.ok() && value != nullptr) {
      resp_->CopyFrom(*value);
    }
    reactor_->Finish(status);
    return true;
  }
  bool finish(const Status& status) { return finish(to_grpc(status)); }

  void expire() override {
    std::string what;
    {
      std::lock_guard lock(mu_);
      what = what_;
    }
    if (svc_->shutting_down()) {
      finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, what + ": the server is shutting down"));
      return;
    }
    finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                        what + ": no answer before the deadline (is a worker polling the "
                               "workflow's task queue?)"));
  }

 private:
  WorkflowServiceImpl* svc_;
  grpc::ServerUnaryReactor* reactor_;
  Resp* resp_;
  int64_t deadline_ms_;
  std::atomic<bool> finished_{false};
  std::mutex mu_;
  std::string what_;                          // guarded by mu_
  uint64_t deadline_id_ = 0;                  // guarded by mu_
  std::string query_id_;                      // guarded by mu_
  std::optional<RunKey> watch_key_;           // guarded by mu_
  std::shared_ptr<HistoryWatcher> watcher_;   // guarded by mu_
};

template <class Resp>
class WaitingReactor final : public grpc::ServerUnaryReactor {
 public:
  std::shared_ptr<Waiting<Resp>> state;
  void OnCancel() override {
    if (state) {
      state->finish(grpc::Status::CANCELLED);
    }
  }
  void OnDone() override { delete this; }
};

using QueryState = Waiting<v1::QueryWorkflowResponse>;
using UpdateState = Waiting<v1::UpdateWorkflowExecutionResponse>;

// ---- QueryWorkflow ----

void run_query(const std::shared_ptr<QueryState>& w, const v1::QueryWorkflowRequest& req) {
  Engine& e = w->engine();
  Status st = handlers::check_query_request(e, req);
  if (!st.ok()) {
    w->finish(st);
    return;
  }
  auto key = e.resolve(handlers::ns_or_default(req.namespace_()), req.execution().workflow_id(),
                       req.execution().run_id());
  if (!key.ok()) {
    w->finish(key.status());
    return;
  }
  w->set_what("query " + req.query_type() + " on run " + key->debug_string());
  w->arm_deadline();
  v1::WorkflowQuery q;
  q.set_query_type(req.query_type());
  *q.mutable_query_args() = req.query_args();
  std::string type = req.query_type();
  auto id = handlers::offer_query(e, *key, std::move(q),
                                  [w, type](const v1::RespondQueryTaskCompletedRequest& answer) {
                                    Status s = handlers::query_answer_status(answer, type);
                                    if (!s.ok()) {
                                      w->finish(s);
                                      return;
                                    }
                                    v1::QueryWorkflowResponse r;
                                    *r.mutable_query_result() = answer.query_result();
                                    w->finish(grpc::Status::OK, &r);
                                  });
  if (!id.ok()) {
    w->finish(id.status());
    return;
  }
  w->set_query(*id);
}

// ---- UpdateWorkflowExecution ----

struct UpdateJob {
  std::shared_ptr<UpdateState> w;
  v1::UpdateWorkflowExecutionRequest req;
  RunKey key;
  std::string update_id;
};

void check_update(const std::shared_ptr<UpdateJob>& job);

// Wakes the update call after a commit on its run.
class UpdateWatcher final : public HistoryWatcher {
 public:
  explicit UpdateWatcher(std::shared_ptr<UpdateJob> job) : job_(std::move(job)) {}
  void notify() override {
    if (try_claim()) {
      auto job = job_;
      job->w->engine().pool().submit([job] { check_update(job); });
    }
  }

 private:
  std::shared_ptr<UpdateJob> job_;
};

// Answers when the update reached its stage; otherwise watches the run and checks again after
// the next commit (watch first, then read: a commit in between is not missed).
void check_update(const std::shared_ptr<UpdateJob>& job) {
  if (job->w->finished()) {
    return;
  }
  Engine& e = job->w->engine();
  auto watcher = std::make_shared<UpdateWatcher>(job);
  job->w->set_watch(job->key, watcher);
  e.watch(job->key, watcher);
  v1::UpdateWorkflowExecutionResponse resp;
  auto done = handlers::read_update_outcome(e, job->key, job->update_id, job->req.wait_stage(),
                                            &resp);
  if (!done.ok()) {
    job->w->finish(done.status());
  } else if (*done) {
    job->w->finish(grpc::Status::OK, &resp);
  }
}

void admit_and_wait(const std::shared_ptr<UpdateJob>& job) {
  auto admitted = handlers::admit_update(job->w->engine(), job->key, job->update_id, job->req);
  if (!admitted.ok()) {
    job->w->finish(admitted.status());
    return;
  }
  check_update(job);
}

void run_update(const std::shared_ptr<UpdateJob>& job) {
  Engine& e = job->w->engine();
  const v1::UpdateWorkflowExecutionRequest& req = job->req;
  Status st = handlers::check_update_request(e, req);
  if (!st.ok()) {
    job->w->finish(st);
    return;
  }
  auto key = e.resolve(handlers::ns_or_default(req.namespace_()),
                       req.workflow_execution().workflow_id(), req.workflow_execution().run_id());
  if (!key.ok()) {
    job->w->finish(key.status());
    return;
  }
  job->key = *key;
  job->update_id = req.update_id().empty() ? e.new_run_id() : req.update_id();
  job->w->set_what("update " + job->update_id + " (" + req.name() + ") on run " +
                   key->debug_string());
  job->w->arm_deadline();
  auto state = e.read_state(job->key);
  if (!state.ok()) {
    job->w->finish(state.status());
    return;
  }
  if (state->updates().contains(job->update_id) ||
      state->status() != v1::WORKFLOW_EXECUTION_STATUS_RUNNING ||
      state->last_completed_workflow_task_started_event_id() == 0) {
    // Known already (wait for its outcome), closed (admit says so), or the workflow code has not
    // run yet (no handlers to validate against: the first workflow task validates it).
    admit_and_wait(job);
    return;
  }
  // Validate first, on the workflow's current state, without writing anything: a rejected update
  // leaves the run's history untouched.
  v1::WorkflowQuery q;
  q.set_query_type(req.name());
  *q.mutable_query_args() = req.input();
  q.set_update_validation(true);
  auto id = handlers::offer_query(e, job->key, std::move(q),
                                  [job](const v1::RespondQueryTaskCompletedRequest& answer) {
    job->w->set_query("");
    if (answer.result_type() == v1::QUERY_RESULT_TYPE_ANSWERED) {
      job->w->engine().pool().submit([job] { admit_and_wait(job); });
      return;
    }
    v1::UpdateWorkflowExecutionResponse r;
    r.set_update_id(job->update_id);
    r.set_run_id(job->key.run_id.value);
    r.set_stage(v1::UPDATE_WAIT_STAGE_COMPLETED);
    r.set_rejected(true);
    r.mutable_failure()->set_message(answer.error_message());
    r.mutable_failure()->set_source("CppSDK");
    job->w->finish(grpc::Status::OK, &r);
  });
  if (!id.ok()) {
    job->w->finish(id.status());
    return;
  }
  job->w->set_query(*id);
}

}  // namespace

WorkflowServiceImpl::Reactor* WorkflowServiceImpl::QueryWorkflow(
    Ctx* ctx, const v1::QueryWorkflowRequest* req, v1::QueryWorkflowResponse* resp) {
  auto* reactor = new WaitingReactor<v1::QueryWorkflowResponse>();
  auto w = std::make_shared<QueryState>(this, reactor, resp, poll_deadline_ms(ctx),
                                        "query " + req->query_type());
  reactor->state = w;
  engine_->pool().submit([w, r = *req] { run_query(w, r); });
  return reactor;
}

WorkflowServiceImpl::Reactor* WorkflowServiceImpl::UpdateWorkflowExecution(
    Ctx* ctx, const v1::UpdateWorkflowExecutionRequest* req,
    v1::UpdateWorkflowExecutionResponse* resp) {
  auto* reactor = new WaitingReactor<v1::UpdateWorkflowExecutionResponse>();
  auto job = std::make_shared<UpdateJob>();
  job->w = std::make_shared<UpdateState>(this, reactor, resp, poll_deadline_ms(ctx),
                                         "update " + req->name());
  job->req = *req;
  reactor->state = job->w;
  engine_->pool().submit([job] { run_update(job); });
  return reactor;
}

}  // namespace cairn
