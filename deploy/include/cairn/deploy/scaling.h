// Target tracking for model_endpoint tiers: the pure decision the stack's entity workflow takes
// when an autoscale tick reports the router's requests in flight, and the ids of the schedules a
// stack owns. Pure functions (time arrives as an argument); thread-safe.
// Behaviour: docs/deploy.md "Reconcile and scaling".
#pragma once

#include <cstdint>
#include <string>

#include "cairn/deploy/spec.h"

namespace cairn::deploy {

enum class ScaleMove { kNone, kOut, kIn, kHold };  // kHold: a scale-in waits for the cooldown

struct ScaleDecision {
  ScaleMove move = ScaleMove::kNone;
  int desired = 0;      // clamp(ceil(in_flight / in_flight_per_replica), min, max)
  int replicas = 0;     // what to scale to (current when kNone / kHold)
  int64_t wait_ms = 0;  // kHold: how long until the cooldown has passed
  std::string reason;   // "target tracking: 9 in flight, 4 per replica → 3 replicas (from 1)"
};

// desired = clamp(ceil(in_flight / per_replica), min, max). Larger than `current`: scale out now.
// Smaller: scale in only when the last replica change of the resource (last_change_ms; 0: never)
// is at least `cooldown` before now_ms, else hold. REQUIRES: scaling.target set.
ScaleDecision decide_scale(const ScalingSpec& scaling, int current, int64_t in_flight,
                           int64_t now_ms, int64_t last_change_ms);

// Schedule ids owned by stack `stack`: "stack:<stack>:reconcile",
// "stack:<stack>:scale:<resource>:<i>" (the i-th window), "stack:<stack>:autoscale:<resource>".
std::string reconcile_schedule_id(const std::string& stack);
std::string window_schedule_id(const std::string& stack, const std::string& resource, size_t i);
std::string autoscale_schedule_id(const std::string& stack, const std::string& resource);

}  // namespace cairn::deploy
