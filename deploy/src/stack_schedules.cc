// The schedules a stack owns (docs/deploy.md "Reconcile and scaling"): the activity that brings
// them to what the applied spec asks, and kStackScheduleWorkflow, which each fire starts — one
// request to the stack's entity (reconcile, a window's scale, an autoscale observation) sent
// with the fire's workflow id as update id (a retried activity gets the first answer), then
// followed to the end of its deploy. Activities run on the worker's activity threads.
#include <thread>

#include <google/protobuf/util/message_differencer.h>

#include "cairn/deploy/scaling.h"
#include "cairn/deploy/spec.h"
#include "cairn/deploy/stack.h"
#include "stack_internal.h"

namespace cairn::deploy::stack_detail {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string duration_text(milliseconds d) {
  const int64_t ms = d.count();
  if (ms % 3'600'000 == 0) {
    return std::to_string(ms / 3'600'000) + "h";
  }
  if (ms % 60'000 == 0) {
    return std::to_string(ms / 60'000) + "m";
  }
  if (ms % 1000 == 0) {
    return std::to_string(ms / 1000) + "s";
  }
  return std::to_string(ms) + "ms";
}

struct Wanted {
  std::string id;
  ScheduleOptions options;
};

ScheduleOptions schedule_of(const std::string& task_queue, json input) {
  ScheduleOptions o;
  o.action =
      ScheduleAction::start_workflow(kStackScheduleWorkflow, {.task_queue = task_queue}, input);
  o.overlap = ScheduleOverlap::kSkip;
  return o;
}

// The schedules `spec` asks for, with their action's input.
std::vector<Wanted> wanted_schedules(const StackSpec& spec, const std::string& task_queue) {
  std::vector<Wanted> out;
  if (spec.reconcile.enabled) {
    const std::string id = reconcile_schedule_id(spec.name);
    Wanted w{id,
             schedule_of(task_queue, {{"stack", spec.name},
                                      {"schedule_id", id},
                                      {"kind", "reconcile"},
                                      {"dry_run", spec.reconcile.dry_run},
                                      {"reason", "schedule " + id + " (every " +
                                                     duration_text(spec.reconcile.every) + ")"}})};
    w.options.spec.intervals.push_back({spec.reconcile.every, milliseconds(0)});
    // A drift check missed during downtime runs once, not once per missed interval.
    w.options.catchup_window = std::max<milliseconds>(spec.reconcile.every, seconds(1));
    out.push_back(std::move(w));
  }
  for (const auto& r : spec.resources) {
    if (!r.scaling) {
      continue;
    }
    for (size_t i = 0; i < r.scaling->windows.size(); ++i) {
      const ScalingWindow& win = r.scaling->windows[i];
      const std::string id = window_schedule_id(spec.name, r.name, i);
      Wanted w{id, schedule_of(task_queue, {{"stack", spec.name},
                                            {"schedule_id", id},
                                            {"kind", "scale"},
                                            {"resource", r.name},
                                            {"replicas", win.replicas},
                                            {"reason", "schedule " + id + " (" + win.cron + ")"}})};
      w.options.spec.cron.push_back(win.cron);
      w.options.spec.time_zone = r.scaling->timezone;
      out.push_back(std::move(w));
    }
    if (const auto& t = r.scaling->target) {
      const std::string id = autoscale_schedule_id(spec.name, r.name);
      Wanted w{id, schedule_of(task_queue, {{"stack", spec.name},
                                            {"schedule_id", id},
                                            {"kind", "autoscale"},
                                            {"resource", r.name},
                                            {"router", t->router},
                                            {"tier", t->tier}})};
      w.options.spec.intervals.push_back({t->every, milliseconds(0)});
      w.options.catchup_window = std::max<milliseconds>(t->every, seconds(1));
      out.push_back(std::move(w));
    }
  }
  return out;
}

bool same_schedule(ScheduleOptions wanted, const ScheduleOptions& existing) {
  // What a person changed by hand (paused, its note) is not the spec's to undo.
  wanted.paused = existing.paused;
  wanted.note = existing.note;
  wanted.remaining_actions = existing.remaining_actions;
  return google::protobuf::util::MessageDifferencer::Equivalent(to_proto(wanted),
                                                                to_proto(existing));
}

// Creates `w` when missing, updates it when it differs. Returns "created", "updated" or "same".
std::string put_schedule(Client& client, const Wanted& w) {
  ScheduleHandle h = client.schedule_handle(w.id);
  try {
    ScheduleDescription d = h.describe(1);
    if (same_schedule(w.options, d.options)) {
      return "same";
    }
    ScheduleOptions next = w.options;
    next.paused = d.options.paused;
    next.note = d.options.note;
    h.update(next);
    return "updated";
  } catch (const RpcError& e) {
    if (e.code() != grpc::StatusCode::NOT_FOUND) {
      throw;
    }
  }
  try {
    client.create_schedule(w.id, w.options);
  } catch (const RpcError& e) {
    // A retry of this activity after a create that answered too late.
    if (e.code() != grpc::StatusCode::ALREADY_EXISTS) {
      throw;
    }
    client.schedule_handle(w.id).update(w.options);
  }
  return "created";
}

json sync_schedules(Client& client, const std::string& task_queue, const json& in) {
  const std::string stack = in.at("stack").get<std::string>();
  std::vector<Wanted> wanted;
  const std::string text = in.value("spec_text", "");
  if (!text.empty()) {
    StackParseResult parsed = parse_stack(text, in.value("spec_file", "stack.yaml"));
    if (!parsed.ok()) {
      throw ApplicationError(
          "stack " + stack + ": the applied spec does not parse: " + parsed.errors.report(),
          "StackSpecInvalid", /*non_retryable=*/true);
    }
    wanted = wanted_schedules(*parsed.spec, task_queue);
  }
  json ids = json::array();
  json changes = json::array();
  for (const auto& w : wanted) {
    ids.push_back(w.id);
    std::string what = put_schedule(client, w);
    if (what != "same") {
      changes.push_back(what + " " + w.id);
    }
  }
  for (const std::string& old : in.value("owned", std::vector<std::string>{})) {
    if (std::find(ids.begin(), ids.end(), old) != ids.end()) {
      continue;
    }
    try {
      client.schedule_handle(old).remove();
      changes.push_back("deleted " + old);
    } catch (const RpcError& e) {
      if (e.code() != grpc::StatusCode::NOT_FOUND) {
        throw;
      }
    }
  }
  return {{"schedules", ids}, {"changes", changes}};
}

// Follows deploy `deploy_id` to its end, heartbeating; the activity's timeout bounds it.
json await_deploy(Client& client, ActivityContext& actx, const json& in) {
  const std::string stack = in.at("stack").get<std::string>();
  const std::string id = in.at("deploy_id").get<std::string>();
  for (;;) {
    try {
      DeployRecord d = wait_for_deploy(client, stack, id, seconds(5));
      return {{"deploy_id", id}, {"state", d.state}, {"error", d.error}};
    } catch (const TimeoutError&) {
      actx.heartbeat();
      if (actx.cancel_requested()) {
        throw CanceledError("waiting for deploy " + id + " of stack " + stack + " canceled");
      }
    }
  }
}

// Reads the router's requests in flight for the tier and reports them to the entity.
json autoscale_tick(Client& client, const ProviderRegistry& registry, const std::string& state_dir,
                    const json& in) {
  const std::string stack = in.at("stack").get<std::string>();
  const std::string router = in.at("router").get<std::string>();
  const std::string tier = in.at("tier").get<std::string>();
  StackStatus st = stack_status(client, stack);
  const ResourceStatus* r = nullptr;
  for (const auto& res : st.resources) {
    if (res.name == router) {
      r = &res;
    }
  }
  if (r == nullptr) {
    throw ApplicationError("stack " + stack + " has no router '" + router + "' recorded",
                           "InvalidStackRequest", /*non_retryable=*/true);
  }
  ProviderContext pctx;
  pctx.state_dir = std::filesystem::path(state_dir) / stack;
  json stats = registry.get("router").stats(pctx, provider_state_of(*r));
  AutoscaleObservation o;
  o.resource = in.at("resource").get<std::string>();
  o.requested_by = in.value("schedule_id", "autoscale");
  o.in_flight = stats.value("tiers", json::object())
                    .value(tier, json::object())
                    .value("in_flight", int64_t{0});
  AutoscaleAnswer a =
      client.handle(stack_workflow_id(stack))
          .update_with_id<AutoscaleAnswer>(in.value("update_id", ""), kStackAutoscaleUpdate, o);
  json out = a;
  out["in_flight"] = o.in_flight;
  return out;
}

ActivityOptions quick_options() {
  ActivityOptions o;
  o.start_to_close = seconds(60);
  o.retry.initial_interval = seconds(1);
  o.retry.maximum_interval = seconds(10);
  o.retry.maximum_attempts = 5;
  o.retry.non_retryable_error_types = {"StackLocked", "InvalidStackRequest", "StackSpecInvalid"};
  return o;
}

ActivityOptions await_options() {
  ActivityOptions o;
  o.start_to_close = std::chrono::hours(24);
  o.heartbeat = seconds(30);
  o.retry.initial_interval = seconds(1);
  o.retry.maximum_interval = seconds(10);
  return o;
}

// One fire of a stack's schedule.
json stack_schedule_workflow(WorkflowContext& ctx, const json& in) {
  const std::string stack = in.at("stack").get<std::string>();
  const std::string kind = in.value("kind", "");
  const std::string schedule_id = in.value("schedule_id", "");
  json answer = json::object();
  std::string deploy_id;
  if (kind == "autoscale") {
    json tick = in;
    tick["update_id"] = ctx.info().workflow_id;
    answer = ctx.activity<json>(kAutoscaleActivity, tick, quick_options()).get();
    deploy_id = answer.value("deploy_id", "");
    if (deploy_id.empty()) {
      return answer;
    }
  } else {
    StackRequest r;
    r.operation = kind == "scale" ? Operation::kScale : Operation::kReconcile;
    r.requested_by = schedule_id.empty() ? "schedule" : schedule_id;
    r.reason = in.value("reason", "");
    r.dry_run = in.value("dry_run", false);
    r.resource = in.value("resource", "");
    r.replicas = in.value("replicas", 0);
    r.wait = true;
    json acc = ctx.activity<json>(
                      kSubmitActivity,
                      json{{"stack", stack}, {"request", r}, {"update_id", ctx.info().workflow_id}},
                      quick_options())
                   .get();
    deploy_id = acc.at("deploy_id").get<std::string>();
  }
  json done = ctx.activity<json>(kAwaitActivity, json{{"stack", stack}, {"deploy_id", deploy_id}},
                                 await_options())
                  .get();
  answer["deploy_id"] = deploy_id;
  answer["state"] = done.value("state", "");
  answer["error"] = done.value("error", "");
  return answer;
}

}  // namespace

void register_stack_schedules(Worker& worker, Client& client,
                              std::shared_ptr<const ProviderRegistry> registry,
                              const std::string& state_dir) {
  Client* c = &client;
  const std::string task_queue = worker.options().task_queue;
  worker.register_workflow(kStackScheduleWorkflow, [](WorkflowContext& ctx, json in) -> json {
    return stack_schedule_workflow(ctx, in);
  });
  worker.register_activity(kSchedulesActivity, [c, task_queue](ActivityContext&, json in) -> json {
    return sync_schedules(*c, task_queue, in);
  });
  worker.register_activity(kSubmitActivity, [c](ActivityContext&, json in) -> json {
    StackClientOptions o;
    o.update_id = in.value("update_id", "");
    return submit_stack_request(*c, in.at("stack").get<std::string>(),
                                in.at("request").get<StackRequest>(), o);
  });
  worker.register_activity(kAwaitActivity, [c](ActivityContext& actx, json in) -> json {
    return await_deploy(*c, actx, in);
  });
  worker.register_activity(kAutoscaleActivity,
                           [c, registry, state_dir](ActivityContext&, json in) -> json {
                             return autoscale_tick(*c, *registry, state_dir, in);
                           });
}

}  // namespace cairn::deploy::stack_detail
