// Handlers: DescribeWorkflowExecution and GetWorkflowExecutionHistory (one page; the service
// turns "nothing yet" into a long-poll).
#include "proto/enum_names.h"
#include "server/handlers/handlers.h"

namespace cairn::handlers {
namespace {

constexpr int kDefaultPageSize = 1000;
constexpr int kMaxPageSize = 10000;

std::string encode_page_token(int64_t next_event_id) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(next_event_id & 0xff);
    next_event_id >>= 8;
  }
  return out;
}

Result<int64_t> decode_page_token(const std::string& token) {
  if (token.empty()) {
    return int64_t{1};
  }
  if (token.size() != 8) {
    return invalid_argument("malformed next_page_token: pass back the token a previous page returned");
  }
  int64_t v = 0;
  for (unsigned char c : token) {
    v = (v << 8) | c;
  }
  if (v < 1) {
    return invalid_argument("malformed next_page_token");
  }
  return v;
}

v1::PendingActivityState activity_state(const v1::ActivityInfo& a) {
  if (a.cancel_requested()) {
    return v1::PENDING_ACTIVITY_STATE_CANCEL_REQUESTED;
  }
  return a.started_time_ms() != 0 ? v1::PENDING_ACTIVITY_STATE_STARTED
                                  : v1::PENDING_ACTIVITY_STATE_SCHEDULED;
}

}  // namespace

Status describe_workflow(Engine& e, const v1::DescribeWorkflowExecutionRequest& req,
                         v1::DescribeWorkflowExecutionResponse* resp) {
  std::string ns = ns_or_default(req.namespace_());
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns));
  CAIRN_ASSIGN_OR_RETURN(RunKey key, e.resolve(ns, req.execution().workflow_id(), req.execution().run_id()));
  CAIRN_ASSIGN_OR_RETURN(v1::RunState st, e.read_state(key));
  auto* info = resp->mutable_workflow_execution_info();
  info->mutable_execution()->set_workflow_id(st.workflow_id());
  info->mutable_execution()->set_run_id(st.run_id());
  *info->mutable_type() = st.workflow_type();
  info->set_start_time_ms(st.start_time_ms());
  info->set_close_time_ms(st.close_time_ms());
  info->set_status(st.status());
  info->set_history_length(st.next_event_id() - 1);
  info->set_task_queue(st.task_queue());
  *info->mutable_memo() = st.memo();
  *info->mutable_search_attributes() = st.search_attributes();
  if (st.has_workflow_task_failure()) {
    // As the listing's record has them (history/visibility.cc).
    const v1::WorkflowTaskFailureInfo& f = st.workflow_task_failure();
    info->set_task_failure(task_failure_name(f));
    info->set_task_failure_message(f.failure().message());
    info->set_task_failure_attempt(f.attempt());
    *resp->mutable_workflow_task_failure() = f;
  }
  for (const auto& [initiated, child] : st.children()) {
    auto* c = resp->add_pending_children();
    c->set_namespace_(child.namespace_());
    c->set_workflow_id(child.workflow_id());
    c->set_run_id(child.run_id());
    c->set_workflow_type(child.workflow_type().name());
    c->set_initiated_event_id(initiated);
  }
  std::vector<const v1::ActivityInfo*> acts;
  for (auto& [id, a] : st.activities()) {
    acts.push_back(&a);
  }
  std::sort(acts.begin(), acts.end(), [](auto* a, auto* b) {
    return a->scheduled_event_id() < b->scheduled_event_id();
  });
  for (const v1::ActivityInfo* a : acts) {
    auto* p = resp->add_pending_activities();
    p->set_activity_id(a->activity_id());
    *p->mutable_activity_type() = a->activity_type();
    p->set_state(activity_state(*a));
    *p->mutable_heartbeat_details() = a->heartbeat_details();
    p->set_last_heartbeat_time_ms(a->last_heartbeat_time_ms());
    p->set_last_started_time_ms(a->started_time_ms());
    p->set_attempt(a->attempt());
    p->set_maximum_attempts(a->retry_policy().maximum_attempts());
    p->set_scheduled_time_ms(a->current_attempt_scheduled_time_ms());
    if (a->schedule_to_close_timeout_ms() > 0) {
      p->set_expiration_time_ms(a->scheduled_time_ms() + a->schedule_to_close_timeout_ms());
    }
    *p->mutable_last_failure() = a->last_failure();
    p->set_last_worker_identity(a->started_identity());
    p->set_scheduled_event_id(a->scheduled_event_id());
    p->set_next_attempt_schedule_time_ms(a->waiting_for_retry() ? a->next_attempt_time_ms() : 0);
    p->set_task_queue(a->task_queue());
    p->set_heartbeat_timeout_ms(a->heartbeat_timeout_ms());
    p->set_start_to_close_timeout_ms(a->start_to_close_timeout_ms());
    p->set_schedule_to_close_timeout_ms(a->schedule_to_close_timeout_ms());
    p->set_schedule_to_start_timeout_ms(a->schedule_to_start_timeout_ms());
    p->set_current_attempt_scheduled_time_ms(a->current_attempt_scheduled_time_ms());
  }
  for (auto& [id, t] : st.timers()) {
    auto* p = resp->add_pending_timers();
    p->set_timer_id(t.timer_id());
    p->set_fire_time_ms(t.fire_time_ms());
    p->set_started_event_id(t.started_event_id());
  }
  if (st.has_workflow_task()) {
    auto* w = resp->mutable_pending_workflow_task();
    w->set_scheduled_event_id(st.workflow_task().scheduled_event_id());
    w->set_started_event_id(st.workflow_task().started_event_id());
    w->set_attempt(st.workflow_task().attempt());
    w->set_scheduled_time_ms(st.workflow_task().scheduled_time_ms());
    w->set_started_time_ms(st.workflow_task().started_time_ms());
    w->set_task_queue(st.workflow_task().task_queue());
    w->set_identity(st.workflow_task().identity());
  }
  resp->set_buffered_signal_count(st.buffered_events_size());
  resp->set_cancel_requested(st.cancel_requested());
  return Status();
}

