// The provider seam of provisioning: what the deploy workflow asks of one resource type (check,
// diff, create with an idempotency key, read, update, destroy), the context each call gets, the
// typed errors, and the registry by type name. JSON in, JSON out. Providers are shared by the
// worker's activity threads: every method is thread-safe; calls on one key are serialised by a
// lock file in the key's directory. The registry owns its providers.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/deploy/types.h"
#include "cairn/errors.h"

namespace cairn {
class Client;  // cairn/client.h
}

namespace cairn::deploy {

// What went wrong in a provider call. The kind decides whether the deploy retries the activity.
enum class ProviderErrorKind {
  kInvalidInputs,  // the inputs break a rule of the type: never retried
  kFailed,         // the thing could not be made (exec failed, a command exited non-zero)
  kUnavailable,    // a transient failure (port taken, connection refused): retried
  kTimeout,        // not healthy within its startup timeout: retried
  kCanceled,       // the call was asked to stop (ProviderContext::cancelled)
};

// The typed error every provider throws. An ApplicationError, so an activity that lets it escape
// carries its type ("ProviderFailed", …) and retry flag to the workflow. The message never holds
// a secret: it is built through ProviderContext::redact().
class ProviderError : public ApplicationError {
 public:
  ProviderError(ProviderErrorKind kind, const std::string& message);
  ProviderErrorKind kind() const { return kind_; }
  bool retryable() const { return !non_retryable(); }

 private:
  ProviderErrorKind kind_;
};

// The result of diff(): what applying the new inputs to a recorded resource takes.
enum class DiffKind { kNone, kUpdate, kReplace };
const char* diff_kind_name(DiffKind kind);  // "none", "update", "replace"

struct Diff {
  DiffKind kind = DiffKind::kNone;
  std::vector<std::string> changed;  // the top-level inputs that differ, sorted
  std::vector<std::string> replace;  // those of them that force a replace
};

// What create / update return and what the workflow records (in history: no secret in it).
//   provider_id: the provider's own id of the thing ("pid:4242", the cloud id of a command)
//   outputs: what other resources may reference (${cache.url})
//   private_state: what the provider needs later (the key's directory, pids, start times)
struct ProviderState {
  std::string provider_id;
  nlohmann::json outputs = nlohmann::json::object();
  nlohmann::json private_state = nlohmann::json::object();
};
nlohmann::json to_json(const ProviderState& state);
// Throws ProviderError(kInvalidInputs) when `j` is not a recorded state.
ProviderState provider_state_from_json(const nlohmann::json& j);

// One difference between what was recorded and what is there.
struct Drift {
  std::string field;  // "maxmemory-policy", "replicas", "health"
  nlohmann::json expected;
  nlohmann::json actual;
};

struct ReadResult {
  bool exists = false;
  nlohmann::json outputs = nlohmann::json::object();  // the actual outputs (when it exists)
  std::vector<Drift> drift;                           // empty: as recorded
};

// Hands out free TCP ports on 127.0.0.1. Thread-safe.
class PortAllocator {
 public:
  virtual ~PortAllocator() = default;
  // A port nothing listened on a moment ago. Throws ProviderError(kUnavailable) when none.
  virtual int allocate() = 0;
};
// The default allocator: binds 127.0.0.1:0, reads the port and closes the socket; never hands
// out a port it handed out in its last 256 allocations (the kernel may offer it again).
PortAllocator& loopback_port_allocator();

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// What one provider call may use. Built by the activity that makes the call, one per call.
struct ProviderContext {
  // Where providers keep what they run: <state_dir>/<key>/ (pid files, logs, configs).
  std::filesystem::path state_dir;
  PortAllocator* ports = &loopback_port_allocator();
  // Progress of long waits (startup, health); the activity forwards it as a heartbeat.
  std::function<void(const nlohmann::json& progress)> heartbeat;
  // True once the call should stop (the activity was canceled); polled during waits.
  std::function<bool()> cancelled;
  std::function<void(LogLevel, const std::string&)> logger;
  // Resolves a secret reference ("env:NAME", "file:PATH"); default: the environment and files.
  // Returns nullopt when the reference names nothing.
  std::function<std::optional<std::string>(const std::string& ref)> secret_source;
  // Secret values seen by this call (resolved references, env values with secret-like names):
  // redact() removes them from every message, log line and output.
  std::vector<std::string> secrets;
  // The cluster the deploy runs on, for providers that run workflows (vector_index builds its
  // index with the AI batteries' ingestion workflow) and the deploy worker's task queue;
  // nullptr / empty outside a worker (such providers then throw ProviderError(kFailed)).
  Client* client = nullptr;
  std::string task_queue;

  bool cancel_requested() const { return cancelled && cancelled(); }
  void report(const nlohmann::json& progress) const;
  void log(LogLevel level, const std::string& message) const;  // redacted
  std::string redact(std::string text) const;
  nlohmann::json redact(const nlohmann::json& value) const;
  // Replaces every {"secret": "env:NAME" | "file:PATH"} in `inputs` by its value and remembers
  // the value in `secrets`. Throws ProviderError(kInvalidInputs) naming the reference (never
  // the value) when one cannot be resolved.
  nlohmann::json resolve_secrets(const nlohmann::json& inputs);
  // The key's directory, created; throws ProviderError(kInvalidInputs) for a key that is not a
  // plain name ([A-Za-z0-9._-], not "." or "..", at most 128 characters).
  std::filesystem::path key_dir(const std::string& key) const;
};

// True for {"secret": "<ref>"}: where a string input may be a secret reference instead.
bool is_secret_ref(const nlohmann::json& value);

// A resource type. Methods throw ProviderError; none of them leaves a second copy of a thing.
class Provider {
 public:
  virtual ~Provider() = default;

