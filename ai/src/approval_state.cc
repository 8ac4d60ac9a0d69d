// The rules of an approval (approval_state.h) and the JSON of the approval types.
#include "approval_state.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace cairn::ai {
namespace approval_internal {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    out += (out.empty() ? "" : ", ") + n;
  }
  return out.empty() ? "(none)" : out;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

void check_names(const std::vector<std::string>& names, const std::string& field) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty() || names[i].find_first_not_of(" \t") == std::string::npos) {
      throw OptionsError(
          "approval request: " + field + "[" + std::to_string(i) + "] is empty: name each approver",
          field + "[" + std::to_string(i) + "]");
    }
  }
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::optional<Refusal> check_answer(const ApprovalStatus& status, const ApprovalAnswer& answer) {
  const std::string& id = status.approval_id;
  if (answer.by.empty()) {
    return Refusal{"InvalidAnswer", "an answer to approval " + id +
                                        " must name who answers (by): nothing was recorded"};
  }
  if (!answer.approval_id.empty() && answer.approval_id != id) {
    return Refusal{"ApprovalNotFound", "this run has no approval " + answer.approval_id +
                                           " (its latest is " + id + ", " + status.state + ")"};
  }
  if (status.decision) {
    const ApprovalDecision& d = *status.decision;
    if (d.via == "timeout") {
      return Refusal{"ApprovalTimedOut", "approval " + id + " timed out at " +
                                             rfc3339(d.decided_at_ms) +
                                             " with no answer: answers are no longer accepted"};
    }
    return Refusal{"ApprovalConflict", "approval " + id + " already " +
                                           (d.approved ? "approved" : "rejected") + " by " + d.by +
                                           " at " + rfc3339(d.decided_at_ms) + " via " + d.via};
  }
  if (status.state == "canceled") {
    return Refusal{"ApprovalNotFound",
                   "approval " + id + " is no longer pending: the run was canceled"};
  }
  if (!contains(status.approvers, answer.by)) {
    std::string later;
    if (status.state == "waiting" && !status.escalation_approvers.empty()) {
      later = " (" + joined(status.escalation_approvers) + " may answer once it is escalated)";
    }
    return Refusal{"UnknownApprover", answer.by + " may not answer approval " + id +
                                          ": its approvers are " + joined(status.approvers) +
                                          later};
  }
  return std::nullopt;
}

void check_request(const ApprovalRequest& r) {
  if (r.what.empty()) {
    throw OptionsError("approval request: what is empty: say what is to be approved", "what");
  }
  if (r.id.size() > 200) {
    throw OptionsError(
        "approval request " + r.id.substr(0, 40) + "...: id is longer than 200 bytes", "id");
  }
  if (r.approvers.empty()) {
    throw OptionsError(
        "approval request \"" + r.what + "\": approvers is empty: name who may answer",
        "approvers");
  }
  check_names(r.approvers, "approvers");
  if (r.timeout.count() <= 0) {
    throw OptionsError("approval request \"" + r.what + "\": timeout must be positive (got " +
                           std::to_string(r.timeout.count()) + " ms)",
                       "timeout");
  }
  check_names(r.escalation.approvers, "escalation.approvers");
  if (!r.escalation.approvers.empty() && r.escalation.timeout.count() <= 0) {
    throw OptionsError("approval request \"" + r.what +
                           "\": escalation.timeout must be positive when escalation approvers "
                           "are given (got " +
                           std::to_string(r.escalation.timeout.count()) + " ms)",
                       "escalation.timeout");
  }
  if (r.escalation.approvers.empty() && r.escalation.timeout.count() != 0) {
    throw OptionsError("approval request \"" + r.what +
                           "\": escalation.timeout is set but escalation.approvers is empty",
                       "escalation.approvers");
  }
  if (!r.webhook_url.empty() && r.webhook_url.rfind("http://", 0) != 0 &&
      r.webhook_url.rfind("https://", 0) != 0) {
    throw OptionsError("approval request \"" + r.what + "\": webhook_url " + r.webhook_url +
                           " is not an http:// or https:// URL",
                       "webhook_url");
  }
}

ApprovalError to_error(const Refusal& refusal) {
  return ApprovalError(refusal.type + ": " + refusal.message, refusal.type);
}

std::string rfc3339(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

std::string duration_words(int64_t ms) {
  if (ms < 1000) {
    return std::to_string(ms) + "ms";
  }
  int64_t s = ms / 1000;
  std::string out;
  if (s >= 3600) {
    out += std::to_string(s / 3600) + "h";
    s %= 3600;
  }
  if (s >= 60) {
    out += std::to_string(s / 60) + "m";
    s %= 60;
  }
  if (s > 0 || out.empty()) {
    out += std::to_string(s) + "s";
  }
  return out;
}

std::string base64_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += {kB64[n >> 18], kB64[(n >> 12) & 63], kB64[(n >> 6) & 63], kB64[n & 63]};
  }
  if (i + 1 == bytes.size()) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    out += {kB64[n >> 18], kB64[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {kB64[n >> 18], kB64[(n >> 12) & 63], kB64[(n >> 6) & 63], '='};
  }
  return out;
}

std::optional<std::string> base64_decode(const std::string& text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t n = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      char c = text[i + k];
      const char* p = c == '=' ? nullptr : std::strchr(kB64, c);
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++pad;
        n <<= 6;
        continue;
      }
      if (p == nullptr || c == '\0' || pad > 0) {
        return std::nullopt;
      }
      n = (n << 6) | static_cast<uint32_t>(p - kB64);
    }
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2) {
      out.push_back(static_cast<char>((n >> 8) & 0xff));
    }
    if (pad < 1) {
      out.push_back(static_cast<char>(n & 0xff));
    }
  }
  return out;
}

