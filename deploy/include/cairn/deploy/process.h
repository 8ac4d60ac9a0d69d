// The process tracker of the local providers: starts a command detached (its own session, output
// in a log file), records it by pid file plus the start time the kernel gives it in /proc, tells
// whether a record still names the same live process, stops it by process group with a grace
// period, runs short commands to completion, and waits for health (TCP or HTTP) with a deadline.
// Functions only; safe to call from several threads (the fork paths touch nothing shared).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include "cairn/deploy/provider.h"

namespace cairn::deploy {

// A started process as recorded: pid plus its start time (clock ticks since boot, field 22 of
// /proc/<pid>/stat), so a pid the kernel has since given to another process is never ours.
struct ProcessRecord {
  pid_t pid = 0;
  uint64_t start_time = 0;
  std::string name;      // within its key's directory: "process", "replica-1"
  std::string pid_file;  // "<dir>/<name>.pid": "<pid> <start_time>\n"
  std::string log_path;  // "<dir>/<name>.log": stdout and stderr
};
nlohmann::json to_json(const ProcessRecord& record);
// Throws ProviderError(kInvalidInputs) when `j` is not a record.
ProcessRecord process_record_from_json(const nlohmann::json& j);

struct ProcessSpec {
  std::string program;  // a path, or a name searched in PATH
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to (and overriding) the inherited environment
  bool inherit_env = true;
  std::filesystem::path dir;  // the key's directory: pid file and log land here
  std::string name = "process";
  std::filesystem::path working_dir;  // empty: `dir`
};

// Starts `spec` detached: double fork, setsid (the process leads its own session and process
// group), stdin from /dev/null, stdout and stderr appended to the log, every other descriptor
// closed. The child writes the pid file itself before it execs, so a crash of the caller at any
// point after the fork leaves a record that create() finds. Returns once the exec succeeded.
// Throws ProviderError: kInvalidInputs when the program is not found, kFailed when exec fails.
ProcessRecord start_process(const ProcessSpec& spec);

// The record in `<dir>/<name>.pid`, or nullopt when there is none (or it is unreadable).
std::optional<ProcessRecord> read_process_record(const std::filesystem::path& dir,
                                                 const std::string& name);

// The start time of `pid` (field 22 of /proc/<pid>/stat); nullopt when there is no such process
// or it has exited (a zombie counts as exited).
std::optional<uint64_t> process_start_time(pid_t pid);

// True when the record's pid is running and started when the record says.
bool alive(const ProcessRecord& record);

enum class StopResult {
  kStopped,     // was ours and alive; exited on SIGTERM within the grace period
  kKilled,      // did not exit in time: SIGKILLed
  kNotRunning,  // already gone, or the pid is now another process's (left alone)
};
// Stops the record's process group: SIGTERM, then SIGKILL after `grace`; returns once the
// process has exited. Never signals a pid whose start time differs from the record's.
// Throws ProviderError(kFailed) when it survives SIGKILL for 10 s.
StopResult stop(const ProcessRecord& record, std::chrono::milliseconds grace);

// Waits until `record`'s process exits or `timeout` passes; true when it exited.
bool wait_exit(const ProcessRecord& record, std::chrono::milliseconds timeout);

// The last `max_bytes` of a log file (for error messages: redact before use).
std::string log_tail(const std::string& path, size_t max_bytes = 2048);

// A command run to completion (command provider, short helpers).
struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed
  bool timed_out = false;
  std::string out;
  std::string err;
};
// Runs `spec` (dir/name unused; working_dir used when set) with `input` on stdin, capturing
// stdout and stderr; kills its process group at `timeout`. Throws ProviderError(kInvalidInputs)
// when the program is not found.
CommandResult run_command(const ProcessSpec& spec, const std::string& input,
                          std::chrono::milliseconds timeout);

// The executable `program` names: itself when it holds a '/', else the first match in PATH.
std::optional<std::string> find_program(const std::string& program);

// True when something accepts TCP connections on 127.0.0.1:port within `timeout`.
bool tcp_open(int port, std::chrono::milliseconds timeout);
// The status code of GET `path` on 127.0.0.1:port, or 0 when there is no answer in `timeout`.
int http_get_status(int port, const std::string& path, std::chrono::milliseconds timeout,
                    std::string* body = nullptr);
// True when nothing listens on 127.0.0.1:port and a server could bind it now (connections
// left in TIME_WAIT by a stopped server do not count).
bool port_free(int port);

struct HealthCheck {
  enum class Kind { kNone, kTcp, kHttp } kind = Kind::kNone;
  std::string path;  // kHttp: answered 2xx
};
// {"http": "/path"} | {"tcp": true} | null; throws ProviderError(kInvalidInputs) otherwise.
HealthCheck health_from_json(const nlohmann::json& j);
nlohmann::json to_json(const HealthCheck& check);

enum class HealthResult { kHealthy, kExited, kTimedOut, kCanceled };
// Polls `check` on `port` until it passes, the process exits, `timeout` passes, or the context
// is cancelled; reports {"waiting_for": name, "elapsed_ms": …} through ctx.report() on the way.
HealthResult await_healthy(ProviderContext& ctx, const ProcessRecord& record, int port,
                           const HealthCheck& check, std::chrono::milliseconds timeout);

}  // namespace cairn::deploy
