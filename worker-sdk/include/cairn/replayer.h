// Replaying without a server. replay(): one workflow function over a run's history up to the
// current WorkflowTaskStarted; out come the commands the worker would send, or why the task
// fails. Replayer: registered workflows over whole recorded runs (from a server, an exported
// JSON file, or events), with a verdict — the check that a code change keeps old runs
// replayable (tests, `--replay FILE`, cairnctl). Thread-safe: each call is independent.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cairn/client.h"
#include "cairn/history_json.h"
#include "cairn/v1/command.pb.h"
#include "cairn/v1/history.pb.h"
#include "cairn/worker.h"

namespace cairn {

// Where replayed workflow code parted ways with its history.
struct NonDeterminism {
  int64_t event_id = 0;  // the event history has there (the last event + 1: history ended)
  std::string expected;  // what history has, e.g. "ActivityTaskScheduled(hello.compose, id 1)"
  std::string actual;    // what the code did, e.g. "ScheduleActivityTask(hello.decorate, id 1)"
  std::string message;   // "non-determinism at event 5: history has ..., workflow code issued ..."
};

struct ReplayResult {
  bool task_failed = false;
  // Set when the task failed because the code did not match history.
  std::optional<NonDeterminism> non_determinism;
  // When task_failed: why, as RespondWorkflowTaskFailed reports it.
  v1::WorkflowTaskFailedCause cause = v1::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED;
  v1::Failure failure;
  // Otherwise: the commands of the current workflow task, in the order the code issued them.
  std::vector<v1::Command> commands;
};

// `info` needs workflow_id and run_id (the seed of ctx.random() and ctx.uuid()); the rest comes
// from the history's WorkflowExecutionStarted event.
ReplayResult replay_workflow_task(const detail::WorkflowFunction& fn, const WorkflowInfo& info,
                                  const std::vector<v1::HistoryEvent>& events);

// The same for a workflow function as register_workflow() takes it.
template <class F>
ReplayResult replay(F&& fn, const WorkflowInfo& info, const std::vector<v1::HistoryEvent>& events) {
  return replay_workflow_task(detail::adapt<WorkflowContext>(std::forward<F>(fn)), info, events);
}

// The verdict on one recorded run replayed against the registered workflow code.
struct ReplayVerdict {
  enum class Kind {
    kOk,              // the code reproduces every recorded command
    kNonDeterminism,  // it does not: non_determinism says where and how
    kFailed,          // the code failed otherwise (threw a bug, a payload did not decode, ...)
    kBadInput,        // no usable history: unreadable file, no start event, unknown type
  };
  Kind kind = Kind::kOk;
  std::string workflow_id;
  std::string run_id;
  std::string workflow_type;
  size_t event_count = 0;
  std::optional<NonDeterminism> non_determinism;
  // One line for people: "replay OK: 21 events", "non-determinism at event 5: history has ...,
  // workflow code issued ...", "replay failed: ...", "bad history: ...".
  std::string message;
  bool ok() const { return kind == Kind::kOk; }
};

struct ReplayerOptions {
  std::string ns = "default";  // WorkflowInfo::namespace_ during replay
  // Decode the recorded payloads (as the writing client encoded them). Empty in
  // replay_from_server(): the client's codecs are used.
  CodecChain codecs;
};

// Replays recorded histories — from a server, an exported JSON file, or a vector of events —
// through registered workflow code, to check that a code change keeps old runs replayable.
// Register workflows before replaying; replay calls are then thread-safe and independent.
class Replayer {
 public:
  explicit Replayer(ReplayerOptions options = {});

  // The same registration calls as Worker's, so one function can fill both.
  template <class F>
  void register_workflow(const std::string& name, F&& fn) {
    register_workflow_payloads(name, detail::adapt<WorkflowContext>(std::forward<F>(fn)));
  }
  // Accepted and ignored: replay never runs activities (their results are in the history).
  template <class F>
  void register_activity(const std::string& /*name*/, F&& /*fn*/) {}
  void register_workflow_payloads(const std::string& name, detail::WorkflowFunction fn);

  // Replays a whole recorded run (or its prefix). A history that ends in a workflow task still
  // running may end with new commands; any other history must account for every command the
  // code issues, or the verdict is kNonDeterminism. Never throws for bad histories: the verdict
  // says kBadInput.
  ReplayVerdict replay(const WorkflowHistory& history) const;
  ReplayVerdict replay(const std::vector<v1::HistoryEvent>& events,
                       const std::string& workflow_id = "", const std::string& run_id = "") const;
  // load_history_json(path), then replay().
  ReplayVerdict replay_file(const std::string& path) const;
  // Fetches the run's history from the server, then replay(). run_id empty: the current run.
  // Throws RpcError when the server cannot answer.
  ReplayVerdict replay_from_server(Client& client, const std::string& workflow_id,
                                   const std::string& run_id = "") const;

 private:
  ReplayVerdict replay_with(const WorkflowHistory& history, const CodecChain& codecs) const;

  ReplayerOptions options_;
  std::map<std::string, detail::WorkflowFunction> workflows_;
};

}  // namespace cairn
