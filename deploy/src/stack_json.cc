// The stack workflow's plain values: names, JSON forms (the recorded form: never rename a
// field), the request checks, and the spec-to-provider input adapter.
#include <chrono>
#include <filesystem>

#include "cairn/deploy/stack.h"
#include "stack_internal.h"

namespace cairn::deploy {

using nlohmann::json;

namespace {

template <class T>
void get(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) {
    it->get_to(out);
  }
}

}  // namespace

std::string stack_workflow_id(const std::string& stack) { return "stack:" + stack; }

const char* operation_name(Operation op) {
  switch (op) {
    case Operation::kApply:
      return "apply";
    case Operation::kDestroy:
      return "destroy";
    case Operation::kReconcile:
      return "reconcile";
    case Operation::kScale:
      return "scale";
  }
  return "apply";
}

std::optional<Operation> parse_operation(const std::string& name) {
  for (Operation op :
       {Operation::kApply, Operation::kDestroy, Operation::kReconcile, Operation::kScale}) {
    if (name == operation_name(op)) {
      return op;
    }
  }
  return std::nullopt;
}

static Operation operation_from(const json& j) {
  auto op = parse_operation(j.is_string() ? j.get<std::string>() : "");
  if (!op) {
    throw json::other_error::create(501, "unknown operation " + j.dump(), &j);
  }
  return *op;
}

void to_json(json& j, const StackRequest& v) {
  j = {{"operation", operation_name(v.operation)},
       {"spec_text", v.spec_text},
       {"spec_file", v.spec_file},
       {"base_dir", v.base_dir},
       {"approved_plan_hash", v.approved_plan_hash},
       {"requested_by", v.requested_by},
       {"approvers", v.approvers},
       {"approval_timeout_ms", v.approval_timeout.count()},
       {"wait", v.wait},
       {"dry_run", v.dry_run},
       {"resource", v.resource},
       {"replicas", v.replicas},
       {"reason", v.reason}};
}

void from_json(const json& j, StackRequest& v) {
  v.operation = operation_from(j.value("operation", json("apply")));
  get(j, "spec_text", v.spec_text);
  get(j, "spec_file", v.spec_file);
  get(j, "base_dir", v.base_dir);
  get(j, "approved_plan_hash", v.approved_plan_hash);
  get(j, "requested_by", v.requested_by);
  get(j, "approvers", v.approvers);
  v.approval_timeout = std::chrono::milliseconds(j.value("approval_timeout_ms", int64_t{86400000}));
  get(j, "wait", v.wait);
  get(j, "dry_run", v.dry_run);
  get(j, "resource", v.resource);
  get(j, "replicas", v.replicas);
  get(j, "reason", v.reason);
}

void to_json(json& j, const StackAccepted& v) {
  j = {{"deploy_id", v.deploy_id}, {"queue_position", v.queue_position}};
}
void from_json(const json& j, StackAccepted& v) {
  get(j, "deploy_id", v.deploy_id);
  get(j, "queue_position", v.queue_position);
}

static json progress_json(const ResourceProgress& p) {
  return {{"resource", p.resource},      {"action", p.action},   {"state", p.state},
          {"message", p.message},        {"attempt", p.attempt}, {"started_ms", p.started_ms},
          {"finished_ms", p.finished_ms}};
}
static ResourceProgress progress_from(const json& j) {
  ResourceProgress p;
  get(j, "resource", p.resource);
  get(j, "action", p.action);
  get(j, "state", p.state);
  get(j, "message", p.message);
  get(j, "attempt", p.attempt);
  get(j, "started_ms", p.started_ms);
  get(j, "finished_ms", p.finished_ms);
  return p;
}

bool DeployRecord::finished() const {
  return state == "succeeded" || state == "failed" || state == "rolled_back" ||
         state == "expired" || state == "rejected" || state == "canceled";
}

void to_json(json& j, const DeployRecord& v) {
  json resources = json::array();
  for (const auto& p : v.resources) {
    resources.push_back(progress_json(p));
  }
  j = {{"deploy_id", v.deploy_id},
       {"operation", operation_name(v.operation)},
       {"requested_by", v.requested_by},
       {"reason", v.reason},
       {"state", v.state},
       {"phase", v.phase},
       {"plan_hash", v.plan_hash},
       {"plan", v.plan},
       {"approval_id", v.approval_id},
       {"approved_by", v.approved_by},
       {"error", v.error},
       {"resources", resources},
       {"drift", v.drift},
       {"requested_ms", v.requested_ms},
       {"started_ms", v.started_ms},
       {"finished_ms", v.finished_ms}};
}

void from_json(const json& j, DeployRecord& v) {
  get(j, "deploy_id", v.deploy_id);
  v.operation = operation_from(j.value("operation", json("apply")));
  get(j, "requested_by", v.requested_by);
  get(j, "reason", v.reason);
  get(j, "state", v.state);
  get(j, "phase", v.phase);
  get(j, "plan_hash", v.plan_hash);
  v.plan = j.value("plan", json());
  get(j, "approval_id", v.approval_id);
  get(j, "approved_by", v.approved_by);
  get(j, "error", v.error);
  v.resources.clear();
  for (const auto& p : j.value("resources", json::array())) {
    v.resources.push_back(progress_from(p));
  }
  v.drift = j.value("drift", json::array());
  get(j, "requested_ms", v.requested_ms);
  get(j, "started_ms", v.started_ms);
  get(j, "finished_ms", v.finished_ms);
}

