// make_plan, needs_approval, plan_hash and the renderings (cairn/deploy/plan.h). Resources are
// planned in wave order so that the action of everything a resource references is decided
// before its own inputs are resolved.
#include "cairn/deploy/plan.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "cairn/deploy/graph.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;

bool contains_unknown(const json& v) {
  if (is_known_after_apply(v)) {
    return true;
  }
  if (v.is_array() || v.is_object()) {
    for (const auto& e : v) {
      if (contains_unknown(e)) {
        return true;
      }
    }
  }
  return false;
}

// Adds the current digest to each secret reference, when the options can compute one.
void add_digests(json& v, const PlanOptions& options) {
  if (auto ref = as_secret_ref(v)) {
    if (options.secret_digest) {
      if (auto d = options.secret_digest(*ref)) {
        v["digest"] = *d;
      }
    }
    return;
  }
  if (v.is_array() || v.is_object()) {
    for (auto& e : v) {
      add_digests(e, options);
    }
  }
}

// `before` as comparable with `after`: a recorded digest is dropped where `after` has none
// (no digest could be computed here, so only the references are compared).
json comparable(const json& before, const json& after) {
  if (as_secret_ref(before) && as_secret_ref(after) && !after.contains("digest")) {
    json b = before;
    b.erase("digest");
    return b;
  }
  if (before.is_object() && after.is_object()) {
    json out = json::object();
    for (auto it = before.begin(); it != before.end(); ++it) {
      auto a = after.find(it.key());
      out[it.key()] = a == after.end() ? it.value() : comparable(it.value(), *a);
    }
    return out;
  }
  if (before.is_array() && after.is_array() && before.size() == after.size()) {
    json out = json::array();
    for (size_t i = 0; i < before.size(); ++i) {
      out.push_back(comparable(before[i], after[i]));
    }
    return out;
  }
  return before;
}

// Compact JSON for people: secrets as their reference, unknown values as "(known after apply)".
std::string show(const json& v) {
  if (auto ref = as_secret_ref(v)) {
    return "(secret " + ref->to_string() + ")";
  }
  if (is_known_after_apply(v)) {
    return "(known after apply)";
  }
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      out += (i ? ", " : "") + show(v[i]);
    }
    return out + "]";
  }
  if (v.is_object()) {
    std::string out = "{";
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      out += (first ? "" : ", ") + it.key() + ": " + show(it.value());
      first = false;
    }
    return out + "}";
  }
  return v.dump();
}

std::string signed_money(Micros m) { return (m >= 0 ? "+" : "") + format_money(m); }

const TypeSchema* type_of(const std::string& name) { return find_type(name); }

