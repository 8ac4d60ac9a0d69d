// Plans: what an apply would do to bring a stack's recorded state to its spec — per resource
// create / update in place / replace / delete / nothing, the changed inputs, the cost per hour
// and per month before and after, whether the policy wants a person's approval, and a hash that
// an approval is bound to. Pure functions of their arguments; plain values; thread-compatible.
// Rules: docs/deploy.md "Plans and cost".
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/deploy/spec.h"
#include "cairn/deploy/types.h"

namespace cairn::deploy {

// What the last apply recorded for one resource.
struct ResourceState {
  std::string type;
  // Inputs as applied: references resolved, defaults filled in, secrets as
  // {"secret": "env:NAME", "digest": "<hmac hex>"} — never a value.
  nlohmann::json inputs = nlohmann::json::object();
  nlohmann::json outputs = nlohmann::json::object();
  std::string provider_id;                // the provider's handle (pid file, container id, …)
  std::vector<std::string> dependencies;  // as in the spec it was applied from (delete order)
};

struct StackState {
  std::map<std::string, ResourceState> resources;
};

void to_json(nlohmann::json& j, const ResourceState& v);
void from_json(const nlohmann::json& j, ResourceState& v);
void to_json(nlohmann::json& j, const StackState& v);
void from_json(const nlohmann::json& j, StackState& v);

// Persisted in plans' JSON and hashes: never rename.
enum class Action { kNone, kCreate, kUpdate, kReplace, kDelete };
const char* action_name(Action action);  // "none", "create", "update", "replace", "delete"

struct FieldChange {
  std::string input;      // top-level input name
  nlohmann::json before;  // null when absent before
  nlohmann::json after;   // null when removed; a known-after-apply marker when not known yet
  bool forces_replace = false;
  bool known_after_apply = false;
};

struct ResourcePlan {
  std::string name;
  std::string type;
  Action action = Action::kNone;
  std::string reason;  // why replace ("model changed", "type changed from redis to process")
  std::vector<FieldChange> changes;
  // The inputs this apply would use: references resolved against the recorded outputs, values
  // not known yet as {"known_after_apply": "<template>"} (spec.h substitute). Delete: the
  // recorded inputs.
  nlohmann::json inputs = nlohmann::json::object();
  nlohmann::json prior_inputs;  // recorded (null when there is none)
  Micros cost_before = 0;       // per hour
  Micros cost_after = 0;        // per hour
  bool holds_data = false;      // of what is there now (delete / replace) or will be (create)
  bool apply_supported = true;  // false: a cloud type; apply refuses the plan
  int wave = 0;  // apply order (graph.h waves); deletes after every other wave, in reverse order
};

struct Plan {
  std::string stack;
  std::vector<ResourcePlan> resources;  // by wave then spec order; deletes last
  Micros cost_before = 0;               // per hour, every resource
  Micros cost_after = 0;
  std::string hash;  // plan_hash(*this), set by make_plan

  Micros cost_delta() const { return cost_after - cost_before; }
  const ResourcePlan* find(const std::string& name) const;
  size_t count(Action action) const;
  bool has_changes() const;
  // Resources whose type apply cannot make (cloud types) with something to do.
  std::vector<std::string> unsupported() const;
};

struct PlanOptions {
  // The digest of a secret's current value (secret_digest under the stack's key), or nullopt when
  // it cannot be read here. Unset or nullopt: secrets compare by their reference only, so a
  // changed value behind an unchanged reference is not seen.
  std::function<std::optional<std::string>(const SecretRef&)> secret_digest;
};

// The plan from `current` to `spec`. Inputs are compared after resolving references against
// the recorded outputs: an output of a resource this plan creates or replaces — or updates in
// an input that output changes with (types.h OutputSchema::changes_with) — is not known yet, so
// an input using it counts as changed: its resource is replaced when that input is
// replace_on_change, else updated (conservative: the apply may find nothing to do).
// REQUIRES: `spec` came from parse_stack (valid, acyclic); otherwise throws std::invalid_argument
// (unknown type) or std::logic_error (a cycle).
Plan make_plan(const StackSpec& spec, const StackState& current, const PlanOptions& options = {});

// SHA-256 hex of the canonical JSON (sorted keys, compact) of the stack name and, per resource,
// name, type, action and inputs — secret references without their digests, so a client that
// cannot read secrets (cairnctl) computes the same hash. Equal plans hash equal on every run and
// machine.
std::string plan_hash(const Plan& plan);

struct ApprovalCheck {
  bool required = false;
  std::vector<std::string> reasons;  // one line each, e.g. "deletes cache (redis): holds data"
};
// Whether `policy` wants a person to approve `plan`, and why.
ApprovalCheck needs_approval(const Plan& plan, const ApprovalPolicy& policy);

// For people, like `terraform plan`: one block per resource with something to do
// ("+ create", "~ update", "-/+ replace", "- delete") with the changed inputs, its cost, then
// the totals per hour and per month (730 h). Secrets appear as their reference only.
std::string render_plan(const Plan& plan);
nlohmann::json to_json(const Plan& plan);

}  // namespace cairn::deploy
