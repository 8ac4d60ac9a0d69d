// Queries and updates in the replayer: handler registration, where a query's replay runs the
// code and where it stops, the built-in __stack_trace, and updates run at the workflow task that
// delivered them (validator, accept, handler, complete) — again on every replay.
#include <ctime>
#include <set>
#include <stdexcept>

#include "failure.h"
#include "replayer.h"

namespace cairn::detail {
namespace {

constexpr char kStackTrace[] = "__stack_trace";

std::string known(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i ? ", " : "") + names[i];
  }
  return out + "]";
}

int64_t closing_task_completed_id(const v1::HistoryEvent& e) {
  switch (e.event_type()) {
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      return e.workflow_execution_completed_event_attributes().workflow_task_completed_event_id();
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
      return e.workflow_execution_failed_event_attributes().workflow_task_completed_event_id();
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
      return e.workflow_execution_canceled_event_attributes().workflow_task_completed_event_id();
    case v1::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return e.workflow_execution_continued_as_new_event_attributes()
          .workflow_task_completed_event_id();
    default:
      return 0;
  }
}

}  // namespace

void WorkflowCore::set_query_handler(const std::string&, PayloadHandler) {
  throw std::logic_error("cairn: query handlers are not supported here");
}
void WorkflowCore::set_update_handler(const std::string&, PayloadHandler, PayloadHandler) {
  throw std::logic_error("cairn: update handlers are not supported here");
}

std::string Replayer::format_time(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void Replayer::set_query_handler(const std::string& name, PayloadHandler handler) {
  if (name == kStackTrace) {
    throw std::invalid_argument("cairn: query " + name + " is built in");
  }
  query_handlers_[name] = std::move(handler);
}

void Replayer::set_update_handler(const std::string& name, PayloadHandler handler,
                                  PayloadHandler validator) {
  update_handlers_[name] = UpdateHandlers{std::move(handler), std::move(validator)};
}

void Replayer::prepare_handlers(const std::vector<const v1::HistoryEvent*>& events,
                                std::vector<bool>& runs, size_t* end) {
  for (const v1::HistoryEvent* e : events) {
    if (e->event_type() == v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) {
      const auto& a = e->workflow_execution_update_accepted_event_attributes();
      v1::WorkflowUpdateRequest r;
      r.set_update_id(a.update_id());
      r.set_name(a.name());
      *r.mutable_input() = a.input();
      accepted_at_[a.accepted_request_sequencing_event_id()].push_back(std::move(r));
    }
  }
  if (query_ == nullptr) {
    return;
  }
  // A query runs the code only at tasks that completed (the state the workflow has committed
  // to), and stops before the task that closed the run: the code returned there, and the
  // handlers' captured locals would be gone.
  std::set<int64_t> completed;
  int64_t closing_completed = 0;
  for (const v1::HistoryEvent* e : events) {
    if (e->event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      completed.insert(e->workflow_task_completed_event_attributes().started_event_id());
    }
    if (int64_t c = closing_task_completed_id(*e); c != 0) {
      closing_completed = c;
    }
  }
  int64_t closing_started = 0;
  for (const v1::HistoryEvent* e : events) {
    if (e->event_id() == closing_completed) {
      closing_started = e->workflow_task_completed_event_attributes().started_event_id();
    }
  }
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i]->event_type() != v1::EVENT_TYPE_WORKFLOW_TASK_STARTED) {
      continue;
    }
    if (events[i]->event_id() == closing_started) {
      *end = i;
      break;
    }
    runs[i] = runs[i] && completed.contains(events[i]->event_id());
  }
}

bool Replayer::run_updates(const v1::HistoryEvent& e, bool last_task) {
  bool ran = false;
  auto it = accepted_at_.find(e.event_id());
  if (it != accepted_at_.end()) {
    for (const v1::WorkflowUpdateRequest& r : it->second) {
      run_update(r.update_id(), r.name(), r.input());
      ran = true;
    }
  }
  if (!last_task || query_ != nullptr) {
    return ran;
  }
  for (const v1::WorkflowUpdateRequest& r : new_updates_) {
    auto reject = [&](const std::string& message) {
      v1::WorkflowUpdateRejection rej;
      rej.set_update_id(r.update_id());
      rej.mutable_failure()->set_message(message);
      rej.mutable_failure()->set_source(kFailureSource);
      rejections_.push_back(std::move(rej));
    };
    if (closed_) {
      reject("update " + r.name() + " rejected: the workflow is closing");
      continue;
    }
    auto h = update_handlers_.find(r.name());
    if (h == update_handlers_.end()) {
      std::vector<std::string> names;
      for (const auto& [name, fns] : update_handlers_) {
        names.push_back(name);
      }
      reject("unknown update type " + r.name() + "; known update types: " + known(names));
      continue;
    }
    if (h->second.validator) {
      try {
        h->second.validator(r.input());
      } catch (const std::exception& ex) {
        reject(ex.what());
        continue;
      }
    }
    run_update(r.update_id(), r.name(), r.input());
    ran = true;
  }
  return ran;
}

