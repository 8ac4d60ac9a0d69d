// The history JSON export format: what `cairnctl history export` and `hello export` write, and
// what Replayer::replay_file() and `--replay FILE` read. One JSON object:
//   {"format": "cairn.history.v1", "workflow_id": "...", "run_id": "...",
//    "events": [ <HistoryEvent as protobuf JSON>, ... ]}
// Each event is google::protobuf::util::MessageToJsonString's output (lowerCamelCase names,
// enums by name, int64 as strings, payload bytes base64), one event per line. Payloads are
// exported as stored: encoded by the writer's codecs, so an encrypted history stays encrypted.
// Readers accept a bare {"events": [...]} too and ignore fields they do not know. Stateless.
#pragma once

#include <string>
#include <vector>

#include "cairn/errors.h"
#include "cairn/v1/history.pb.h"

namespace cairn {

inline constexpr char kHistoryJsonFormat[] = "cairn.history.v1";

// A recorded run: its ids (the run id seeds ctx.random() and ctx.uuid() on replay) and events.
struct WorkflowHistory {
  std::string workflow_id;
  std::string run_id;
  std::vector<v1::HistoryEvent> events;
};

// A history file that cannot be read or is not in the format above.
class HistoryFormatError : public Error {
 public:
  explicit HistoryFormatError(const std::string& message) : Error(message) {}
};

// The export format's text for `history`. Throws HistoryFormatError when an event cannot be
// printed (e.g. invalid UTF-8 in a string field).
std::string export_history_json(const WorkflowHistory& history);
std::string export_history_json(const std::vector<v1::HistoryEvent>& events,
                                const std::string& workflow_id, const std::string& run_id);
// Writes export_history_json(history) to `path` (replaced if it exists). Throws
// HistoryFormatError naming the path on I/O errors.
void save_history_json(const std::string& path, const WorkflowHistory& history);

// Parses the export format. Throws HistoryFormatError saying what is wrong (not JSON, no
// "events" array, event N not a HistoryEvent, an unknown "format").
WorkflowHistory parse_history_json(const std::string& text);
// Reads and parses `path`. Throws HistoryFormatError naming the path.
WorkflowHistory load_history_json(const std::string& path);

}  // namespace cairn
