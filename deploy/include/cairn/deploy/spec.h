// The stack spec: a YAML file naming resources, their inputs and references to other resources'
// outputs (`${cache.url}`), validated in full before anything runs (every error at once, each
// with file:line:column). Also the reference and secret helpers planning and the providers share.
// Plain values and free functions; thread-compatible. Format: docs/deploy.md "The stack spec".
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/deploy/types.h"
#include "cairn/errors.h"

namespace cairn::deploy {

extern const int kStackSpecVersion;  // the `version:` this module reads (1)

// Where something was written: 1-based line and column. line 0: no position (built in code).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  std::string to_string() const;  // "stack.yaml:12:7"
  bool operator==(const Location&) const = default;
};

struct SpecError {
  Location where;
  std::string message;            // never quotes a secret's value
  std::string to_string() const;  // "stack.yaml:12:7: error: <message>"
};

// Every problem found in one spec, in file order.
class SpecErrors {
 public:
  void add(Location where, std::string message);
  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  const std::vector<SpecError>& all() const { return errors_; }
  // Sorts by position (stable for equal positions). parse_stack returns them sorted.
  void sort();
  // A compiler-style report: one "file:line:col: error: message" line per error, then
  // "N errors" (or "1 error").
  std::string report() const;

 private:
  std::vector<SpecError> errors_;
};

// Thrown by load_stack_or_throw: what() is the report.
class StackSpecError : public cairn::Error {
 public:
  explicit StackSpecError(SpecErrors errors);
  const SpecErrors& errors() const { return errors_; }

 private:
  SpecErrors errors_;
};

// Calendar windows and target tracking of a model_endpoint (`scaling:` beside `inputs`), run by
// schedules the stack owns. Format and errors: docs/deploy.md "Reconcile and scaling".
struct ScalingWindow {
  std::string cron;  // checked with the Schedules parser (proto/schedule_spec.h)
  int replicas = 0;  // within min..max
  Location location;
};
struct TargetTracking {
  int in_flight_per_replica = 1;  // > 0
  std::string router;             // a router resource with a tier over this endpoint
  std::string tier;               // that tier's name (derived from the router's inputs)
  std::chrono::milliseconds cooldown = std::chrono::minutes(10);  // before a scale-in; >= 1 s
  std::chrono::milliseconds every = std::chrono::minutes(1);      // the tick; >= 1 s
};
struct ScalingSpec {
  int min = 0;
  int max = 64;  // min <= max <= 64
  std::vector<ScalingWindow> windows;
  std::string timezone;  // IANA; empty: UTC
  std::optional<TargetTracking> target;
  Location location;
};

// The top-level `reconcile:` block: a schedule that runs a drift check (kReconcile).
struct ReconcileSpec {
  bool enabled = true;                                      // `reconcile: off` → false
  std::chrono::milliseconds every = std::chrono::hours(1);  // >= 1 s
  bool dry_run = false;
};

struct ResourceSpec {
  std::string name;  // unique in the stack, [a-z][a-z0-9_-]*
  std::string type;  // a registry type (types.h)
  // JSON-like values as written, with the type's defaults filled in. Strings may hold references
  // ("${other.output}"); secrets are objects {"secret": "env:NAME"} / {"secret": "file:PATH"}.
  nlohmann::json inputs = nlohmann::json::object();
  std::vector<std::string> depends_on;  // as written
  Location location;                    // of the resource's name
  // Where each input value was written, by JSON pointer into `inputs` ("/tiers/0/urls"), for
  // providers that report a problem with an input.
  std::map<std::string, Location> input_locations;
  // model_endpoint only; not an input (plans and providers never see it).
  std::optional<ScalingSpec> scaling;

  // The resources this one depends on: those its references name, then depends_on; each once,
  // in first-mention order.
  std::vector<std::string> dependencies() const;
};

struct ApprovalPolicy {
  // A plan whose cost per hour rises by more than this needs approval. nullopt: no cost limit.
  std::optional<Micros> max_added_cost_per_hour;
  // Deleting or replacing a resource that holds data (types.h holds_data) needs approval.
  bool approve_data_loss = true;
};

