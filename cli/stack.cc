// cairnctl: stack plan | apply | status | destroy | history, through the stack client of
// cairn/deploy/stack.h. The spec is parsed and validated here first: a spec with errors prints
// every one (file:line:col) and exits 2 with nothing sent. plan needs no worker (it plans against
// the recorded state); apply and destroy show the plan, submit the request (with --auto-approve
// bound to the hash of the plan shown) and follow the deploy with a line per resource as its
// state changes, unless --detach.
#include "cli/stack.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/deploy/plan.h"
#include "cairn/deploy/spec.h"
#include "cairn/deploy/stack.h"
#include "cli/flags.h"

namespace cairnctl {
namespace {

namespace dp = cairn::deploy;
using nlohmann::json;
using std::chrono::milliseconds;

struct Flags {
  std::string file;
  std::string stack;
  bool auto_approve = false;
  bool wait = false;
  bool detach = false;
  std::vector<std::string> approvers;
  std::string approval_timeout = "24h";
  std::string by;
  std::string timeout;
  int limit = 20;
  bool dry_run = false;  // reconcile
  std::string resource;  // scale
  int replicas = -1;     // scale
};

// A spec with errors: printed by guarded() (every error, exit 2).
struct SpecInvalid {
  dp::SpecErrors errors;
};

// ---- small helpers ---------------------------------------------------------------------------

// "1h30m", "90s", "500ms", "2d" to milliseconds; nullopt when malformed.
std::optional<int64_t> duration_ms(const std::string& text) {
  static const std::regex part("([0-9]+)(ms|s|m|h|d)");
  if (text.empty()) {
    return std::nullopt;
  }
  int64_t total = 0;
  size_t at = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), part), end; it != end; ++it) {
    if (static_cast<size_t>(it->position()) != at) {
      return std::nullopt;
    }
    at += it->length();
    const std::string unit = (*it)[2].str();
    int64_t scale = unit == "ms"  ? 1
                    : unit == "s" ? 1000
                    : unit == "m" ? 60'000
                    : unit == "h" ? 3'600'000
                                  : 86'400'000;
    total += std::stoll((*it)[1].str()) * scale;
  }
  return at == text.size() ? std::optional<int64_t>(total) : std::nullopt;
}

milliseconds duration_flag(const std::string& flag, const std::string& text) {
  auto ms = duration_ms(text);
  if (!ms || *ms <= 0) {
    usage_error(flag + " " + text + " is not a positive duration: use e.g. 24h, 15m, 1h30m, 90s");
  }
  return milliseconds(*ms);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec);
  return ec ? std::filesystem::absolute(path).lexically_normal().string() : p.string();
}

// The spec of `file`, validated. Errors name the file as given; the spec returned is parsed
// under its absolute path (base_dir absolute, as the worker sees it, so that relative paths in
// inputs plan — and hash — the same here and there).
dp::StackSpec load(const std::string& file) {
  dp::StackParseResult as_given = dp::load_stack(file);
  if (!as_given.ok()) {
    throw SpecInvalid{as_given.errors};
  }
  dp::StackParseResult r = dp::parse_stack(read_text(file), absolute(file));
  if (!r.ok()) {
    throw SpecInvalid{r.errors};
  }
  return *r.spec;
}

std::string seconds_text(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

std::string value_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string short_hash(const std::string& h) { return h.size() > 12 ? h.substr(0, 12) : h; }

void print_table(const std::vector<std::vector<std::string>>& table, const std::string& indent) {
  std::vector<size_t> widths(table[0].size(), 0);
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : table) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
    }
    std::cout << line << "\n";
  }
}

// The -o json code of a refused request.
std::string refusal_code(const std::string& type) {
  if (type == "StackLocked") {
    return "STACK_LOCKED";
  }
  if (type == "StackSpecInvalid") {
    return "SPEC_INVALID";
  }
  if (type == "InvalidStackRequest") {
    return "INVALID_REQUEST";
  }
  return "REFUSED";
}

// The -o json code of a deploy that did not succeed.
std::string failure_code(const std::string& state) {
  if (state == "rolled_back") {
    return "ROLLED_BACK";
  }
  if (state == "expired") {
    return "APPROVAL_EXPIRED";
  }
  if (state == "rejected") {
    return "APPROVAL_REJECTED";
  }
  if (state == "canceled") {
    return "CANCELED";
  }
  return "DEPLOY_FAILED";
}

