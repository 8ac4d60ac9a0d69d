// cairn::Replayer: whole recorded runs replayed through registered workflow code, with a
// verdict (OK, non-determinism with the event, other failure, bad input).
#include <exception>
#include <string>

#include "cairn/history.h"
#include "cairn/replayer.h"
#include "codec_boundary.h"
#include "replayer.h"

namespace cairn {
namespace {

ReplayVerdict with_kind(ReplayVerdict v, ReplayVerdict::Kind kind, std::string message) {
  v.kind = kind;
  v.message = std::move(message);
  return v;
}

std::string registered_names(const std::map<std::string, detail::WorkflowFunction>& workflows) {
  std::string names;
  for (const auto& [name, fn] : workflows) {
    names += (names.empty() ? "" : ", ") + name;
  }
  return names.empty() ? "none" : names;
}

}  // namespace

Replayer::Replayer(ReplayerOptions options) : options_(std::move(options)) {}

void Replayer::register_workflow_payloads(const std::string& name, detail::WorkflowFunction fn) {
  workflows_[name] = std::move(fn);
}

ReplayVerdict Replayer::replay(const std::vector<v1::HistoryEvent>& events,
                               const std::string& workflow_id, const std::string& run_id) const {
  return replay(WorkflowHistory{workflow_id, run_id, events});
}

ReplayVerdict Replayer::replay(const WorkflowHistory& h) const {
  return replay_with(h, options_.codecs);
}

ReplayVerdict Replayer::replay_with(const WorkflowHistory& h, const CodecChain& codecs) const {
  using Kind = ReplayVerdict::Kind;
  ReplayVerdict v;
  v.workflow_id = h.workflow_id;
  v.run_id = h.run_id;
  v.event_count = h.events.size();
  if (h.events.empty()) {
    return with_kind(v, Kind::kBadInput, "bad history: it has no events");
  }
  const v1::HistoryEvent& first = h.events.front();
  if (first.event_type() != v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) {
    return with_kind(v, Kind::kBadInput,
                     "bad history: event " + std::to_string(first.event_id()) + " is " +
                         event_type_name(first.event_type()) +
                         ", expected WorkflowExecutionStarted first");
  }
  v.workflow_type = first.workflow_execution_started_event_attributes().workflow_type().name();
  auto fn = workflows_.find(v.workflow_type);
  if (fn == workflows_.end()) {
    return with_kind(v, Kind::kBadInput,
                     "bad history: workflow type " + v.workflow_type +
                         " is not registered (registered: " + registered_names(workflows_) + ")");
  }

  std::vector<v1::HistoryEvent> scratch;
  const std::vector<v1::HistoryEvent>* events = &h.events;
  try {
    if (!codecs.empty()) {
      scratch = h.events;
      for (auto& e : scratch) {
        decode_payloads_in(codecs, &e);
      }
      events = &scratch;
    }
  } catch (const std::exception& e) {
    return with_kind(v, Kind::kFailed,
                     std::string("replay failed: cannot decode the history's payloads: ") +
                         e.what());
  }

  WorkflowInfo info;
  info.namespace_ = options_.ns;
  info.workflow_id = h.workflow_id;
  info.run_id = h.run_id;
  info.workflow_type = v.workflow_type;
  ReplayResult r;
  try {
    detail::Replayer replayer(fn->second, info);
    r = replayer.replay(*events);
  } catch (const std::exception& e) {
    return with_kind(v, Kind::kFailed, std::string("replay failed: ") + e.what());
  }
  if (r.task_failed) {
    if (r.non_determinism) {
      v.non_determinism = r.non_determinism;
      return with_kind(v, Kind::kNonDeterminism, r.non_determinism->message);
    }
    if (r.cause == v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR) {
      // Raised by workflow code itself (NonDeterminismError): no structured sides.
      v.non_determinism = NonDeterminism{0, "", "", r.failure.message()};
      return with_kind(v, Kind::kNonDeterminism, r.failure.message());
    }
    return with_kind(v, Kind::kFailed, "replay failed: " + r.failure.message());
  }
  // Commands left over are new only while the last workflow task is still running; after a
  // completed task every command the code issued must have its event.
  const v1::HistoryEvent& last = events->back();
  if (!r.commands.empty() && last.event_type() != v1::EVENT_TYPE_WORKFLOW_TASK_STARTED) {
    NonDeterminism nd;
    nd.event_id = last.event_id() + 1;
    nd.expected = "no further event (the history ends at event " +
                  std::to_string(last.event_id()) + ")";
    nd.actual = describe_command(r.commands.front());
    nd.message = "non-determinism at event " + std::to_string(nd.event_id) + ": history has " +
                 nd.expected + ", workflow code issued " + nd.actual;
    v.non_determinism = nd;
    return with_kind(v, Kind::kNonDeterminism, nd.message);
  }
  return with_kind(v, Kind::kOk, "replay OK: " + std::to_string(v.event_count) + " events");
}

ReplayVerdict Replayer::replay_file(const std::string& path) const {
  WorkflowHistory h;
  try {
    h = load_history_json(path);
  } catch (const HistoryFormatError& e) {
    ReplayVerdict v;
    return with_kind(v, ReplayVerdict::Kind::kBadInput, std::string("bad history: ") + e.what());
  }
  return replay(h);
}

ReplayVerdict Replayer::replay_from_server(Client& client, const std::string& workflow_id,
                                           const std::string& run_id) const {
  WorkflowHistory h;
  h.workflow_id = workflow_id;
  h.run_id = run_id;
  if (h.run_id.empty()) {
    // The run id seeds ctx.random() and ctx.uuid(): replay needs the real one.
    h.run_id = client.handle(workflow_id).describe().workflow_execution_info().execution().run_id();
  }
  h.events = client.handle(workflow_id, h.run_id).history();
  return replay_with(h, options_.codecs.empty() ? client.options().codecs : options_.codecs);
}

}  // namespace cairn
