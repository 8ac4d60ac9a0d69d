// The gRPC face of cairn-server: WorkflowService on the callback API. Unary RPCs run their
// handler on the engine's pool and finish from there; long-polls (task polls, history waits) park
// as small objects, not threads, and are answered by whoever claims them first: a matching task,
// a commit that appends events, the poll's deadline, cancellation, or shutdown.
// Thread-safe; owned by Server, outlives the grpc::Server it is registered with.
#pragma once

#include <atomic>
#include <memory>

#include "cairn/v1/service.grpc.pb.h"
#include "server/deadline_queue.h"
#include "server/engine.h"

namespace cairn {

grpc::Status to_grpc(const Status& status);

class WorkflowServiceImpl final : public v1::WorkflowService::CallbackService {
 public:
  explicit WorkflowServiceImpl(Engine* engine);
  ~WorkflowServiceImpl() override;

  void start(bool use_thread);
  // Answers every waiting long-poll with an empty response and makes new polls return at once.
  void begin_shutdown();

  Engine& engine() { return *engine_; }
  DeadlineQueue& deadlines() { return deadlines_; }
  bool shutting_down() const { return shutting_down_.load(); }

  using Ctx = grpc::CallbackServerContext;
  using Reactor = grpc::ServerUnaryReactor;

  Reactor* RegisterNamespace(Ctx*, const v1::RegisterNamespaceRequest*, v1::RegisterNamespaceResponse*) override;
  Reactor* DescribeNamespace(Ctx*, const v1::DescribeNamespaceRequest*, v1::DescribeNamespaceResponse*) override;
  Reactor* ListNamespaces(Ctx*, const v1::ListNamespacesRequest*, v1::ListNamespacesResponse*) override;
  Reactor* StartWorkflowExecution(Ctx*, const v1::StartWorkflowExecutionRequest*, v1::StartWorkflowExecutionResponse*) override;
  Reactor* SignalWorkflowExecution(Ctx*, const v1::SignalWorkflowExecutionRequest*, v1::SignalWorkflowExecutionResponse*) override;
  Reactor* SignalWithStartWorkflowExecution(Ctx*, const v1::SignalWithStartWorkflowExecutionRequest*, v1::SignalWithStartWorkflowExecutionResponse*) override;
  Reactor* RequestCancelWorkflowExecution(Ctx*, const v1::RequestCancelWorkflowExecutionRequest*, v1::RequestCancelWorkflowExecutionResponse*) override;
  Reactor* TerminateWorkflowExecution(Ctx*, const v1::TerminateWorkflowExecutionRequest*, v1::TerminateWorkflowExecutionResponse*) override;
  Reactor* DescribeWorkflowExecution(Ctx*, const v1::DescribeWorkflowExecutionRequest*, v1::DescribeWorkflowExecutionResponse*) override;
  Reactor* GetWorkflowExecutionHistory(Ctx*, const v1::GetWorkflowExecutionHistoryRequest*, v1::GetWorkflowExecutionHistoryResponse*) override;
  Reactor* PollWorkflowTaskQueue(Ctx*, const v1::PollWorkflowTaskQueueRequest*, v1::PollWorkflowTaskQueueResponse*) override;
  Reactor* RespondWorkflowTaskCompleted(Ctx*, const v1::RespondWorkflowTaskCompletedRequest*, v1::RespondWorkflowTaskCompletedResponse*) override;
  Reactor* RespondWorkflowTaskFailed(Ctx*, const v1::RespondWorkflowTaskFailedRequest*, v1::RespondWorkflowTaskFailedResponse*) override;
  Reactor* ResetStickyTaskQueue(Ctx*, const v1::ResetStickyTaskQueueRequest*, v1::ResetStickyTaskQueueResponse*) override;
  Reactor* PollActivityTaskQueue(Ctx*, const v1::PollActivityTaskQueueRequest*, v1::PollActivityTaskQueueResponse*) override;
  Reactor* RecordActivityTaskHeartbeat(Ctx*, const v1::RecordActivityTaskHeartbeatRequest*, v1::RecordActivityTaskHeartbeatResponse*) override;
  Reactor* RespondActivityTaskCompleted(Ctx*, const v1::RespondActivityTaskCompletedRequest*, v1::RespondActivityTaskCompletedResponse*) override;
  Reactor* RespondActivityTaskFailed(Ctx*, const v1::RespondActivityTaskFailedRequest*, v1::RespondActivityTaskFailedResponse*) override;
  Reactor* RespondActivityTaskCanceled(Ctx*, const v1::RespondActivityTaskCanceledRequest*, v1::RespondActivityTaskCanceledResponse*) override;
  Reactor* GetSystemInfo(Ctx*, const v1::GetSystemInfoRequest*, v1::GetSystemInfoResponse*) override;
  // Async activity completion, queries and updates (service_query.cc for the waiting ones).
  Reactor* RecordActivityTaskHeartbeatById(Ctx*, const v1::RecordActivityTaskHeartbeatByIdRequest*, v1::RecordActivityTaskHeartbeatByIdResponse*) override;
  Reactor* RespondActivityTaskCompletedById(Ctx*, const v1::RespondActivityTaskCompletedByIdRequest*, v1::RespondActivityTaskCompletedByIdResponse*) override;
  Reactor* RespondActivityTaskFailedById(Ctx*, const v1::RespondActivityTaskFailedByIdRequest*, v1::RespondActivityTaskFailedByIdResponse*) override;
  Reactor* RespondActivityTaskCanceledById(Ctx*, const v1::RespondActivityTaskCanceledByIdRequest*, v1::RespondActivityTaskCanceledByIdResponse*) override;
  Reactor* RespondQueryTaskCompleted(Ctx*, const v1::RespondQueryTaskCompletedRequest*, v1::RespondQueryTaskCompletedResponse*) override;
  Reactor* QueryWorkflow(Ctx*, const v1::QueryWorkflowRequest*, v1::QueryWorkflowResponse*) override;
  Reactor* UpdateWorkflowExecution(Ctx*, const v1::UpdateWorkflowExecutionRequest*, v1::UpdateWorkflowExecutionResponse*) override;

