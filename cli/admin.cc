// cairnctl: workflow reset | update | stack, replay, admin verify, completion.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/history_json.h"
#include "cairn/main.h"
#include "cli/common.h"
#include "cli/describe.h"
#include "cli/flags.h"

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
    std::cout << t.workflow_id << " reset"
              << (event_id > 0 ? " to event " + std::to_string(event_id)
                               : " to its last completed workflow task")
              << ": new run " << resp.run_id() << "\n";
  }
  return 0;
}

int update(const Globals& g, const Target& t, const std::string& name, const InputFlags& input) {
  v1::Payloads payloads;
  read_input(input, &payloads);
  try {
    v1::Payloads result =
        connect(g).handle(t.workflow_id, t.run_id).update_payloads("", name, payloads);
    if (g.json()) {
      print_json(
          {{"workflow_id", t.workflow_id}, {"update", name}, {"result", result_json(result)}});
      return 0;
    }
    for (const auto& p : result.payloads()) {
      std::cout << payload_text(p) << "\n";
    }
    return 0;
  } catch (const cairn::ApplicationError& e) {
    return report_error(g, kRefused, "UPDATE_FAILED",
                        "update " + name + " failed: " + std::string(e.what()));
  }
}

// What the code is blocked on. A run whose workflow tasks keep failing has no worker that can
// answer (the query would wait for one): it says why the tasks fail instead.
int stack(const Globals& g, const Target& t) {
  cairn::Client client = connect(g);
  auto handle = client.handle(t.workflow_id, t.run_id);
  v1::DescribeWorkflowExecutionResponse d = handle.describe();
  const auto& info = d.workflow_execution_info();
  nlohmann::json out = {{"workflow_id", t.workflow_id},
                        {"run_id", info.execution().run_id()},
                        {"status", status_text(info.status())}};
  if (d.has_workflow_task_failure()) {
    const auto& f = d.workflow_task_failure();
    if (g.json()) {
      out["stack"] = nullptr;
      out["workflow_task_failure"] = {{"cause", cause_text(f)},
                                      {"message", f.failure().message()},
                                      {"attempt", f.attempt()},
                                      {"event_id", f.event_id()},
                                      {"time_ms", f.time_ms()}};
      print_json(out);
    } else {
      std::cout << "no stack: the run's workflow tasks are failing, so no worker runs its code\n"
                << "  " << task_failure_text(f) << "\n"
                << "(fix the cause, then the next attempt runs; see `workflow describe`)\n";
    }
    return 0;
  }
  v1::Payloads result = handle.query_payloads("__stack_trace", v1::Payloads());
  std::string stack_text;
  for (const auto& p : result.payloads()) {
    std::string text = payload_text(p);
    if (nlohmann::json::accept(text)) {
      auto j = nlohmann::json::parse(text);
      if (j.is_string()) {
        text = j.get<std::string>();
      }
    }
    stack_text += text + "\n";
  }
  if (g.json()) {
    out["stack"] = stack_text;
    out["workflow_task_failure"] = nullptr;
    print_json(out);
  } else {
    std::cout << stack_text;
  }
  return 0;
}

// ---- replay ---------------------------------------------------------------------------------