Status read_history(Engine& e, const v1::GetWorkflowExecutionHistoryRequest& req,
                    v1::GetWorkflowExecutionHistoryResponse* resp, std::optional<RunKey>* wait_on) {
  std::string ns = ns_or_default(req.namespace_());
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns));
  CAIRN_ASSIGN_OR_RETURN(RunKey key, e.resolve(ns, req.execution().workflow_id(), req.execution().run_id()));
  CAIRN_ASSIGN_OR_RETURN(v1::RunState st, e.read_state(key));
  resp->set_run_id(key.run_id.value);
  bool open = st.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING;

  if (req.history_event_filter_type() == v1::HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT) {
    if (open) {
      if (req.wait_new_event()) {
        *wait_on = key;
      }
      return Status();
    }
    CAIRN_ASSIGN_OR_RETURN(auto page, e.store().read_events(key, EventId{st.close_event_id()}, 1));
    if (page.events.empty()) {
      return data_loss("run " + key.debug_string() + ": close event " +
                       std::to_string(st.close_event_id()) + " missing from history");
    }
    *resp->mutable_history()->add_events() = std::move(page.events.front());
    return Status();
  }

  int limit = req.maximum_page_size() <= 0 ? kDefaultPageSize
                                           : std::min(req.maximum_page_size(), kMaxPageSize);
  CAIRN_ASSIGN_OR_RETURN(int64_t from, decode_page_token(req.next_page_token()));
  if (from >= st.next_event_id()) {
    // Nothing new yet.
    if (open && req.wait_new_event()) {
      *wait_on = key;
    } else if (open) {
      resp->set_next_page_token(encode_page_token(from));
    }
    return Status();
  }
  CAIRN_ASSIGN_OR_RETURN(auto page, e.store().read_events(key, EventId{from}, limit));
  int64_t next = from;
  for (auto& ev : page.events) {
    next = ev.event_id() + 1;
    *resp->mutable_history()->add_events() = std::move(ev);
  }
  // A token means "more may come": more stored events, or an open run that will grow.
  if (page.more || open) {
    resp->set_next_page_token(encode_page_token(next));
  }
  return Status();
}

}  // namespace cairn::handlers
