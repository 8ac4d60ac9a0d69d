// The history JSON export format (see cairn/history_json.h).
#include "cairn/history_json.h"

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace cairn {

std::string export_history_json(const std::vector<v1::HistoryEvent>& events,
                                const std::string& workflow_id, const std::string& run_id) {
  std::string out = "{\"format\": " + nlohmann::json(kHistoryJsonFormat).dump() +
                    ",\n \"workflow_id\": " + nlohmann::json(workflow_id).dump() +
                    ",\n \"run_id\": " + nlohmann::json(run_id).dump() + ",\n \"events\": [";
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;  // canonical lowerCamelCase, as protoc documents
  for (size_t i = 0; i < events.size(); ++i) {
    std::string line;
    auto st = google::protobuf::util::MessageToJsonString(events[i], &line, options);
    if (!st.ok()) {
      throw HistoryFormatError("history export: event " + std::to_string(events[i].event_id()) +
                               ": " + st.ToString());
    }
    out += i == 0 ? "\n  " : ",\n  ";
    out += line;
  }
  out += "\n ]}\n";
  return out;
}

std::string export_history_json(const WorkflowHistory& history) {
  return export_history_json(history.events, history.workflow_id, history.run_id);
}

void save_history_json(const std::string& path, const WorkflowHistory& history) {
  std::string text = export_history_json(history);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) {
    throw HistoryFormatError("history export: cannot write " + path);
  }
}

WorkflowHistory parse_history_json(const std::string& text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw HistoryFormatError(std::string("not a history: invalid JSON: ") + e.what());
  }
  if (!doc.is_object()) {
    throw HistoryFormatError("not a history: expected a JSON object with an \"events\" array");
  }
  if (auto it = doc.find("format"); it != doc.end()) {
    if (!it->is_string() || it->get<std::string>() != kHistoryJsonFormat) {
      throw HistoryFormatError("unknown history format " + it->dump() + " (this SDK reads " +
                               kHistoryJsonFormat + ")");
    }
  }
  WorkflowHistory h;
  for (const char* key : {"workflow_id", "run_id"}) {
    auto it = doc.find(key);
    if (it != doc.end() && !it->is_string()) {
      throw HistoryFormatError(std::string("not a history: \"") + key + "\" must be a string");
    }
  }
  h.workflow_id = doc.value("workflow_id", "");
  h.run_id = doc.value("run_id", "");
  auto events = doc.find("events");
  if (events == doc.end() || !events->is_array()) {
    throw HistoryFormatError("not a history: no \"events\" array");
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // written by a newer version: what we know suffices
  h.events.reserve(events->size());
  for (size_t i = 0; i < events->size(); ++i) {
    v1::HistoryEvent e;
    auto st = google::protobuf::util::JsonStringToMessage((*events)[i].dump(), &e, options);
    if (!st.ok()) {
      throw HistoryFormatError("not a history: events[" + std::to_string(i) +
                               "] is not a HistoryEvent: " + st.ToString());
    }
    h.events.push_back(std::move(e));
  }
  return h;
}

WorkflowHistory load_history_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw HistoryFormatError("cannot read history file " + path);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  try {
    return parse_history_json(buf.str());
  } catch (const HistoryFormatError& e) {
    throw HistoryFormatError(path + ": " + e.what());
  }
}

}  // namespace cairn