  // Visibility, namespace configuration and admin.
  Reactor* UpdateNamespace(Ctx*, const v1::UpdateNamespaceRequest*,
                           v1::UpdateNamespaceResponse*) override;
  Reactor* AddSearchAttributes(Ctx*, const v1::AddSearchAttributesRequest*,
                               v1::AddSearchAttributesResponse*) override;
  Reactor* ListSearchAttributes(Ctx*, const v1::ListSearchAttributesRequest*,
                                v1::ListSearchAttributesResponse*) override;
  Reactor* ListWorkflowExecutions(Ctx*, const v1::ListWorkflowExecutionsRequest*,
                                  v1::ListWorkflowExecutionsResponse*) override;
  Reactor* CountWorkflowExecutions(Ctx*, const v1::CountWorkflowExecutionsRequest*,
                                   v1::CountWorkflowExecutionsResponse*) override;
  Reactor* ResetWorkflowExecution(Ctx*, const v1::ResetWorkflowExecutionRequest*,
                                  v1::ResetWorkflowExecutionResponse*) override;
  Reactor* VerifyWorkflowExecution(Ctx*, const v1::VerifyWorkflowExecutionRequest*,
                                   v1::VerifyWorkflowExecutionResponse*) override;
  Reactor* DescribeTaskQueue(Ctx*, const v1::DescribeTaskQueueRequest*,
                             v1::DescribeTaskQueueResponse*) override;

  // Schedules (handlers/schedule.cc).
  Reactor* CreateSchedule(Ctx*, const v1::CreateScheduleRequest*, v1::CreateScheduleResponse*) override;
  Reactor* DescribeSchedule(Ctx*, const v1::DescribeScheduleRequest*, v1::DescribeScheduleResponse*) override;
  Reactor* UpdateSchedule(Ctx*, const v1::UpdateScheduleRequest*, v1::UpdateScheduleResponse*) override;
  Reactor* PatchSchedule(Ctx*, const v1::PatchScheduleRequest*, v1::PatchScheduleResponse*) override;
  Reactor* DeleteSchedule(Ctx*, const v1::DeleteScheduleRequest*, v1::DeleteScheduleResponse*) override;
  Reactor* ListSchedules(Ctx*, const v1::ListSchedulesRequest*, v1::ListSchedulesResponse*) override;

  // The deadline of a long-poll: the client's deadline less a margin, capped at max_poll_ms.
  int64_t poll_deadline_ms(Ctx* ctx) const;

 private:
  template <class Fn>
  Reactor* unary(Ctx* ctx, Fn fn);

  Engine* engine_;
  DeadlineQueue deadlines_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace cairn