// Whether a server answers at all (a query or update that timed out: no worker, or no server).
bool server_answers(const Globals& g) {
  try {
    cairn::Client client = connect(g);
    v1::GetSystemInfoRequest req;
    v1::GetSystemInfoResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    return client.stub().GetSystemInfo(&ctx, req, &resp).ok();
  } catch (const std::exception&) {
    return false;
  }
}

// Runs a command, reporting the failures particular to stacks: a spec with errors (every
// error, exit 2), a refused request, a query or update no deploy worker answered, a follow that
// ran out of time.
int guarded(const Globals& g, const std::function<int()>& fn) {
  try {
    return fn();
  } catch (const SpecInvalid& e) {
    if (g.json()) {
      json errors = json::array();
      for (const auto& err : e.errors.all()) {
        errors.push_back({{"file", err.where.file},
                          {"line", err.where.line},
                          {"column", err.where.column},
                          {"message", err.message}});
      }
      print_json({{"error",
                   {{"code", "SPEC_INVALID"},
                    {"message", e.errors.report()},
                    {"exit_code", kUsage},
                    {"errors", errors}}}});
    } else {
      std::cerr << e.errors.report();
      if (!e.errors.report().empty() && e.errors.report().back() != '\n') {
        std::cerr << "\n";
      }
      std::cerr << "cairnctl: the stack spec has errors: nothing was sent\n";
    }
    return kUsage;
  } catch (const dp::StackRequestError& e) {
    return report_error(g, kRefused, refusal_code(e.type()), e.what());
  } catch (const cairn::OptionsError& e) {
    return report_error(g, kUsage, "USAGE", e.field() + ": " + e.what());
  } catch (const cairn::TimeoutError& e) {
    return report_error(g, kRefused, "TIMEOUT",
                        std::string(e.what()) +
                            " (the deploy goes on: follow it with `cairnctl stack status`)");
  } catch (const cairn::RpcError& e) {
    if (e.code() == grpc::StatusCode::DEADLINE_EXCEEDED && server_answers(g)) {
      return report_error(g, kRefused, "NO_WORKER",
                          std::string("no cairn-deploy-worker answered: is one polling task "
                                      "queue ") +
                              dp::kStackTaskQueue + "? (" + e.what() + ")");
    }
    throw;
  }
}

// The stack a command names: FILE (its spec's name) or --stack NAME, exactly one.
std::string stack_name(const Flags& f, std::optional<dp::StackSpec>* spec) {
  if (f.file.empty() == f.stack.empty()) {
    usage_error("name the stack by its FILE or by --stack NAME (one of the two)");
  }
  if (!f.file.empty()) {
    *spec = load(f.file);
    return (*spec)->name;
  }
  return f.stack;
}

// stack_status, with "never deployed" said in the stack's terms.
dp::StackStatus status_of(cairn::Client& client, const std::string& stack) {
  try {
    return dp::stack_status(client, stack);
  } catch (const cairn::RpcError& e) {
    if (e.code() == grpc::StatusCode::NOT_FOUND) {
      throw CtlError(kRefused, "NOT_FOUND",
                     "stack " + stack + " has never been deployed (no workflow " +
                         dp::stack_workflow_id(stack) + ")");
    }
    throw;
  }
}

// ---- plans -----------------------------------------------------------------------------------

struct Shown {
  dp::Plan plan;
  dp::ApprovalCheck check;
};

Shown shown(dp::Plan plan, const dp::ApprovalPolicy& policy) {
  Shown s{std::move(plan), {}};
  s.check = dp::needs_approval(s.plan, policy);
  return s;
}

json plan_json(const Shown& s) {
  return {{"plan", dp::to_json(s.plan)},
          {"hash", s.plan.hash},
          {"has_changes", s.plan.has_changes()},
          {"needs_approval", s.check.required},
          {"approval_reasons", s.check.reasons},
          {"unsupported", s.plan.unsupported()}};
}

void print_plan(const Shown& s) {
  if (!s.plan.has_changes()) {
    std::cout << "No changes: the recorded state of stack " << s.plan.stack
              << " matches the spec.\n";
  }
  std::cout << dp::render_plan(s.plan);
  if (s.check.required) {
    std::cout << "Needs approval:\n";
    for (const auto& r : s.check.reasons) {
      std::cout << "  - " << r << "\n";
    }
  } else if (s.plan.has_changes()) {
    std::cout << "No approval needed by the stack's policy.\n";
  }
}

