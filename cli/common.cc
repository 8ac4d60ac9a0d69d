#include "cli/common.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "cairn/payload.h"
#include "cli/flags.h"

namespace cairnctl {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

void usage_error(const std::string& message) { throw CtlError(kUsage, "USAGE", message); }

int report_error(const Globals& g, int exit_code, const std::string& code,
                 const std::string& message) {
  if (g.json()) {
    print_json({{"error", {{"code", code}, {"message", message}, {"exit_code", exit_code}}}});
  } else {
    std::cerr << "cairnctl: " << message << "\n";
  }
  return exit_code;
}

std::string to_json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

nlohmann::json to_json_value(const google::protobuf::Message& m) {
  return nlohmann::json::parse(to_json(m));
}

nlohmann::json payload_json(const v1::Payload& p) {
  std::string text = payload_text(p);
  if (nlohmann::json::accept(text)) {
    return nlohmann::json::parse(text);
  }
  return text;
}

nlohmann::json result_json(const v1::Payloads& p) {
  return p.payloads_size() == 0 ? nlohmann::json(nullptr) : payload_json(p.payloads(0));
}

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

std::string time_text(int64_t ms) {
  if (ms <= 0) {
    return "-";
  }
  time_t secs = static_cast<time_t>(ms / 1000);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", gmtime(&secs));
  char out[80];
  std::snprintf(out, sizeof(out), "%s.%03d UTC", buf, static_cast<int>(ms % 1000));
  return out;
}

std::string status_text(v1::WorkflowExecutionStatus s) {
  std::string name = v1::WorkflowExecutionStatus_Name(s);
  const std::string prefix = "WORKFLOW_EXECUTION_STATUS_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

cairn::Client connect(const Globals& g) {
  cairn::ClientOptions o;
  o.address = g.address;
  o.ns = g.ns;
  o.identity = "cairnctl";
  o.unavailable_retry_deadline =
      std::chrono::milliseconds(static_cast<int64_t>(g.retry_unavailable_s * 1000));
  return cairn::Client(o);
}

void json_payloads(const std::string& input, const std::string& source, v1::Payloads* out) {
  if (input.empty()) {
    return;
  }
  nlohmann::json value = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    // Big inputs come from files: quote only their start.
    std::string shown = input.size() > 80 ? input.substr(0, 80) + "..." : input;
    std::string where;
    try {
      nlohmann::json ignored = nlohmann::json::parse(input);
    } catch (const nlohmann::json::parse_error& e) {
      where = " (at byte " + std::to_string(e.byte) + ")";
    }
    usage_error(source + " is not JSON" + where + ": " + shown +
                " (a string needs quotes: --input '\"text\"')");
  }
  auto* p = out->add_payloads();
  (*p->mutable_metadata())["encoding"] = cairn::kEncodingJson;
  p->set_data(value.dump());
}

std::string payload_text(const v1::Payload& p) {
  auto encoding = p.metadata().find("encoding");
  if (encoding == p.metadata().end() || encoding->second == cairn::kEncodingJson) {
    return p.data();
  }
  if (encoding->second == cairn::kEncodingNull) {
    return "null";
  }
  return "<" + encoding->second + ", " + std::to_string(p.data().size()) + " bytes>";
}

void add_target(CLI::App* cmd, Target* t) {
  cmd->add_option("-w,--workflow-id", t->workflow_id, "workflow id")
      ->required()
      ->check(id_check("workflow id"));
  cmd->add_option("-r,--run-id", t->run_id, "run id (default: the current run)")
      ->check(run_id_check());
}

}  // namespace cairnctl