// Plans one resource of the spec against its recorded state (or none).
ResourcePlan plan_resource(const ResourceSpec& r, const ResourceState* state,
                           const std::map<std::string, ResourcePlan>& decided,
                           const std::map<std::string, std::set<std::string>>& changed_inputs,
                           const StackState& current, const PlanOptions& options) {
  const TypeSchema* type = type_of(r.type);
  if (type == nullptr) {  // REQUIRES: a spec from parse_stack; one built in code may break it
    throw std::invalid_argument("make_plan: resource \"" + r.name + "\" has unknown type \"" +
                                r.type + "\" (plan only specs that parse_stack accepted)");
  }
  ResourcePlan p;
  p.name = r.name;
  p.type = r.type;
  p.apply_supported = type->apply_supported;

  OutputLookup lookup = [&](const Reference& ref) -> std::optional<json> {
    auto d = decided.find(ref.resource);
    auto s = current.resources.find(ref.resource);
    if (d == decided.end() || s == current.resources.end()) {
      return std::nullopt;
    }
    const ResourcePlan& dep = d->second;
    if (dep.action == Action::kCreate || dep.action == Action::kReplace) {
      return std::nullopt;
    }
    if (dep.action == Action::kUpdate) {
      const TypeSchema* dep_type = type_of(dep.type);
      auto out = dep_type ? dep_type->output(ref.output, dep.inputs) : std::nullopt;
      bool declared =
          dep_type && std::none_of(dep_type->outputs.begin(), dep_type->outputs.end(),
                                   [&](const OutputSchema& o) { return o.name == ref.output; });
      if (!out || declared) {
        return std::nullopt;  // command / cloud outputs may change on any update
      }
      const auto& changed = changed_inputs.at(ref.resource);
      for (const auto& in : out->changes_with) {
        if (changed.count(in) != 0) {
          return std::nullopt;
        }
      }
    }
    auto o = s->second.outputs.find(ref.output);
    if (o == s->second.outputs.end()) {
      return std::nullopt;
    }
    return *o;
  };

  p.inputs = substitute(r.inputs, lookup);
  add_digests(p.inputs, options);
  p.cost_after = cost_per_hour(*type, p.inputs);

  if (state == nullptr) {
    p.action = Action::kCreate;
    p.holds_data = holds_data(*type, p.inputs);
    for (auto it = p.inputs.begin(); it != p.inputs.end(); ++it) {
      p.changes.push_back(
          FieldChange{it.key(), nullptr, it.value(), false, contains_unknown(it.value())});
    }
    return p;
  }

  p.prior_inputs = state->inputs;
  const TypeSchema* prior_type = type_of(state->type);
  p.cost_before = prior_type ? cost_per_hour(*prior_type, state->inputs) : 0;
  p.holds_data = prior_type ? holds_data(*prior_type, state->inputs) : false;

  std::set<std::string> keys;
  for (auto it = p.inputs.begin(); it != p.inputs.end(); ++it) {
    keys.insert(it.key());
  }
  if (state->inputs.is_object()) {
    for (auto it = state->inputs.begin(); it != state->inputs.end(); ++it) {
      keys.insert(it.key());
    }
  }
  std::vector<std::string> replacing;
  for (const auto& k : keys) {
    json after = p.inputs.contains(k) ? p.inputs[k] : json();
    json before =
        state->inputs.is_object() && state->inputs.contains(k) ? state->inputs[k] : json();
    bool unknown = contains_unknown(after);
    if (!unknown && comparable(before, after) == after) {
      continue;
    }
    const InputSchema* in = type->input(k);
    bool forces = in != nullptr && in->replace_on_change;
    p.changes.push_back(FieldChange{k, before, after, forces, unknown});
    if (forces) {
      replacing.push_back(k);
    }
  }
  if (state->type != r.type) {
    p.action = Action::kReplace;
    p.reason = "type changed from " + state->type + " to " + r.type;
  } else if (!replacing.empty()) {
    p.action = Action::kReplace;
    for (const auto& k : replacing) {
      p.reason += (p.reason.empty() ? "" : ", ") + k;
    }
    p.reason += " changed";
  } else if (!p.changes.empty()) {
    p.action = Action::kUpdate;
  }
  if (p.action == Action::kNone || p.action == Action::kUpdate) {
    p.holds_data = holds_data(*type, p.inputs) || p.holds_data;
  }
  return p;
}

// The order deleted resources go in: every one after those recorded as depending on it.
std::vector<std::vector<std::string>> delete_waves(const std::vector<std::string>& deleted,
                                                   const StackState& current) {
  DependencyGraph g;
  for (const auto& n : deleted) {
    g.add_node(n);
  }
  for (const auto& n : deleted) {
    for (const auto& d : current.resources.at(n).dependencies) {
      if (g.contains(d)) {
        g.add_edge(n, d);
      }
    }
  }
  try {
    return g.reverse_waves();
  } catch (const std::logic_error&) {
    return {deleted};  // a recorded cycle cannot come from a valid spec: one wave, name order
  }
}

}  // namespace

const char* action_name(Action action) {
  switch (action) {
    case Action::kNone:
      return "none";
    case Action::kCreate:
      return "create";
    case Action::kUpdate:
      return "update";
    case Action::kReplace:
      return "replace";
    case Action::kDelete:
      return "delete";
  }
  return "none";
}

const ResourcePlan* Plan::find(const std::string& name) const {
  for (const auto& r : resources) {
    if (r.name == name) {
      return &r;
    }
  }
  return nullptr;
}

size_t Plan::count(Action action) const {
  return static_cast<size_t>(
      std::count_if(resources.begin(), resources.end(),
                    [&](const ResourcePlan& r) { return r.action == action; }));
}

bool Plan::has_changes() const { return count(Action::kNone) != resources.size(); }

std::vector<std::string> Plan::unsupported() const {
  std::vector<std::string> out;
  for (const auto& r : resources) {
    if (!r.apply_supported && r.action != Action::kNone) {
      out.push_back(r.name);
    }
  }
  return out;
}

