// Private building blocks of the local providers: the per-key lock, input checks, and
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

// Input checks shared by the providers; each appends InputErrors.
class InputChecker {
 public:
  InputChecker(const nlohmann::json& inputs, std::vector<InputError>* errors);
  bool object_ok() const { return ok_; }
  void allow(const std::vector<std::string>& fields);  // unknown fields are errors
  void string(const std::string& field, bool required);
  void string_list(const std::string& field);  // strings or secret refs
  void string_map(const std::string& field);   // string / number / secret-ref values
  void integer(const std::string& field, long long min, long long max, bool required = false);
  void number(const std::string& field, double min);
  void one_of(const std::string& field, const std::vector<std::string>& values);
  void health(const std::string& field);

 private:
  // False when the checks of `field` end here: the inputs are not an object, or the field is
  // absent (an error when required).
  bool present(const std::string& field, bool required);

  const nlohmann::json& in_;
  std::vector<InputError>* errors_;
  bool ok_;
};

// Reads inputs written by a checked spec.
std::vector<std::string> string_list(const nlohmann::json& inputs, const std::string& field);
std::map<std::string, std::string> string_map(const nlohmann::json& inputs,
                                              const std::string& field);
std::chrono::milliseconds seconds_input(const nlohmann::json& inputs, const std::string& field,
                                        double default_s);

}  // namespace cairn::deploy::local
