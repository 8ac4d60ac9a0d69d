// cairnctl: workflow reset | update | stack | trace, replay, admin verify, completion.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <cstring>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/history_json.h"
#include "cairn/main.h"
#include "cli/common.h"

extern char** environ;

namespace cairnctl {
namespace {

using namespace std::chrono_literals;

int reset(const Globals& g, const Target& t, int64_t event_id, const std::string& reason,
          bool no_reapply) {
  v1::ResetWorkflowExecutionRequest req;
  req.set_namespace_(g.ns);
  req.mutable_workflow_execution()->set_workflow_id(t.workflow_id);
  req.mutable_workflow_execution()->set_run_id(t.run_id);
  req.set_workflow_task_finish_event_id(event_id);
  req.set_reason(reason);
  req.set_identity("cairnctl");
  req.set_reset_reapply_type(no_reapply ? v1::RESET_REAPPLY_TYPE_NONE
                                        : v1::RESET_REAPPLY_TYPE_SIGNAL);
  v1::ResetWorkflowExecutionResponse resp;
  call(g, &v1::WorkflowService::Stub::ResetWorkflowExecution, req, &resp);
  if (g.json()) {
    std::cout << to_json(resp) << "\n";
  } else {
    std::cout << t.workflow_id << " reset" << (event_id > 0 ? " to event " + std::to_string(event_id) : " to its last completed workflow task")
              << ": new run " << resp.run_id() << "\n";
  }
  return 0;
}

int update(const Globals& g, const Target& t, const std::string& name, const std::string& input) {
  v1::Payloads payloads;
  if (!json_payloads(input, &payloads)) {
    return kUsage;
  }
  try {
    v1::Payloads result =
        connect(g).handle(t.workflow_id, t.run_id).update_payloads("", name, payloads);
    for (const auto& p : result.payloads()) {
      std::cout << payload_text(p) << "\n";
    }
    return 0;
  } catch (const cairn::ApplicationError& e) {
    std::cerr << "cairnctl: update " << name << " failed: " << e.what() << "\n";
    return kRefused;
  }
}

int stack(const Globals& g, const Target& t) {
  v1::Payloads result =
      connect(g).handle(t.workflow_id, t.run_id).query_payloads("__stack_trace", v1::Payloads());
  for (const auto& p : result.payloads()) {
    std::string text = payload_text(p);
    if (nlohmann::json::accept(text)) {
      auto j = nlohmann::json::parse(text);
      if (j.is_string()) {
        text = j.get<std::string>();
      }
    }
    std::cout << text << "\n";
  }
  return 0;
}

// ---- trace ----------------------------------------------------------------------------------

std::string short_state(v1::PendingActivityState s) {
  std::string name = v1::PendingActivityState_Name(s);
  const std::string prefix = "PENDING_ACTIVITY_STATE_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

// One run and, below it, its pending activities, timers and children (recursively).
void trace_run(const Globals& g, cairn::Client& client, const std::string& workflow_id,
               const std::string& run_id, const std::string& indent, int depth,
               std::ostream& out, bool* root_open) {
  v1::DescribeWorkflowExecutionResponse d;
  try {
    d = client.handle(workflow_id, run_id).describe();
  } catch (const cairn::RpcError& e) {
    out << workflow_id << "  (" << e.what() << ")\n";
    return;
  }
  const auto& info = d.workflow_execution_info();
  if (root_open != nullptr) {
    *root_open = info.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING;
  }
  out << info.execution().workflow_id() << "  " << info.type().name() << "  "
      << status_text(info.status()) << "  run " << info.execution().run_id() << "\n";
  std::vector<std::string> lines;
  std::vector<const v1::PendingChildExecutionInfo*> children;
  for (const auto& a : d.pending_activities()) {
    std::string line = "activity " + a.activity_id() + "  " + a.activity_type().name() + "  " +
                       short_state(a.state()) + "  attempt " + std::to_string(a.attempt());
    if (a.has_last_failure()) {
      line += "  last failure: " + a.last_failure().message();
    }
    lines.push_back(line);
  }
  for (const auto& tm : d.pending_timers()) {
    lines.push_back("timer " + tm.timer_id() + "  fires " + time_text(tm.fire_time_ms()));
  }
  for (const auto& c : d.pending_children()) {
    children.push_back(&c);
  }
  const size_t total = lines.size() + children.size();
  size_t n = 0;
  for (const auto& line : lines) {
    ++n;
    out << indent << (n == total ? "└─ " : "├─ ") << line << "\n";
  }
  for (const auto* c : children) {
    ++n;
    const bool last = n == total;
    out << indent << (last ? "└─ " : "├─ ") << "child ";
    if (depth <= 0) {
      out << c->workflow_id() << "  " << c->workflow_type() << "  (deeper: raise --depth)\n";
      continue;
    }
    if (c->run_id().empty()) {
      out << c->workflow_id() << "  " << c->workflow_type() << "  STARTING\n";
      continue;
    }
    Globals child = g;
    if (!c->namespace_().empty()) {
      child.ns = c->namespace_();
    }
    cairn::Client child_client = connect(child);
    trace_run(child, child_client, c->workflow_id(), c->run_id(), indent + (last ? "   " : "│  "),
              depth - 1, out, nullptr);
  }
}

int trace(const Globals& g, const Target& t, int depth, bool follow) {
  cairn::Client client = connect(g);
  const bool tty = isatty(STDOUT_FILENO) != 0;
  while (true) {
    std::ostringstream frame;
    bool open = false;
    trace_run(g, client, t.workflow_id, t.run_id, "", depth, frame, &open);
    if (follow && tty) {
      std::cout << "\033[H\033[2J";  // redraw in place
    }
    std::cout << frame.str() << std::flush;
    if (!follow || !open) {
      return 0;
    }
    std::this_thread::sleep_for(1s);  // a refresh interval for a person watching, not a wait
    if (!tty) {
      std::cout << "\n";
    }
  }
}

// ---- replay ---------------------------------------------------------------------------------

int replay(const Globals& g, const Target& t, const std::string& file, const std::string& worker) {
  if (t.workflow_id.empty() == file.empty()) {
    std::cerr << "cairnctl: replay needs either --workflow-id (a history from the server) or "
                 "--file (an exported history), not both\n";
    return kUsage;
  }
  std::string path = file;
  std::filesystem::path temp;
  if (!t.workflow_id.empty()) {
    cairn::Client client = connect(g);
    cairn::WorkflowHistory h;
    h.workflow_id = t.workflow_id;
    h.run_id = t.run_id.empty()
                   ? client.handle(t.workflow_id).describe().workflow_execution_info().execution().run_id()
                   : t.run_id;
    h.events = client.handle(t.workflow_id, h.run_id).history();
    temp = std::filesystem::temp_directory_path() /
           ("cairnctl-replay-" + std::to_string(getpid()) + ".json");
    cairn::save_history_json(temp.string(), h);
    path = temp.string();
    std::cerr << "replaying " << h.events.size() << " events of " << t.workflow_id << " (run "
              << h.run_id << ") with " << worker << "\n";
  } else if (!std::filesystem::exists(file)) {
    std::cerr << "cairnctl: --file " << file << " does not exist\n";
    return kUsage;
  }
  // The worker command may carry its own arguments ("./hello worker").
  std::vector<std::string> args;
  std::istringstream words(worker);
  for (std::string word; words >> word;) {
    args.push_back(word);
  }
  if (args.empty()) {
    std::cerr << "cairnctl: --worker is empty\n";
    return kUsage;
  }
  args.insert(args.end(), {"--replay", path, "--namespace", g.ns});
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0].c_str(), nullptr, nullptr, argv.data(), environ);
  int status = 0;
  if (rc == 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (!temp.empty()) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
  }
  if (rc != 0) {
    std::cerr << "cairnctl: cannot run worker " << worker << ": " << std::strerror(rc)
              << " (pass the path of a worker binary built with cairn::run_worker_main)\n";
    return kUsage;
  }
  if (!WIFEXITED(status)) {
    std::cerr << "cairnctl: worker " << worker << " died during the replay\n";
    return kRefused;
  }
  switch (WEXITSTATUS(status)) {
    case cairn::kExitOk:
      return 0;
    case cairn::kExitNonDeterminism:
      std::cerr << "cairnctl: replay found non-determinism: this worker's code would not "
                   "reproduce the recorded history (see above)\n";
      return kRefused;
    case cairn::kExitBadInput:
      std::cerr << "cairnctl: the worker could not replay the input (see above)\n";
      return kUsage;
    default:
      std::cerr << "cairnctl: replay failed (see above)\n";
      return kRefused;
  }
}

// ---- admin verify ---------------------------------------------------------------------------

// One run; prints its differences. True when it matched.
bool verify_one(const Globals& g, const std::string& workflow_id, const std::string& run_id,
                nlohmann::json* report) {
  v1::VerifyWorkflowExecutionRequest req;
  req.set_namespace_(g.ns);
  req.mutable_execution()->set_workflow_id(workflow_id);
  req.mutable_execution()->set_run_id(run_id);
  v1::VerifyWorkflowExecutionResponse resp;
  call(g, &v1::WorkflowService::Stub::VerifyWorkflowExecution, req, &resp);
  nlohmann::json entry = {{"workflow_id", workflow_id},
                          {"run_id", resp.run_id()},
                          {"events", resp.event_count()},
                          {"differences", nlohmann::json::array()}};
  for (const auto& d : resp.differences()) {
    entry["differences"].push_back(d);
  }
  report->push_back(entry);
  if (!g.json() && resp.differences_size() > 0) {
    std::cout << workflow_id << " (run " << resp.run_id() << "): " << resp.differences_size()
              << " difference(s) between the stored state and its " << resp.event_count()
              << " events:\n";
    for (const auto& d : resp.differences()) {
      std::cout << "  " << d << "\n";
    }
  }
  return resp.differences_size() == 0;
}

int verify(const Globals& g, const Target& t, bool all) {
  if (all == !t.workflow_id.empty()) {
    std::cerr << "cairnctl: admin verify needs --workflow-id or --all\n";
    return kUsage;
  }
  nlohmann::json report = nlohmann::json::array();
  int64_t bad = 0;
  int64_t done = 0;
  if (!all) {
    bad += verify_one(g, t.workflow_id, t.run_id, &report) ? 0 : 1;
    done = 1;
  } else {
    v1::CountWorkflowExecutionsRequest creq;
    creq.set_namespace_(g.ns);
    v1::CountWorkflowExecutionsResponse cresp;
    call(g, &v1::WorkflowService::Stub::CountWorkflowExecutions, creq, &cresp,
         std::chrono::seconds(300));
    const bool tty = isatty(STDERR_FILENO) != 0;
    v1::ListWorkflowExecutionsRequest req;
    req.set_namespace_(g.ns);
    req.set_page_size(1000);
    while (true) {
      v1::ListWorkflowExecutionsResponse resp;
      call(g, &v1::WorkflowService::Stub::ListWorkflowExecutions, req, &resp);
      for (const auto& info : resp.executions()) {
        bad += verify_one(g, info.execution().workflow_id(), info.execution().run_id(), &report)
                   ? 0
                   : 1;
        ++done;
        if (tty || done % 1000 == 0 || done == cresp.count()) {
          std::cerr << (tty ? "\r" : "") << "verified " << done << "/" << cresp.count()
                    << " runs, " << bad << " with differences" << (tty ? "" : "\n")
                    << std::flush;
        }
      }
      if (resp.next_page_token().empty()) {
        break;
      }
      req.set_next_page_token(resp.next_page_token());
    }
    if (tty) {
      std::cerr << "\n";
    }
  }
  if (g.json()) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << "verified " << done << " run(s) of namespace " << g.ns << ": "
              << (bad == 0 ? "every stored state matches its history"
                           : std::to_string(bad) + " differ from their history")
              << "\n";
  }
  return bad == 0 ? 0 : kRefused;
}