std::vector<std::string> merged(std::vector<std::string> approvers,
                                const std::vector<std::string>& more) {
  for (const auto& m : more) {
    if (!contains(approvers, m)) {
      approvers.push_back(m);
    }
  }
  return approvers;
}

}  // namespace approval_internal

std::string approval_refusal_type(const std::string& message) {
  for (const char* type : {"ApprovalConflict", "UnknownApprover", "ApprovalTimedOut",
                           "ApprovalNotFound", "InvalidAnswer"}) {
    if (message.find(std::string(type) + ": ") != std::string::npos) {
      return type;
    }
  }
  return "";
}

// JSON. Field names are the recorded form: never rename.
namespace {

using nlohmann::json;

template <class T>
void get(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) {
    it->get_to(out);
  }
}

}  // namespace

void to_json(json& j, const ApprovalDecision& v) {
  j = json{{"approved", v.approved},
           {"by", v.by},
           {"comment", v.comment},
           {"via", v.via},
           {"decided_at_ms", v.decided_at_ms},
           {"approval_id", v.approval_id},
           {"escalated", v.escalated}};
}

void from_json(const json& j, ApprovalDecision& v) {
  if (!j.is_object()) {
    throw json::type_error::create(302, "an ApprovalDecision is a JSON object", &j);
  }
  v = ApprovalDecision{};
  get(j, "approved", v.approved);
  get(j, "by", v.by);
  get(j, "comment", v.comment);
  get(j, "via", v.via);
  get(j, "decided_at_ms", v.decided_at_ms);
  get(j, "approval_id", v.approval_id);
  get(j, "escalated", v.escalated);
}

void to_json(json& j, const ApprovalAnswer& v) {
  j = json{{"approved", v.approved}, {"by", v.by}, {"comment", v.comment}};
  if (!v.approval_id.empty()) {
    j["approval_id"] = v.approval_id;
  }
}

void from_json(const json& j, ApprovalAnswer& v) {
  if (!j.is_object()) {
    throw json::type_error::create(302, "an ApprovalAnswer is a JSON object", &j);
  }
  v = ApprovalAnswer{};
  get(j, "approval_id", v.approval_id);
  get(j, "approved", v.approved);
  get(j, "by", v.by);
  get(j, "comment", v.comment);
}

void to_json(json& j, const ApprovalNotice& v) {
  j = json{{"approval_id", v.approval_id},
           {"namespace", v.namespace_},
           {"workflow_id", v.workflow_id},
           {"run_id", v.run_id},
           {"activity_id", v.activity_id},
           {"task_token", v.task_token},
           {"what", v.what},
           {"details", v.details},
           {"approvers", v.approvers},
           {"escalated", v.escalated},
           {"requested_at_ms", v.requested_at_ms},
           {"deadline_ms", v.deadline_ms}};
}

void from_json(const json& j, ApprovalNotice& v) {
  if (!j.is_object()) {
    throw json::type_error::create(302, "an ApprovalNotice is a JSON object", &j);
  }
  v = ApprovalNotice{};
  get(j, "approval_id", v.approval_id);
  get(j, "namespace", v.namespace_);
  get(j, "workflow_id", v.workflow_id);
  get(j, "run_id", v.run_id);
  get(j, "activity_id", v.activity_id);
  get(j, "task_token", v.task_token);
  get(j, "what", v.what);
  if (j.contains("details")) {
    v.details = j.at("details");
  }
  get(j, "approvers", v.approvers);
  get(j, "escalated", v.escalated);
  get(j, "requested_at_ms", v.requested_at_ms);
  get(j, "deadline_ms", v.deadline_ms);
}

void to_json(json& j, const ApprovalStatus& v) {
  j = json{{"approval_id", v.approval_id},
           {"what", v.what},
           {"details", v.details},
           {"state", v.state},
           {"pending", v.pending()},
           {"approvers", v.approvers},
           {"escalation_approvers", v.escalation_approvers},
           {"requested_at_ms", v.requested_at_ms},
           {"deadline_ms", v.deadline_ms},
           {"webhook_url", v.webhook_url},
           {"webhook_error", v.webhook_error},
           {"decision", v.decision ? json(*v.decision) : json(nullptr)},
           {"ignored", v.ignored}};
}

void from_json(const json& j, ApprovalStatus& v) {
  if (!j.is_object()) {
    throw json::type_error::create(302, "an ApprovalStatus is a JSON object", &j);
  }
  v = ApprovalStatus{};
  get(j, "approval_id", v.approval_id);
  get(j, "what", v.what);
  if (j.contains("details")) {
    v.details = j.at("details");
  }
  get(j, "state", v.state);
  get(j, "approvers", v.approvers);
  get(j, "escalation_approvers", v.escalation_approvers);
  get(j, "requested_at_ms", v.requested_at_ms);
  get(j, "deadline_ms", v.deadline_ms);
  get(j, "webhook_url", v.webhook_url);
  get(j, "webhook_error", v.webhook_error);
  if (auto it = j.find("decision"); it != j.end() && !it->is_null()) {
    v.decision = it->get<ApprovalDecision>();
  }
  if (auto it = j.find("ignored"); it != j.end() && it->is_array()) {
    v.ignored = *it;
  }
}

}  // namespace cairn::ai