// An apply refuses cloud types before sending anything.
void refuse_unsupported(const dp::Plan& plan) {
  std::vector<std::string> names = plan.unsupported();
  if (names.empty()) {
    return;
  }
  std::string list;
  for (const auto& n : names) {
    const dp::ResourcePlan* r = plan.find(n);
    list += (list.empty() ? "" : ", ") + n + " (" + (r ? r->type : "?") + ")";
  }
  throw CtlError(kRefused, "UNSUPPORTED_TYPE",
                 "stack " + plan.stack + ": apply cannot make " + list +
                     " yet: no provider exists for the type (plan shows its cost; nothing was "
                     "sent)");
}

// ---- following a deploy ----------------------------------------------------------------------

const char* sign_of(const std::string& action) {
  if (action == "create") {
    return "+";
  }
  if (action == "update") {
    return "~";
  }
  if (action == "replace") {
    return "-/+";
  }
  if (action == "delete") {
    return "-";
  }
  if (action == "read") {
    return "?";
  }
  if (action == "repair") {
    return "!";
  }
  if (action.rfind("rollback", 0) == 0) {
    return "<";
  }
  return " ";
}

std::string verb_of(const std::string& action) {
  if (action == "create") {
    return "creating";
  }
  if (action == "update") {
    return "updating";
  }
  if (action == "replace") {
    return "replacing";
  }
  if (action == "delete") {
    return "deleting";
  }
  if (action == "read") {
    return "reading";
  }
  if (action == "repair") {
    return "repairing";
  }
  if (action.rfind("rollback:", 0) == 0) {
    return "rolling back (" + action.substr(9) + ")";
  }
  if (action == "rollback") {
    return "rolling back";
  }
  return action.empty() ? "checking" : action;
}

bool final_step(const std::string& state) {
  return state == "done" || state == "failed" || state == "rolled_back" || state == "skipped";
}

// Prints what changed in a deploy record since the last one seen: its state and phase, and a
// line per resource step as its state changes ("  + economy  model_endpoint  creating… done
// 1.2 s").
class Follower {
 public:
  Follower(const std::string& stack, const dp::Plan& plan, std::ostream& out)
      : stack_(stack), out_(out) {
    for (const auto& r : plan.resources) {
      types_[r.name] = r.type;
    }
  }

  void operator()(const dp::DeployRecord& d) {
    if (d.plan.is_object() && d.plan.contains("resources")) {
      for (const auto& r : d.plan["resources"]) {
        types_[r.value("name", "")] = r.value("type", "");
      }
    }
    if (d.state != state_) {
      state_ = d.state;
      if (d.state == "queued") {
        out_ << "deploy " << d.deploy_id << " queued behind the running deploy\n";
      } else if (d.state == "awaiting_approval") {
        std::string id = d.approval_id.empty() ? "plan-" + d.plan_hash.substr(0, 16)
                                               : d.approval_id;
        out_ << "deploy " << d.deploy_id << " waits for approval of plan "
                  << short_hash(d.plan_hash) << "; approve it with\n"
                  << "  cairnctl approval approve -w " << dp::stack_workflow_id(stack_)
                  << " --approval-id " << id << " --by <approver>\n"
                  << "(or reject it with `cairnctl approval reject`, same flags)\n";
      } else if (!d.finished()) {
        out_ << "deploy " << d.deploy_id << " " << d.state << "\n";
      }
    }
    if (d.phase != phase_ && !d.phase.empty() && d.phase != "done") {
      phase_ = d.phase;
      out_ << "phase " << d.phase << "\n";
    }
    // Steps that changed since the last poll, printed in the order they changed (two resources
    // may both finish between polls: the record's order is not theirs).
    std::vector<const dp::ResourceProgress*> changed;
    for (const auto& r : d.resources) {
      std::string key = r.resource + "\t" + r.action;
      std::string& seen = seen_[key];
      if (seen == r.state || r.state == "pending") {
        continue;
      }
      seen = r.state;
      changed.push_back(&r);
    }
    auto changed_at = [](const dp::ResourceProgress* r) {
      return final_step(r->state) && r->finished_ms > 0 ? r->finished_ms : r->started_ms;
    };
    std::stable_sort(changed.begin(), changed.end(),
                     [&](const auto* a, const auto* b) { return changed_at(a) < changed_at(b); });
    for (const auto* r : changed) {
      out_ << line(*r) << "\n";
    }
    out_.flush();
  }