struct StackSpec {
  std::string name;
  int version = 1;
  std::vector<ResourceSpec> resources;  // in file order
  ApprovalPolicy policy;
  ReconcileSpec reconcile;
  std::string file;      // as given to parse_stack
  std::string base_dir;  // directory of `file` (relative paths in inputs are relative to it)

  const ResourceSpec* find(std::string_view resource) const;  // nullptr when absent
};

struct StackParseResult {
  std::optional<StackSpec> spec;  // set exactly when errors is empty
  SpecErrors errors;
  bool ok() const { return errors.empty(); }
};

// Parses and validates a stack spec. `file_name` names the text in errors and sets base_dir.
// Never throws for a bad spec: every problem is in `errors`, each with its position (YAML syntax
// errors stop parsing and are reported alone).
StackParseResult parse_stack(std::string_view text, std::string_view file_name);
// The same for a file; an unreadable file is one error at line 0.
StackParseResult load_stack(const std::string& path);
// load_stack, throwing StackSpecError when there are errors.
StackSpec load_stack_or_throw(const std::string& path);

// ---- References: "${resource.output}" inside string values ("$${" writes a literal "${").

struct Reference {
  std::string resource;
  std::string output;
  size_t offset = 0;  // of "${" in the string
  size_t length = 0;  // of the whole "${…}"
  bool operator==(const Reference&) const = default;
};

// The well-formed references in `text`, in order. A malformed one ("${a}", "${a.b", "${A.b}")
// is reported by `error` (when given) with its offset and skipped.
std::vector<Reference> parse_references(
    std::string_view text,
    const std::function<void(size_t offset, const std::string& problem)>& error = nullptr);
// `text` is exactly one reference (whole-string: the value takes the output's JSON type).
std::optional<Reference> whole_reference(std::string_view text);
// Every reference in a JSON value (strings in lists and maps included), in order.
std::vector<Reference> references_in(const nlohmann::json& value);

// An output's value, or nullopt when it is not known yet (known after apply).
using OutputLookup = std::function<std::optional<nlohmann::json>(const Reference&)>;

// Replaces references in `value`: a whole-string reference by the output's JSON value, an
// embedded one by its text (strings as they are, other values as compact JSON); "$${" becomes
// "${". A string with an unknown reference becomes {"known_after_apply": "<the string>"} and
// sets *unknown. Secret references are left as they are.
nlohmann::json substitute(const nlohmann::json& value, const OutputLookup& lookup,
                          bool* unknown = nullptr);
// Whether `value` is a known-after-apply marker made by substitute().
bool is_known_after_apply(const nlohmann::json& value);

// ---- Secrets: only references in the spec; values read inside activities, recorded as digests.

struct SecretRef {
  enum class Source { kEnv, kFile };
  Source source = Source::kEnv;
  std::string target;             // variable name or path
  std::string to_string() const;  // "env:NAME" / "file:PATH"
  bool operator==(const SecretRef&) const = default;
};

// The reference in {"secret": "env:NAME"} / {"secret": "file:PATH"} (the object may also carry
// a recorded "digest"), or nullopt when `value` is not such an object or its text is malformed.
std::optional<SecretRef> as_secret_ref(const nlohmann::json& value);
// "env:NAME" / "file:PATH" → the reference, or nullopt.
std::optional<SecretRef> parse_secret_ref(std::string_view text);

class SecretError : public cairn::Error {
 public:
  using cairn::Error::Error;
};

// The secret's value: the environment variable, or the file's contents with one trailing newline
// removed (a relative path is taken relative to `base_dir` when given). Throws SecretError naming
// the reference — never the value — when the variable is unset or empty or the file unreadable
// or empty.
std::string resolve_secret(const SecretRef& ref, const std::string& base_dir = "");
// HMAC-SHA256 of `value` under `key`, lowercase hex: what history and state may record.
std::string secret_digest(std::string_view value, std::string_view key);
// SHA-256 of `data`, lowercase hex.
std::string sha256_hex(std::string_view data);

}  // namespace cairn::deploy