  virtual std::string type() const = 0;

  // Every problem of `inputs` at once; empty when they are valid. Resolves nothing. The local
  // providers check the shape against the type's schema (check_inputs, types.h), then only
  // their type's semantic rules: whatever the spec accepts (defaults applied, secrets as
  // references) passes as is.
  virtual std::vector<InputError> check(const nlohmann::json& inputs) const = 0;

  // What taking `recorded` (made from `old_inputs`) to `new_inputs` takes.
  virtual Diff diff(const nlohmann::json& old_inputs, const nlohmann::json& new_inputs,
                    const ProviderState& recorded) const = 0;

  // Makes the thing. When something made under `idempotency_key` is still there (a retry after
  // a crash, before or after the first attempt recorded its result), adopts it instead: the
  // result describes it and nothing second is started.
  virtual ProviderState create(ProviderContext& ctx, const std::string& idempotency_key,
                               const nlohmann::json& inputs) = 0;

  // What is there now: exists false when the thing is gone (killed, deleted).
  virtual ReadResult read(ProviderContext& ctx, const ProviderState& recorded) = 0;

  // Changes the thing in place to `new_inputs` (only when diff() said kUpdate).
  virtual ProviderState update(ProviderContext& ctx, const ProviderState& recorded,
                               const nlohmann::json& new_inputs) = 0;

  // Puts drift reported by read() back to what was recorded. Default: throws
  // ProviderError(kFailed) (the type has no in-place repair: recreate it instead).
  virtual ProviderState revert_drift(ProviderContext& ctx, const ProviderState& recorded);

  // Removes the thing. Idempotent: destroying what is already gone succeeds.
  virtual void destroy(ProviderContext& ctx, const ProviderState& recorded) = 0;

  // A copy of what the thing holds, taken before a change that may lose it (an update, replace
  // or destroy of a resource that holds data), kept under the key's directory; the JSON names
  // it (no secret). restore() puts it back on rollback and returns the state after. Defaults:
  // null (nothing to keep) and `recorded` unchanged.
  virtual nlohmann::json snapshot(ProviderContext& ctx, const ProviderState& recorded);
  virtual ProviderState restore(ProviderContext& ctx, const ProviderState& recorded,
                                const nlohmann::json& snapshot);

  // Live figures of the thing for scaling (the router: {"tiers": {"<tier>": {"in_flight": n,
  // "requests": n, "servers_up": n}}}). Default: an empty object.
  virtual nlohmann::json stats(ProviderContext& ctx, const ProviderState& recorded);
};

// A helper for diff(): compares the top-level fields of `old_inputs` and `new_inputs`; a change
// to a field not in `updatable` is a replace.
Diff diff_fields(const nlohmann::json& old_inputs, const nlohmann::json& new_inputs,
                 const std::vector<std::string>& updatable);
// diff_fields with the schema's rule: a change to a replace_on_change input is a replace, any
// other change an update.
Diff diff_by_schema(const TypeSchema& type, const nlohmann::json& old_inputs,
                    const nlohmann::json& new_inputs);

// Providers by type name. Add them at start-up, then share read-only.
class ProviderRegistry {
 public:
  // Throws ProviderError(kInvalidInputs) when the type is already registered.
  void add(std::unique_ptr<Provider> provider);
  Provider* find(std::string_view type) const;  // nullptr when unknown
  // Throws ProviderError(kInvalidInputs) naming the known types when `type` is unknown.
  Provider& get(std::string_view type) const;
  std::vector<std::string> types() const;  // sorted

 private:
  std::map<std::string, std::unique_ptr<Provider>, std::less<>> providers_;
};

// Where the local providers find their programs.
struct LocalProviderOptions {
  // cairn-model-endpoint; empty: $CAIRN_MODEL_ENDPOINT, else found in PATH.
  std::string model_endpoint_binary;
  // redis-server; empty: found in PATH (/usr/bin/redis-server on Debian).
  std::string redis_server_binary;
  // haproxy; empty: $CAIRN_HAPROXY, else found in PATH (/usr/sbin/haproxy on Debian).
  std::string haproxy_binary;
};

// Registers process, model_endpoint, redis, command, router and vector_index.
void register_local_providers(ProviderRegistry& registry, const LocalProviderOptions& options = {});

std::unique_ptr<Provider> make_process_provider();
std::unique_ptr<Provider> make_model_endpoint_provider(const LocalProviderOptions& options = {});
std::unique_ptr<Provider> make_redis_provider(const LocalProviderOptions& options = {});
std::unique_ptr<Provider> make_command_provider();
std::unique_ptr<Provider> make_router_provider(const LocalProviderOptions& options = {});
std::unique_ptr<Provider> make_vector_index_provider(const LocalProviderOptions& options = {});

}  // namespace cairn::deploy
