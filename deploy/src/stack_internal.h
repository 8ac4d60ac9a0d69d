// Private pieces of the stack workflow shared by its activities, workflow and client: activity
// names, the entity's carried state, the refusal prefixes and the spec-to-provider input adapter.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/deploy/stack.h"

namespace cairn::deploy::stack_detail {

inline constexpr char kPlanActivity[] = "cairn.deploy.plan";
inline constexpr char kReadActivity[] = "cairn.deploy.read";
inline constexpr char kCreateActivity[] = "cairn.deploy.create";
inline constexpr char kUpdateActivity[] = "cairn.deploy.update";
inline constexpr char kDestroyActivity[] = "cairn.deploy.destroy";
inline constexpr char kRevertActivity[] = "cairn.deploy.revert";
inline constexpr char kSnapshotActivity[] = "cairn.deploy.snapshot";
inline constexpr char kRestoreActivity[] = "cairn.deploy.restore";
// The stack's schedules (stack_schedules.cc).
inline constexpr char kSchedulesActivity[] = "cairn.deploy.schedules";
inline constexpr char kSubmitActivity[] = "cairn.deploy.submit";
inline constexpr char kAwaitActivity[] = "cairn.deploy.await";
inline constexpr char kAutoscaleActivity[] = "cairn.deploy.autoscale";

// What the entity carries across continue-as-new: the status plus what status does not show
// (the spec text last applied and the requests waiting, in status.queued's order).
struct EntityState {
  StackStatus status;
  std::string spec_text;
  std::string base_dir;
  std::vector<StackRequest> queue;
  // Replica counts set by scale requests since the last apply ({resource: {"replicas": n}}),
  // kept for the next scale of another resource; an apply clears them (the spec wins).
  nlohmann::json overrides = nlohmann::json::object();
};
void to_json(nlohmann::json& j, const EntityState& v);
void from_json(const nlohmann::json& j, EntityState& v);

// The refusal types; the validator's message starts with "<type>: " so the client can tell
// them apart (the server reports a rejected update as "UpdateRejected" with its message).
inline const std::vector<std::string>& refusal_types() {
  static const std::vector<std::string> types = {"StackLocked", "InvalidStackRequest",
                                                 "StackSpecInvalid"};
  return types;
}

// The request's field problems (empty: valid); the message names the field.
std::string request_problem(const StackRequest& request);

// The inputs a provider takes from a resource's spec inputs (the type's schema is the same for
// both): relative paths the spec holds (a vector_index's source, working_dir, a command given as
// a path such as ./bin/server) made absolute against `base_dir`, the spec's directory —
// providers run programs from their resources' own directories.
nlohmann::json provider_inputs(const std::string& type, const nlohmann::json& spec_inputs,
                               const std::string& base_dir);

// The resource's state as a provider records it.
ProviderState provider_state_of(const ResourceStatus& r);

int64_t now_ms_wall();

}  // namespace cairn::deploy::stack_detail

namespace cairn::deploy::stack_detail {
// Registers kStackWorkflow (stack_workflow.cc).
void register_stack_workflow(Worker& worker);
// Registers kStackScheduleWorkflow and the schedule activities (stack_schedules.cc).
// `registry` (the worker's providers: the router's stats) is kept alive by the registrations.
void register_stack_schedules(Worker& worker, Client& client,
                              std::shared_ptr<const ProviderRegistry> registry,
                              const std::string& state_dir);
}  // namespace cairn::deploy::stack_detail