 private:
  std::string line(const dp::ResourceProgress& r) {
    size_t name_w = 0;
    size_t type_w = 0;
    for (const auto& [n, t] : types_) {
      name_w = std::max(name_w, n.size());
      type_w = std::max(type_w, t.size());
    }
    std::string type = types_.count(r.resource) ? types_[r.resource] : "";
    std::string out = "  ";
    std::string sign = sign_of(r.action);
    out += sign + std::string(sign.size() < 3 ? 3 - sign.size() : 0, ' ') + " ";
    out += r.resource + std::string(name_w > r.resource.size() ? name_w - r.resource.size() : 0,
                                    ' ');
    out += "  " + type + std::string(type_w > type.size() ? type_w - type.size() : 0, ' ');
    out += "  " + verb_of(r.action) + "\u2026";
    if (final_step(r.state)) {
      std::string took =
          r.finished_ms > 0 && r.started_ms > 0 ? " " + seconds_text(r.finished_ms - r.started_ms)
                                                : "";
      if (r.state == "done") {
        out += " done" + took;
      } else if (r.state == "failed") {
        out += " failed" + took + (r.message.empty() ? "" : ": " + r.message);
      } else if (r.state == "rolled_back") {
        out += " rolled back" + took;
      } else {
        out += " skipped" + (r.message.empty() ? "" : ": " + r.message);
      }
    } else if (!r.message.empty()) {
      out += " (" + r.message + ")";
    }
    if (r.attempt > 1) {
      out += " [attempt " + std::to_string(r.attempt) + "]";
    }
    return out;
  }

  std::string stack_;
  std::ostream& out_;
  std::map<std::string, std::string> types_;
  std::map<std::string, std::string> seen_;
  std::string state_;
  std::string phase_;
};

void print_outputs(const json& outputs, const std::string& indent) {
  for (const auto& [resource, values] : outputs.items()) {
    if (!values.is_object()) {
      continue;
    }
    for (const auto& [name, value] : values.items()) {
      std::cout << indent << resource << "." << name << " = " << value_text(value) << "\n";
    }
  }
}

struct Submitted {
  std::string stack;
  Shown shown;
  bool auto_approve = false;
  milliseconds follow_timeout{0};
};

