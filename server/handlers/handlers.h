// Request handlers: one function per RPC, each turning a request into engine transitions (or reads)
// and filling the response. No gRPC types here: the service converts Status at the edge.
// Every handler is thread-safe and blocking (it may wait on a disk sync): call it from the
// engine's pool, never from a gRPC callback thread.
#pragma once

#include "cairn/v1/service.pb.h"
#include "history/ids.h"
#include "proto/status.h"
#include "server/engine.h"

namespace cairn::handlers {

// An empty namespace in a request means "default".
inline std::string ns_or_default(const std::string& ns) { return ns.empty() ? "default" : ns; }

Status register_namespace(Engine& e, const v1::RegisterNamespaceRequest& req,
                          v1::RegisterNamespaceResponse* resp);
Status describe_namespace(Engine& e, const v1::DescribeNamespaceRequest& req,
                          v1::DescribeNamespaceResponse* resp);
Status list_namespaces(Engine& e, const v1::ListNamespacesRequest& req,
                       v1::ListNamespacesResponse* resp);

Status start_workflow(Engine& e, const v1::StartWorkflowExecutionRequest& req,
                      v1::StartWorkflowExecutionResponse* resp);
Status signal_with_start(Engine& e, const v1::SignalWithStartWorkflowExecutionRequest& req,
                         v1::SignalWithStartWorkflowExecutionResponse* resp);
Status signal_workflow(Engine& e, const v1::SignalWorkflowExecutionRequest& req,
                       v1::SignalWorkflowExecutionResponse* resp);
Status request_cancel_workflow(Engine& e, const v1::RequestCancelWorkflowExecutionRequest& req,
                               v1::RequestCancelWorkflowExecutionResponse* resp);
Status terminate_workflow(Engine& e, const v1::TerminateWorkflowExecutionRequest& req,
                          v1::TerminateWorkflowExecutionResponse* resp);
// Ends a run's sticky execution (its worker evicted it): later tasks go to the normal queue.
// kNotFound for an unknown run.
Status reset_sticky_task_queue(Engine& e, const v1::ResetStickyTaskQueueRequest& req,
                               v1::ResetStickyTaskQueueResponse* resp);
Status describe_workflow(Engine& e, const v1::DescribeWorkflowExecutionRequest& req,
                         v1::DescribeWorkflowExecutionResponse* resp);

// Reads one page of history. When nothing is available yet and the request asks to wait,
// *wait_on is set to the run to watch and the response is left for a later call.
Status read_history(Engine& e, const v1::GetWorkflowExecutionHistoryRequest& req,
                    v1::GetWorkflowExecutionHistoryResponse* resp, std::optional<RunKey>* wait_on);

// A poller was matched with `task`: start it and fill the poll response. kNotFound when the task
// turned out stale (the caller polls on).
Status start_workflow_task(Engine& e, const v1::TaskRecord& task,
                           const v1::PollWorkflowTaskQueueRequest& req,
                           v1::PollWorkflowTaskQueueResponse* resp);
// The poll response for a started activity attempt (also the eager tasks of a workflow-task
// completion).
void fill_activity_task(const RunKey& key, const v1::WorkflowType& type, const ActivityStart& start,
                        v1::PollActivityTaskQueueResponse* resp);
Status start_activity_task(Engine& e, const v1::TaskRecord& task,
                           const v1::PollActivityTaskQueueRequest& req,
                           v1::PollActivityTaskQueueResponse* resp);
// Validates a poll request before it waits (namespace, queue name).
Status check_poll(Engine& e, const std::string& ns, const std::string& task_queue);

Status respond_workflow_task_completed(Engine& e, const v1::RespondWorkflowTaskCompletedRequest& req,
                                       v1::RespondWorkflowTaskCompletedResponse* resp);
Status respond_workflow_task_failed(Engine& e, const v1::RespondWorkflowTaskFailedRequest& req,
                                    v1::RespondWorkflowTaskFailedResponse* resp);
Status record_activity_heartbeat(Engine& e, const v1::RecordActivityTaskHeartbeatRequest& req,
                                 v1::RecordActivityTaskHeartbeatResponse* resp);
Status respond_activity_completed(Engine& e, const v1::RespondActivityTaskCompletedRequest& req,
                                  v1::RespondActivityTaskCompletedResponse* resp);
Status respond_activity_failed(Engine& e, const v1::RespondActivityTaskFailedRequest& req,
                               v1::RespondActivityTaskFailedResponse* resp);
Status respond_activity_canceled(Engine& e, const v1::RespondActivityTaskCanceledRequest& req,
                                 v1::RespondActivityTaskCanceledResponse* resp);

// Visibility and namespace configuration (visibility.cc).
Status list_workflows(Engine& e, const v1::ListWorkflowExecutionsRequest& req,
                      v1::ListWorkflowExecutionsResponse* resp);
Status count_workflows(Engine& e, const v1::CountWorkflowExecutionsRequest& req,
                       v1::CountWorkflowExecutionsResponse* resp);
Status add_search_attributes(Engine& e, const v1::AddSearchAttributesRequest& req,
                             v1::AddSearchAttributesResponse* resp);
Status list_search_attributes(Engine& e, const v1::ListSearchAttributesRequest& req,
                              v1::ListSearchAttributesResponse* resp);
Status update_namespace(Engine& e, const v1::UpdateNamespaceRequest& req,
                        v1::UpdateNamespaceResponse* resp);
Status describe_task_queue(Engine& e, const v1::DescribeTaskQueueRequest& req,
                           v1::DescribeTaskQueueResponse* resp);
// kInvalidArgument unless every name is registered in the namespace (and not a system attribute)
// and every value fits its type; with allow_null a "binary/null" payload (removal) passes.
Status check_search_attributes(Engine& e, const std::string& ns,
                               const google::protobuf::Map<std::string, v1::Payload>& attributes,
                               bool allow_null);

// Admin (admin.cc): reset, verify.
Status reset_workflow(Engine& e, const v1::ResetWorkflowExecutionRequest& req,
                      v1::ResetWorkflowExecutionResponse* resp);
Status verify_workflow(Engine& e, const v1::VerifyWorkflowExecutionRequest& req,
                       v1::VerifyWorkflowExecutionResponse* resp);

Status get_system_info(Engine& e, const v1::GetSystemInfoRequest& req, v1::GetSystemInfoResponse* resp);

// Async activity completion by (namespace, workflow id, run id, activity id): the same rules as
// the token-based calls, for the activity's current attempt. kNotFound when the activity is not
// pending or its attempt is not running.
Status record_activity_heartbeat_by_id(Engine& e, const v1::RecordActivityTaskHeartbeatByIdRequest& req,
                                       v1::RecordActivityTaskHeartbeatByIdResponse* resp);
Status respond_activity_completed_by_id(Engine& e,
                                        const v1::RespondActivityTaskCompletedByIdRequest& req,
                                        v1::RespondActivityTaskCompletedByIdResponse* resp);
Status respond_activity_failed_by_id(Engine& e, const v1::RespondActivityTaskFailedByIdRequest& req,
                                     v1::RespondActivityTaskFailedByIdResponse* resp);
Status respond_activity_canceled_by_id(Engine& e,
                                       const v1::RespondActivityTaskCanceledByIdRequest& req,
                                       v1::RespondActivityTaskCanceledByIdResponse* resp);

// Queries (query.cc). offer_query() registers `query` on the run and puts a TASK_KIND_QUERY
// record on its workflow task queue; `on_answer` runs once, on the answering thread. kNotFound
// for an unknown run.
Status check_query_request(Engine& e, const v1::QueryWorkflowRequest& req);
Result<std::string> offer_query(Engine& e, const RunKey& key, v1::WorkflowQuery query,
                                QueryRegistry::Callback on_answer);
// OK for an answered query; kInvalidArgument for an unknown query type, kFailedPrecondition for
// a handler that failed, each with the worker's message.
Status query_answer_status(const v1::RespondQueryTaskCompletedRequest& answer,
                           const std::string& query_type);
// A poller took a query record: the run's whole history and the query. kNotFound when the query
// is gone (the poller polls on).
Status start_query_task(Engine& e, const v1::TaskRecord& task,
                        const v1::PollWorkflowTaskQueueRequest& req,
                        v1::PollWorkflowTaskQueueResponse* resp);
Status respond_query_task_completed(Engine& e, const v1::RespondQueryTaskCompletedRequest& req,
                                    v1::RespondQueryTaskCompletedResponse* resp);

// Updates (update.cc). admit_update() returns false when the id was known already.
Status check_update_request(Engine& e, const v1::UpdateWorkflowExecutionRequest& req);
Result<bool> admit_update(Engine& e, const RunKey& key, const std::string& update_id,
                          const v1::UpdateWorkflowExecutionRequest& req);
// True (resp filled) when the update reached `wait_stage`, was rejected or completed; false while
// it is still on its way. kFailedPrecondition when the run closed before that.
Result<bool> read_update_outcome(Engine& e, const RunKey& key, const std::string& update_id,
                                 v1::UpdateWaitStage wait_stage,
                                 v1::UpdateWorkflowExecutionResponse* resp);

// kInvalidArgument when `workflow_id` names a schedule's entity run ("__schedule:…"): signals,
// cancels, terminations and resets of it go through the schedule RPCs.
Status refuse_schedule_entity(const std::string& workflow_id);

// Schedules (schedule.cc): CreateSchedule, DescribeSchedule, UpdateSchedule, PatchSchedule,
// DeleteSchedule, ListSchedules. Each validates first (kInvalidArgument naming the field; a
// cron expression's position) and changes nothing on an error. kNotFound for an unknown or
// deleted schedule, kAlreadyExists for a second create of an existing id.
Status create_schedule(Engine& e, const v1::CreateScheduleRequest& req,
                       v1::CreateScheduleResponse* resp);
Status describe_schedule(Engine& e, const v1::DescribeScheduleRequest& req,
                         v1::DescribeScheduleResponse* resp);
Status update_schedule(Engine& e, const v1::UpdateScheduleRequest& req,
                       v1::UpdateScheduleResponse* resp);
Status patch_schedule(Engine& e, const v1::PatchScheduleRequest& req,
                      v1::PatchScheduleResponse* resp);
Status delete_schedule(Engine& e, const v1::DeleteScheduleRequest& req,
                       v1::DeleteScheduleResponse* resp);
Status list_schedules(Engine& e, const v1::ListSchedulesRequest& req,
                      v1::ListSchedulesResponse* resp);
// Starts the workflow of a schedule's action (the SCHEDULE_START transfer): request-id
// deduplication and the id reuse policy as StartWorkflowExecution; the new run carries
// `scheduled_by`. Returns the run id (also when the request id shows it started before).
Result<std::string> start_scheduled_workflow(Engine& e, const v1::StartWorkflowExecutionRequest& req,
                                             const v1::ScheduledBy& scheduled_by);

}  // namespace cairn::handlers