void Replayer::run_update(const std::string& update_id, const std::string& name,
                          const v1::Payloads& input) {
  v1::Command accept;
  accept.set_command_type(v1::COMMAND_TYPE_ACCEPT_WORKFLOW_UPDATE);
  accept.mutable_accept_workflow_update_command_attributes()->set_update_id(update_id);
  issue(std::move(accept));
  v1::Command done;
  done.set_command_type(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_UPDATE);
  auto* a = done.mutable_complete_workflow_update_command_attributes();
  a->set_update_id(update_id);
  auto h = update_handlers_.find(name);
  try {
    if (h == update_handlers_.end()) {
      throw ApplicationError("update " + name + " has no handler in this workflow code");
    }
    *a->mutable_result() = h->second.handler(input);
  } catch (const NonDeterminismError&) {
    fail_task(v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
              to_failure(std::current_exception()));
    return;
  } catch (...) {
    *a->mutable_failure() = to_failure(std::current_exception());
  }
  issue(std::move(done));
}

v1::RespondQueryTaskCompletedRequest Replayer::answer_query() {
  v1::RespondQueryTaskCompletedRequest out;
  out.set_query_id(query_->query_id());
  auto fail = [&](v1::QueryResultType type, const std::string& message) {
    out.set_result_type(type);
    out.set_error_message(message);
    return out;
  };
  if (failed_) {
    return fail(v1::QUERY_RESULT_TYPE_FAILED, "replay failed: " + failed_->failure.message());
  }
  const std::string& type = query_->query_type();
  if (query_->update_validation()) {
    auto h = update_handlers_.find(type);
    if (h == update_handlers_.end()) {
      std::vector<std::string> names;
      for (const auto& [name, fns] : update_handlers_) {
        names.push_back(name);
      }
      return fail(v1::QUERY_RESULT_TYPE_UNKNOWN_TYPE,
                  "unknown update type " + type + "; known update types: " + known(names));
    }
    if (h->second.validator) {
      try {
        h->second.validator(query_->query_args());
      } catch (const std::exception& ex) {
        return fail(v1::QUERY_RESULT_TYPE_FAILED, ex.what());
      }
    }
    out.set_result_type(v1::QUERY_RESULT_TYPE_ANSWERED);
    return out;
  }
  if (type == kStackTrace) {
    std::string trace = "workflow " + info_.workflow_type + " (" + info_.workflow_id + "): ";
    if (closed_ || (fiber_ && fiber_->finished())) {
      trace += "finished";
    } else if (!fiber_) {
      trace += "not started yet";
    } else {
      std::string what = blocked_on_;
      if (blocked_state_ != nullptr) {
        what = blocked_state_->what.empty() ? std::string("a future") : blocked_state_->what;
      }
      trace += "waiting for " + what;
    }
    out.set_result_type(v1::QUERY_RESULT_TYPE_ANSWERED);
    *out.mutable_query_result() = to_payloads(trace);
    return out;
  }
  auto h = query_handlers_.find(type);
  if (h == query_handlers_.end()) {
    std::vector<std::string> names{kStackTrace};
    for (const auto& [name, fn] : query_handlers_) {
      names.push_back(name);
    }
    return fail(v1::QUERY_RESULT_TYPE_UNKNOWN_TYPE, "known query types: " + known(names));
  }
  try {
    *out.mutable_query_result() = h->second(query_->query_args());
  } catch (const std::exception& ex) {
    return fail(v1::QUERY_RESULT_TYPE_FAILED, ex.what());
  }
  out.set_result_type(v1::QUERY_RESULT_TYPE_ANSWERED);
  return out;
}

}  // namespace cairn::detail
