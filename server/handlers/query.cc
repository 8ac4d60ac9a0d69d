// Handlers: queries. A query is not a transition: it reads the run, waits in the QueryRegistry,
// and rides the run's workflow task queue as an in-memory TASK_KIND_QUERY record; the poller that
// takes it gets the run's whole history and answers with RespondQueryTaskCompleted.
#include "server/handlers/handlers.h"

namespace cairn::handlers {
namespace {

constexpr int kHistoryReadPage = 1000;

}  // namespace

Result<std::string> offer_query(Engine& e, const RunKey& key, v1::WorkflowQuery query,
                                QueryRegistry::Callback on_answer) {
  CAIRN_ASSIGN_OR_RETURN(v1::RunState state, e.read_state(key));
  std::string id = e.queries().add(key, std::move(query), std::move(on_answer));
  v1::TaskRecord task;
  task.set_kind(v1::TASK_KIND_QUERY);  // task_id 0: never deduplicated, never persisted
  task.set_shard(key.shard.value);
  task.set_namespace_(key.ns);
  // The normal queue: any worker answers by replaying the whole history. (Workers also answer
  // history-less query tasks from a cached run, but queries are not routed to sticky queues
  // yet: an in-memory query task handed to a poll that is going away is lost, and only a
  // fallback to the normal queue after a short timeout would make that safe.)
  std::string queue = state.task_queue();
  task.set_task_queue(queue);
  task.set_workflow_id(key.workflow_id);
  task.set_run_id(key.run_id.value);
  task.set_query_id(id);
  task.set_created_time_ms(e.clock().now_ms());
  e.matcher().offer(QueueKey{key.ns, queue, v1::TASK_KIND_WORKFLOW}, std::move(task));
  return id;
}

Status check_query_request(Engine& e, const v1::QueryWorkflowRequest& req) {
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns_or_default(req.namespace_())));
  if (req.query_type().empty()) {
    return invalid_argument("query_type is required");
  }
  if (static_cast<int>(req.query_type().size()) > e.options().limits.max_id_length) {
    return invalid_argument("query_type is longer than " +
                            std::to_string(e.options().limits.max_id_length) + " characters");
  }
  if (req.query_args().ByteSizeLong() > static_cast<size_t>(e.options().limits.max_payload_bytes)) {
    return invalid_argument("query_args are over the payload size limit");
  }
  return Status();
}

Status query_answer_status(const v1::RespondQueryTaskCompletedRequest& answer,
                           const std::string& query_type) {
  switch (answer.result_type()) {
    case v1::QUERY_RESULT_TYPE_ANSWERED:
      return Status();
    case v1::QUERY_RESULT_TYPE_UNKNOWN_TYPE:
      return invalid_argument("unknown query type " + query_type + ": " + answer.error_message());
    default:
      return failed_precondition("query " + query_type + " failed: " + answer.error_message());
  }
}

Status start_query_task(Engine& e, const v1::TaskRecord& task,
                        const v1::PollWorkflowTaskQueueRequest& req,
                        v1::PollWorkflowTaskQueueResponse* resp) {
  auto pending = e.queries().find(task.query_id());
  if (!pending) {
    return not_found("query " + task.query_id() + " is gone (answered, or its caller gave up)");
  }
  const RunKey& key = pending->run;
  CAIRN_ASSIGN_OR_RETURN(v1::RunState state, e.read_state(key));
  // From a sticky queue: no history; the worker answers from the run it has cached as of
  // previous_started_event_id (or fetches the history when it has not).
  const bool sticky = task.task_queue() != state.task_queue();
  int64_t from = 1;
  for (; !sticky;) {
    CAIRN_ASSIGN_OR_RETURN(auto page, e.store().read_events(key, EventId{from}, kHistoryReadPage));
    for (auto& ev : page.events) {
      from = ev.event_id() + 1;
      *resp->mutable_history()->add_events() = std::move(ev);
    }
    if (!page.more || page.events.empty()) {
      break;
    }
  }
  resp->mutable_workflow_execution()->set_workflow_id(key.workflow_id);
  resp->mutable_workflow_execution()->set_run_id(key.run_id.value);
  *resp->mutable_workflow_type() = state.workflow_type();
  resp->set_previous_started_event_id(state.last_completed_workflow_task_started_event_id());
  *resp->mutable_query() = pending->query;
  return Status();
}

Status respond_query_task_completed(Engine& e, const v1::RespondQueryTaskCompletedRequest& req,
                                    v1::RespondQueryTaskCompletedResponse* resp) {
  if (req.query_result().ByteSizeLong() >
      static_cast<size_t>(e.options().limits.max_payload_bytes)) {
    v1::RespondQueryTaskCompletedRequest failed = req;
    failed.clear_query_result();
    failed.set_result_type(v1::QUERY_RESULT_TYPE_FAILED);
    failed.set_error_message("the query result is over the payload size limit");
    e.queries().answer(failed);
    return invalid_argument("query result is over the payload size limit");
  }
  if (!e.queries().answer(req)) {
    return not_found("query " + req.query_id() + " not found (answered already, or its caller "
                     "gave up)");
  }
  return Status();
}

}  // namespace cairn::handlers
