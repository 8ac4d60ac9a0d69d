// decide_scale and the stack's schedule ids (cairn/deploy/scaling.h).
#include "cairn/deploy/scaling.h"

#include <algorithm>

namespace cairn::deploy {

ScaleDecision decide_scale(const ScalingSpec& scaling, int current, int64_t in_flight,
                           int64_t now_ms, int64_t last_change_ms) {
  const TargetTracking& t = *scaling.target;
  const int64_t per = std::max(1, t.in_flight_per_replica);
  const int64_t wanted = (std::max<int64_t>(0, in_flight) + per - 1) / per;
  ScaleDecision d;
  d.desired = static_cast<int>(std::clamp<int64_t>(wanted, scaling.min, scaling.max));
  d.replicas = current;
  const std::string seen = "target tracking: " + std::to_string(in_flight) + " in flight, " +
                           std::to_string(per) + " per replica";
  if (d.desired > current) {
    d.move = ScaleMove::kOut;
    d.replicas = d.desired;
    d.reason = seen + " → " + std::to_string(d.desired) + " replicas (from " +
               std::to_string(current) + ")";
  } else if (d.desired < current) {
    const int64_t since = last_change_ms > 0 ? now_ms - last_change_ms : t.cooldown.count();
    if (since >= t.cooldown.count()) {
      d.move = ScaleMove::kIn;
      d.replicas = d.desired;
      d.reason = seen + " → " + std::to_string(d.desired) + " replicas (from " +
                 std::to_string(current) + ")";
    } else {
      d.move = ScaleMove::kHold;
      d.wait_ms = t.cooldown.count() - since;
      d.reason = seen + ": " + std::to_string(d.desired) + " would do, scale-in waits " +
                 std::to_string(d.wait_ms) + " ms more of the cooldown";
    }
  } else {
    d.reason = seen + ": " + std::to_string(current) + " replicas is right";
  }
  return d;
}

std::string reconcile_schedule_id(const std::string& stack) {
  return "stack:" + stack + ":reconcile";
}
std::string window_schedule_id(const std::string& stack, const std::string& resource, size_t i) {
  return "stack:" + stack + ":scale:" + resource + ":" + std::to_string(i);
}
std::string autoscale_schedule_id(const std::string& stack, const std::string& resource) {
  return "stack:" + stack + ":autoscale:" + resource;
}

}  // namespace cairn::deploy