// ---- completion -----------------------------------------------------------------------------

void collect_words(const CLI::App* app, const std::string& path,
                   std::map<std::string, std::string>* words) {
  std::string list;
  for (const CLI::App* sub : app->get_subcommands({})) {
    list += sub->get_name() + " ";
    collect_words(sub, path + " " + sub->get_name(), words);
  }
  for (const CLI::Option* opt : app->get_options()) {
    for (const auto& l : opt->get_lnames()) {
      list += "--" + l + " ";
    }
  }
  (*words)[path] = list;
}

int completion(const CLI::App& app, const std::string& shell) {
  if (shell != "bash" && shell != "zsh") {
    std::cerr << "cairnctl: completion for bash or zsh\n";
    return kUsage;
  }
  std::map<std::string, std::string> words;
  collect_words(&app, "", &words);
  if (shell == "zsh") {
    std::cout << "autoload -U +X bashcompinit && bashcompinit\n";
  }
  std::cout << "# cairnctl completion: source it, e.g. source <(cairnctl completion " << shell
            << ")\n_cairnctl_words() {\n  case \"$1\" in\n";
  for (const auto& [path, list] : words) {
    std::cout << "    \"" << path << "\") echo \"" << list << "\" ;;\n";
  }
  std::cout << "  esac\n}\n"
               "_cairnctl() {\n"
               "  local cur=${COMP_WORDS[COMP_CWORD]} path=\"\" w i\n"
               "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
               "    w=${COMP_WORDS[i]}\n"
               "    case \" $(_cairnctl_words \"$path\") \" in *\" $w \"*) [[ $w != -* ]] && "
               "path=\"$path $w\" ;; esac\n"
               "  done\n"
               "  COMPREPLY=($(compgen -W \"$(_cairnctl_words \"$path\")\" -- \"$cur\"))\n"
               "}\n"
               "complete -F _cairnctl cairnctl\n";
  return 0;
}

}  // namespace