// Sends `req`, then (unless --detach) follows the deploy to its end. The exit code: 0 when it
// succeeded (or was submitted, detached), 1 otherwise.
int submit_and_follow(const Globals& g, const Flags& f, cairn::Client& client,
                      const Submitted& s, const dp::StackRequest& req) {
  const bool quiet = g.json();
  if (!quiet && s.shown.check.required && !s.auto_approve) {
    std::cout << "The stack's policy wants a person to approve this plan "
              << "(or run again with --auto-approve).\n";
  }
  dp::StackAccepted acc = dp::submit_stack_request(client, s.stack, req);
  json doc = plan_json(s.shown);
  doc["stack"] = s.stack;
  doc["operation"] = dp::operation_name(req.operation);
  doc["deploy_id"] = acc.deploy_id;
  doc["queue_position"] = acc.queue_position;
  doc["auto_approved"] = s.auto_approve;
  if (f.detach) {
    if (quiet) {
      print_json(doc);
    } else {
      std::cout << "submitted " << dp::operation_name(req.operation) << " " << acc.deploy_id
                << " of stack " << s.stack
                << (acc.queue_position > 0
                        ? " (queued, position " + std::to_string(acc.queue_position) + ")"
                        : "")
                << "; follow it with `cairnctl stack status --stack " << s.stack << "`\n";
    }
    return kOk;
  }
  (quiet ? std::cerr : std::cout) << "deploy " << acc.deploy_id << " of stack " << s.stack
                                  << " submitted by " << req.requested_by << "\n";
  // With -o json the progress lines go to stderr: stdout carries the one document.
  Follower follower(s.stack, s.shown.plan, quiet ? std::cerr : std::cout);
  dp::DeployRecord d = dp::wait_for_deploy(client, s.stack, acc.deploy_id, s.follow_timeout,
                                           [&](const dp::DeployRecord& r) { follower(r); });
  follower(d);
  json outputs = json::object();
  if (d.state == "succeeded" && req.operation != dp::Operation::kDestroy) {
    outputs = status_of(client, s.stack).outputs;
  }
  const int64_t took = d.finished_ms > 0 && d.started_ms > 0 ? d.finished_ms - d.started_ms : 0;
  const bool ok = d.state == "succeeded";
  if (quiet) {
    doc["state"] = d.state;
    doc["deploy"] = d;
    doc["outputs"] = outputs;
    if (!ok) {
      doc["error"] = {{"code", failure_code(d.state)},
                      {"message", "deploy " + d.deploy_id + " of stack " + s.stack + " " +
                                      d.state + (d.error.empty() ? "" : ": " + d.error)},
                      {"exit_code", kRefused}};
    }
    print_json(doc);
    return ok ? kOk : kRefused;
  }
  std::cout << "deploy " << d.deploy_id << " " << d.state
            << (took > 0 ? " in " + seconds_text(took) : "")
            << (d.approved_by.empty() ? "" : " (approved by " + d.approved_by + ")") << "\n";
  if (ok && !outputs.empty()) {
    std::cout << "Outputs:\n";
    print_outputs(outputs, "  ");
  }
  if (req.operation == dp::Operation::kReconcile) {
    if (d.drift.empty()) {
      std::cout << "No drift: every resource matches what was applied.\n";
    }
    for (const auto& x : d.drift) {
      std::cout << "  drift " << x.value("resource", std::string("?")) << "."
                << x.value("field", std::string("?")) << ": "
                << value_text(x.value("actual", json())) << " (want "
                << value_text(x.value("expected", json())) << ") "
                << (x.value("repaired", false)
                        ? "repaired"
                        : (req.dry_run ? "reported (dry run)" : "not repaired"))
                << "\n";
    }
  }
  if (ok && req.operation == dp::Operation::kDestroy) {
    std::cout << "stack " << s.stack << " destroyed: nothing of it runs\n";
  }
  if (!ok) {
    std::cerr << "cairnctl: deploy " << d.deploy_id << " of stack " << s.stack << " " << d.state
              << (d.error.empty() ? "" : ": " + d.error) << "\n";
    return kRefused;
  }
  return kOk;
}

dp::StackRequest base_request(const Flags& f, const Shown& s, milliseconds approval_timeout) {
  dp::StackRequest req;
  req.requested_by = f.by.empty() ? env_or("USER", "cairnctl") : f.by;
  if (req.requested_by.empty()) {
    req.requested_by = "cairnctl";
  }
  req.approvers = f.approvers;
  req.approval_timeout = approval_timeout;
  req.wait = f.wait;
  if (f.auto_approve) {
    req.approved_plan_hash = s.plan.hash;
  }
  return req;
}

milliseconds follow_timeout(const Flags& f, milliseconds approval_timeout) {
  if (!f.timeout.empty()) {
    return duration_flag("--timeout", f.timeout);
  }
  return approval_timeout + std::chrono::hours(1);
}

// ---- commands --------------------------------------------------------------------------------

int plan(const Globals& g, const Flags& f) {
  dp::StackSpec spec = load(f.file);
  cairn::Client client = connect(g);
  Shown s = shown(dp::plan_against_recorded(client, spec), spec.policy);
  if (g.json()) {
    json doc = plan_json(s);
    doc["stack"] = spec.name;
    print_json(doc);
  } else {
    print_plan(s);
  }
  return kOk;
}

int apply(const Globals& g, const Flags& f) {
  dp::StackSpec spec = load(f.file);
  const milliseconds approval_timeout = duration_flag("--approval-timeout", f.approval_timeout);
  const milliseconds follow = follow_timeout(f, approval_timeout);
  cairn::Client client = connect(g);
  Shown s = shown(dp::plan_against_recorded(client, spec), spec.policy);
  if (!g.json()) {
    print_plan(s);
  }
  refuse_unsupported(s.plan);
  dp::StackRequest req = base_request(f, s, approval_timeout);
  req.operation = dp::Operation::kApply;
  req.spec_text = read_text(f.file);
  req.spec_file = spec.file;
  req.base_dir = spec.base_dir;
  return submit_and_follow(g, f, client, {spec.name, s, f.auto_approve, follow}, req);
}

