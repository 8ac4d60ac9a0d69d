// Query tasks: the poll answer carries a query and the run's whole history, which the worker
// replays (nothing is sent back but the answer) before running the handler — or no history (a
// query on a sticky queue; the server does not route queries there yet): the worker answers
// from the run it has cached, and fetches the history when it does not have the run in step.
#include <spdlog/spdlog.h>

#include "codec_boundary.h"
#include "failure.h"
#include "replayer.h"
#include "rpc.h"
#include "worker_impl.h"

namespace cairn::detail {

// The answer from the cached run, when this worker has it in step with the server; nullopt
// otherwise (then the history is replayed).
std::optional<v1::RespondQueryTaskCompletedRequest> WorkerImpl::answer_from_cache(
    const v1::PollWorkflowTaskQueueResponse& task) {
  std::optional<CachedRun> run = cache_.take(task.workflow_execution().run_id());
  if (!run) {
    return std::nullopt;  // evicted, or a workflow task has it right now
  }
  std::optional<v1::RespondQueryTaskCompletedRequest> answer;
  if (run->replayer->next_event_id() == task.previous_started_event_id() + 1) {
    v1::WorkflowQuery scratch;
    answer = run->replayer->answer_live_query(
        decoded(core_->options.codecs, task.query(), &scratch));
    ++counters_.cache_hits;
  }
  std::vector<CachedRun> dropped = cache_.put(std::move(*run));
  return answer;
}

void WorkerImpl::handle_query_task(const v1::PollWorkflowTaskQueueResponse& task) {
  const std::string& type = task.workflow_type().name();
  v1::RespondQueryTaskCompletedRequest answer;
  auto it = workflows_.find(type);
  if (it == workflows_.end()) {
    answer.set_query_id(task.query().query_id());
    answer.set_result_type(v1::QUERY_RESULT_TYPE_FAILED);
    answer.set_error_message("workflow type " + type + " is not registered on worker " +
                             options_.identity);
  } else {
    WorkflowInfo info;
    info.namespace_ = core_->options.ns;
    info.workflow_id = task.workflow_execution().workflow_id();
    info.run_id = task.workflow_execution().run_id();
    info.workflow_type = type;
    info.task_queue = options_.task_queue;
    try {
      std::optional<v1::RespondQueryTaskCompletedRequest> cached;
      v1::PollWorkflowTaskQueueResponse full;
      const v1::PollWorkflowTaskQueueResponse* source = &task;
      if (task.history().events().empty()) {  // from the sticky queue
        cached = answer_from_cache(task);
        if (!cached) {
          fetch_full_history(task, 0, &full);
          ++counters_.history_fetches;
          counters_.events_received += full.history().events_size();
          source = &full;
        }
      }
      if (cached) {
        answer = std::move(*cached);
      } else {
        // Payloads decoded for the handler; the answer encoded (codec_boundary.h).
        v1::PollWorkflowTaskQueueResponse scratch;
        const auto& t = decoded(core_->options.codecs, *source, &scratch);
        Replayer replayer(it->second, info, stacks_);
        replayer.set_local_activities(&activities_);
        replayer.set_query(&t.query());
        replayer.replay(t.history().events());
        answer = replayer.answer_query();
      }
      encode_outgoing(core_->options.codecs, &answer);
    } catch (const std::exception& e) {
      answer.set_query_id(task.query().query_id());
      answer.set_result_type(v1::QUERY_RESULT_TYPE_FAILED);
      answer.set_error_message(std::string("replay failed: ") + e.what());
    }
  }
  answer.set_namespace_(core_->options.ns);
  answer.set_identity(options_.identity);
  v1::RespondQueryTaskCompletedResponse resp;
  grpc::Status st = call_with_retry([&](grpc::ClientContext* ctx) {
    return core_->stub->RespondQueryTaskCompleted(ctx, answer, &resp);
  });
  if (!st.ok()) {
    // NOT_FOUND: the caller gave up meanwhile.
    spdlog::info("cairn worker: answering query {} failed: {}: {}", task.query().query_type(),
                 status_code_name(st.error_code()), st.error_message());
  }
}

}  // namespace cairn::detail
