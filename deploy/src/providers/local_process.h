// Private building blocks of the local providers: the per-key lock, the schema check, and
// ensure_running() — adopt the live process recorded under a key's directory, or start one on a
// port (allocated when 0, retried when another process took it) and wait for its health.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/deploy/process.h"
#include "cairn/deploy/provider.h"

namespace cairn::deploy::local {

// Holds an exclusive flock on <dir>/.lock for its lifetime: two calls on one key (a retry racing
// an attempt that has not noticed its timeout) run one after the other.
class KeyLock {
 public:
  explicit KeyLock(const std::filesystem::path& dir);
  ~KeyLock();
  KeyLock(const KeyLock&) = delete;
  KeyLock& operator=(const KeyLock&) = delete;

 private:
  int fd_ = -1;
};

struct LocalProcessSpec {
  std::string program;
  std::vector<std::string> args;           // "{port}" is replaced by the port
  std::map<std::string, std::string> env;  // values too
  int port = 0;                            // 0: allocate one
  HealthCheck health;
  std::chrono::milliseconds startup_timeout{30000};
  std::filesystem::path dir;
  std::filesystem::path working_dir;  // the child's cwd; empty: `dir`
  std::string name = "process";
};

struct RunningProcess {
  ProcessRecord record;
  int port = 0;
  bool adopted = false;
};

// The live process recorded as <dir>/<name>.pid (its port in <name>.json) when there is one,
// once healthy; else a new one, started and healthy. On failure nothing is left running and the
// error carries the redacted tail of its log. Throws ProviderError (kTimeout, kFailed,
// kCanceled, kUnavailable).
RunningProcess ensure_running(ProviderContext& ctx, const LocalProcessSpec& spec);

// {"pid", "start_time", "name", "pid_file", "log_path", "port"}.
nlohmann::json running_to_json(const RunningProcess& p);
RunningProcess running_from_json(const nlohmann::json& j);

// Stops every process recorded by a pid file in `dir` whose name starts with `prefix`
// (verified by start time), then removes its files.
void stop_recorded(const std::filesystem::path& dir, const std::string& prefix,
                   std::chrono::milliseconds grace);
// The destroy of a provider whose processes live in one key directory: stops each process in
// `recorded_processes` (running_to_json records), then — under the key's lock — every process
// whose pid file in private_state "dir" starts with `prefix` (what a crash left unrecorded),
// and removes the directory. Grace: private_state "stop_grace_ms" (default 10 s). Idempotent.
void destroy_recorded(const ProviderState& recorded, const nlohmann::json& recorded_processes,
                      const std::string& prefix);
// Stops one named process of `dir` and removes its files.
void stop_named(const std::filesystem::path& dir, const std::string& name,
                std::chrono::milliseconds grace);

// Adds to ctx.secrets the values of env entries whose names look secret (TOKEN, SECRET, …).
void note_secret_env(ProviderContext& ctx, const std::map<std::string, std::string>& env);

// The shape problems of `inputs` against the schema of `type` in the registry (types.h
// check_inputs): every provider's check() starts with it and adds only its type's semantic
// rules. REQUIRES: `type` is in the registry.
std::vector<InputError> schema_errors(const std::string& type, const nlohmann::json& inputs);

// The directory named by inputs[field] (empty when absent). Throws ProviderError(kInvalidInputs)
// when it is relative (the stack workflow resolves a spec's relative paths against
// StackSpec::base_dir before it calls a provider) or is not a directory.
std::filesystem::path directory_input(const nlohmann::json& inputs, const std::string& field,
                                      const std::string& who);

// Reads inputs written by a checked spec.
std::vector<std::string> string_list(const nlohmann::json& inputs, const std::string& field);
std::map<std::string, std::string> string_map(const nlohmann::json& inputs,
                                              const std::string& field);
std::chrono::milliseconds seconds_input(const nlohmann::json& inputs, const std::string& field,
                                        double default_s);

}  // namespace cairn::deploy::local