int destroy(const Globals& g, const Flags& f) {
  std::optional<dp::StackSpec> spec;
  const std::string name = stack_name(f, &spec);
  const milliseconds approval_timeout = duration_flag("--approval-timeout", f.approval_timeout);
  const milliseconds follow = follow_timeout(f, approval_timeout);
  cairn::Client client = connect(g);
  dp::StackStatus status = status_of(client, name);
  // What a destroy does: the plan from the recorded state to a stack of nothing.
  dp::StackSpec nothing;
  nothing.name = name;
  nothing.policy = spec ? spec->policy : dp::ApprovalPolicy{};
  Shown s = shown(dp::make_plan(nothing, status.stack_state()), nothing.policy);
  if (status.resources.empty() && !status.running && status.queued.empty()) {
    if (g.json()) {
      json doc = plan_json(s);
      doc["stack"] = name;
      doc["operation"] = "destroy";
      doc["deploy_id"] = nullptr;
      doc["state"] = "nothing_to_destroy";
      doc["outputs"] = json::object();
      print_json(doc);
    } else {
      std::cout << "stack " << name << " has no resources: nothing to destroy\n";
    }
    return kOk;
  }
  if (!g.json()) {
    print_plan(s);
  }
  dp::StackRequest req = base_request(f, s, approval_timeout);
  req.operation = dp::Operation::kDestroy;
  return submit_and_follow(g, f, client, {name, s, f.auto_approve, follow}, req);
}

// Reconcile and scale: no spec file; the recorded state (and the spec last applied) is used.
int submit_recorded(const Globals& g, const Flags& f, dp::StackRequest req) {
  const std::string name = f.stack;
  const milliseconds follow = f.timeout.empty() ? milliseconds(std::chrono::hours(1))
                                                : duration_flag("--timeout", f.timeout);
  cairn::Client client = connect(g);
  status_of(client, name);  // "never deployed" in the stack's terms
  dp::Plan nothing;
  nothing.stack = name;
  Shown s = shown(nothing, dp::ApprovalPolicy{});
  dp::StackRequest base = base_request(f, s, std::chrono::hours(24));
  req.requested_by = base.requested_by;
  req.wait = base.wait;
  return submit_and_follow(g, f, client, {name, s, false, follow}, req);
}

int reconcile(const Globals& g, const Flags& f) {
  dp::StackRequest req;
  req.operation = dp::Operation::kReconcile;
  req.dry_run = f.dry_run;
  req.reason = f.dry_run ? "cairnctl stack reconcile --dry-run" : "cairnctl stack reconcile";
  return submit_recorded(g, f, req);
}

int scale(const Globals& g, const Flags& f) {
  dp::StackRequest req;
  req.operation = dp::Operation::kScale;
  req.resource = f.resource;
  req.replicas = f.replicas;
  req.reason = "cairnctl stack scale " + f.resource + " " + std::to_string(f.replicas);
  return submit_recorded(g, f, req);
}

std::string deploy_line(const dp::DeployRecord& d) {
  std::string out = d.deploy_id + " " + dp::operation_name(d.operation) + " by " + d.requested_by +
                    ": " + d.state;
  if (!d.finished() && !d.phase.empty()) {
    out += " (phase " + d.phase + ")";
  }
  if (!d.reason.empty()) {
    out += " (" + d.reason + ")";
  }
  out += ", requested " + time_text(d.requested_ms);
  if (d.finished() && d.finished_ms > 0 && d.started_ms > 0) {
    out += ", took " + seconds_text(d.finished_ms - d.started_ms);
  }
  if (!d.error.empty()) {
    out += ": " + d.error;
  }
  return out;
}

std::string drift_text(const json& drift) {
  std::string out;
  for (const auto& d : drift) {
    out += (out.empty() ? "" : "; ") + d.value("field", std::string("?")) + " " +
           value_text(d.value("actual", json())) + " (want " +
           value_text(d.value("expected", json())) + ")";
  }
  return out.empty() ? "-" : out;
}

