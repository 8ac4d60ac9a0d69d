// What every cairnctl command shares: global flags, exit codes, output helpers, the connection,
// and the registration hooks of the command groups kept in their own files. Not thread-safe:
// one command runs per process.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>
#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

#include "cairn/client.h"
#include "cairn/errors.h"

namespace cairnctl {

namespace v1 = cairn::v1;

// Exit codes (documented in `cairnctl --help` and cli/README.md; checked by the e2e tests).
constexpr int kOk = 0;
constexpr int kRefused = 1;  // the server refused, or the workflow / replay / verify failed
constexpr int kUsage = 2;    // bad usage: nothing was sent
constexpr int kUnreachable = 3;

// A failure cairnctl reports itself, thrown by a command and printed by main (report_error):
// the exit code, a short code for -o json ("USAGE", "NOT_FOUND", ...) and the message.
class CtlError : public std::runtime_error {
 public:
  CtlError(int exit_code, std::string code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code), code_(std::move(code)) {}
  int exit_code() const { return exit_code_; }
  const std::string& code() const { return code_; }

 private:
  int exit_code_;
  std::string code_;
};

// Throws CtlError(kUsage, "USAGE", message).
[[noreturn]] void usage_error(const std::string& message);

struct Globals {
  std::string address = "127.0.0.1:7233";
  std::string ns = "default";
  std::string output = "table";
  // How long start, signal, update, cancel and terminate keep retrying while no server answers
  // (a restart in progress); 0: report "unreachable" (exit 3) at once.
  double retry_unavailable_s = 0;
  bool json() const { return output == "json"; }
};

struct Target {
  std::string workflow_id;
  std::string run_id;
};

// The command chosen by parsing, run after it.
using Action = std::function<int()>;

// Prints a failure and returns exit_code: "cairnctl: MESSAGE" on stderr; with -o json the
// object {"error": {"code": CODE, "message": MESSAGE, "exit_code": N}} on stdout instead, so
// stdout always carries exactly one JSON document.
int report_error(const Globals& g, int exit_code, const std::string& code,
                 const std::string& message);

std::string env_or(const char* name, const std::string& fallback);
// The proto3 JSON of a message with every field, defaults included (0, "", false, []).
std::string to_json(const google::protobuf::Message& m);
nlohmann::json to_json_value(const google::protobuf::Message& m);
// A payload's data as a JSON value: JSON as it is, other encodings as a string naming them.
nlohmann::json payload_json(const v1::Payload& p);
// The first payload as a JSON value (null when there is none): a call's result.
nlohmann::json result_json(const v1::Payloads& p);
// Prints one JSON document on stdout (indented).
void print_json(const nlohmann::json& j);
// "2026-12-02 04:15:00.123 UTC"; "-" for 0.
std::string time_text(int64_t ms);
// "RUNNING", "COMPLETED", ...
std::string status_text(v1::WorkflowExecutionStatus s);
cairn::Client connect(const Globals& g);
// `input` (JSON text; empty: no argument) as the payloads of a call. Throws CtlError(kUsage)
// naming `source` (the flag) when it is not JSON: nothing is sent then.
void json_payloads(const std::string& input, const std::string& source, v1::Payloads* out);
// A payload's data as text: JSON as it is, other encodings named.
std::string payload_text(const v1::Payload& p);

// Calls a unary RPC with a deadline; throws cairn::RpcError on a non-OK status.
template <class Req, class Resp>
void call(const Globals& g,
          grpc::Status (v1::WorkflowService::Stub::*method)(grpc::ClientContext*, const Req&,
                                                            Resp*),
          const Req& req, Resp* resp, std::chrono::seconds deadline = std::chrono::seconds(30)) {
  cairn::Client client = connect(g);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  grpc::Status st = (client.stub().*method)(&ctx, req, resp);
  if (!st.ok()) {
    throw cairn::RpcError(st.error_code(), st.error_message());
  }
}

// -w (required) and -r, both validated (flags.h).
void add_target(CLI::App* cmd, Target* t);
// 259200000 -> "3d", 5400000 -> "90m": the largest unit that divides it.
std::string duration_text(int64_t ms);
// A namespace as a card (or JSON): name, description, retention, search attributes.
void print_namespace(const Globals& g, const v1::NamespaceInfo& info);

// Command groups (workflow.cc, visibility.cc, admin.cc).
void add_workflow_commands(CLI::App& app, CLI::App& workflow, Globals& g, Action& action);
void add_visibility_commands(CLI::App& app, CLI::App& workflow, CLI::App& ns, Globals& g,
                             Action& action);
void add_admin_commands(CLI::App& app, CLI::App& workflow, Globals& g, Action& action);

}  // namespace cairnctl
