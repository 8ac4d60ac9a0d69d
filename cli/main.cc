// cairnctl: the admin CLI. Speaks gRPC to a cairn-server through the SDK's client; never links
// server internals. Address and namespace come from flags or CAIRN_ADDRESS / CAIRN_NAMESPACE.
// Tables for people by default, --output json for scripts.
//
// Exit codes: 0 done; 1 the server refused (not found, invalid argument, …) or the workflow
// ended unsuccessfully (`workflow result`); 2 bad usage; 3 no server answers at the address.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <unistd.h>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "cairn/client.h"
#include "cairn/errors.h"
#include "cairn/history.h"
#include "cairn/history_json.h"
#include "cairn/payload.h"
#include "cli/common.h"

namespace {

using namespace std::chrono_literals;
using namespace cairnctl;

int server_health(const Globals& g) {
  cairn::Client client = connect(g);
  v1::GetSystemInfoRequest req;
  v1::GetSystemInfoResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  grpc::Status st = client.stub().GetSystemInfo(&ctx, req, &resp);
  if (!st.ok()) {
    std::cerr << "cairnctl: no cairn-server answers at " << g.address << " (" << st.error_message()
              << "); start one or pass --address / CAIRN_ADDRESS\n";
    return kUnreachable;
  }
  if (g.json()) {
    std::cout << to_json(resp) << "\n";
  } else {
    std::cout << "server   " << g.address << "\n"
              << "status   " << (resp.serving() ? "SERVING" : "SHUTTING DOWN") << "\n"
              << "version  " << resp.server_version() << "\n"
              << "shards   " << resp.shard_count() << "\n"
              << "polls    " << resp.waiting_polls() << " waiting\n";
  }
  return resp.serving() ? 0 : kRefused;
}

int describe(const Globals& g, const Target& t) {
  cairn::Client client = connect(g);
  v1::DescribeWorkflowExecutionResponse d = client.handle(t.workflow_id, t.run_id).describe();
  if (g.json()) {
    std::cout << to_json(d) << "\n";
    return 0;
  }
  const auto& info = d.workflow_execution_info();
  std::cout << "workflow id   " << info.execution().workflow_id() << "\n"
            << "run id        " << info.execution().run_id() << "\n"
            << "type          " << info.type().name() << "\n"
            << "task queue    " << info.task_queue() << "\n"
            << "status        " << status_text(info.status())
            << (d.cancel_requested() ? " (cancel requested)" : "") << "\n"
            << "started       " << time_text(info.start_time_ms()) << "\n"
            << "closed        " << time_text(info.close_time_ms()) << "\n"
            << "history       " << info.history_length() << " events\n";
  // Sorted by name: proto maps have no order of their own.
  for (const auto& [label, map] : {std::pair{"search attributes", &info.search_attributes()},
                                   std::pair{"memo", &info.memo()}}) {
    if (map->empty()) {
      continue;
    }
    std::cout << label << ":\n";
    std::map<std::string, v1::Payload> sorted(map->begin(), map->end());
    for (const auto& [name, value] : sorted) {
      std::cout << "  " << name << " = " << payload_text(value) << "\n";
    }
  }
  if (d.pending_activities_size() > 0) {
    std::cout << "pending activities:\n";
    for (const auto& a : d.pending_activities()) {
      std::string state = v1::PendingActivityState_Name(a.state());
      std::cout << "  " << a.activity_id() << "  " << a.activity_type().name() << "  "
                << state.substr(std::string("PENDING_ACTIVITY_STATE_").size()) << "\n";
    }
  }
  if (d.pending_timers_size() > 0) {
    std::cout << "pending timers: " << d.pending_timers_size() << "\n";
  }
  return 0;
}

int show(const Globals& g, const Target& t) {
  cairn::Client client = connect(g);
  auto events = client.handle(t.workflow_id, t.run_id).history();
  if (g.json()) {
    std::cout << cairn::export_history_json(events, t.workflow_id, t.run_id) << "\n";
    return 0;
  }
  std::cout << cairn::history_timeline(events);
  return 0;
}

void print_payloads(const v1::Payloads& p) {
  for (const auto& payload : p.payloads()) {
    std::cout << payload.data() << "\n";
  }
}

int result(const Globals& g, const Target& t, int timeout_s) {
  cairn::Client client = connect(g);
  try {
    print_payloads(
        client.handle(t.workflow_id, t.run_id).result_payloads(std::chrono::seconds(timeout_s)));
    return 0;
  } catch (const cairn::WorkflowFailedError& e) {
    std::cerr << "cairnctl: " << e.what() << "\n";
    return kRefused;
  } catch (const cairn::TimeoutError& e) {
    std::cerr << "cairnctl: " << e.what() << " (still running: raise --timeout)\n";
    return kRefused;
  }
}

// Starts a run; with `wait`, waits for its result too (workflow execute).
// "NAME=JSON" pairs (--search-attribute, --memo) into *out; false (and a message) when one is
// malformed: nothing is sent then.
bool named_json(const std::vector<std::string>& pairs, const char* flag, cairn::PayloadMap* out) {
  for (const auto& pair : pairs) {
    auto eq = pair.find('=');
    std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
    if (eq == std::string::npos || eq == 0 || !nlohmann::json::accept(value)) {
      std::cerr << "cairnctl: " << flag << " " << pair
                << " is not NAME=JSON (a string needs quotes: " << flag
                << " Stage='\"review\"')\n";
      return false;
    }
    v1::Payload p;
    (*p.mutable_metadata())["encoding"] = cairn::kEncodingJson;
    p.set_data(nlohmann::json::parse(value).dump());
    (*out)[pair.substr(0, eq)] = std::move(p);
  }
  return true;
}

int start(const Globals& g, const std::string& type, const std::string& task_queue,
          const std::string& id, const std::string& input, bool wait, int timeout_s,
          const std::vector<std::string>& attributes, const std::vector<std::string>& memo) {
  v1::Payloads payloads;
  if (!json_payloads(input, &payloads)) {
    return kUsage;
  }
  cairn::PayloadMap attribute_map;
  cairn::PayloadMap memo_map;
  if (!named_json(attributes, "--search-attribute", &attribute_map) ||
      !named_json(memo, "--memo", &memo_map)) {
    return kUsage;
  }
  cairn::Client client = connect(g);
  cairn::StartWorkflowOptions o;
  o.id = id;
  o.task_queue = task_queue;
  o.search_attributes = std::move(attribute_map);
  o.memo = std::move(memo_map);
  cairn::WorkflowHandle h = client.start_payloads(type, o, payloads);
  if (!wait) {
    if (g.json()) {
      std::cout << nlohmann::json{{"workflow_id", h.workflow_id()}, {"run_id", h.run_id()}}.dump()
                << "\n";
    } else {
      std::cout << "started " << h.workflow_id() << " (run " << h.run_id() << ")\n";
    }
    return 0;
  }
  return result(g, Target{h.workflow_id(), h.run_id()}, timeout_s);
}

int query(const Globals& g, const Target& t, const std::string& name, const std::string& input) {
  v1::Payloads payloads;
  if (!json_payloads(input, &payloads)) {
    return kUsage;
  }
  print_payloads(connect(g).handle(t.workflow_id, t.run_id).query_payloads(name, payloads));
  return 0;
}

int signal(const Globals& g, const Target& t, const std::string& name, const std::string& input) {
  v1::Payloads payloads;
  if (!json_payloads(input, &payloads)) {
    return kUsage;
  }
  cairn::Client client = connect(g);
  client.handle(t.workflow_id, t.run_id).signal_payloads(name, payloads);
  std::cout << "signal " << name << " sent to " << t.workflow_id << "\n";
  return 0;
}

int export_history(const Globals& g, const Target& t, const std::string& out) {
  cairn::Client client = connect(g);
  cairn::WorkflowHistory h;
  h.workflow_id = t.workflow_id;
  auto handle = client.handle(t.workflow_id, t.run_id);
  h.run_id = t.run_id.empty() ? handle.describe().workflow_execution_info().execution().run_id()
                              : t.run_id;
  // A progress line for big histories: on a terminal after every page, else every 5,000 events.
  const bool tty = isatty(STDERR_FILENO) != 0;
  size_t reported = 0;
  h.events = client.handle(t.workflow_id, h.run_id).history([&](size_t so_far) {
    if (tty ? so_far > 1000 : so_far >= reported + 5'000) {
      std::cerr << (tty ? "\r" : "") << "read " << so_far << " events of " << t.workflow_id
                << (tty ? "" : "\n") << std::flush;
      reported = so_far;
    }
  });
  if (tty && reported > 0) {
    std::cerr << "\n";
  }
  cairn::save_history_json(out, h);
  std::cerr << "exported " << h.events.size() << " events of " << t.workflow_id << " (run "
            << h.run_id << ") to " << out << "\n";
  return 0;
}

int namespaces(const Globals& g, const std::string& name) {
  cairn::Client client = connect(g);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  if (!name.empty()) {
    v1::DescribeNamespaceRequest req;
    req.set_namespace_(name);
    v1::DescribeNamespaceResponse resp;
    grpc::Status st = client.stub().DescribeNamespace(&ctx, req, &resp);
    if (!st.ok()) {
      throw cairn::RpcError(st.error_code(), st.error_message());
    }
    print_namespace(g, resp.namespace_info());
    return 0;
  }
  v1::ListNamespacesRequest req;
  v1::ListNamespacesResponse resp;
  grpc::Status st = client.stub().ListNamespaces(&ctx, req, &resp);
  if (!st.ok()) {
    throw cairn::RpcError(st.error_code(), st.error_message());
  }
  if (g.json()) {
    std::cout << to_json(resp) << "\n";
    return 0;
  }
  std::printf("%-24s %-14s %s\n", "NAME", "RETENTION", "DESCRIPTION");
  for (const auto& ns : resp.namespaces()) {
    std::printf("%-24s %-14s %s\n", ns.name().c_str(),
                duration_text(ns.retention_ms()).c_str(),
                ns.description().c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Globals g;
  g.address = env_or("CAIRN_ADDRESS", g.address);
  g.ns = env_or("CAIRN_NAMESPACE", g.ns);
  CLI::App app{"cairnctl: inspect and operate workflows on a cairn-server"};
  app.require_subcommand(1);
  app.add_option("--address", g.address, "server address (env CAIRN_ADDRESS)")
      ->capture_default_str();
  app.add_option("-n,--namespace", g.ns, "namespace (env CAIRN_NAMESPACE)")->capture_default_str();
  app.add_option("-o,--output", g.output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();

  Action action;
  Target t;
  std::string name;
  std::string input;
  std::string reason;
  std::string out;
  int timeout_s = 60;

  auto* server = app.add_subcommand("server", "the server itself")->require_subcommand(1);
  server->add_subcommand("health", "is it serving (exit 0), shutting down (1), unreachable (3)")
      ->callback([&] { action = [&] { return server_health(g); }; });

  auto* wf = app.add_subcommand("workflow", "one workflow run")->require_subcommand(1);
  auto* d = wf->add_subcommand("describe", "status, times, pending activities and timers");
  add_target(d, &t);
  d->callback([&] { action = [&] { return describe(g, t); }; });
  auto* s = wf->add_subcommand("show", "the run's history as a timeline (json: history JSON)");
  add_target(s, &t);
  s->callback([&] { action = [&] { return show(g, t); }; });
  auto* r = wf->add_subcommand("result", "wait for the run to close and print its result");
  add_target(r, &t);
  r->add_option("--timeout", timeout_s, "seconds to wait")->capture_default_str();
  r->callback([&] { action = [&] { return result(g, t, timeout_s); }; });
  std::string type;
  std::string task_queue;
  std::vector<std::string> attributes;
  std::vector<std::string> memo;
  for (bool wait : {false, true}) {
    auto* st = wf->add_subcommand(wait ? "execute" : "start",
                                  wait ? "start a run and wait for its result" : "start a run");
    st->add_option("-t,--type", type, "workflow type")->required();
    st->add_option("-q,--task-queue", task_queue, "task queue")->required();
    st->add_option("-w,--workflow-id", t.workflow_id, "workflow id (default: a random UUID)");
    st->add_option("--input", input, "the workflow's argument as JSON");
    st->add_option("-a,--search-attribute", attributes,
                   "NAME=JSON, repeatable (registered with `search-attribute add`)");
    st->add_option("--memo", memo, "NAME=JSON, repeatable: shown with the run, not indexed");
    if (wait) {
      st->add_option("--timeout", timeout_s, "seconds to wait")->capture_default_str();
    }
    st->callback([&, wait] {
      action = [&, wait] {
        return start(g, type, task_queue, t.workflow_id, input, wait, timeout_s, attributes,
                     memo);
      };
    });
  }
  auto* q = wf->add_subcommand("query", "run a query handler on a worker (writes nothing)");
  add_target(q, &t);
  q->add_option("--name", name, "query name (__stack_trace: what the run is blocked on)")
      ->required();
  q->add_option("--input", input, "the query's argument as JSON");
  q->callback([&] { action = [&] { return query(g, t, name, input); }; });
  auto* sig = wf->add_subcommand("signal", "send a signal");
  add_target(sig, &t);
  sig->add_option("--name", name, "signal name")->required();
  sig->add_option("--input", input, "the signal's argument as JSON");
  sig->callback([&] { action = [&] { return signal(g, t, name, input); }; });
  // cancel and terminate: the same shape, a different request.
  for (bool cancel : {true, false}) {
    auto* cmd = wf->add_subcommand(cancel ? "cancel" : "terminate",
                                   cancel ? "ask the run to cancel (its code sees CanceledError)"
                                          : "close the run at once, running no more code");
    add_target(cmd, &t);
    cmd->add_option("--reason", reason, "why");
    cmd->callback([&, cancel] {
      action = [&, cancel] {
        cairn::WorkflowHandle h = connect(g).handle(t.workflow_id, t.run_id);
        if (cancel) {
          h.cancel(reason);
          std::cout << "cancellation of " << t.workflow_id << " requested\n";
        } else {
          h.terminate(reason);
          std::cout << t.workflow_id << " terminated\n";
        }
        return 0;
      };
    });
  }

  auto* hist = app.add_subcommand("history", "histories")->require_subcommand(1);
  auto* ex = hist->add_subcommand("export",
                                  "write a run's history as history JSON (the "
                                  "replayer's input, a worker's --replay FILE)");
  add_target(ex, &t);
  ex->add_option("--out", out, "file to write")->required();
  ex->callback([&] { action = [&] { return export_history(g, t, out); }; });

  auto* ns = app.add_subcommand("namespace", "namespaces")->require_subcommand(1);
  ns->add_subcommand("list", "every namespace")->callback([&] {
    action = [&] { return namespaces(g, ""); };
  });
  auto* nsd = ns->add_subcommand("describe", "one namespace");
  nsd->add_option("name", name, "namespace name")->required();
  nsd->callback([&] { action = [&] { return namespaces(g, name); }; });

  add_visibility_commands(app, *wf, *ns, g, action);
  add_admin_commands(app, *wf, g, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kUsage;
  }
  try {
    return action();
  } catch (const cairn::RpcError& e) {
    if (e.code() == grpc::StatusCode::UNAVAILABLE ||
        e.code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      std::cerr << "cairnctl: no cairn-server answers at " << g.address << ": " << e.what() << "\n";
      return kUnreachable;
    }
    std::cerr << "cairnctl: " << e.what() << "\n";
    return kRefused;
  } catch (const std::exception& e) {
    std::cerr << "cairnctl: " << e.what() << "\n";
    return kRefused;
  }
}