int status(const Globals& g, const Flags& f) {
  std::optional<dp::StackSpec> spec;
  const std::string name = stack_name(f, &spec);
  cairn::Client client = connect(g);
  dp::StackStatus st = status_of(client, name);
  if (g.json()) {
    json doc = st;
    doc["stack"] = name;
    print_json(doc);
    return kOk;
  }
  std::cout << "stack     " << name << " (workflow " << dp::stack_workflow_id(name) << ")\n"
            << "spec      " << (st.spec_file.empty() ? "-" : st.spec_file)
            << (st.spec_hash.empty() ? "" : " (sha256 " + short_hash(st.spec_hash) + ")") << "\n"
            << "deploys   " << st.deploys << ", updated " << time_text(st.updated_ms) << "\n";
  if (st.resources.empty()) {
    std::cout << "resources none\n";
  } else {
    std::vector<std::vector<std::string>> table = {{"RESOURCE", "TYPE", "STATE", "DRIFT", "READ"}};
    for (const auto& r : st.resources) {
      table.push_back({r.name, r.state.type,
                       !r.exists ? "missing" : (r.drift.empty() ? "ok" : "drifted"),
                       drift_text(r.drift), time_text(r.read_ms)});
    }
    std::cout << "\n";
    print_table(table, "");
  }
  if (!st.outputs.empty()) {
    std::cout << "\nOutputs:\n";
    print_outputs(st.outputs, "  ");
  }
  std::cout << "\n";
  std::cout << "running   " << (st.running ? deploy_line(*st.running) : "-") << "\n";
  for (size_t i = 0; i < st.queued.size(); ++i) {
    std::cout << (i == 0 ? "queued    " : "          ") << deploy_line(st.queued[i]) << "\n";
  }
  for (size_t i = 0; i < st.recent.size() && i < 5; ++i) {
    std::cout << (i == 0 ? "recent    " : "          ") << deploy_line(st.recent[i]) << "\n";
  }
  return kOk;
}

int history(const Globals& g, const Flags& f) {
  std::optional<dp::StackSpec> spec;
  const std::string name = stack_name(f, &spec);
  cairn::Client client = connect(g);
  dp::StackStatus st = status_of(client, name);
  // Newest first: queued (latest last in the queue), the running one, then the finished.
  std::vector<dp::DeployRecord> all(st.queued.rbegin(), st.queued.rend());
  if (st.running) {
    all.push_back(*st.running);
  }
  all.insert(all.end(), st.recent.begin(), st.recent.end());
  if (f.limit > 0 && static_cast<int>(all.size()) > f.limit) {
    all.resize(f.limit);
  }
  if (g.json()) {
    json deploys = json::array();
    for (const auto& d : all) {
      deploys.push_back(d);
    }
    print_json({{"stack", name}, {"deploys", deploys}, {"total", st.deploys}});
    return kOk;
  }
  if (all.empty()) {
    std::cout << "stack " << name << ": no deploys\n";
    return kOk;
  }
  std::vector<std::vector<std::string>> table = {
      {"DEPLOY", "OPERATION", "STATE", "PLAN", "BY", "REQUESTED", "TOOK", "ERROR"}};
  for (const auto& d : all) {
    std::string by = d.requested_by;
    if (!d.approved_by.empty()) {
      by += " (approved: " + d.approved_by + ")";
    }
    table.push_back({d.deploy_id, dp::operation_name(d.operation), d.state,
                     d.plan_hash.empty() ? "-" : short_hash(d.plan_hash), by,
                     time_text(d.requested_ms),
                     d.finished() && d.finished_ms > 0 && d.started_ms > 0
                         ? seconds_text(d.finished_ms - d.started_ms)
                         : "-",
                     d.error.empty() ? "-" : d.error});
  }
  print_table(table, "");
  if (st.deploys > static_cast<int64_t>(all.size())) {
    std::cout << "(" << st.deploys << " deploys in all; the stack keeps the last 20 finished)\n";
  }
  return kOk;
}

// ---- registration ----------------------------------------------------------------------------

void add_target_flags(CLI::App* cmd, Flags* f) {
  cmd->add_option("file", f->file, "the stack spec (YAML); or name the stack with --stack");
  cmd->add_option("--stack", f->stack, "the stack's name, without its file")
      ->check(id_check("stack"));
}

