// cairnctl: the admin CLI. Speaks gRPC to a cairn-server through the SDK's client; never links
// server internals. Address and namespace come from flags or CAIRN_ADDRESS / CAIRN_NAMESPACE.
// Tables for people by default, --output json for scripts (errors too: report_error).
//
// Exit codes (kExitCodesHelp): 0 done; 1 the server refused (not found, invalid argument, …),
// or the workflow ended unsuccessfully, replay found non-determinism, verify found a
// difference; 2 bad usage, nothing sent; 3 no server answers at the address.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cairn/client.h"
#include "cairn/errors.h"
#include "cli/ai_usage.h"
#include "cli/approval.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "cli/schedule.h"
#include "cli/stack.h"
#include "proto/status.h"

namespace {

using namespace std::chrono_literals;
using namespace cairnctl;

constexpr const char* kExitCodesHelp =
    "\nExit codes:\n"
    "  0  done\n"
    "  1  the server refused (not found, invalid argument, ...), or the workflow ended\n"
    "     unsuccessfully, replay found non-determinism, verify found a difference\n"
    "  2  bad usage (a missing, empty or invalid flag, input that is not JSON): nothing was sent\n"
    "  3  no cairn-server answers at the address\n"
    "With --output json, stdout carries one JSON document; an error is\n"
    "  {\"error\": {\"code\": ..., \"message\": ..., \"exit_code\": N}}\n";

int server_health(const Globals& g) {
  cairn::Client client = connect(g);
  v1::GetSystemInfoRequest req;
  v1::GetSystemInfoResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  grpc::Status st = client.stub().GetSystemInfo(&ctx, req, &resp);
  if (!st.ok()) {
    return report_error(g, kUnreachable, "UNAVAILABLE",
                        "no cairn-server answers at " + g.address + " (" + st.error_message() +
                            "); start one or pass --address / CAIRN_ADDRESS");
  }
  if (g.json()) {
    nlohmann::json j = to_json_value(resp);
    j["address"] = g.address;
    print_json(j);
  } else {
    std::cout << "server   " << g.address << "\n"
              << "status   " << (resp.serving() ? "SERVING" : "SHUTTING DOWN") << "\n"
              << "version  " << resp.server_version() << "\n"
              << "shards   " << resp.shard_count() << "\n"
              << "polls    " << resp.waiting_polls() << " waiting\n";
  }
  return resp.serving() ? 0 : kRefused;
}

int namespaces(const Globals& g, const std::string& name) {
  if (!name.empty()) {
    v1::DescribeNamespaceRequest req;
    req.set_namespace_(name);
    v1::DescribeNamespaceResponse resp;
    call(g, &v1::WorkflowService::Stub::DescribeNamespace, req, &resp, 10s);
    print_namespace(g, resp.namespace_info());
    return 0;
  }
  v1::ListNamespacesRequest req;
  v1::ListNamespacesResponse resp;
  call(g, &v1::WorkflowService::Stub::ListNamespaces, req, &resp, 10s);
  if (g.json()) {
    std::cout << to_json(resp) << "\n";
    return 0;
  }
  std::printf("%-24s %-14s %s\n", "NAME", "RETENTION", "DESCRIPTION");
  for (const auto& ns : resp.namespaces()) {
    std::printf("%-24s %-14s %s\n", ns.name().c_str(), duration_text(ns.retention_ms()).c_str(),
                ns.description().c_str());
  }
  return 0;
}

// True when argv asks for JSON output: read before parsing, so that a parse error is JSON too.
bool wants_json(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "-o" || arg == "--output") && i + 1 < argc) {
      json = std::strcmp(argv[i + 1], "json") == 0;
    } else if (arg == "--output=json" || arg == "-ojson") {
      json = true;
    } else if (arg.rfind("--output=", 0) == 0 || (arg.rfind("-o", 0) == 0 && arg.size() > 2)) {
      json = false;
    }
  }
  return json;
}

// The short code of an RPC error for -o json: "NOT_FOUND", "INVALID_ARGUMENT", ... (the
// server's codes are the gRPC codes).
std::string code_name(grpc::StatusCode code) {
  return std::string(cairn::status_code_name(static_cast<cairn::StatusCode>(code)));
}

}  // namespace

int main(int argc, char** argv) {
  Globals g;
  g.address = env_or("CAIRN_ADDRESS", g.address);
  g.ns = env_or("CAIRN_NAMESPACE", g.ns);
  CLI::App app{"cairnctl: inspect and operate workflows on a cairn-server"};
  app.footer(kExitCodesHelp);
  // Global flags may follow the subcommand too: `cairnctl workflow describe -w ID -o json`.
  app.fallthrough();
  app.require_subcommand(1);
  app.add_option("--address", g.address, "server address (env CAIRN_ADDRESS)")
      ->capture_default_str()
      ->check(id_check("address"));
  app.add_option("-n,--namespace", g.ns, "namespace (env CAIRN_NAMESPACE)")
      ->capture_default_str()
      ->check(namespace_check());
  app.add_option("-o,--output", g.output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--retry-unavailable", g.retry_unavailable_s,
                 "seconds to keep retrying start, signal, update, cancel and terminate while no "
                 "server answers (same request id: a restart in between takes effect once); "
                 "0: exit 3 at once")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  Action action;
  std::string name;
  auto* server = app.add_subcommand("server", "the server itself")->require_subcommand(1);
  server->add_subcommand("health", "is it serving (exit 0), shutting down (1), unreachable (3)")
      ->callback([&] { action = [&] { return server_health(g); }; });

  auto* wf = app.add_subcommand("workflow", "one workflow run")->require_subcommand(1);
  add_workflow_commands(app, *wf, g, action);

  auto* ns = app.add_subcommand("namespace", "namespaces")->require_subcommand(1);
  ns->add_subcommand("list", "every namespace")->callback([&] {
    action = [&] { return namespaces(g, ""); };
  });
  auto* nsd = ns->add_subcommand("describe", "one namespace");
  nsd->add_option("name", name, "namespace name")->required()->check(namespace_check());
  nsd->callback([&] { action = [&] { return namespaces(g, name); }; });

  add_visibility_commands(app, *wf, *ns, g, action);
  add_admin_commands(app, *wf, g, action);
  add_ai_usage_commands(*wf, g, action);
  add_approval_commands(app, g, action);
  add_schedule_commands(app, g, action);
  add_stack_commands(app, g, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0 || !wants_json(argc, argv)) {
      int rc = app.exit(e);
      return rc == 0 ? 0 : kUsage;
    }
    g.output = "json";
    return report_error(g, kUsage, "USAGE", e.what());
  }
  try {
    return action();
  } catch (const CtlError& e) {
    return report_error(g, e.exit_code(), e.code(), e.what());
  } catch (const cairn::RpcError& e) {
    if (e.code() == grpc::StatusCode::UNAVAILABLE ||
        e.code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      return report_error(g, kUnreachable, "UNAVAILABLE",
                          "no cairn-server answers at " + g.address + ": " + e.what());
    }
    return report_error(g, kRefused, code_name(e.code()), e.what());
  } catch (const std::exception& e) {
    return report_error(g, kRefused, "FAILED", e.what());
  }
}
