// What every cairnctl command shares: global flags, exit codes, output helpers, the connection,
// and the registration hooks of the command groups kept in their own files. Not thread-safe:
// one command runs per process.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <CLI/CLI.hpp>
#include <google/protobuf/message.h>

#include "cairn/client.h"
#include "cairn/errors.h"

namespace cairnctl {

namespace v1 = cairn::v1;

constexpr int kRefused = 1;
constexpr int kUsage = 2;
constexpr int kUnreachable = 3;

struct Globals {
  std::string address = "127.0.0.1:7233";
  std::string ns = "default";
  std::string output = "table";
  bool json() const { return output == "json"; }
};

struct Target {
  std::string workflow_id;
  std::string run_id;
};

// The command chosen by parsing, run after it.
using Action = std::function<int()>;

std::string env_or(const char* name, const std::string& fallback);
std::string to_json(const google::protobuf::Message& m);
// "2026-12-02 04:15:00.123 UTC"; "-" for 0.
std::string time_text(int64_t ms);
// "RUNNING", "COMPLETED", ...
std::string status_text(v1::WorkflowExecutionStatus s);
cairn::Client connect(const Globals& g);
// `input` (JSON text; empty: no argument) as the payloads of a call. False (and a message on
// stderr) when it is not JSON: nothing is sent then.
bool json_payloads(const std::string& input, v1::Payloads* out);
// A payload's data as text: JSON as it is, other encodings named.
std::string payload_text(const v1::Payload& p);

// Calls a unary RPC with a deadline; throws cairn::RpcError on a non-OK status.
template <class Req, class Resp>
void call(const Globals& g,
          grpc::Status (v1::WorkflowService::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
          const Req& req, Resp* resp, std::chrono::seconds deadline = std::chrono::seconds(30)) {
  cairn::Client client = connect(g);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  grpc::Status st = (client.stub().*method)(&ctx, req, resp);
  if (!st.ok()) {
    throw cairn::RpcError(st.error_code(), st.error_message());
  }
}

void add_target(CLI::App* cmd, Target* t);
// 259200000 -> "3d", 5400000 -> "90m": the largest unit that divides it.
std::string duration_text(int64_t ms);
// A namespace as a card (or JSON): name, description, retention, search attributes.
void print_namespace(const Globals& g, const v1::NamespaceInfo& info);

// Command groups (visibility.cc, admin.cc).
void add_visibility_commands(CLI::App& app, CLI::App& workflow, CLI::App& ns, Globals& g,
                             Action& action);
void add_admin_commands(CLI::App& app, CLI::App& workflow, Globals& g, Action& action);

}  // namespace cairnctl
