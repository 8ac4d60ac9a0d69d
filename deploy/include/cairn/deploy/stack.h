// The per-stack entity workflow and its client. One workflow per stack, id "stack:<name>": the
// id is the stack's lock. It holds the stack's state (resources as applied, outputs, the last
// deploys, drift) across continue-as-new, takes requests as the update "cairn.stack.request"
// (apply, destroy, reconcile, scale), runs one at a time, and answers the query
// "cairn.stack.status". A deploy: refresh → plan (hash in history) → policy → approval bound to
// the plan hash, with expiry → apply in waves → verify → outputs; a failure rolls back what the
// deploy changed, in reverse order. Every provider call is an activity (cairn/deploy/provider.h);
// secrets are resolved only inside activities and recorded as HMAC digests.
// Workflow-side code runs on the workflow fiber; the client functions are thread-safe.
// Protocol and crash windows: docs/deploy.md "The deploy workflow".
// Status: the contract of work in progress — nothing here is defined in cairn_deploy yet, so
// code that calls it does not link until the stack workflow lands.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/client.h"
#include "cairn/deploy/plan.h"
#include "cairn/deploy/provider.h"
#include "cairn/errors.h"
#include "cairn/worker.h"

namespace cairn::deploy {

// Names in histories and tools: never rename.
inline constexpr char kStackWorkflow[] = "cairn.deploy.stack";
inline constexpr char kStackRequestUpdate[] = "cairn.stack.request";
inline constexpr char kStackStatusQuery[] = "cairn.stack.status";
// An autoscale tick's observation (AutoscaleObservation → AutoscaleAnswer), decided by the
// entity with decide_scale (cairn/deploy/scaling.h) on its durable replica-change times.
inline constexpr char kStackAutoscaleUpdate[] = "cairn.stack.autoscale";
// What the stack's schedules start: one fire → one request to the entity (wait=true), followed
// to its end. Registered by register_stack_worker.
inline constexpr char kStackScheduleWorkflow[] = "cairn.deploy.stack_schedule";
inline constexpr char kStackTaskQueue[] = "cairn-deploy";  // the default task queue
inline constexpr char kStackAttribute[] = "CairnStack";    // Keyword: the stack's name

// "stack:<name>".
std::string stack_workflow_id(const std::string& stack);

enum class Operation { kApply, kDestroy, kReconcile, kScale };
const char* operation_name(Operation op);  // "apply", "destroy", "reconcile", "scale"
std::optional<Operation> parse_operation(const std::string& name);

// What a person or a schedule asks of a stack. Checked by the client (OptionsError naming the
// field) and again by the workflow's update validator (refused without a history event).
struct StackRequest {
  Operation operation = Operation::kApply;
  // kApply: the stack file's text and where it came from (relative paths in inputs are relative
  // to base_dir, on the worker's machine). kDestroy / kReconcile / kScale: empty (the recorded
  // state is used); for kReconcile the spec last applied is used.
  std::string spec_text;
  std::string spec_file;
  std::string base_dir;
  // The plan hash the caller saw and approves (cairnctl --auto-approve passes the hash of the
  // plan it printed). When the deploy's own plan (after refresh) has this hash, no approval is
  // asked; when it differs, the deploy fails "the plan changed since it was shown" and changes
  // nothing. Empty: the policy decides (needs_approval) and a person approves.
  std::string approved_plan_hash;
  // Who asks (shown in status, history and approval details). Not empty.
  std::string requested_by;
  // Who may approve when the policy asks; empty: requested_by alone.
  std::vector<std::string> approvers;
  // How long an approval may take before the deploy fails as expired (nothing changed).
  std::chrono::milliseconds approval_timeout = std::chrono::hours(24);
  // While another request runs: false → refused (StackLocked, naming the running deploy);
  // true → queued behind it.
  bool wait = false;
  // kReconcile: only report drift, repair nothing.
  bool dry_run = false;
  // kScale: the endpoint resource and its new replica count (min..max of the type).
  std::string resource;
  int replicas = 0;
  // Why (a schedule's name, "target tracking: 14 in flight"), shown in status and history.
  std::string reason;
};
void to_json(nlohmann::json& j, const StackRequest& v);
void from_json(const nlohmann::json& j, StackRequest& v);

// The update's answer: the deploy id ("d-<n>", n counts from 1 per stack) and its place.
struct StackAccepted {
  std::string deploy_id;
  int queue_position = 0;  // 0: started now
};
void to_json(nlohmann::json& j, const StackAccepted& v);
void from_json(const nlohmann::json& j, StackAccepted& v);

// A refused request: type() "StackLocked" (another deploy runs; the message names it, its
// operation, requester and start), "InvalidStackRequest" (a field: the message names it),
// "StackSpecInvalid" (the spec's errors, each with its line). Non-retryable.
class StackRequestError : public ApplicationError {
 public:
  StackRequestError(const std::string& message, std::string type)
      : ApplicationError(message, std::move(type), /*non_retryable=*/true) {}
};

// One step of a deploy as status and `cairnctl stack apply` show it, a line per resource.
// phase: "refresh", "plan", "approval", "apply", "verify", "rollback", "done".
// state: "pending", "running", "done", "failed", "rolled_back", "skipped".
struct ResourceProgress {
  std::string resource;
  std::string action;  // action_name() of the plan, "read", "repair", "rollback:<what>"
  std::string state;
  std::string message;  // the failure, redacted; the drift repaired
  int attempt = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
};

// state: "queued", "running", "awaiting_approval", "succeeded", "failed", "rolled_back",
// "expired" (approval timed out), "rejected" (approval refused), "canceled".
struct DeployRecord {
  std::string deploy_id;
  Operation operation = Operation::kApply;
  std::string requested_by;
  std::string reason;
  std::string state;
  std::string phase;
  std::string plan_hash;
  nlohmann::json plan;  // to_json(Plan) of this deploy (null before the plan)
  std::string approval_id;  // "plan-<first 16 of the hash>" when an approval was asked
  std::string approved_by;
  std::string error;  // why it failed, redacted
  std::vector<ResourceProgress> resources;
  nlohmann::json drift = nlohmann::json::array();  // kReconcile: [{resource, field, expected,
                                                   //   actual, repaired}]
  int64_t requested_ms = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  bool finished() const;  // state is one of the final ones
};
void to_json(nlohmann::json& j, const DeployRecord& v);
void from_json(const nlohmann::json& j, DeployRecord& v);

// A recorded resource plus what the last refresh / reconcile saw.
struct ResourceStatus {
  std::string name;
  ResourceState state;           // plan.h: type, inputs (secrets as digests), outputs, …
  nlohmann::json private_state;  // the provider's (pids, directories); never a secret
  bool exists = true;            // at the last read
  nlohmann::json drift = nlohmann::json::array();  // [{field, expected, actual}]
  int64_t read_ms = 0;
};

// The query "cairn.stack.status".
struct StackStatus {
  std::string stack;
  std::vector<ResourceStatus> resources;  // in the order of the spec last applied
  nlohmann::json outputs = nlohmann::json::object();  // {resource: {output: value}}
  std::string spec_file;
  std::string spec_hash;                   // sha256 of the spec text last applied
  std::optional<DeployRecord> running;     // the deploy holding the lock
  std::vector<DeployRecord> queued;        // waiting behind it
  std::vector<DeployRecord> recent;        // the last 20 finished, newest first
  int64_t deploys = 0;                     // requests accepted, ever
  int64_t updated_ms = 0;
  // The schedules the stack owns (reconcile, scaling windows, autoscale), by id, as last synced
  // after an apply; a destroy deletes them. docs/deploy.md "Reconcile and scaling".
  std::vector<std::string> schedules;
  // When each resource's replica count last changed (workflow time, ms): the durable start of
  // target tracking's scale-in cooldown.
  std::map<std::string, int64_t> scaled_ms;

