#include "cli/common.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "cairn/payload.h"

namespace cairnctl {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string to_json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

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
  return cairn::Client(o);
}


// `input` (JSON text; empty: no argument) as the payloads of a call. False (and a message)
// when it is not JSON: nothing is sent then.
bool json_payloads(const std::string& input, v1::Payloads* out) {
  if (input.empty()) {
    return true;
  }
  if (!nlohmann::json::accept(input)) {
    std::cerr << "cairnctl: --input is not JSON: " << input
              << " (a string needs quotes: --input '\"text\"')\n";
    return false;
  }
  auto* p = out->add_payloads();
  (*p->mutable_metadata())["encoding"] = cairn::kEncodingJson;
  p->set_data(nlohmann::json::parse(input).dump());
  return true;
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
  cmd->add_option("-w,--workflow-id", t->workflow_id, "workflow id")->required();
  cmd->add_option("-r,--run-id", t->run_id, "run id (default: the current run)");
}

}  // namespace cairnctl