void add_admin_commands(CLI::App& app, CLI::App& workflow, Globals& g, Action& action) {
  struct Args {
    Target t;
    int64_t event_id = 0;
    std::string reason;
    bool no_reapply = false;
    std::string name;
    std::string input;
    int depth = 5;
    bool follow = false;
    std::string file;
    std::string worker;
    bool all = false;
    std::string shell = "bash";
  };
  static Args a;
  auto* r = workflow.add_subcommand(
      "reset", "a new run from a point of this run's history (the open run is terminated)");
  add_target(r, &a.t);
  r->add_option("--event-id", a.event_id,
                "a WorkflowTaskCompleted/Failed/TimedOut event (default: the last completed "
                "workflow task; see `workflow show`)");
  r->add_option("--reason", a.reason, "why (recorded in both runs' histories)");
  r->add_flag("--no-reapply-signals", a.no_reapply,
              "do not re-apply the signals received after the reset point");
  r->callback([&] {
    action = [&] { return reset(g, a.t, a.event_id, a.reason, a.no_reapply); };
  });

  auto* u = workflow.add_subcommand("update", "send an update and print its result");
  add_target(u, &a.t);
  u->add_option("--name", a.name, "update name")->required();
  u->add_option("--input", a.input, "the update's argument as JSON");
  u->callback([&] { action = [&] { return update(g, a.t, a.name, a.input); }; });

  auto* st = workflow.add_subcommand("stack", "what the run's code is blocked on (a worker answers)");
  add_target(st, &a.t);
  st->callback([&] { action = [&] { return stack(g, a.t); }; });

  auto* tr = workflow.add_subcommand(
      "trace", "the run and its children as a tree, with pending activities and timers");
  add_target(tr, &a.t);
  tr->add_option("--depth", a.depth, "levels of children to show")->capture_default_str();
  tr->add_flag("-f,--follow", a.follow, "redraw every second until the run closes");
  tr->callback([&] { action = [&] { return trace(g, a.t, a.depth, a.follow); }; });

  auto* rp = app.add_subcommand(
      "replay", "replay a history against a worker binary's code (its --replay) to catch "
                "non-determinism before deploying it");
  rp->add_option("-w,--workflow-id", a.t.workflow_id, "replay this run's history from the server");
  rp->add_option("-r,--run-id", a.t.run_id, "run id (default: the current run)");
  rp->add_option("--file", a.file, "replay an exported history JSON file instead");
  rp->add_option("--worker", a.worker,
                 "the worker command (built with cairn::run_worker_main), e.g. \"./hello worker\"")
      ->required();
  rp->callback([&] { action = [&] { return replay(g, a.t, a.file, a.worker); }; });

  auto* admin = app.add_subcommand("admin", "consistency checks")->require_subcommand(1);
  auto* v = admin->add_subcommand(
      "verify", "rebuild mutable state from events and compare it with the stored state");
  v->add_option("-w,--workflow-id", a.t.workflow_id, "one workflow");
  v->add_option("-r,--run-id", a.t.run_id, "run id (default: the current run)");
  v->add_flag("--all", a.all, "every run of the namespace (with a progress line)");
  v->callback([&] { action = [&] { return verify(g, a.t, a.all); }; });

  auto* c = app.add_subcommand("completion", "print a shell completion script");
  c->add_option("shell", a.shell, "bash or zsh")->capture_default_str();
  c->callback([&] { action = [&] { return completion(app, a.shell); }; });
}

}  // namespace cairnctl