void add_deploy_flags(CLI::App* cmd, Flags* f, bool apply) {
  cmd->add_flag("--auto-approve", f->auto_approve,
                "approve the plan shown (bound to its hash: if the deploy's own plan differs, it "
                "changes nothing)");
  cmd->add_flag("--wait", f->wait,
                "queue behind a deploy that runs (default: refused, naming it)");
  cmd->add_flag("--detach", f->detach, "return once submitted, printing the deploy id");
  cmd->add_option("--approver", f->approvers,
                  "who may approve when the policy asks, repeatable (default: --by)")
      ->check(id_check("approver"));
  cmd->add_option("--approval-timeout", f->approval_timeout,
                  "how long an approval may take before the deploy expires")
      ->capture_default_str();
  cmd->add_option("--by", f->by, "who asks (default: $USER)")->check(id_check("requester"));
  cmd->add_option("--timeout", f->timeout,
                  "how long to follow the deploy (default: the approval timeout + 1h); the "
                  "deploy goes on after");
  (void)apply;
}

}  // namespace

void add_stack_commands(CLI::App& app, Globals& g, Action& action) {
  static Flags f;
  auto* group = app.add_subcommand("stack",
                                   "stacks of resources (model endpoints, router, Redis, index) "
                                   "provisioned by durable deploys")
                    ->require_subcommand(1);

  auto* p = group->add_subcommand(
      "plan", "what an apply would do against the recorded state: changes, cost, approval, hash");
  p->add_option("file", f.file, "the stack spec (YAML)")->required();
  p->callback([&] { action = [&] { return guarded(g, [&] { return plan(g, f); }); }; });

  auto* a = group->add_subcommand(
      "apply", "show the plan, submit it and follow the deploy (a line per resource)");
  a->add_option("file", f.file, "the stack spec (YAML)")->required();
  add_deploy_flags(a, &f, /*apply=*/true);
  a->callback([&] { action = [&] { return guarded(g, [&] { return apply(g, f); }); }; });

  auto* s = group->add_subcommand(
      "status", "resources, their state and drift, outputs, running / queued / recent deploys");
  add_target_flags(s, &f);
  s->callback([&] { action = [&] { return guarded(g, [&] { return status(g, f); }); }; });

  auto* d = group->add_subcommand("destroy",
                                  "delete every resource of the stack, in reverse order");
  add_target_flags(d, &f);
  add_deploy_flags(d, &f, /*apply=*/false);
  d->callback([&] { action = [&] { return guarded(g, [&] { return destroy(g, f); }); }; });

  auto* h = group->add_subcommand("history",
                                  "the stack's deploys, newest first: state, plan hash, who, when");
  add_target_flags(h, &f);
  h->add_option("--limit", f.limit, "at most this many (0: all the stack keeps)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  h->callback([&] { action = [&] { return guarded(g, [&] { return history(g, f); }); }; });

  auto* r = group->add_subcommand(
      "reconcile",
      "check every resource against what was applied; recreate what is gone and "
      "revert drift (each repair recorded in the deploy)");
  r->add_option("--stack", f.stack, "the stack's name")->required()->check(id_check("stack"));
  r->add_flag("--dry-run", f.dry_run, "only report the drift; repair nothing");
  r->add_flag("--wait", f.wait, "queue behind a deploy that runs (default: refused, naming it)");
  r->add_flag("--detach", f.detach, "return once submitted, printing the deploy id");
  r->add_option("--by", f.by, "who asks (default: $USER)")->check(id_check("requester"));
  r->add_option("--timeout", f.timeout, "how long to follow the deploy (default: 1h)");
  r->callback([&] { action = [&] { return guarded(g, [&] { return reconcile(g, f); }); }; });

  auto* sc = group->add_subcommand(
      "scale", "set a model_endpoint's replicas (within its scaling min..max); the router follows");
  sc->add_option("--stack", f.stack, "the stack's name")->required()->check(id_check("stack"));
  sc->add_option("resource", f.resource, "the model_endpoint resource")->required();
  sc->add_option("replicas", f.replicas, "the new replica count")
      ->required()
      ->check(CLI::Range(0, 64));
  sc->add_flag("--wait", f.wait, "queue behind a deploy that runs (default: refused, naming it)");
  sc->add_flag("--detach", f.detach, "return once submitted, printing the deploy id");
  sc->add_option("--by", f.by, "who asks (default: $USER)")->check(id_check("requester"));
  sc->add_option("--timeout", f.timeout, "how long to follow the deploy (default: 1h)");
  sc->callback([&] { action = [&] { return guarded(g, [&] { return scale(g, f); }); }; });
}

}  // namespace cairnctl