Plan make_plan(const StackSpec& spec, const StackState& current, const PlanOptions& options) {
  Plan plan;
  plan.stack = spec.name;
  std::map<std::string, ResourcePlan> decided;
  std::map<std::string, std::set<std::string>> changed_inputs;
  auto waves = graph_of(spec).waves();
  for (size_t w = 0; w < waves.size(); ++w) {
    for (const auto& name : waves[w]) {
      const ResourceSpec* r = spec.find(name);
      auto s = current.resources.find(name);
      ResourcePlan p = plan_resource(*r, s == current.resources.end() ? nullptr : &s->second,
                                     decided, changed_inputs, current, options);
      p.wave = static_cast<int>(w);
      for (const auto& c : p.changes) {
        changed_inputs[name].insert(c.input);
      }
      changed_inputs[name];
      decided[name] = p;
      plan.resources.push_back(std::move(p));
    }
  }
  std::vector<std::string> deleted;
  for (const auto& [name, state] : current.resources) {
    if (spec.find(name) == nullptr) {
      deleted.push_back(name);
    }
  }
  int wave = static_cast<int>(waves.size());
  for (const auto& names : delete_waves(deleted, current)) {
    for (const auto& name : names) {
      const ResourceState& state = current.resources.at(name);
      const TypeSchema* type = type_of(state.type);
      ResourcePlan p;
      p.name = name;
      p.type = state.type;
      p.action = Action::kDelete;
      p.inputs = state.inputs;
      p.prior_inputs = state.inputs;
      p.cost_before = type ? cost_per_hour(*type, state.inputs) : 0;
      p.holds_data = type ? holds_data(*type, state.inputs) : false;
      p.apply_supported = type ? type->apply_supported : false;
      p.wave = wave;
      plan.resources.push_back(std::move(p));
    }
    ++wave;
  }
  for (const auto& r : plan.resources) {
    plan.cost_before += r.cost_before;
    plan.cost_after += r.action == Action::kDelete ? 0 : r.cost_after;
  }
  plan.hash = plan_hash(plan);
  return plan;
}

// `v` with every secret reference's digest removed: what the hash covers.
static json without_digests(json v) {
  if (as_secret_ref(v)) {
    v.erase("digest");
    return v;
  }
  if (v.is_array() || v.is_object()) {
    for (auto& e : v) {
      e = without_digests(std::move(e));
    }
  }
  return v;
}

std::string plan_hash(const Plan& plan) {
  json canonical = {{"stack", plan.stack}, {"resources", json::array()}};
  for (const auto& r : plan.resources) {
    // Secrets by reference only: cairnctl computes the hash to auto-approve a plan and cannot
    // read secrets, so a digest in the hash would make its hash and the worker's differ.
    canonical["resources"].push_back({{"name", r.name},
                                      {"type", r.type},
                                      {"action", action_name(r.action)},
                                      {"inputs", without_digests(r.inputs)}});
  }
  return sha256_hex(canonical.dump());
}

ApprovalCheck needs_approval(const Plan& plan, const ApprovalPolicy& policy) {
  ApprovalCheck check;
  if (policy.max_added_cost_per_hour && plan.cost_delta() > *policy.max_added_cost_per_hour) {
    check.reasons.push_back(
        "adds " + format_money(plan.cost_delta()) + " per hour (" +
        format_money(plan.cost_delta() * kHoursPerMonth) + " per month), above the policy's " +
        format_money(*policy.max_added_cost_per_hour) + " per hour without approval");
  }
  if (policy.approve_data_loss) {
    for (const auto& r : plan.resources) {
      if (!r.holds_data) {
        continue;
      }
      if (r.action == Action::kDelete) {
        check.reasons.push_back("deletes " + r.name + " (" + r.type +
                                "), which holds data: its data is lost");
      } else if (r.action == Action::kReplace) {
        check.reasons.push_back("replaces " + r.name + " (" + r.type + ", " + r.reason +
                                "), which holds data: its data is lost or rebuilt");
      }
    }
  }
  check.required = !check.reasons.empty();
  return check;
}

