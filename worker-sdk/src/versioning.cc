// Versioning (ctx.patched / ctx.deprecate_patch), Temporal's rule: a first execution takes the
// new path and records a "Version" marker; replay takes the new path only where the replayed
// task's recorded commands include the marker, so runs started by old code keep their old path.
#include "options_check.h"
#include "replayer.h"

namespace cairn::detail {
namespace {

constexpr char kDeprecatedKey[] = "deprecated";

bool is_version_marker(const v1::HistoryEvent& e) {
  return e.event_type() == v1::EVENT_TYPE_MARKER_RECORDED &&
         e.marker_recorded_event_attributes().marker_name() == kVersionMarker;
}

std::string marker_id(const google::protobuf::Map<std::string, v1::Payloads>& details) {
  auto it = details.find(kMarkerIdKey);
  if (it == details.end()) {
    return "";
  }
  try {
    return from_payloads<std::string>(it->second);
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

void Replayer::scan_patch_markers(const std::vector<const v1::HistoryEvent*>& events,
                                  const std::vector<bool>& runs) {
  // A task's commands are recorded after its WorkflowTaskStarted: each marker belongs to the
  // last task before it that the code runs at (failed tasks recorded nothing).
  int64_t task = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (runs[i]) {
      task = events[i]->event_id();
    } else if (is_version_marker(*events[i])) {
      task_patches_[task].insert(marker_id(events[i]->marker_recorded_event_attributes().details()));
    }
  }
}

bool Replayer::patched(const std::string& patch_id, bool deprecated) {
  auto known = patches_.find(patch_id);
  if (known != patches_.end()) {
    return known->second;  // one answer per run, and one marker
  }
  bool recorded = current_patches_.count(patch_id) > 0;
  bool result = !replaying_ || recorded;
  patches_[patch_id] = result;
  if (result) {
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_RECORD_MARKER);
    auto* a = c.mutable_record_marker_command_attributes();
    a->set_marker_name(kVersionMarker);
    (*a->mutable_details())[kMarkerIdKey] = to_payloads(patch_id);
    (*a->mutable_details())[kDeprecatedKey] = to_payloads(deprecated);
    issue(std::move(c));
  }
  return result;
}

void Replayer::upsert_search_attributes(const PayloadMap& attributes) {
  check_search_attribute_names(attributes, "upsert_search_attributes", "attributes");
  if (attributes.empty()) {
    return;
  }
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
  auto* a = c.mutable_upsert_workflow_search_attributes_command_attributes();
  for (const auto& [name, value] : attributes) {
    (*a->mutable_search_attributes())[name] = value;
    auto encoding = value.metadata().find("encoding");
    if (encoding != value.metadata().end() && encoding->second == "binary/null") {
      info_.search_attributes.erase(name);
    } else {
      info_.search_attributes[name] = value;
    }
  }
  issue(std::move(c));
}

bool Replayer::skips_patch_marker(const v1::HistoryEvent& e) const {
  if (!is_version_marker(e)) {
    return false;
  }
  if (pending_.empty()) {
    return true;
  }
  const v1::Command& c = pending_.front().command;
  if (c.command_type() != v1::COMMAND_TYPE_RECORD_MARKER ||
      c.record_marker_command_attributes().marker_name() != kVersionMarker) {
    return true;
  }
  return marker_id(c.record_marker_command_attributes().details()) !=
         marker_id(e.marker_recorded_event_attributes().details());
}

}  // namespace cairn::detail
