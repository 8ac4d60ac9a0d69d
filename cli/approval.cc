// cairnctl: approval list | show | approve | reject. The approvals are the runs that called
// cairn::ai::request_approval: listed by their search attributes (AwaitingApproval = true),
// shown by the query "cairn.approval.pending", answered by the update "cairn.approval.answer".
#include "cli/approval.h"

#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/approval.h"
#include "cli/flags.h"

namespace cairnctl {
namespace {

namespace ai = cairn::ai;
using nlohmann::json;

// A string literal of the list filter language: single quotes, backslash escapes.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out + "'";
}

// The -o json code of a refused answer: "APPROVAL_CONFLICT", "UNKNOWN_APPROVER", ...
std::string refusal_code(const std::string& type) {
  if (type == "ApprovalConflict") {
    return "APPROVAL_CONFLICT";
  }
  if (type == "UnknownApprover") {
    return "UNKNOWN_APPROVER";
  }
  if (type == "ApprovalTimedOut") {
    return "APPROVAL_TIMED_OUT";
  }
  if (type == "ApprovalNotFound") {
    return "NOT_PENDING";
  }
  return "INVALID_ANSWER";
}

std::string attribute_text(const v1::WorkflowExecutionInfo& info, const char* name) {
  auto it = info.search_attributes().find(name);
  if (it == info.search_attributes().end()) {
    return "";
  }
  json v = payload_json(it->second);
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) {
      out += (out.empty() ? "" : ",") + (e.is_string() ? e.get<std::string>() : e.dump());
    }
    return out;
  }
  return v.dump();
}

int list(const Globals& g, const std::string& approver, int64_t limit) {
  v1::ListWorkflowExecutionsRequest req;
  req.set_namespace_(g.ns);
  std::string query =
      std::string(ai::kAwaitingApprovalAttribute) + " = true AND ExecutionStatus = 'Running'";
  if (!approver.empty()) {
    query += std::string(" AND ") + ai::kApprovalApproversAttribute + " = " + quoted(approver);
  }
  req.set_query(query + " ORDER BY StartTime ASC");
  req.set_page_size(limit > 0 && limit < 1000 ? static_cast<int>(limit) : 1000);
  json rows = json::array();
  while (limit <= 0 || static_cast<int64_t>(rows.size()) < limit) {
    v1::ListWorkflowExecutionsResponse resp;
    try {
      call(g, &v1::WorkflowService::Stub::ListWorkflowExecutions, req, &resp);
    } catch (const cairn::RpcError& e) {
      // Nothing can await approval in a namespace without the attribute: an empty list.
      if (e.code() == grpc::StatusCode::INVALID_ARGUMENT &&
          std::string(e.what()).find("unknown attribute") != std::string::npos) {
        if (!g.json()) {
          std::cerr << "cairnctl: the approval search attributes are not registered in namespace "
                    << g.ns << ": no run can be awaiting approval\n";
        }
        break;
      }
      throw;
    }
    for (const auto& info : resp.executions()) {
      if (limit > 0 && static_cast<int64_t>(rows.size()) == limit) {
        break;
      }
      json approvers = json::array();
      if (auto it = info.search_attributes().find(ai::kApprovalApproversAttribute);
          it != info.search_attributes().end()) {
        approvers = payload_json(it->second);
      }
      rows.push_back({{"workflow_id", info.execution().workflow_id()},
                      {"run_id", info.execution().run_id()},
                      {"workflow_type", info.type().name()},
                      {"approval_id", attribute_text(info, ai::kApprovalIdAttribute)},
                      {"what", attribute_text(info, ai::kApprovalWhatAttribute)},
                      {"approvers", approvers},
                      {"since", attribute_text(info, ai::kApprovalRequestedAtAttribute)}});
    }
    if (resp.next_page_token().empty()) {
      break;
    }
    req.set_next_page_token(resp.next_page_token());
  }
  if (g.json()) {
    print_json(rows);
    return 0;
  }
  std::vector<std::vector<std::string>> table = {
      {"WORKFLOW ID", "APPROVAL ID", "WHAT", "APPROVERS", "SINCE"}};
  for (const auto& r : rows) {
    std::string approvers;
    for (const auto& a : r["approvers"]) {
      approvers += (approvers.empty() ? "" : ", ") + a.get<std::string>();
    }
    table.push_back({r["workflow_id"], r["approval_id"], r["what"], approvers, r["since"]});
  }
  std::vector<size_t> widths(table[0].size(), 0);
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : table) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
    }
    std::cout << line << "\n";
  }
  return 0;
}

std::string names(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& n : v) {
    out += (out.empty() ? "" : ", ") + n;
  }
  return out.empty() ? "-" : out;
}

std::string decision_text(const ai::ApprovalDecision& d) {
  if (d.via == "timeout") {
    return "timed out at " + time_text(d.decided_at_ms) + " (" + d.comment + ")";
  }
  return std::string(d.approved ? "approved" : "rejected") + " by " + d.by + " at " +
         time_text(d.decided_at_ms) + " via " + d.via +
         (d.comment.empty() ? "" : ": \"" + d.comment + "\"");
}

