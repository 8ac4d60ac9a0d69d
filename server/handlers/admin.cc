// Handlers: ResetWorkflowExecution, VerifyWorkflowExecution.
#include <algorithm>
#include <sstream>

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include "server/handlers/handlers.h"

namespace cairn::handlers {
namespace {

constexpr int kReadBatch = 1000;

// The run's events from the first, at most `upto` of them (0: all).
Result<std::vector<v1::HistoryEvent>> read_events(Engine& e, const RunKey& key, int64_t upto = 0) {
  std::vector<v1::HistoryEvent> events;
  int64_t from = 1;
  while (upto == 0 || from <= upto) {
    int limit =
        upto == 0 ? kReadBatch : static_cast<int>(std::min<int64_t>(kReadBatch, upto - from + 1));
    CAIRN_ASSIGN_OR_RETURN(EventPage page, e.store().read_events(key, EventId{from}, limit));
    for (auto& event : page.events) {
      events.push_back(std::move(event));
    }
    if (!page.more || page.events.empty()) {
      break;
    }
    from = events.back().event_id() + 1;
  }
  return events;
}

// One line per difference, "<field path>: stored <a>, from events <b>".
class DifferenceLines final : public google::protobuf::util::MessageDifferencer::Reporter {
 public:
  using SpecificField = google::protobuf::util::MessageDifferencer::SpecificField;
  explicit DifferenceLines(std::vector<std::string>* out) : out_(out) {}

  void ReportAdded(const google::protobuf::Message&, const google::protobuf::Message& rebuilt,
                   const std::vector<SpecificField>& path) override {
    out_->push_back(path_of(path) + ": missing from the stored state, from events " +
                    value_of(rebuilt, path));
  }
  void ReportDeleted(const google::protobuf::Message& stored, const google::protobuf::Message&,
                     const std::vector<SpecificField>& path) override {
    out_->push_back(path_of(path) + ": stored " + value_of(stored, path) + ", absent from events");
  }
  void ReportModified(const google::protobuf::Message& stored,
                      const google::protobuf::Message& rebuilt,
                      const std::vector<SpecificField>& path) override {
    if (!path.empty() && path.back().field != nullptr &&
        path.back().field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      return;  // the differing leaves are reported on their own
    }
    out_->push_back(path_of(path) + ": stored " + value_of(stored, path) + ", from events " +
                    value_of(rebuilt, path));
  }

 private:
  static std::string path_of(const std::vector<SpecificField>& path) {
    std::string out;
    for (const auto& f : path) {
      if (!out.empty()) {
        out += ".";
      }
      out += f.field != nullptr ? f.field->name() : std::to_string(f.unknown_field_number);
      if (f.field != nullptr && f.field->is_repeated() && f.index >= 0 && !f.field->is_map()) {
        out += "[" + std::to_string(f.index) + "]";
      }
    }
    return out;
  }
  // The leaf value as text (the differencer hands the root messages; walk the path).
  static std::string value_of(const google::protobuf::Message& root,
                              const std::vector<SpecificField>& path) {
    const google::protobuf::Message* m = &root;
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      const auto& f = path[i];
      if (f.field == nullptr ||
          f.field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
        return "?";
      }
      const auto* refl = m->GetReflection();
      if (f.field->is_repeated()) {
        int index = f.index;
        if (index < 0 || index >= refl->FieldSize(*m, f.field)) {
          return "?";
        }
        m = &refl->GetRepeatedMessage(*m, f.field, index);
      } else {
        m = &refl->GetMessage(*m, f.field);
      }
    }
    const auto& leaf = path.back();
    if (leaf.field == nullptr) {
      return "?";
    }
    const auto* refl = m->GetReflection();
    std::string text;
    if (leaf.field->is_repeated()) {
      int index = leaf.index;
      if (index < 0 || index >= refl->FieldSize(*m, leaf.field)) {
        return "(none)";
      }
      google::protobuf::TextFormat::PrintFieldValueToString(*m, leaf.field, index, &text);
    } else {
      google::protobuf::TextFormat::PrintFieldValueToString(*m, leaf.field, -1, &text);
    }
    std::replace(text.begin(), text.end(), '\n', ' ');
    if (text.size() > 200) {
      text = text.substr(0, 200) + "...";
    }
    return text;
  }

  std::vector<std::string>* out_;
};

}  // namespace

