// The per-stack entity workflow (kStackWorkflow). Its variables are the stack's state; requests
// arrive as the update kStackRequestUpdate (validated without a history event, then queued) and
// run one at a time: refresh → plan (activity; hash in history) → policy → approval bound to the
// plan hash → waves of provider activities → verify → outputs, with a compensation log that
// rolls back what the deploy changed when a step fails. Protocol and crash windows:
// docs/deploy.md "The deploy workflow".
#include <algorithm>
#include <ctime>
#include <functional>
#include <set>

#include "cairn/ai/approval.h"
#include "cairn/combinators.h"
#include "cairn/deploy/graph.h"
#include "cairn/deploy/scaling.h"
#include "cairn/deploy/spec.h"
#include "cairn/deploy/stack.h"
#include "stack_internal.h"

namespace cairn::deploy::stack_detail {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr size_t kRecentDeploys = 20;
constexpr int64_t kHistoryLimit = 4000;  // events: continue-as-new after a deploy past this

std::string iso_ms(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

// The versioning patch under which the old instances of replaced resources are destroyed after
// verify (runs recorded before it destroyed them before). Recorded in histories: never rename.
constexpr char kRetireAfterVerifyPatch[] = "deploy-retire-after-verify";

// A failed step of a deploy: the message is already redacted (providers redact their errors).
struct DeployFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string error_text(const std::exception& e) {
  if (auto* a = dynamic_cast<const ActivityError*>(&e)) {
    const auto& c = a->cause();
    std::string m = c.message().empty() ? a->what() : c.message();
    if (!a->cause_type().empty()) {
      m = a->cause_type() + ": " + m;
    }
    return m;
  }
  return e.what();
}

// One compensation: what a step changed and how to undo it.
struct Entry {
  enum class Kind { kCreated, kUpdated, kReplaced, kSnapshot } kind;
  std::string resource;
  std::optional<ResourceStatus> before;  // kUpdated / kReplaced: the record before
  ResourceStatus after;                  // kCreated / kUpdated / kReplaced: the new record
  json snapshot;                         // kSnapshot
};

class StackEntity {
 public:
  StackEntity(WorkflowContext& ctx, EntityState state) : ctx_(ctx), st_(std::move(state)) {}

  json run() {
    ctx_.set_query_handler(kStackStatusQuery, [this]() { return st_.status; });
    ctx_.set_update_handler(
        kStackRequestUpdate, [this](StackRequest r) { return accept(r); },
        [this](StackRequest r) { validate(r); });
    ctx_.set_update_handler(
        kStackAutoscaleUpdate, [this](AutoscaleObservation o) { return autoscale(o); },
        [this](AutoscaleObservation o) { validate_autoscale(o); });
    for (;;) {
      ctx_.await_condition([this] { return !st_.queue.empty() || history_long(); });
      if (st_.queue.empty()) {
        ctx_.continue_as_new(st_);
      }
      StackRequest req = st_.queue.front();
      st_.queue.erase(st_.queue.begin());
      st_.status.running = st_.status.queued.front();
      st_.status.queued.erase(st_.status.queued.begin());
      DeployRecord& rec = *st_.status.running;
      rec.state = "running";
      rec.started_ms = now_ms();
      bool canceled = false;
      const std::map<std::string, int> replicas_before = replica_counts();
      try {
        execute(req, rec);
      } catch (const NonDeterminismError&) {
        throw;
      } catch (const CanceledError&) {
        canceled = true;
      }
      rec.finished_ms = now_ms();
      if (!rec.finished()) {
        rec.state = canceled ? "canceled" : "failed";
      }
      rec.phase = "done";
      note_replica_changes(replicas_before);
      st_.status.recent.insert(st_.status.recent.begin(), rec);
      if (st_.status.recent.size() > kRecentDeploys) {
        st_.status.recent.resize(kRecentDeploys);
      }
      st_.status.running.reset();
      touch();
      if (canceled || history_long()) {
        ctx_.continue_as_new(st_);
      }
    }
  }

 private:
  // ---- Requests.

  [[noreturn]] static void refuse(const std::string& type, const std::string& message) {
    throw StackRequestError(type + ": " + message, type);
  }

  void validate(const StackRequest& r) {
    std::string problem = request_problem(r);
    if (!problem.empty()) {
      refuse("InvalidStackRequest", problem);
    }
    const std::string& stack = st_.status.stack;
    switch (r.operation) {
      case Operation::kApply: {
        StackParseResult parsed = parse_stack(r.spec_text, spec_name(r));
        if (!parsed.ok()) {
          refuse("StackSpecInvalid", parsed.errors.report());
        }
        if (parsed.spec->name != stack) {
          refuse("InvalidStackRequest", "spec_text: the spec names stack '" + parsed.spec->name +
                                            "', not '" + stack + "'");
        }
        break;
      }
      case Operation::kReconcile:
        if (st_.spec_text.empty()) {
          refuse("InvalidStackRequest",
                 "operation: stack '" + stack + "' has no applied spec to reconcile with");
        }
        break;
      case Operation::kScale: {
        const ResourceStatus* found = nullptr;
        for (const auto& res : st_.status.resources) {
          if (res.name == r.resource) {
            found = &res;
          }
        }
        if (found == nullptr || st_.spec_text.empty()) {
          refuse("InvalidStackRequest",
                 "resource: stack '" + stack + "' has no resource '" + r.resource + "'");
        }
        if (found->state.type != "model_endpoint") {
          refuse("InvalidStackRequest", "resource: '" + r.resource + "' is a " + found->state.type +
                                            ", not a model_endpoint");
        }
        if (auto sc = scaling_of(r.resource);
            sc && (r.replicas < sc->min || r.replicas > sc->max)) {
          refuse("InvalidStackRequest", "replicas: " + std::to_string(r.replicas) +
                                            " is outside the scaling bounds of '" + r.resource +
                                            "' (" + std::to_string(sc->min) + ".." +
                                            std::to_string(sc->max) + ")");
        }
        break;
      }
      case Operation::kDestroy:
        break;
    }
    if ((st_.status.running || !st_.status.queued.empty()) && !r.wait) {
      const DeployRecord& d = st_.status.running ? *st_.status.running : st_.status.queued.front();
      refuse("StackLocked", "stack '" + stack + "' is locked by deploy " + d.deploy_id + " (" +
                                operation_name(d.operation) + " requested by " + d.requested_by +
                                ", " +
                                (d.started_ms > 0 ? "started " + iso_ms(d.started_ms)
                                                  : "queued " + iso_ms(d.requested_ms)) +
                                "); wait for it (--wait) or try again when it has finished");
    }
  }

  StackAccepted accept(const StackRequest& r) {
    DeployRecord rec;
    rec.deploy_id = "d-" + std::to_string(++st_.status.deploys);
    rec.operation = r.operation;
    rec.requested_by = r.requested_by;
    rec.reason = r.reason;
    rec.state = "queued";
    rec.phase = "queued";
    rec.requested_ms = now_ms();
    StackAccepted a;
    a.deploy_id = rec.deploy_id;
    a.queue_position = static_cast<int>(st_.queue.size()) + (st_.status.running ? 1 : 0);
    st_.queue.push_back(r);
    st_.status.queued.push_back(rec);
    touch();
    return a;
  }

  // ---- Target tracking: the decision is the entity's, on its durable replica-change times.

  std::optional<ScalingSpec> scaling_of(const std::string& resource) const {
    if (st_.spec_text.empty()) {
      return std::nullopt;
    }
    StackParseResult parsed = parse_stack(st_.spec_text, st_.status.spec_file);
    if (!parsed.ok()) {
      return std::nullopt;
    }
    const ResourceSpec* rs = parsed.spec->find(resource);
    if (rs == nullptr || !rs->scaling) {
      return std::nullopt;
    }
    return rs->scaling;
  }

  void validate_autoscale(const AutoscaleObservation& o) {
    if (o.requested_by.empty()) {
      refuse("InvalidStackRequest", "requested_by: must name who asks");
    }
    auto sc = scaling_of(o.resource);
    if (!sc || !sc->target || find(o.resource) == nullptr) {
      refuse("InvalidStackRequest", "resource: stack '" + st_.status.stack + "' has no resource '" +
                                        o.resource + "' with scaling.target");
    }
  }

  AutoscaleAnswer autoscale(const AutoscaleObservation& o) {
    AutoscaleAnswer a;
    const ResourceStatus* r = find(o.resource);
    auto sc = scaling_of(o.resource);
    if (r == nullptr || !sc || !sc->target) {
      a.move = "none";
      a.reason = "no target tracking for " + o.resource;
      return a;
    }
    const int current = static_cast<int>(r->state.inputs.value("replicas", int64_t{1}));
    if (st_.status.running || !st_.status.queued.empty()) {
      // One request at a time: the next tick decides on what this one leaves.
      a.move = "pending";
      a.replicas = current;
      a.reason = "a deploy of the stack is running or queued";
      return a;
    }
    auto last = st_.status.scaled_ms.find(o.resource);
    ScaleDecision d = decide_scale(*sc, current, o.in_flight, now_ms(),
                                   last == st_.status.scaled_ms.end() ? 0 : last->second);
    a.replicas = d.replicas;
    a.reason = d.reason;
    switch (d.move) {
      case ScaleMove::kNone:
        a.move = "none";
        return a;
      case ScaleMove::kHold:
        a.move = "hold";
        return a;
      case ScaleMove::kOut:
      case ScaleMove::kIn:
        break;
    }
    a.move = d.move == ScaleMove::kOut ? "out" : "in";
    StackRequest req;
    req.operation = Operation::kScale;
    req.resource = o.resource;
    req.replicas = d.replicas;
    req.reason = d.reason;
    req.requested_by = o.requested_by;
    req.wait = true;
    a.deploy_id = accept(req).deploy_id;
    return a;
  }

  std::map<std::string, int> replica_counts() const {
    std::map<std::string, int> out;
    for (const auto& r : st_.status.resources) {
      if (r.state.type == "model_endpoint") {
        out[r.name] = static_cast<int>(r.state.inputs.value("replicas", int64_t{1}));
      }
    }
    return out;
  }

  // The cooldown's clock: a replica count that changed (created, scaled, applied) restarts it.
  void note_replica_changes(const std::map<std::string, int>& before) {
    for (const auto& [name, n] : replica_counts()) {
      auto it = before.find(name);
      if (it == before.end() || it->second != n) {
        st_.status.scaled_ms[name] = now_ms();
      }
    }
  }

  static std::string spec_name(const StackRequest& r) {
    return r.spec_file.empty() ? "stack.yaml" : r.spec_file;
  }

  // ---- Deploys.

  void execute(const StackRequest& req, DeployRecord& rec) {
    switch (req.operation) {
      case Operation::kApply:
        apply(req, rec, req.spec_text, spec_name(req), req.base_dir, json::object());
        return;
      case Operation::kScale: {
        // Earlier scales of other resources stay (they are not in the spec text).
        json overrides = st_.overrides;
        overrides[req.resource] = {{"replicas", req.replicas}};
        apply(req, rec, st_.spec_text, st_.status.spec_file, st_.base_dir, overrides);
        if (rec.state == "succeeded") {
          st_.overrides = overrides;
        }
        return;
      }
      case Operation::kDestroy:
        destroy(req, rec);
        return;
      case Operation::kReconcile:
        reconcile(req, rec);
        return;
    }
  }

  void apply(const StackRequest& req, DeployRecord& rec, const std::string& spec_text,
             const std::string& spec_file, const std::string& base_dir, const json& overrides) {
    StackParseResult parsed = parse_stack(spec_text, spec_file);
    if (!parsed.ok()) {
      return fail(rec, "StackSpecInvalid: " + parsed.errors.report());
    }
    StackSpec spec = *parsed.spec;
    if (!base_dir.empty()) {
      spec.base_dir = base_dir;
    }
    apply_overrides(spec, overrides);
    base_dir_ = spec.base_dir;

    if (!refresh(rec, /*drop_missing=*/true)) {
      return;
    }

    rec.phase = "plan";
    touch();
    json planned;
    try {
      planned = ctx_.activity<json>(kPlanActivity,
                                    json{{"stack", st_.status.stack},
                                         {"spec_text", spec_text},
                                         {"spec_file", spec_file},
                                         {"base_dir", spec.base_dir},
                                         {"overrides", overrides},
                                         {"current", st_.status.stack_state()}},
                                    plan_options())
                    .get();
    } catch (const NonDeterminismError&) {
      throw;
    } catch (const CanceledError&) {
      throw;
    } catch (const std::exception& e) {
      return fail(rec, "plan: " + error_text(e));
    }
    if (planned.contains("errors")) {
      return fail(rec, "StackSpecInvalid: " + planned["errors"].get<std::string>());
    }
    json digests = planned.value("digests", json::object());
    PlanOptions po;
    po.secret_digest = [&digests](const SecretRef& r) -> std::optional<std::string> {
      auto it = digests.find(r.to_string());
      if (it == digests.end()) {
        return std::nullopt;
      }
      return it->get<std::string>();
    };
    Plan plan = make_plan(spec, st_.status.stack_state(), po);
    rec.plan_hash = plan.hash;
    rec.plan = to_json(plan);
    touch();
    if (!planned.value("problems", json::array()).empty()) {
      std::string m;
      for (const auto& p : planned["problems"]) {
        m += (m.empty() ? "" : "; ") + p.get<std::string>();
      }
      return fail(rec, "the providers refuse these inputs (nothing was changed): " + m);
    }
    if (auto cloud = plan.unsupported(); !cloud.empty()) {
      std::string names;
      for (const auto& n : cloud) {
        const ResourcePlan* rp = plan.find(n);
        names += (names.empty() ? "" : ", ") + n + " (" + (rp ? rp->type : "?") + ")";
      }
      return fail(rec, "apply refuses cloud types: " + names +
                           " — they can be declared and planned, but no provider exists for them "
                           "yet; nothing was changed");
    }
    if (!plan.has_changes()) {
      record_spec(spec_text, spec_file, spec.base_dir, overrides);
      if (overrides.empty() && !sync_schedules(rec)) {
        return;
      }
      rec.state = "succeeded";
      rec.phase = "done";
      touch();
      return;
    }
    if (!approve(req, rec, plan, needs_approval(plan, spec.policy))) {
      return;
    }

    std::vector<Entry> log;
    std::vector<ResourceStatus> retired;  // replaced: destroyed once the deploy is proven
    try {
      apply_plan(spec, plan, rec, log, retired);
      verify(rec);
    } catch (const NonDeterminismError&) {
      throw;
    } catch (const CanceledError&) {
      rec.error = "canceled while applying";
      rollback(rec, log);
      rec.state = "canceled";
      throw;
    } catch (const std::exception& e) {
      rec.error = error_text(e);
      rollback(rec, log);
      rec.state = "rolled_back";
      touch();
      return;
    }
    // Blue/green: the old instances of replaced resources go only now — their dependents use
    // the new ones (a router has drained its old workers) and verify saw everything live. Until
    // here a failure rolled back to old instances that were still running.
    retire(rec, retired);
    record_spec(spec_text, spec_file, spec.base_dir, overrides);
    order_resources(spec);
    if (overrides.empty() && !sync_schedules(rec)) {
      return;
    }
    rec.state = "succeeded";
    rec.phase = "done";
    touch();
  }

  // Destroys the old instances of replaced resources, in parallel. The deploy is proven and
  // the state already records the new instances, so a failure here cannot roll back: the deploy
  // still succeeds, and the error names what may be left running.
  // Starts the destroy of every instance in `old`, in parallel, and waits for all of them.
  std::vector<Future<json>> destroy_all(const std::vector<ResourceStatus>& old) {
    std::vector<Future<json>> gone;
    for (const auto& o : old) {
      gone.push_back(ctx_.activity<json>(kDestroyActivity, call_input(o.name, o.state.type, o),
                                         destroy_options()));
    }
    all_of(gone);
    return gone;
  }

  void retire(DeployRecord& rec, const std::vector<ResourceStatus>& retired) {
    std::vector<Future<json>> gone = destroy_all(retired);
    for (size_t i = 0; i < gone.size(); ++i) {
      try {
        gone[i].get();
      } catch (const NonDeterminismError&) {
        throw;
      } catch (const CanceledError&) {
        throw;
      } catch (const std::exception& e) {
        rec.error += (rec.error.empty() ? "" : "; ") + std::string("the replaced ") +
                     retired[i].name + " (" + retired[i].state.provider_id +
                     ") was not destroyed: " + error_text(e);
      }
    }
  }

  static void apply_overrides(StackSpec& spec, const json& overrides) {
    for (auto it = overrides.begin(); it != overrides.end(); ++it) {
      for (auto& r : spec.resources) {
        if (r.name == it.key()) {
          for (auto f = it->begin(); f != it->end(); ++f) {
            r.inputs[f.key()] = *f;
          }
        }
      }
    }
  }

  void record_spec(const std::string& text, const std::string& file, const std::string& base_dir,
                   const json& overrides) {
    if (overrides.empty()) {
      st_.spec_text = text;
      st_.status.spec_file = file;
      st_.status.spec_hash = sha256_hex(text);
      st_.base_dir = base_dir;
      st_.overrides = json::object();
    }
  }

  // Brings the stack's schedules to what the spec last applied asks (none after a destroy):
  // one activity, idempotent (creates what is missing, updates what differs, deletes what the
  // stack owned and no longer wants). False: the deploy failed (its resources stay as applied).
  bool sync_schedules(DeployRecord& rec) {
    json out;
    try {
      out = ctx_.activity<json>(kSchedulesActivity,
                                json{{"stack", st_.status.stack},
                                     {"spec_text", st_.spec_text},
                                     {"spec_file", st_.status.spec_file},
                                     {"owned", st_.status.schedules}},
                                plan_options())
                .get();
    } catch (const NonDeterminismError&) {
      throw;
    } catch (const CanceledError&) {
      throw;
    } catch (const std::exception& e) {
      fail(rec, "schedules: " + error_text(e) + " (the resources stay as applied; apply again)");
      return false;
    }
    st_.status.schedules = out.value("schedules", std::vector<std::string>{});
    touch();
    return true;
  }

  // The approval policy. False: the deploy ended (state set) and nothing was changed.
  bool approve(const StackRequest& req, DeployRecord& rec, const Plan& plan,
               const ApprovalCheck& check) {
    if (!req.approved_plan_hash.empty()) {
      if (req.approved_plan_hash == plan.hash) {
        rec.approved_by = req.requested_by;
        return true;
      }
      fail(rec, "the plan changed since it was shown (shown " +
                    req.approved_plan_hash.substr(0, 16) + ", now " + plan.hash.substr(0, 16) +
                    "); run plan again");
      return false;
    }
    if (!check.required) {
      return true;
    }
    rec.state = "awaiting_approval";
    rec.phase = "approval";
    rec.approval_id = "plan-" + plan.hash.substr(0, 16);
    touch();
    ai::ApprovalRequest ar;
    ar.id = rec.approval_id;
    ar.what = std::string(operation_name(req.operation)) + " stack " + st_.status.stack + " (" +
              rec.deploy_id + " by " + req.requested_by +
              "): " + std::to_string(plan.count(Action::kCreate)) + " to create, " +
              std::to_string(plan.count(Action::kUpdate)) + " to update, " +
              std::to_string(plan.count(Action::kReplace)) + " to replace, " +
              std::to_string(plan.count(Action::kDelete)) + " to delete";
    ar.details = {{"deploy_id", rec.deploy_id}, {"stack", st_.status.stack},
                  {"plan_hash", plan.hash},     {"reasons", check.reasons},
                  {"plan", rec.plan},           {"rendered", render_plan(plan)}};
    ar.approvers =
        req.approvers.empty() ? std::vector<std::string>{req.requested_by} : req.approvers;
    ar.timeout = req.approval_timeout;
    ai::ApprovalDecision d = ai::request_approval(ctx_, ar);
    if (!d.approved) {
      rec.state = d.via == "timeout" ? "expired" : "rejected";
      rec.error =
          d.via == "timeout"
              ? "approval " + ar.id + " expired: nobody answered in time; nothing was changed"
              : "approval " + ar.id + " rejected by " + d.by +
                    (d.comment.empty() ? "" : " (" + d.comment + ")") + "; nothing was changed";
      rec.phase = "done";
      touch();
      return false;
    }
    rec.approved_by = d.by;
    rec.state = "running";
    touch();
    return true;
  }

  void fail(DeployRecord& rec, const std::string& error) {
    rec.state = "failed";
    rec.error = error;
    rec.phase = "done";
    touch();
  }

  // ---- Refresh and verify.

  // Reads every recorded resource. drop_missing: a resource that is gone leaves the state (the
  // plan then creates it again). False: the deploy failed (nothing changed).
  bool refresh(DeployRecord& rec, bool drop_missing) {
    rec.phase = "refresh";
    touch();
    std::vector<json> results;
    try {
      results = read_all(rec);
    } catch (const NonDeterminismError&) {
      throw;
    } catch (const CanceledError&) {
      throw;
    } catch (const std::exception& e) {
      fail(rec, "refresh: " + error_text(e));
      return false;
    }
    std::vector<ResourceStatus> kept;
    for (size_t i = 0; i < st_.status.resources.size(); ++i) {
      ResourceStatus r = st_.status.resources[i];
      r.exists = results[i].value("exists", false);
      r.drift = results[i].value("drift", json::array());
      r.read_ms = now_ms();
      if (!r.exists && drop_missing) {
        st_.status.outputs.erase(r.name);
        continue;
      }
      kept.push_back(r);
    }
    st_.status.resources = kept;
    touch();
    return true;
  }

  // Reads every recorded resource in parallel; `track`: a progress line per read.
  std::vector<json> read_all(DeployRecord& rec, bool track = true) {
    std::vector<Future<json>> futures;
    for (const auto& r : st_.status.resources) {
      if (track) {
        start_progress(rec, r.name, "read");
      }
      futures.push_back(
          ctx_.activity<json>(kReadActivity, call_input(r.name, r.state.type, r), read_options()));
    }
    all_of(futures);
    std::vector<json> out;
    for (size_t i = 0; i < futures.size(); ++i) {
      const std::string& name = st_.status.resources[i].name;
      try {
        out.push_back(futures[i].get());
        json& o = out.back();
        if (!track) {
          continue;
        }
        finish_progress(rec, name, "read", "done",
                        !o.value("exists", false)                 ? "gone"
                        : o.value("drift", json::array()).empty() ? ""
                                                                  : "drift: " + o["drift"].dump());
      } catch (const std::exception& e) {
        if (track) {
          finish_progress(rec, name, "read", "failed", error_text(e));
        }
        throw;
      }
    }
    return out;
  }

  void verify(DeployRecord& rec) {
    rec.phase = "verify";
    touch();
    std::vector<json> results = read_all(rec, /*track=*/false);
    std::string problems;
    for (size_t i = 0; i < results.size(); ++i) {
      ResourceStatus& r = st_.status.resources[i];
      r.exists = results[i].value("exists", false);
      r.drift = results[i].value("drift", json::array());
      r.read_ms = now_ms();
      if (!r.exists) {
        problems += (problems.empty() ? "" : "; ") + r.name + " is gone";
      } else if (!r.drift.empty()) {
        problems += (problems.empty() ? "" : "; ") + r.name + " drifted: " + r.drift.dump();
      }
    }
    if (!problems.empty()) {
      throw DeployFailure("verify: " + problems);
    }
  }

  // ---- Apply.

  struct Op {
    const ResourcePlan* rp;
    Action action;  // kCreate, kUpdate or kReplace
    json inputs;    // references resolved
    std::optional<Future<json>> future;
  };

  // Runs the plan's creates, updates and replaces wave by wave, then its deletes. `retired`
  // receives the old instances of replaced resources: the caller destroys them after verify.
  void apply_plan(const StackSpec& spec, const Plan& plan, DeployRecord& rec,
                  std::vector<Entry>& log, std::vector<ResourceStatus>& retired) {
    rec.phase = "apply";
    rec.state = "running";
    for (const auto& rp : plan.resources) {
      if (rp.action != Action::kNone) {
        pending_progress(rec, rp.name, action_name(rp.action));
      }
    }
    touch();
    int max_wave = -1;
    for (const auto& rp : plan.resources) {
      if (rp.action != Action::kDelete && rp.action != Action::kNone) {
        max_wave = std::max(max_wave, rp.wave);
      }
    }
    for (int w = 0; w <= max_wave; ++w) {
      std::vector<Op> ops;
      for (const auto& rp : plan.resources) {
        if (rp.wave == w && (rp.action == Action::kCreate || rp.action == Action::kUpdate ||
                             rp.action == Action::kReplace)) {
          ops.push_back(Op{&rp, rp.action, resolve_inputs(spec, rp.name), std::nullopt});
        }
      }
      // Snapshots of what holds data, before it changes.
      std::vector<std::pair<std::string, Future<json>>> snaps;
      for (const auto& op : ops) {
        if (op.action != Action::kCreate && op.rp->holds_data) {
          const ResourceStatus* cur = find(op.rp->name);
          if (cur != nullptr) {
            snaps.emplace_back(
                op.rp->name,
                ctx_.activity<json>(kSnapshotActivity, call_input(cur->name, cur->state.type, *cur),
                                    destroy_options()));
          }
        }
      }
      for (auto& [name, f] : snaps) {
        json s = f.get().value("snapshot", json());
        if (!s.is_null()) {
          log.push_back(Entry{Entry::Kind::kSnapshot, name, std::nullopt, {}, s});
        }
      }
      run_ops(spec, rec, ops, log, retired);
      // An update the provider can only make as a replace.
      std::vector<Op> again;
      for (auto& op : ops) {
        if (op.action == Action::kUpdate && op.future && op.future->ready()) {
          json r = op.future->get();
          if (r.value("replace", false)) {
            again.push_back(Op{op.rp, Action::kReplace, op.inputs, std::nullopt});
          }
        }
      }
      if (!again.empty()) {
        run_ops(spec, rec, again, log, retired);
      }
    }
    // Deletes after every other wave, in reverse dependency order.
    std::vector<std::string> deleted;
    for (const auto& rp : plan.resources) {
      if (rp.action == Action::kDelete) {
        deleted.push_back(rp.name);
      }
    }
    if (!deleted.empty()) {
      delete_in_reverse(rec, deleted, /*snapshot_data=*/true);
    }
    if (!retired.empty() && !ctx_.patched(kRetireAfterVerifyPatch)) {
      // A run recorded before the patch destroyed the old instances here, before verify.
      for (Future<json>& f : destroy_all(retired)) {
        f.get();
      }
      retired.clear();
    }
  }

  void run_ops(const StackSpec& spec, DeployRecord& rec, std::vector<Op>& ops,
               std::vector<Entry>& log, std::vector<ResourceStatus>& retired) {
    for (auto& op : ops) {
      const std::string& name = op.rp->name;
      const ResourceSpec* rs = spec.find(name);
      start_progress(rec, name, action_name(op.action));
      if (op.action == Action::kUpdate) {
        const ResourceStatus* cur = find(name);
        json in = call_input(name, cur->state.type, *cur);
        in["old_inputs"] = cur->state.inputs;
        in["inputs"] = op.inputs;
        op.future = ctx_.activity<json>(kUpdateActivity, in, change_options(op.inputs));
      } else {
        json in = call_input(name, rs->type, json::object());
        in["key"] = st_.status.stack + "-" + name + "-" + rec.deploy_id;
        in["inputs"] = op.inputs;
        op.future = ctx_.activity<json>(kCreateActivity, in, change_options(op.inputs));
      }
    }
    touch();
    std::vector<Future<json>*> all;
    for (auto& op : ops) {
      all.push_back(&*op.future);
    }
    ctx_.await_condition([&] {
      for (auto* f : all) {
        if (!f->ready()) {
          return false;
        }
      }
      return true;
    });
    std::optional<std::string> first_error;
    for (auto& op : ops) {
      const std::string& name = op.rp->name;
      const ResourceSpec* rs = spec.find(name);
      json r;
      try {
        r = op.future->get();
      } catch (const NonDeterminismError&) {
        throw;
      } catch (const CanceledError&) {
        throw;
      } catch (const std::exception& e) {
        finish_progress(rec, name, action_name(op.action), "failed", error_text(e));
        if (!first_error) {
          first_error = name + ": " + error_text(e);
        }
        continue;
      }
      if (op.action == Action::kUpdate && r.value("replace", false)) {
        finish_progress(rec, name, action_name(op.action), "done", "the provider replaces it");
        continue;
      }
      ProviderState ps = provider_state_from_json(r.at("state"));
      ResourceStatus next;
      next.name = name;
      next.state.type = rs->type;
      next.state.inputs = r.value("inputs", op.inputs);
      next.state.outputs = ps.outputs;
      next.state.provider_id = ps.provider_id;
      next.state.dependencies = rs->dependencies();
      next.private_state = ps.private_state;
      next.exists = true;
      next.read_ms = now_ms();
      const ResourceStatus* cur = find(name);
      if (op.action == Action::kCreate && cur == nullptr) {
        log.push_back(Entry{Entry::Kind::kCreated, name, std::nullopt, next, json()});
      } else if (op.action == Action::kUpdate) {
        log.push_back(Entry{Entry::Kind::kUpdated, name, *cur, next, json()});
      } else {
        // A replace (or a create over a resource that the plan saw as gone).
        if (cur != nullptr) {
          log.push_back(Entry{Entry::Kind::kReplaced, name, *cur, next, json()});
          retired.push_back(*cur);
        } else {
          log.push_back(Entry{Entry::Kind::kCreated, name, std::nullopt, next, json()});
        }
      }
      put(next);
      finish_progress(rec, name, action_name(op.action), "done", "");
    }
    touch();
    if (first_error) {
      throw DeployFailure(*first_error);
    }
  }

  json resolve_inputs(const StackSpec& spec, const std::string& name) {
    const ResourceSpec* rs = spec.find(name);
    bool unknown = false;
    json in = substitute(
        rs->inputs,
        [this](const Reference& ref) -> std::optional<json> {
          auto r = st_.status.outputs.find(ref.resource);
          if (r == st_.status.outputs.end() || !r->contains(ref.output)) {
            return std::nullopt;
          }
          return (*r)[ref.output];
        },
        &unknown);
    if (unknown) {
      throw DeployFailure(name + ": an input references an output that is not known (" + in.dump() +
                          ")");
    }
    return in;
  }

  // Destroys `names` (recorded) in reverse dependency order, each wave in parallel.
  void delete_in_reverse(DeployRecord& rec, const std::vector<std::string>& names,
                         bool snapshot_data) {
    DependencyGraph g;
    for (const auto& n : names) {
      g.add_node(n);
    }
    for (const auto& n : names) {
      if (const ResourceStatus* r = find(n)) {
        for (const auto& d : r->state.dependencies) {
          if (g.contains(d)) {
            g.add_edge(n, d);
          }
        }
      }
    }
    for (const auto& wave : g.reverse_waves()) {
      if (snapshot_data) {
        std::vector<Future<json>> snaps;
        for (const auto& n : wave) {
          const ResourceStatus* r = find(n);
          const TypeSchema* t = r ? find_type(r->state.type) : nullptr;
          if (r && t && holds_data(*t, r->state.inputs)) {
            snaps.push_back(ctx_.activity<json>(kSnapshotActivity, call_input(n, r->state.type, *r),
                                                destroy_options()));
          }
        }
        all_of(snaps);
      }
      std::vector<std::pair<std::string, Future<json>>> fs;
      for (const auto& n : wave) {
        const ResourceStatus* r = find(n);
        if (r == nullptr) {
          continue;
        }
        start_progress(rec, n, "delete");
        fs.emplace_back(n, ctx_.activity<json>(kDestroyActivity, call_input(n, r->state.type, *r),
                                               destroy_options()));
      }
      touch();
      ctx_.await_condition([&] {
        for (auto& [n, f] : fs) {
          if (!f.ready()) {
            return false;
          }
        }
        return true;
      });
      std::optional<std::string> first_error;
      for (auto& [n, f] : fs) {
        try {
          f.get();
          remove(n);
          finish_progress(rec, n, "delete", "done", "");
        } catch (const NonDeterminismError&) {
          throw;
        } catch (const CanceledError&) {
          throw;
        } catch (const std::exception& e) {
          finish_progress(rec, n, "delete", "failed", error_text(e));
          if (!first_error) {
            first_error = n + ": " + error_text(e);
          }
        }
      }
      touch();
      if (first_error) {
        throw DeployFailure(*first_error);
      }
    }
  }

  // ---- Rollback: the compensations of `log`, newest first, not cancellable.

  void rollback(DeployRecord& rec, std::vector<Entry>& log) {
    rec.phase = "rollback";
    touch();
    ctx_.non_cancellable([&] {
      for (auto it = log.rbegin(); it != log.rend(); ++it) {
        Entry& e = *it;
        const std::string what =
            std::string("rollback:") + (e.kind == Entry::Kind::kCreated    ? "destroy"
                                        : e.kind == Entry::Kind::kUpdated  ? "update"
                                        : e.kind == Entry::Kind::kReplaced ? "destroy_new"
                                                                           : "restore");
        start_progress(rec, e.resource, what);
        touch();
        try {
          switch (e.kind) {
            case Entry::Kind::kCreated:
              ctx_.activity<json>(kDestroyActivity,
                                  call_input(e.resource, e.after.state.type, e.after),
                                  destroy_options())
                  .get();
              remove(e.resource);
              break;
            case Entry::Kind::kReplaced:
              ctx_.activity<json>(kDestroyActivity,
                                  call_input(e.resource, e.after.state.type, e.after),
                                  destroy_options())
                  .get();
              put(*e.before);
              break;
            case Entry::Kind::kUpdated: {
              const ResourceStatus* cur = find(e.resource);
              ResourceStatus now = cur ? *cur : e.after;
              json in = call_input(e.resource, now.state.type, now);
              in["old_inputs"] = now.state.inputs;
              in["inputs"] = e.before->state.inputs;
              json r = ctx_.activity<json>(kUpdateActivity, in, change_options(in["inputs"])).get();
              ResourceStatus back = *e.before;
              if (r.contains("state")) {
                ProviderState ps = provider_state_from_json(r["state"]);
                back.state.outputs = ps.outputs;
                back.state.provider_id = ps.provider_id;
                back.private_state = ps.private_state;
              }
              put(back);
              break;
            }
            case Entry::Kind::kSnapshot: {
              const ResourceStatus* cur = find(e.resource);
              if (cur != nullptr) {
                json in = call_input(e.resource, cur->state.type, *cur);
                in["snapshot"] = e.snapshot;
                json r = ctx_.activity<json>(kRestoreActivity, in, destroy_options()).get();
                ResourceStatus back = *cur;
                ProviderState ps = provider_state_from_json(r.at("state"));
                back.state.outputs = ps.outputs;
                back.private_state = ps.private_state;
                put(back);
              }
              break;
            }
          }
          finish_progress(rec, e.resource, what, "done", "");
        } catch (const NonDeterminismError&) {
          throw;
        } catch (const std::exception& ex) {
          finish_progress(rec, e.resource, what, "failed", error_text(ex));
          rec.error += "; rollback of " + e.resource + " failed: " + error_text(ex);
        }
      }
      for (auto& p : rec.resources) {
        if (p.state == "done" && p.action.rfind("rollback:", 0) != 0 && p.action != "read") {
          p.state = "rolled_back";
        }
      }
      touch();
    });
  }

  // ---- Destroy and reconcile.

  void destroy(const StackRequest& req, DeployRecord& rec) {
    rec.phase = "plan";
    StackSpec empty;
    empty.name = st_.status.stack;
    ApprovalPolicy policy;
    if (!st_.spec_text.empty()) {
      StackParseResult parsed = parse_stack(st_.spec_text, st_.status.spec_file);
      if (parsed.ok()) {
        policy = parsed.spec->policy;
      }
    }
    Plan plan = make_plan(empty, st_.status.stack_state());
    rec.plan_hash = plan.hash;
    rec.plan = to_json(plan);
    touch();
    if (!approve(req, rec, plan, needs_approval(plan, policy))) {
      return;
    }
    rec.phase = "apply";
    rec.state = "running";
    std::vector<std::string> names;
    for (const auto& r : st_.status.resources) {
      names.push_back(r.name);
      pending_progress(rec, r.name, "delete");
    }
    try {
      delete_in_reverse(rec, names, /*snapshot_data=*/false);
    } catch (const NonDeterminismError&) {
      throw;
    } catch (const CanceledError&) {
      throw;
    } catch (const std::exception& e) {
      return fail(rec, "destroy: " + error_text(e) + " (what was deleted stays deleted)");
    }
    st_.status.outputs = json::object();
    st_.spec_text.clear();
    st_.status.spec_hash.clear();
    st_.overrides = json::object();
    if (!sync_schedules(rec)) {
      return;
    }
    rec.state = "succeeded";
    rec.phase = "done";
    touch();
  }

  void reconcile(const StackRequest& req, DeployRecord& rec) {
    if (!refresh(rec, /*drop_missing=*/false)) {
      return;
    }
    rec.phase = "apply";
    for (auto& r : st_.status.resources) {
      if (!r.exists) {
        rec.drift.push_back({{"resource", r.name},
                             {"field", "exists"},
                             {"expected", true},
                             {"actual", false},
                             {"repaired", false}});
      }
      for (const auto& d : r.drift) {
        json entry = d;
        entry["resource"] = r.name;
        entry["repaired"] = false;
        rec.drift.push_back(entry);
      }
    }
    touch();
    if (req.dry_run) {
      rec.state = "succeeded";
      rec.phase = "done";
      return;
    }
    std::string errors;
    for (size_t i = 0; i < st_.status.resources.size(); ++i) {
      ResourceStatus r = st_.status.resources[i];
      if (r.exists && r.drift.empty()) {
        continue;
      }
      start_progress(rec, r.name, "repair");
      touch();
      try {
        json out;
        if (!r.exists) {
          json in = call_input(r.name, r.state.type, json::object());
          in["key"] = st_.status.stack + "-" + r.name + "-" + rec.deploy_id;
          in["inputs"] = r.state.inputs;
          out = ctx_.activity<json>(kCreateActivity, in, change_options(r.state.inputs)).get();
        } else {
          out = ctx_.activity<json>(kRevertActivity, call_input(r.name, r.state.type, r),
                                    change_options(r.state.inputs))
                    .get();
        }
        ProviderState ps = provider_state_from_json(out.at("state"));
        r.state.outputs = ps.outputs;
        r.state.provider_id = ps.provider_id;
        r.private_state = ps.private_state;
        r.exists = true;
        r.drift = json::array();
        put(r);
        for (auto& d : rec.drift) {
          if (d["resource"] == r.name) {
            d["repaired"] = true;
          }
        }
        finish_progress(rec, r.name, "repair", "done", "");
      } catch (const NonDeterminismError&) {
        throw;
      } catch (const CanceledError&) {
        throw;
      } catch (const std::exception& e) {
        finish_progress(rec, r.name, "repair", "failed", error_text(e));
        errors += (errors.empty() ? "" : "; ") + r.name + ": " + error_text(e);
      }
    }
    if (!errors.empty()) {
      return fail(rec, "reconcile: " + errors);
    }
    rec.state = "succeeded";
    rec.phase = "done";
    touch();
  }

  // ---- State helpers.

  const ResourceStatus* find(const std::string& name) const {
    for (const auto& r : st_.status.resources) {
      if (r.name == name) {
        return &r;
      }
    }
    return nullptr;
  }
  void put(const ResourceStatus& r) {
    st_.status.outputs[r.name] = r.state.outputs;
    for (auto& cur : st_.status.resources) {
      if (cur.name == r.name) {
        cur = r;
        return;
      }
    }
    st_.status.resources.push_back(r);
  }
  void remove(const std::string& name) {
    st_.status.outputs.erase(name);
    auto& v = st_.status.resources;
    v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& r) { return r.name == name; }),
            v.end());
  }
  void order_resources(const StackSpec& spec) {
    std::vector<ResourceStatus> ordered;
    for (const auto& rs : spec.resources) {
      if (const ResourceStatus* r = find(rs.name)) {
        ordered.push_back(*r);
      }
    }
    for (const auto& r : st_.status.resources) {
      if (spec.find(r.name) == nullptr) {
        ordered.push_back(r);
      }
    }
    st_.status.resources = ordered;
  }

  json call_input(const std::string& name, const std::string& type, const ResourceStatus& r) {
    json in = call_input(name, type, json::object());
    in["state"] = to_json(provider_state_of(r));
    return in;
  }
  json call_input(const std::string& name, const std::string& type, const json&) {
    return {{"stack", st_.status.stack},
            {"resource", name},
            {"type", type},
            {"base_dir", base_dir_.empty() ? st_.base_dir : base_dir_}};
  }

  void pending_progress(DeployRecord& rec, const std::string& name, const std::string& action) {
    ResourceProgress p;
    p.resource = name;
    p.action = action;
    p.state = "pending";
    rec.resources.push_back(p);
  }
  ResourceProgress& progress(DeployRecord& rec, const std::string& name,
                             const std::string& action) {
    for (auto it = rec.resources.rbegin(); it != rec.resources.rend(); ++it) {
      if (it->resource == name && (it->action == action || it->state == "pending")) {
        it->action = action;
        return *it;
      }
    }
    pending_progress(rec, name, action);
    return rec.resources.back();
  }
  void start_progress(DeployRecord& rec, const std::string& name, const std::string& action) {
    ResourceProgress& p = progress(rec, name, action);
    p.state = "running";
    p.attempt += 1;
    p.started_ms = now_ms();
  }
  void finish_progress(DeployRecord& rec, const std::string& name, const std::string& action,
                       const std::string& state, const std::string& message) {
    ResourceProgress& p = progress(rec, name, action);
    p.state = state;
    p.message = message;
    p.finished_ms = now_ms();
  }

  // ---- Activity options.

  static ActivityOptions plan_options() {
    ActivityOptions o;
    o.start_to_close = seconds(60);
    o.retry.initial_interval = seconds(1);
    o.retry.maximum_interval = seconds(10);
    o.retry.maximum_attempts = 3;
    return o;
  }
  static ActivityOptions read_options() {
    ActivityOptions o;
    o.start_to_close = seconds(30);
    o.heartbeat = seconds(10);
    o.retry.initial_interval = milliseconds(500);
    o.retry.maximum_interval = seconds(5);
    o.retry.maximum_attempts = 5;
    o.retry.non_retryable_error_types = {"ProviderInvalidInputs"};
    return o;
  }
  // Create / update: the type's startup (health) timeout per replica — a vector_index's build
  // timeout — plus a margin.
  static ActivityOptions change_options(const json& inputs) {
    int64_t health_s = 30;
    for (const char* field : {"startup_timeout_seconds", "build_timeout_seconds"}) {
      if (inputs.is_object() && inputs.contains(field) && inputs[field].is_number()) {
        health_s = std::max<int64_t>(1, static_cast<int64_t>(inputs[field].get<double>() + 1));
      }
    }
    int64_t replicas = 1;
    if (inputs.is_object() && inputs.contains("replicas") && inputs["replicas"].is_number()) {
      replicas = std::max<int64_t>(1, inputs["replicas"].get<int64_t>());
    }
    // A router's update also waits for its old workers to drain.
    int64_t drain_s = 0;
    if (inputs.is_object() && inputs.contains("drain_timeout_seconds") &&
        inputs["drain_timeout_seconds"].is_number()) {
      drain_s = static_cast<int64_t>(inputs["drain_timeout_seconds"].get<double>() + 1);
    }
    ActivityOptions o;
    o.start_to_close = seconds(health_s * replicas + drain_s + 30);
    o.heartbeat = seconds(10);
    o.retry.initial_interval = seconds(1);
    o.retry.backoff_coefficient = 2;
    o.retry.maximum_interval = seconds(10);
    o.retry.maximum_attempts = 3;
    o.retry.non_retryable_error_types = {"ProviderInvalidInputs"};
    return o;
  }
  static ActivityOptions destroy_options() {
    ActivityOptions o;
    o.start_to_close = seconds(120);
    o.heartbeat = seconds(10);
    o.retry.initial_interval = seconds(1);
    o.retry.maximum_interval = seconds(10);
    o.retry.maximum_attempts = 10;
    return o;
  }

  int64_t now_ms() const {
    return std::chrono::duration_cast<milliseconds>(ctx_.now().time_since_epoch()).count();
  }
  void touch() { st_.status.updated_ms = now_ms(); }
  bool history_long() const {
    return ctx_.info().continue_as_new_suggested || ctx_.info().history_length > kHistoryLimit;
  }

  WorkflowContext& ctx_;
  EntityState st_;
  std::string base_dir_;
};

}  // namespace

void register_stack_workflow(Worker& worker) {
  worker.register_workflow(kStackWorkflow, [](WorkflowContext& ctx, json in) -> json {
    EntityState st = in.get<EntityState>();
    StackEntity entity(ctx, std::move(st));
    return entity.run();
  });
}

}  // namespace cairn::deploy::stack_detail
