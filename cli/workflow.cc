// cairnctl: workflow describe | show | result | start | execute | query | signal | cancel |
// terminate, history export.
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "cairn/client.h"
#include "cairn/errors.h"
#include "cairn/history.h"
#include "cairn/history_json.h"
#include "cairn/payload.h"
#include "cli/common.h"
#include "cli/describe.h"
#include "cli/flags.h"

namespace cairnctl {
namespace {

// The run a call addressed: the given run id, else the current run's (describe).
std::string resolved_run_id(cairn::Client& client, const Target& t) {
  if (!t.run_id.empty()) {
    return t.run_id;
  }
  return client.handle(t.workflow_id).describe().workflow_execution_info().execution().run_id();
}

int show(const Globals& g, const Target& t) {
  cairn::Client client = connect(g);
  // The run id read is the one the history belongs to, also when -r was left out.
  const std::string run_id = g.json() ? resolved_run_id(client, t) : t.run_id;
  auto events = client.handle(t.workflow_id, run_id).history();
  if (g.json()) {
    std::cout << cairn::export_history_json(events, t.workflow_id, run_id) << "\n";
    return 0;
  }
  std::cout << cairn::history_timeline(events);
  return 0;
}

int result(const Globals& g, const Target& t, int timeout_s) {
  cairn::Client client = connect(g);
  try {
    const std::string run_id = g.json() ? resolved_run_id(client, t) : t.run_id;
    v1::Payloads p =
        client.handle(t.workflow_id, t.run_id).result_payloads(std::chrono::seconds(timeout_s));
    if (g.json()) {
      print_json({{"workflow_id", t.workflow_id}, {"run_id", run_id}, {"result", result_json(p)}});
      return 0;
    }
    for (const auto& payload : p.payloads()) {
      std::cout << payload.data() << "\n";
    }
    return 0;
  } catch (const cairn::WorkflowFailedError& e) {
    return report_error(g, kRefused, "WORKFLOW_FAILED", e.what());
  } catch (const cairn::TimeoutError& e) {
    return report_error(g, kRefused, "TIMEOUT",
                        std::string(e.what()) + " (still running: raise --timeout)");
  }
}

// "NAME=JSON" pairs (--search-attribute, --memo) into *out. Throws CtlError(kUsage) when one is
// malformed (or, with `attribute_names`, names no valid attribute): nothing is sent then.
void named_json(const std::vector<std::string>& pairs, const char* flag, bool attribute_names,
                cairn::PayloadMap* out) {
  for (const auto& pair : pairs) {
    auto eq = pair.find('=');
    std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
    if (eq == std::string::npos || eq == 0 || !nlohmann::json::accept(value)) {
      usage_error(std::string(flag) + " " + pair +
                  " is not NAME=JSON (a string needs quotes: " + flag + " Stage='\"review\"')");
    }
    std::string name = pair.substr(0, eq);
    std::string problem = attribute_names ? attribute_name_problem(name) : "";
    if (!problem.empty()) {
      usage_error(std::string(flag) + ": " + problem);
    }
    v1::Payload p;
    (*p.mutable_metadata())["encoding"] = cairn::kEncodingJson;
    p.set_data(nlohmann::json::parse(value).dump());
    (*out)[name] = std::move(p);
  }
}

struct StartArgs {
  std::string type;
  std::string task_queue;
  InputFlags input;
  std::vector<std::string> attributes;
  std::vector<std::string> memo;
};

// Starts a run; with `wait`, waits for its result too (workflow execute).
int start(const Globals& g, const StartArgs& a, const std::string& id, bool wait, int timeout_s) {
  v1::Payloads payloads;
  read_input(a.input, &payloads);
  cairn::PayloadMap attribute_map;
  cairn::PayloadMap memo_map;
  named_json(a.attributes, "--search-attribute", /*attribute_names=*/true, &attribute_map);
  named_json(a.memo, "--memo", /*attribute_names=*/false, &memo_map);
  cairn::Client client = connect(g);
  cairn::StartWorkflowOptions o;
  o.id = id;
  o.task_queue = a.task_queue;
  o.search_attributes = std::move(attribute_map);
  o.memo = std::move(memo_map);
  cairn::WorkflowHandle h = client.start_payloads(a.type, o, payloads);
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

int query(const Globals& g, const Target& t, const std::string& name, const InputFlags& input) {
  v1::Payloads payloads;
  read_input(input, &payloads);
  cairn::Client client = connect(g);
  v1::Payloads p = client.handle(t.workflow_id, t.run_id).query_payloads(name, payloads);
  if (g.json()) {
    print_json({{"workflow_id", t.workflow_id},
                {"run_id", resolved_run_id(client, t)},
                {"query", name},
                {"result", result_json(p)}});
    return 0;
  }
  for (const auto& payload : p.payloads()) {
    std::cout << payload.data() << "\n";
  }
  return 0;
}

int signal(const Globals& g, const Target& t, const std::string& name, const InputFlags& input) {
  v1::Payloads payloads;
  read_input(input, &payloads);
  cairn::Client client = connect(g);
  client.handle(t.workflow_id, t.run_id).signal_payloads(name, payloads);
  if (g.json()) {
    print_json({{"workflow_id", t.workflow_id},
                {"run_id", resolved_run_id(client, t)},
                {"signal", name},
                {"sent", true}});
  } else {
    std::cout << "signal " << name << " sent to " << t.workflow_id << "\n";
  }
  return 0;
}

int cancel_or_terminate(const Globals& g, const Target& t, bool cancel, const std::string& reason) {
  cairn::Client client = connect(g);
  cairn::WorkflowHandle h = client.handle(t.workflow_id, t.run_id);
  // Read before a terminate closes it: afterwards the current run could be a newer one.
  const std::string run_id = g.json() ? resolved_run_id(client, t) : t.run_id;
  if (cancel) {
    h.cancel(reason);
  } else {
    h.terminate(reason);
  }
  if (g.json()) {
    print_json({{"workflow_id", t.workflow_id},
                {"run_id", run_id},
                {cancel ? "cancel_requested" : "terminated", true},
                {"reason", reason}});
  } else if (cancel) {
    std::cout << "cancellation of " << t.workflow_id << " requested\n";
  } else {
    std::cout << t.workflow_id << " terminated\n";
  }
  return 0;
}

int export_history(const Globals& g, const Target& t, const std::string& out) {
  cairn::Client client = connect(g);
  cairn::WorkflowHistory h;
  h.workflow_id = t.workflow_id;
  h.run_id = resolved_run_id(client, t);
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
  if (g.json()) {
    print_json({{"workflow_id", t.workflow_id},
                {"run_id", h.run_id},
                {"events", h.events.size()},
                {"file", out}});
  }
  std::cerr << "exported " << h.events.size() << " events of " << t.workflow_id << " (run "
            << h.run_id << ") to " << out << "\n";
  return 0;
}

}  // namespace

void add_workflow_commands(CLI::App& app, CLI::App& wf, Globals& g, Action& action) {
  struct Args {
    Target t;
    std::string name;
    InputFlags input;
    std::string reason;
    std::string out;
    int timeout_s = 60;
    StartArgs start;
  };
  static Args a;
  auto* d = wf.add_subcommand("describe",
                              "status, times, the failing workflow task, pending activities "
                              "(attempts, last failure, next retry) and timers");
  add_target(d, &a.t);
  d->callback([&] { action = [&] { return describe(g, a.t); }; });
  auto* s = wf.add_subcommand("show", "the run's history as a timeline (json: history JSON)");
  add_target(s, &a.t);
  s->callback([&] { action = [&] { return show(g, a.t); }; });
  auto* r = wf.add_subcommand("result", "wait for the run to close and print its result");
  add_target(r, &a.t);
  r->add_option("--timeout", a.timeout_s, "seconds to wait")->capture_default_str();
  r->callback([&] { action = [&] { return result(g, a.t, a.timeout_s); }; });
  for (bool wait : {false, true}) {
    auto* st = wf.add_subcommand(wait ? "execute" : "start",
                                 wait ? "start a run and wait for its result" : "start a run");
    st->add_option("-t,--type", a.start.type, "workflow type")
        ->required()
        ->check(id_check("workflow type"));
    st->add_option("-q,--task-queue", a.start.task_queue, "task queue")
        ->required()
        ->check(id_check("task queue"));
    st->add_option("-w,--workflow-id", a.t.workflow_id, "workflow id (default: a random UUID)")
        ->check(id_check("workflow id"));
    add_input(st, &a.start.input, "the workflow's argument");
    st->add_option("-a,--search-attribute", a.start.attributes,
                   "NAME=JSON, repeatable (registered with `search-attribute add`)");
    st->add_option("--memo", a.start.memo,
                   "NAME=JSON, repeatable: shown with the run, not indexed");
    if (wait) {
      st->add_option("--timeout", a.timeout_s, "seconds to wait")->capture_default_str();
    }
    st->callback([&, wait] {
      action = [&, wait] { return start(g, a.start, a.t.workflow_id, wait, a.timeout_s); };
    });
  }
  auto* q = wf.add_subcommand("query", "run a query handler on a worker (writes nothing)");
  add_target(q, &a.t);
  q->add_option("--name", a.name, "query name (__stack_trace: what the run is blocked on)")
      ->required()
      ->check(id_check("query name"));
  add_input(q, &a.input, "the query's argument");
  q->callback([&] { action = [&] { return query(g, a.t, a.name, a.input); }; });
  auto* sig = wf.add_subcommand("signal", "send a signal");
  add_target(sig, &a.t);
  sig->add_option("--name", a.name, "signal name")->required()->check(id_check("signal name"));
  add_input(sig, &a.input, "the signal's argument");
  sig->callback([&] { action = [&] { return signal(g, a.t, a.name, a.input); }; });
  // cancel and terminate: the same shape, a different request.
  for (bool cancel : {true, false}) {
    auto* cmd = wf.add_subcommand(cancel ? "cancel" : "terminate",
                                  cancel ? "ask the run to cancel (its code sees CanceledError)"
                                         : "close the run at once, running no more code");
    add_target(cmd, &a.t);
    cmd->add_option("--reason", a.reason, "why");
    cmd->callback([&, cancel] {
      action = [&, cancel] { return cancel_or_terminate(g, a.t, cancel, a.reason); };
    });
  }

  auto* hist = app.add_subcommand("history", "histories")->require_subcommand(1);
  auto* ex = hist->add_subcommand("export",
                                  "write a run's history as history JSON (the "
                                  "replayer's input, a worker's --replay FILE)");
  add_target(ex, &a.t);
  ex->add_option("--out", a.out, "file to write")->required();
  ex->callback([&] { action = [&] { return export_history(g, a.t, a.out); }; });
}

}  // namespace cairnctl