Status verify_workflow(Engine& e, const v1::VerifyWorkflowExecutionRequest& req,
                       v1::VerifyWorkflowExecutionResponse* resp) {
  const std::string ns = ns_or_default(req.namespace_());
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns));
  CAIRN_ASSIGN_OR_RETURN(RunKey key,
                         e.resolve(ns, req.execution().workflow_id(), req.execution().run_id()));
  // From the store, not the cache: the question is what is on disk. No lock: a state and the
  // events before its next_event_id were written in one batch, and events never change, so the
  // events up to there are exactly the ones that state was built from, whatever lands after.
  CAIRN_ASSIGN_OR_RETURN(v1::RunState stored, e.store().load_run(key));
  const int64_t last = stored.next_event_id() - 1;
  CAIRN_ASSIGN_OR_RETURN(auto events, read_events(e, key, std::max<int64_t>(last, 1)));
  if (static_cast<int64_t>(events.size()) < last && !e.store().load_run(key).ok()) {
    return not_found("run " + key.debug_string() + " was deleted while being verified");
  }
  resp->set_run_id(key.run_id.value);
  resp->set_event_count(static_cast<int64_t>(events.size()));
  if (stored.has_schedule()) {
    // A schedule's entity has no events: its state is checked for what a fire relies on.
    const v1::ScheduleState& s = stored.schedule();
    if (!events.empty()) {
      resp->add_differences("schedule entity has " + std::to_string(events.size()) +
                            " events; it should have none");
    }
    if (stored.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING && s.next_timer_seq() != 0 &&
        s.next_fire_ms() < s.next_nominal_ms()) {
      resp->add_differences("schedule: next_fire_ms is before next_nominal_ms");
    }
    return Status();
  }
  auto rebuilt = rebuild_from_events(events, key.ns, key.workflow_id, key.run_id.value);
  if (!rebuilt.ok()) {
    resp->add_differences("history does not replay: " + rebuilt.status().message());
    return Status();
  }
  // Events that arrived during the started workflow task are applied to the stored state ahead
  // of their place in history: apply them to the rebuilt one too.
  MutableState ms = std::move(rebuilt).value();
  for (const auto& buffered : stored.buffered_events()) {
    Status st = ms.apply(buffered);
    if (!st.ok()) {
      resp->add_differences("buffered event does not apply: " + st.message());
      return Status();
    }
  }
  v1::RunState want = event_derived_state(stored);
  v1::RunState got = event_derived_state(std::move(ms).release());
  std::vector<std::string> lines;
  {
    DifferenceLines reporter(&lines);
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesTo(&reporter);
    differ.Compare(want, got);
  }
  for (auto& line : lines) {
    resp->add_differences(std::move(line));
  }
  return Status();
}

Status reset_workflow(Engine& e, const v1::ResetWorkflowExecutionRequest& req,
                      v1::ResetWorkflowExecutionResponse* resp) {
  const std::string ns = ns_or_default(req.namespace_());
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns));
  const auto& execution = req.workflow_execution();
  if (req.reason().size() > 1024) {
    return invalid_argument("reason must be at most 1024 bytes");
  }
  CAIRN_RETURN_IF_ERROR(refuse_schedule_entity(execution.workflow_id()));
  CAIRN_ASSIGN_OR_RETURN(RunKey key, e.resolve(ns, execution.workflow_id(), execution.run_id()));
  WorkflowKey wk{key.shard, key.ns, key.workflow_id};
  auto lock = e.lock_workflow(wk);
  auto current = e.store().load_current(wk);
  CAIRN_RETURN_IF_ERROR(current.status());
  if (!req.request_id().empty() && current->start_request_id() == req.request_id()) {
    resp->set_run_id(current->run_id());  // a retried reset: the run the first call made
    return Status();
  }
  CAIRN_ASSIGN_OR_RETURN(auto events, read_events(e, key));
  int64_t point = req.workflow_task_finish_event_id();
  if (point == 0) {
    point = last_completed_workflow_task(events);
    if (point == 0) {
      return failed_precondition("run " + key.debug_string() +
                                 " has no completed workflow task to reset to");
    }
  }
  // One write (the multi-run rule): the open run's termination and the reset run's start
  // commit together or not at all, so an error answer (a bad reset point, a failed sync)
  // changes nothing, and no crash leaves the old run terminated without the new one. The
  // termination comes first; the new run's start then takes the current-run pointer.
  RunKey new_key{key.shard, key.ns, key.workflow_id, RunId{e.new_run_id()}};
  const bool reapply = req.reset_reapply_type() != v1::RESET_REAPPLY_TYPE_NONE;
  std::vector<Engine::RunStep> steps;
  if (current->status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
    RunKey open{key.shard, key.ns, key.workflow_id, RunId{current->run_id()}};
    steps.push_back(Engine::RunStep{open, /*create=*/false, [&](Engine::Scope& s) {
                                      v1::Payloads none;
                                      return cairn::terminate_workflow(
                                          s.ms,
                                          "reset to run " + new_key.run_id.value +
                                              (req.reason().empty() ? "" : ": " + req.reason()),
                                          none, req.identity(), s.env, &s.effects);
                                    }});
  }
  steps.push_back(Engine::RunStep{new_key, /*create=*/true, [&](Engine::Scope& s) {
                                    return reset_run(events, point, reapply, req.reason(),
                                                     req.request_id(), new_key, s.env, s.ms,
                                                     &s.effects);
                                  }});
  CAIRN_RETURN_IF_ERROR(e.run_multi_locked(std::move(steps)));
  resp->set_run_id(new_key.run_id.value);
  return Status();
}

}  // namespace cairn::handlers