std::string render_plan(const Plan& plan) {
  std::string out = "Plan for stack " + plan.stack + ": " +
                    std::to_string(plan.count(Action::kCreate)) + " to create, " +
                    std::to_string(plan.count(Action::kUpdate)) + " to update, " +
                    std::to_string(plan.count(Action::kReplace)) + " to replace, " +
                    std::to_string(plan.count(Action::kDelete)) + " to delete, " +
                    std::to_string(plan.count(Action::kNone)) + " unchanged.\n";
  for (const auto& r : plan.resources) {
    if (r.action == Action::kNone) {
      continue;
    }
    const char* sign = r.action == Action::kCreate    ? "+"
                       : r.action == Action::kUpdate  ? "~"
                       : r.action == Action::kReplace ? "-/+"
                                                      : "-";
    out += "\n" + std::string(sign) + " " + r.name + " (" + r.type + ")  " + action_name(r.action);
    if (!r.reason.empty()) {
      out += ": " + r.reason;
    }
    out += "\n";
    size_t width = 0;
    for (const auto& c : r.changes) {
      width = std::max(width, c.input.size());
    }
    for (const auto& c : r.changes) {
      std::string pad(width - c.input.size(), ' ');
      out += "    " + c.input + ": " + pad;
      if (r.action == Action::kCreate) {
        out += show(c.after);
      } else {
        out += (c.before.is_null() ? "(none)" : show(c.before)) + " -> " +
               (c.after.is_null() ? "(removed)" : show(c.after));
      }
      if (c.forces_replace) {
        out += "  # forces replacement";
      }
      out += "\n";
    }
    Micros before = r.cost_before;
    Micros after = r.action == Action::kDelete ? 0 : r.cost_after;
    if (before != 0 || after != 0) {
      out += "    cost: " + format_money(before) + "/h -> " + format_money(after) + "/h (" +
             signed_money(after - before) + "/h)\n";
    }
    if (r.holds_data && (r.action == Action::kDelete || r.action == Action::kReplace)) {
      out += "    ! holds data: its data is lost\n";
    }
    if (!r.apply_supported) {
      out += "    ! planned only: apply does not support " + r.type + " yet\n";
    }
  }
  out += "\nCost per hour:  " + format_money(plan.cost_before) + " -> " +
         format_money(plan.cost_after) + " (" + signed_money(plan.cost_delta()) + ")\n";
  out += "Cost per month: " + format_money(plan.cost_before * kHoursPerMonth) + " -> " +
         format_money(plan.cost_after * kHoursPerMonth) + " (" +
         signed_money(plan.cost_delta() * kHoursPerMonth) + ", " + std::to_string(kHoursPerMonth) +
         " h)\n";
  out += "Plan hash: " + plan.hash + "\n";
  return out;
}

json to_json(const Plan& plan) {
  json resources = json::array();
  for (const auto& r : plan.resources) {
    json changes = json::array();
    for (const auto& c : r.changes) {
      changes.push_back({{"input", c.input},
                         {"before", c.before},
                         {"after", c.after},
                         {"forces_replace", c.forces_replace},
                         {"known_after_apply", c.known_after_apply}});
    }
    resources.push_back(
        {{"name", r.name},
         {"type", r.type},
         {"action", action_name(r.action)},
         {"reason", r.reason},
         {"changes", changes},
         {"inputs", r.inputs},
         {"prior_inputs", r.prior_inputs},
         {"cost_before_per_hour_micros", r.cost_before},
         {"cost_after_per_hour_micros", r.action == Action::kDelete ? 0 : r.cost_after},
         {"holds_data", r.holds_data},
         {"apply_supported", r.apply_supported},
         {"wave", r.wave}});
  }
  return {{"stack", plan.stack},
          {"hash", plan.hash},
          {"resources", resources},
          {"cost",
           {{"before_per_hour_micros", plan.cost_before},
            {"after_per_hour_micros", plan.cost_after},
            {"delta_per_hour_micros", plan.cost_delta()},
            {"before_per_month_micros", plan.cost_before * kHoursPerMonth},
            {"after_per_month_micros", plan.cost_after * kHoursPerMonth},
            {"delta_per_month_micros", plan.cost_delta() * kHoursPerMonth},
            {"before_per_hour", format_money(plan.cost_before)},
            {"after_per_hour", format_money(plan.cost_after)},
            {"delta_per_hour", signed_money(plan.cost_delta())},
            {"delta_per_month", signed_money(plan.cost_delta() * kHoursPerMonth)}}}};
}

void to_json(json& j, const ResourceState& v) {
  j = {{"type", v.type},
       {"inputs", v.inputs},
       {"outputs", v.outputs},
       {"provider_id", v.provider_id},
       {"dependencies", v.dependencies}};
}

void from_json(const json& j, ResourceState& v) {
  v.type = j.at("type").get<std::string>();
  v.inputs = j.value("inputs", json::object());
  v.outputs = j.value("outputs", json::object());
  v.provider_id = j.value("provider_id", "");
  v.dependencies = j.value("dependencies", std::vector<std::string>{});
}

void to_json(json& j, const StackState& v) { j = {{"resources", v.resources}}; }

void from_json(const json& j, StackState& v) {
  v.resources = j.value("resources", std::map<std::string, ResourceState>{});
}

}  // namespace cairn::deploy
