// Workflow tasks on a worker: the run's cached Replayer when the task continues where it left
// off (sticky execution), otherwise a new one over the full history — fetched from the server
// when the task carried only new events for a run this worker no longer has.
#include <limits>

#include <spdlog/spdlog.h>

#include "codec_boundary.h"
#include "failure.h"
#include "rpc.h"
#include "worker_impl.h"

namespace cairn::detail {
namespace {

ReplayResult unhandled(const std::string& message) {
  ReplayResult out;
  out.task_failed = true;
  out.cause = v1::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE;
  out.failure.set_source(kFailureSource);
  out.failure.set_message(message);
  return out;
}

}  // namespace

WorkerStats WorkerImpl::stats() const {
  WorkerStats s;
  s.workflow_tasks = counters_.workflow_tasks.load();
  s.cache_hits = counters_.cache_hits.load();
  s.full_replays = counters_.full_replays.load();
  s.history_fetches = counters_.history_fetches.load();
  s.events_received = counters_.events_received.load();
  s.evictions = counters_.evictions.load();
  s.cached_runs = static_cast<int64_t>(cache_.size());
  s.eager_activities = counters_.eager_activities.load();
  return s;
}

int WorkerImpl::request_eager_activities(v1::RespondWorkflowTaskCompletedRequest* req) {
  if (!options_.eager_activities) {
    return 0;
  }
  int reserved = 0;
  for (auto& c : *req->mutable_commands()) {
    if (c.command_type() != v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK) {
      continue;
    }
    auto* a = c.mutable_schedule_activity_task_command_attributes();
    const bool here = a->task_queue().empty() || a->task_queue() == options_.task_queue;
    if (!here || activities_.count(a->activity_type().name()) == 0 || !try_acquire_slot()) {
      continue;
    }
    a->set_request_eager_execution(true);
    ++reserved;
  }
  return reserved;
}

void WorkerImpl::run_eager_activities(const v1::RespondWorkflowTaskCompletedResponse& resp,
                                      int reserved) {
  int used = 0;
  for (const auto& t : resp.activity_tasks()) {
    if (used == reserved) {
      // More than asked for cannot happen with a correct server; such a task times out and is
      // retried rather than running without a slot.
      spdlog::warn("cairn worker: the server returned more eager activity tasks than requested");
      break;
    }
    ++used;
    ++counters_.eager_activities;
    auto task = std::make_shared<v1::PollActivityTaskQueueResponse>(t);
    submit([this, task] {
      run_activity(*task);
      release_slot();
    });
  }
  for (; used < reserved; ++used) {
    release_slot();
  }
}

void WorkerImpl::fetch_full_history(const v1::PollWorkflowTaskQueueResponse& task, int64_t last,
                                    v1::PollWorkflowTaskQueueResponse* full) {
  *full = task;
  full->mutable_history()->clear_events();
  if (last <= 0) {
    last = std::numeric_limits<int64_t>::max();
  }
  v1::GetWorkflowExecutionHistoryRequest req;
  req.set_namespace_(core_->options.ns);
  *req.mutable_execution() = task.workflow_execution();
  for (;;) {
    v1::GetWorkflowExecutionHistoryResponse resp;
    grpc::Status st = call_with_retry([&](grpc::ClientContext* ctx) {
      return core_->stub->GetWorkflowExecutionHistory(ctx, req, &resp);
    });
    check(st, "fetch the history of workflow " + task.workflow_execution().workflow_id());
    for (auto& e : *resp.mutable_history()->mutable_events()) {
      if (e.event_id() > last) {
        return;
      }
      *full->mutable_history()->add_events() = std::move(e);
    }
    if (resp.next_page_token().empty() || full->history().events_size() >= last) {
      return;
    }
    req.set_next_page_token(resp.next_page_token());
  }
}

void WorkerImpl::handle_workflow_task(const v1::PollWorkflowTaskQueueResponse& task) {
  const std::string& type = task.workflow_type().name();
  const std::string& wid = task.workflow_execution().workflow_id();
  const std::string& run_id = task.workflow_execution().run_id();
  counters_.events_received += task.history().events_size();
  ReplayResult out;
  std::vector<v1::WorkflowUpdateRejection> rejections;
  std::optional<CachedRun> run = cache_.take(run_id);
  auto it = workflows_.find(type);
  if (it == workflows_.end()) {
    out = unhandled("workflow type " + type + " is not registered on worker " + options_.identity +
                    " (task queue " + options_.task_queue + ")");
  } else if (task.history().events().empty()) {
    out = unhandled("workflow task of " + wid + " carries no history events");
  } else {
    try {
      const int64_t first = task.history().events(0).event_id();
      const v1::PollWorkflowTaskQueueResponse* source = &task;
      v1::PollWorkflowTaskQueueResponse full;
      if (run && first != 1 && run->replayer->next_event_id() == first) {
        ++counters_.cache_hits;  // the run continues where its fiber waits
      } else {
        run.reset();  // a full history starts over; a cached run out of step is stale
        if (first != 1) {
          const auto& events = task.history().events();
          fetch_full_history(task,
                             task.started_event_id() > 0 ? task.started_event_id()
                                                         : events.Get(events.size() - 1).event_id(),
                             &full);
          source = &full;
          ++counters_.history_fetches;
          counters_.events_received += full.history().events_size();
        }
        ++counters_.full_replays;
        WorkflowInfo info;
        info.namespace_ = core_->options.ns;
        info.workflow_id = wid;
        info.run_id = run_id;
        info.workflow_type = type;
        info.task_queue = options_.task_queue;
        run = CachedRun{wid, run_id, std::make_unique<Replayer>(it->second, info, stacks_)};
        run->replayer->set_local_activities(&activities_);
      }
      // User code sees payloads decoded by the client's codecs, and its commands leave encoded.
      v1::PollWorkflowTaskQueueResponse scratch;
      const auto& t = decoded(core_->options.codecs, *source, &scratch);
      Replayer& replayer = *run->replayer;
      replayer.set_new_updates({t.updates().begin(), t.updates().end()});
      out = replayer.replay(t.history().events());
      rejections = replayer.update_rejections();
      for (auto& c : out.commands) {
        encode_outgoing(core_->options.codecs, &c);
      }
      for (auto& r : rejections) {
        encode_outgoing(core_->options.codecs, &r);
      }
      encode_outgoing(core_->options.codecs, &out.failure);
    } catch (const std::exception& e) {
      out = unhandled(std::string("replay failed: ") + e.what());
      run.reset();
    }
  }
  // Only a run whose code is still waiting is worth keeping; it goes back into the cache before
  // the answer, since the server may hand its next task to a sticky poller right after it.
  const bool keep = run && !out.task_failed && !run->replayer->closed() && !sticky_queue_.empty();
  std::vector<CachedRun> evicted;
  if (keep) {
    evicted = cache_.put(std::move(*run));
    counters_.evictions += static_cast<int64_t>(evicted.size());
  }
  run.reset();
  evicted.clear();  // unwinds the evicted runs' fibers, outside every lock

  grpc::Status st;
  if (out.task_failed) {
    auto verdict = task_warnings_.admit(
        run_id + "/failed/" + std::to_string(static_cast<int>(out.cause)),
        LogLimiter::Clock::now());
    if (verdict.log) {
      spdlog::warn("cairn worker: workflow task of {} (run {}, {}) failed: {}: {}; the server "
                   "retries it{}",
                   wid, run_id, type, v1::WorkflowTaskFailedCause_Name(out.cause),
                   out.failure.message(), LogLimiter::suffix(verdict));
    }
    v1::RespondWorkflowTaskFailedRequest req;
    req.set_task_token(task.task_token());
    req.set_cause(out.cause);
    *req.mutable_failure() = out.failure;
    req.set_identity(options_.identity);
    v1::RespondWorkflowTaskFailedResponse resp;
    st = call_with_retry([&](grpc::ClientContext* ctx) {
      return core_->stub->RespondWorkflowTaskFailed(ctx, req, &resp);
    });
  } else {
    v1::RespondWorkflowTaskCompletedRequest req;
    req.set_task_token(task.task_token());
    for (auto& c : out.commands) {
      *req.add_commands() = std::move(c);
    }
    for (auto& r : rejections) {
      *req.add_update_rejections() = std::move(r);
    }
    req.set_identity(options_.identity);
    if (keep) {
      req.mutable_sticky_attributes()->set_worker_task_queue(sticky_queue_);
      req.mutable_sticky_attributes()->set_schedule_to_start_timeout_ms(
          options_.sticky_schedule_to_start_timeout.count());
    }
    const int eager = request_eager_activities(&req);
    v1::RespondWorkflowTaskCompletedResponse resp;
    st = call_with_retry([&](grpc::ClientContext* ctx) {
      return core_->stub->RespondWorkflowTaskCompleted(ctx, req, &resp);
    });
    if (!st.ok()) {
      resp.Clear();  // no activity tasks: the reserved slots are given back
    }
    run_eager_activities(resp, eager);
    if (st.ok() && resp.rejected_cause() != v1::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED) {
      // The server refused the commands and recorded WorkflowTaskFailed; the run's next task
      // comes with the full history, so the cached state (which assumed the commands were
      // taken) must go.
      cache_.erase(run_id);
      auto verdict = task_warnings_.admit(
          run_id + "/rejected/" + std::to_string(static_cast<int>(resp.rejected_cause())),
          LogLimiter::Clock::now());
      if (verdict.log) {
        spdlog::warn("cairn worker: the server rejected the workflow task of {} (run {}, {}): "
                     "{}: {}; it retries the task with backoff{}",
                     wid, run_id, type, v1::WorkflowTaskFailedCause_Name(resp.rejected_cause()),
                     resp.rejection().message(), LogLimiter::suffix(verdict));
      }
    }
  }
  ++counters_.workflow_tasks;
  if (!st.ok()) {
    // The server times the task out and hands it out again, with the full history; the cached
    // state assumed the answer was taken.
    auto verdict = task_warnings_.admit(run_id + "/answer", LogLimiter::Clock::now());
    if (verdict.log) {
      spdlog::warn("cairn worker: answering the workflow task of {} (run {}) failed: {}: {}{}",
                   wid, run_id, status_code_name(st.error_code()), st.error_message(),
                   LogLimiter::suffix(verdict));
    }
    cache_.erase(run_id);
  }
}

void WorkerImpl::release_cached_runs() {
  std::vector<CachedRun> runs = cache_.clear();
  if (runs.empty()) {
    return;
  }
  // Bounded: one short call per run, and none once the server is unreachable.
  for (const CachedRun& r : runs) {
    v1::ResetStickyTaskQueueRequest req;
    req.set_namespace_(core_->options.ns);
    req.mutable_execution()->set_workflow_id(r.workflow_id);
    req.mutable_execution()->set_run_id(r.run_id);
    v1::ResetStickyTaskQueueResponse resp;
    auto ctx = make_context(std::chrono::seconds(2));
    grpc::Status st = core_->stub->ResetStickyTaskQueue(ctx.get(), req, &resp);
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE ||
        st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      spdlog::info(
          "cairn worker: server unreachable; the remaining {} cached runs fall back to "
          "task queue {} after the sticky timeout",
          runs.size(), options_.task_queue);
      break;
    }
  }
  runs.clear();  // unwinds the fibers
}

}  // namespace cairn::detail