  StackState stack_state() const;  // plan.h: what make_plan compares the spec with
};
void to_json(nlohmann::json& j, const StackStatus& v);
void from_json(const nlohmann::json& j, StackStatus& v);

// An autoscale tick: the router's requests in flight for `resource`'s tier, seen now.
struct AutoscaleObservation {
  std::string resource;
  int64_t in_flight = 0;
  std::string requested_by;  // the schedule id
};
void to_json(nlohmann::json& j, const AutoscaleObservation& v);
void from_json(const nlohmann::json& j, AutoscaleObservation& v);

// The entity's decision: move "none", "out", "in", "hold" (cooldown) or "pending" (a scale of
// the resource is already queued or running); deploy_id set when a scale was queued.
struct AutoscaleAnswer {
  std::string move;
  int replicas = 0;
  std::string reason;
  std::string deploy_id;
};
void to_json(nlohmann::json& j, const AutoscaleAnswer& v);
void from_json(const nlohmann::json& j, AutoscaleAnswer& v);

// ---- Worker side.

struct StackWorkerOptions {
  // Where providers keep what they run (<state_dir>/<stack>/<resource-key>/). Not empty.
  std::string state_dir;
  // The HMAC key for secret digests; empty: read from <state_dir>/secret-digest.key (made once,
  // 32 random bytes, mode 0600). Never in history.
  std::string digest_key;
  LocalProviderOptions local;
  // Providers beyond the local ones (tests add failing or slow ones); called once.
  std::function<void(ProviderRegistry&)> extra_providers;
};

// Registers kStackWorkflow and the deploy activities ("cairn.deploy.plan", "cairn.deploy.read",
// "cairn.deploy.create", "cairn.deploy.update", "cairn.deploy.destroy", "cairn.deploy.revert",
// "cairn.deploy.snapshot", "cairn.deploy.restore") with the local providers, and the approval
// activities. REQUIRES: before worker.start(); the worker polls the task queue requests use.
void register_stack_worker(Worker& worker, Client& client, const StackWorkerOptions& options);

// ---- Client side.

struct StackClientOptions {
  std::string task_queue = kStackTaskQueue;
  std::chrono::milliseconds timeout = std::chrono::seconds(30);  // of the update
  // The update's id: a retry with the same id gets the first answer (a schedule's action passes
  // its workflow id). Empty: a fresh one.
  std::string update_id;
};

// Starts the stack's entity workflow when it is not running (search attribute CairnStack
// registered on the way) and sends `request`. Returns the deploy id; throws StackRequestError
// (refusals), OptionsError (a field of the request, named), RpcError.
StackAccepted submit_stack_request(Client& client, const std::string& stack,
                                   const StackRequest& request,
                                   const StackClientOptions& options = {});

// The query; throws RpcError NOT_FOUND when the stack has never been deployed.
StackStatus stack_status(Client& client, const std::string& stack);

// Polls stack_status every `poll` until deploy `deploy_id` is finished or `timeout` passes,
// calling on_progress with each status whose deploy record changed. Returns the final record;
// throws TimeoutError.
DeployRecord wait_for_deploy(Client& client, const std::string& stack, const std::string& deploy_id,
                             std::chrono::milliseconds timeout,
                             const std::function<void(const DeployRecord&)>& on_progress = {},
                             std::chrono::milliseconds poll = std::chrono::milliseconds(200));

// The plan an apply of `spec` would make now, from the recorded state (stack_status, or empty
// when the stack was never deployed) — without refresh and without reading secrets (secret
// changes behind an unchanged reference are not shown). For `cairnctl stack plan`.
Plan plan_against_recorded(Client& client, const StackSpec& spec);

}  // namespace cairn::deploy