int replay(const Globals& g, const Target& t, const std::string& file, const std::string& worker) {
  if (t.workflow_id.empty() == file.empty()) {
    usage_error(
        "replay needs either --workflow-id (a history from the server) or --file (an exported "
        "history), not both");
  }
  std::string path = file;
  std::filesystem::path temp;
  nlohmann::json report = {{"worker", worker}};
  if (!t.workflow_id.empty()) {
    cairn::Client client = connect(g);
    cairn::WorkflowHistory h;
    h.workflow_id = t.workflow_id;
    h.run_id =
        t.run_id.empty()
            ? client.handle(t.workflow_id).describe().workflow_execution_info().execution().run_id()
            : t.run_id;
    h.events = client.handle(t.workflow_id, h.run_id).history();
    temp = std::filesystem::temp_directory_path() /
           ("cairnctl-replay-" + std::to_string(getpid()) + ".json");
    cairn::save_history_json(temp.string(), h);
    path = temp.string();
    report.update({{"workflow_id", h.workflow_id},
                   {"run_id", h.run_id},
                   {"events", h.events.size()},
                   {"file", nullptr}});
    std::cerr << "replaying " << h.events.size() << " events of " << t.workflow_id << " (run "
              << h.run_id << ") with " << worker << "\n";
  } else if (!std::filesystem::exists(file)) {
    usage_error("--file " + file + " does not exist");
  } else {
    cairn::WorkflowHistory h = cairn::load_history_json(file);
    report.update({{"workflow_id", h.workflow_id},
                   {"run_id", h.run_id},
                   {"events", h.events.size()},
                   {"file", file}});
  }
  // The worker command may carry its own arguments ("./hello worker").
  std::vector<std::string> args;
  std::istringstream words(worker);
  for (std::string word; words >> word;) {
    args.push_back(word);
  }
  if (args.empty()) {
    usage_error("--worker is empty: pass the path of a worker binary");
  }
  args.insert(args.end(), {"--replay", path, "--namespace", g.ns});
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  // With -o json, stdout is this command's one JSON document: the worker writes to stderr.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (g.json()) {
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  }
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
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
    usage_error("cannot run worker " + worker + ": " + std::strerror(rc) +
                " (pass the path of a worker binary built with cairn::run_worker_main)");
  }
  if (!WIFEXITED(status)) {
    throw CtlError(kRefused, "WORKER_DIED", "worker " + worker + " died during the replay");
  }
  switch (WEXITSTATUS(status)) {
    case cairn::kExitOk:
      if (g.json()) {
        report["replayed"] = true;
        print_json(report);
      }
      return 0;
    case cairn::kExitNonDeterminism:
      throw CtlError(kRefused, "NON_DETERMINISM",
                     "replay found non-determinism: this worker's code would not reproduce the "
                     "recorded history (see the worker's output above)");
    case cairn::kExitBadInput:
      usage_error("the worker could not replay the input (see the worker's output above)");
    default:
      throw CtlError(kRefused, "REPLAY_FAILED", "replay failed (see the worker's output above)");
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
    usage_error("admin verify needs --workflow-id or --all (not both)");
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
          std::cerr << (tty ? "\r" : "") << "verified " << done << "/" << cresp.count() << " runs, "
                    << bad << " with differences" << (tty ? "" : "\n") << std::flush;
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

// Every command that runs something ("workflow start", "server health", ...), in order.
void collect_commands(const CLI::App* app, const std::string& path, std::vector<std::string>* out) {
  auto subs = app->get_subcommands({});
  if (subs.empty() && !path.empty()) {
    out->push_back(path.substr(1));
  }
  for (const CLI::App* sub : subs) {
    collect_commands(sub, path + " " + sub->get_name(), out);
  }
}

int completion(const Globals& g, const CLI::App& app, const std::string& shell) {
  if (shell != "bash" && shell != "zsh") {
    usage_error("completion for bash or zsh, not " + shell);
  }
  std::map<std::string, std::string> words;
  collect_words(&app, "", &words);
  std::ostringstream script;
  if (shell == "zsh") {
    script << "autoload -U +X bashcompinit && bashcompinit\n";
  }
  script << "# cairnctl completion: source it, e.g. source <(cairnctl completion " << shell
         << ")\n_cairnctl_words() {\n  case \"$1\" in\n";
  for (const auto& [path, list] : words) {
    script << "    \"" << path << "\") echo \"" << list << "\" ;;\n";
  }
  script << "  esac\n}\n"
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
  if (g.json()) {
    std::vector<std::string> commands;
    collect_commands(&app, "", &commands);
    print_json({{"shell", shell}, {"script", script.str()}, {"commands", commands}});
  } else {
    std::cout << script.str();
  }
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
    InputFlags input;
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
  r->callback([&] { action = [&] { return reset(g, a.t, a.event_id, a.reason, a.no_reapply); }; });

  auto* u = workflow.add_subcommand("update", "send an update and print its result");
  add_target(u, &a.t);
  u->add_option("--name", a.name, "update name")->required()->check(id_check("update name"));
  add_input(u, &a.input, "the update's argument");
  u->callback([&] { action = [&] { return update(g, a.t, a.name, a.input); }; });

  auto* st = workflow.add_subcommand(
      "stack", "what the run's code is blocked on (a worker answers), or why its tasks fail");
  add_target(st, &a.t);
  st->callback([&] { action = [&] { return stack(g, a.t); }; });

  auto* tr = workflow.add_subcommand(
      "trace", "the run and its children as a tree, with pending activities and timers");
  add_target(tr, &a.t);
  tr->add_option("--depth", a.depth, "levels of children to show")->capture_default_str();
  tr->add_flag("-f,--follow", a.follow, "redraw every second until the run closes");
  tr->callback([&] { action = [&] { return trace(g, a.t, a.depth, a.follow); }; });

  auto* rp =
      app.add_subcommand("replay",
                         "replay a history against a worker binary's code (its --replay) to catch "
                         "non-determinism before deploying it");
  rp->add_option("-w,--workflow-id", a.t.workflow_id, "replay this run's history from the server")
      ->check(id_check("workflow id"));
  rp->add_option("-r,--run-id", a.t.run_id, "run id (default: the current run)")
      ->check(run_id_check());
  rp->add_option("--file", a.file, "replay an exported history JSON file instead");
  rp->add_option("--worker", a.worker,
                 "the worker command (built with cairn::run_worker_main), e.g. \"./hello worker\"")
      ->required();
  rp->callback([&] { action = [&] { return replay(g, a.t, a.file, a.worker); }; });

  auto* admin = app.add_subcommand("admin", "consistency checks")->require_subcommand(1);
  auto* v = admin->add_subcommand(
      "verify", "rebuild mutable state from events and compare it with the stored state");
  v->add_option("-w,--workflow-id", a.t.workflow_id, "one workflow")
      ->check(id_check("workflow id"));
  v->add_option("-r,--run-id", a.t.run_id, "run id (default: the current run)")
      ->check(run_id_check());
  v->add_flag("--all", a.all, "every run of the namespace (with a progress line)");
  v->callback([&] { action = [&] { return verify(g, a.t, a.all); }; });

  auto* c = app.add_subcommand("completion", "print a shell completion script");
  c->add_option("shell", a.shell, "bash or zsh")->capture_default_str();
  c->callback([&] { action = [&] { return completion(g, app, a.shell); }; });
}

}  // namespace cairnctl