int show(const Globals& g, const Target& t) {
  cairn::Client client = connect(g);
  ai::ApprovalStatus s = ai::approval_status(client, t.workflow_id, t.run_id);
  if (g.json()) {
    print_json({{"workflow_id", t.workflow_id}, {"run_id", t.run_id}, {"approval", s}});
    return 0;
  }
  std::cout << "approval    " << s.approval_id << "\n"
            << "workflow    " << t.workflow_id << "\n"
            << "what        " << s.what << "\n"
            << "state       " << s.state << "\n"
            << "approvers   " << names(s.approvers) << "\n";
  if (!s.escalation_approvers.empty()) {
    std::cout << "escalation  " << names(s.escalation_approvers)
              << (s.state == "waiting" ? " (after the deadline)" : "") << "\n";
  }
  std::cout << "requested   " << time_text(s.requested_at_ms) << "\n";
  if (s.pending()) {
    std::cout << "deadline    " << time_text(s.deadline_ms) << "\n";
  }
  if (!s.webhook_url.empty()) {
    std::cout << "webhook     " << s.webhook_url.substr(0, s.webhook_url.find('?'))
              << (s.webhook_error.empty() ? "" : " (failed: " + s.webhook_error + ")") << "\n";
  }
  if (s.decision) {
    std::cout << "decision    " << decision_text(*s.decision) << "\n";
  }
  for (const auto& i : s.ignored) {
    std::cout << "ignored     " << i.value("via", "") << " answer by " << i.value("by", "") << ": "
              << i.value("reason", "") << "\n";
  }
  if (!s.details.is_null()) {
    std::cout << "details     " << s.details.dump(2) << "\n";
  }
  return 0;
}

int answer(const Globals& g, const Target& t, bool approved, const std::string& by,
           const std::string& comment, const std::string& approval_id) {
  cairn::Client client = connect(g);
  ai::ApprovalAnswer a{approval_id, approved, by, comment};
  ai::ApprovalDecision d = ai::answer_approval(client, t.workflow_id, a, t.run_id);
  if (g.json()) {
    print_json({{"workflow_id", t.workflow_id}, {"decision", d}});
  } else {
    std::cout << "approval " << d.approval_id << " of " << t.workflow_id << " " << decision_text(d)
              << "\n";
  }
  return 0;
}

// Runs `fn`, reporting a refused answer, and a query or update that no worker answered (the
// run's workers are down, not the server), as approval errors.
int guarded(const Globals& g, const Target& t, const std::string& what,
            const std::function<int()>& fn) {
  try {
    return fn();
  } catch (const ai::ApprovalError& e) {
    return report_error(g, kRefused, refusal_code(e.type()), e.what());
  } catch (const cairn::RpcError& e) {
    if (e.code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      throw;
    }
    return report_error(g, kRefused, "NO_WORKER",
                        "no worker answered " + what + " for workflow " + t.workflow_id +
                            ": is a worker polling its task queue? (" + e.what() + ")");
  }
}

}  // namespace

void add_approval_commands(CLI::App& app, Globals& g, Action& action) {
  struct Args {
    Target t;
    std::string approver;
    int64_t limit = 0;
    std::string by;
    std::string comment;
    std::string approval_id;
  };
  static Args a;
  auto* group =
      app.add_subcommand("approval", "human approvals (request_approval in workflow code)")
          ->require_subcommand(1);
  auto* l = group->add_subcommand("list", "runs awaiting approval, oldest first");
  l->add_option("--approver", a.approver, "only those this person may answer")
      ->check(id_check("approver"));
  l->add_option("--limit", a.limit, "at most this many (0: all)")->check(CLI::NonNegativeNumber);
  l->callback([&] { action = [&] { return list(g, a.approver, a.limit); }; });
  auto* s = group->add_subcommand("show", "a run's approval: what, who, state, decision");
  add_target(s, &a.t);
  s->callback([&] {
    action = [&] {
      return guarded(g, a.t, std::string("the query ") + ai::kApprovalPendingQuery,
                     [&] { return show(g, a.t); });
    };
  });
  for (bool approve : {true, false}) {
    auto* cmd =
        group->add_subcommand(approve ? "approve" : "reject",
                              approve ? "approve a pending approval" : "reject a pending approval");
    add_target(cmd, &a.t);
    cmd->add_option("--by", a.by, "who answers (one of the approvers)")
        ->required()
        ->check(id_check("approver"));
    cmd->add_option("--comment", a.comment, "why (kept with the decision)");
    cmd->add_option("--approval-id", a.approval_id, "answer only if this is the pending approval")
        ->check(id_check("approval id"));
    cmd->callback([&, approve] {
      action = [&, approve] {
        return guarded(g, a.t, std::string("the update ") + ai::kApprovalAnswerUpdate,
                       [&] { return answer(g, a.t, approve, a.by, a.comment, a.approval_id); });
      };
    });
  }
}

}  // namespace cairnctl