static json resource_status_json(const ResourceStatus& r) {
  return {{"name", r.name},     {"state", r.state}, {"private_state", r.private_state},
          {"exists", r.exists}, {"drift", r.drift}, {"read_ms", r.read_ms}};
}
static ResourceStatus resource_status_from(const json& j) {
  ResourceStatus r;
  get(j, "name", r.name);
  r.state = j.at("state").get<ResourceState>();
  r.private_state = j.value("private_state", json::object());
  get(j, "exists", r.exists);
  r.drift = j.value("drift", json::array());
  get(j, "read_ms", r.read_ms);
  return r;
}

StackState StackStatus::stack_state() const {
  StackState s;
  for (const auto& r : resources) {
    s.resources[r.name] = r.state;
  }
  return s;
}

void to_json(json& j, const StackStatus& v) {
  json resources = json::array();
  for (const auto& r : v.resources) {
    resources.push_back(resource_status_json(r));
  }
  j = {{"stack", v.stack},         {"resources", resources},
       {"outputs", v.outputs},     {"spec_file", v.spec_file},
       {"spec_hash", v.spec_hash}, {"running", v.running ? json(*v.running) : json()},
       {"queued", v.queued},       {"recent", v.recent},
       {"deploys", v.deploys},     {"updated_ms", v.updated_ms},
       {"schedules", v.schedules}, {"scaled_ms", v.scaled_ms}};
}

void from_json(const json& j, StackStatus& v) {
  get(j, "stack", v.stack);
  v.resources.clear();
  for (const auto& r : j.value("resources", json::array())) {
    v.resources.push_back(resource_status_from(r));
  }
  v.outputs = j.value("outputs", json::object());
  get(j, "spec_file", v.spec_file);
  get(j, "spec_hash", v.spec_hash);
  v.running.reset();
  if (j.contains("running") && !j["running"].is_null()) {
    v.running = j["running"].get<DeployRecord>();
  }
  get(j, "queued", v.queued);
  get(j, "recent", v.recent);
  get(j, "deploys", v.deploys);
  get(j, "updated_ms", v.updated_ms);
  get(j, "schedules", v.schedules);
  get(j, "scaled_ms", v.scaled_ms);
}

void to_json(json& j, const AutoscaleObservation& v) {
  j = {{"resource", v.resource}, {"in_flight", v.in_flight}, {"requested_by", v.requested_by}};
}
void from_json(const json& j, AutoscaleObservation& v) {
  get(j, "resource", v.resource);
  get(j, "in_flight", v.in_flight);
  get(j, "requested_by", v.requested_by);
}
void to_json(json& j, const AutoscaleAnswer& v) {
  j = {
      {"move", v.move}, {"replicas", v.replicas}, {"reason", v.reason}, {"deploy_id", v.deploy_id}};
}
void from_json(const json& j, AutoscaleAnswer& v) {
  get(j, "move", v.move);
  get(j, "replicas", v.replicas);
  get(j, "reason", v.reason);
  get(j, "deploy_id", v.deploy_id);
}

namespace stack_detail {

void to_json(json& j, const EntityState& v) {
  j = {{"status", v.status},
       {"spec_text", v.spec_text},
       {"base_dir", v.base_dir},
       {"queue", v.queue},
       {"overrides", v.overrides}};
}
void from_json(const json& j, EntityState& v) {
  get(j, "status", v.status);
  get(j, "spec_text", v.spec_text);
  get(j, "base_dir", v.base_dir);
  get(j, "queue", v.queue);
  v.overrides = j.value("overrides", json::object());
}

std::string request_problem(const StackRequest& r) {
  if (r.requested_by.empty()) {
    return "requested_by: must name who asks";
  }
  if (r.approval_timeout.count() <= 0) {
    return "approval_timeout: must be positive";
  }
  for (const auto& a : r.approvers) {
    if (a.empty()) {
      return "approvers: an approver's name is empty";
    }
  }
  switch (r.operation) {
    case Operation::kApply:
      if (r.spec_text.empty()) {
        return "spec_text: an apply needs the stack file's text";
      }
      break;
    case Operation::kScale:
      if (r.resource.empty()) {
        return "resource: a scale names the endpoint resource";
      }
      if (r.replicas < 0 || r.replicas > 64) {
        return "replicas: must be 0..64";
      }
      break;
    case Operation::kDestroy:
    case Operation::kReconcile:
      break;
  }
  if (r.dry_run && r.operation != Operation::kReconcile) {
    return "dry_run: only a reconcile can be a dry run";
  }
  return "";
}

namespace {

// `value` against `base_dir` when it is a relative path; `program_like`: only when it names a
// path ("./bin/x", "bin/x"), not a bare program name found in PATH ("redis-server").
void absolutize(json& inputs, const char* field, const std::string& base_dir, bool program_like) {
  auto it = inputs.find(field);
  if (base_dir.empty() || it == inputs.end() || !it->is_string()) {
    return;
  }
  std::string v = it->get<std::string>();
  if (v.empty() || v[0] == '/' || (program_like && v.find('/') == std::string::npos)) {
    return;
  }
  *it = (std::filesystem::path(base_dir) / v).lexically_normal().string();
}

}  // namespace

json provider_inputs(const std::string& type, const json& spec_inputs,
                     const std::string& base_dir) {
  json in = spec_inputs.is_object() ? spec_inputs : json::object();
  if (type == "vector_index") {
    absolutize(in, "source", base_dir, false);
  }
  if (type == "process" || type == "command") {
    absolutize(in, "working_dir", base_dir, false);
  }
  if (type == "process" || type == "model_endpoint") {
    absolutize(in, "command", base_dir, true);
  }
  return in;
}

ProviderState provider_state_of(const ResourceStatus& r) {
  ProviderState s;
  s.provider_id = r.state.provider_id;
  s.outputs = r.state.outputs;
  s.private_state = r.private_state;
  return s;
}

int64_t now_ms_wall() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace stack_detail
}  // namespace cairn::deploy
