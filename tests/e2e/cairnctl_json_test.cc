// End to end: `--output json` on every cairnctl command (the list comes from the binary, so a
// new command without a case here fails), errors as JSON with the documented exit codes, and
// the exit codes in --help.
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "e2e/ctl_fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class CairnctlJsonTest : public CtlTest {
 protected:
  // Runs cairnctl -o json ARGS; its stdout must be one JSON document.
  json run_json(const std::vector<std::string>& args, int expected_exit = 0) {
    std::vector<std::string> all = {"-o", "json"};
    all.insert(all.end(), args.begin(), args.end());
    Run r = ctl_split(all);
    std::string shown;
    for (const auto& a : args) {
      shown += a + " ";
    }
    EXPECT_EQ(r.exit, expected_exit) << shown << "\n" << r.output << r.errors;
    json j = json::parse(r.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << shown << ": stdout is not JSON:\n" << r.output;
    return j;
  }
};

TEST_F(CairnctlJsonTest, EveryCommandPrintsJsonWithItsFields) {
  Worker& w = new_worker("json-q");
  w.register_workflow("waiter", [](WorkflowContext& ctx) {
    int total = 0;
    ctx.set_query_handler("total", [&total] { return total; });
    ctx.set_update_handler("add", [&total](int n) { return total += n; });
    return "got " + ctx.signal<std::string>("go").wait();
  });
  w.register_workflow("square", [](WorkflowContext&, int x) { return x * x; });
  // The approval protocol of cairn/ai/approval.h as cairnctl sees it (the real one is tested
  // in tests/ai/e2e): the query "cairn.approval.pending" and the update "cairn.approval.answer".
  w.register_workflow("asks", [](WorkflowContext& ctx) {
    ctx.set_query_handler("cairn.approval.pending", [] {
      return json{{"approval_id", "a-1"}, {"what", "ship it"}, {"state", "waiting"}};
    });
    ctx.set_update_handler("cairn.approval.answer", [](const json& a) {
      return json{{"approval_id", "a-1"}, {"approved", a["approved"]}, {"by", a["by"]},
                  {"via", "update"}};
    });
    ctx.signal<std::string>("go").wait();
  });
  w.start();
  client_->start("asks", start_options("j-approval", "json-q"));
  // A history recorded by the replay worker binary.
  ChildProcess replay_worker({CTL_WORKER_BINARY, "--address", server_->address()},
                             dir_.path() + "/ctl-worker.log");
  client_->start("steps", start_options("j-steps", "ctl-replay"));
  ASSERT_EQ(client_->handle("j-steps").result<std::string>(60s), "one;two;");
  ASSERT_EQ(replay_worker.stop(), 0) << replay_worker.output();
  const std::string file = dir_.path() + "/j-steps.json";
  client_->start("waiter", start_options("j-cancel", "json-q"));

  std::string run_id;  // of j-1, from `workflow start`
  using Check = std::function<void(const json&)>;
  struct Case {
    std::string command;
    std::vector<std::string> args;
    Check check;
    int exit = 0;  // a refusal still prints one JSON document
  };
  // Stacks (cli/stack.cc): plan needs no deploy worker; this test runs none, so apply, status,
  // destroy and history are their refusals — a cloud type apply cannot make (refused before
  // anything is sent), a stack never deployed. tests/deploy/e2e/cli_stack_test.cc runs them
  // against a real cairn-deploy-worker.
  const std::string stack_file = dir_.path() + "/j-stack.yaml";
  std::ofstream(stack_file) << "name: j-stack\nversion: 1\nresources:\n"
                               "  llm:\n    type: model_endpoint\n"
                               "    inputs: {tier: economy, model: m, price_per_hour: 0.5}\n";
  const std::string cloud_file = dir_.path() + "/j-cloud.yaml";
  std::ofstream(cloud_file) << "name: j-cloud\nversion: 1\nresources:\n"
                               "  bucket:\n    type: \"aws:s3_bucket\"\n"
                               "    inputs: {cost_per_hour: 0.01}\n";
  const std::vector<Case> cases = {
      {"server health",
       {"server", "health"},
       [&](const json& j) {
         EXPECT_EQ(j["serving"], true);
         EXPECT_TRUE(j.contains("shardCount")) << j;
         EXPECT_EQ(j["address"], server_->address());
       }},
      {"workflow start",
       {"workflow", "start", "-t", "waiter", "-q", "json-q", "-w", "j-1"},
       [&](const json& j) {
         EXPECT_EQ(j["workflow_id"], "j-1");
         run_id = j["run_id"].get<std::string>();
         EXPECT_EQ(run_id.size(), 36u);
       }},
      {"workflow update",
       {"workflow", "update", "-w", "j-1", "--name", "add", "--input", "5"},
       [&](const json& j) { EXPECT_EQ(j["result"], 5); }},
      {"workflow query",
       {"workflow", "query", "-w", "j-1", "--name", "total"},
       [&](const json& j) {
         EXPECT_EQ(j["result"], 5);
         EXPECT_EQ(j["run_id"], run_id);
       }},
      {"workflow describe",
       {"workflow", "describe", "-w", "j-1"},
       [&](const json& j) {
         EXPECT_EQ(j["workflowExecutionInfo"]["execution"]["runId"], run_id);
         // Every field, defaults included.
         EXPECT_EQ(j["cancelRequested"], false) << j;
         EXPECT_TRUE(j.contains("bufferedSignalCount")) << j;
         EXPECT_FALSE(j.contains("ai_usage")) << "no model calls, no AI usage section";
       }},
      {"workflow usage",
       {"workflow", "usage", "-w", "j-1"},
       [&](const json& j) {
         EXPECT_EQ(j["run_id"], run_id);
         EXPECT_EQ(j["calls"], 0);
         EXPECT_EQ(j["cost_micros"], 0);
         EXPECT_TRUE(j["by_model"].is_array()) << j;
       }},
      {"workflow stack",
       {"workflow", "stack", "-w", "j-1"},
       [&](const json& j) {
         EXPECT_EQ(j["run_id"], run_id);
         EXPECT_TRUE(j["stack"].is_string()) << j;
         EXPECT_NE(j["stack"].get<std::string>().find("go"), std::string::npos) << j;
         EXPECT_TRUE(j["workflow_task_failure"].is_null()) << j;
       }},
      {"workflow trace",
       {"workflow", "trace", "-w", "j-1"},
       [&](const json& j) {
         EXPECT_EQ(j["workflowExecutionInfo"]["execution"]["runId"], run_id);
         EXPECT_TRUE(j["children"].is_array()) << j;
       }},
      {"workflow signal",
       {"workflow", "signal", "-w", "j-1", "--name", "go", "--input", "\"x\""},
       [&](const json& j) {
         EXPECT_EQ(j["sent"], true);
         EXPECT_EQ(j["signal"], "go");
         EXPECT_EQ(j["run_id"], run_id);
       }},
      {"workflow result",
       {"workflow", "result", "-w", "j-1", "--timeout", "30"},
       [&](const json& j) {
         EXPECT_EQ(j["result"], "got x");
         EXPECT_EQ(j["run_id"], run_id);
       }},
      {"workflow show",
       {"workflow", "show", "-w", "j-1"},
       [&](const json& j) {
         EXPECT_EQ(j["run_id"], run_id) << j.dump().substr(0, 500);
         EXPECT_EQ(j["workflow_id"], "j-1");
       }},
      {"workflow execute",
       {"workflow", "execute", "-t", "square", "-q", "json-q", "-w", "j-2", "--input", "7"},
       [&](const json& j) {
         EXPECT_EQ(j["result"], 49);
         EXPECT_EQ(j["workflow_id"], "j-2");
       }},
      {"workflow list",
       {"workflow", "list"},
       [&](const json& j) {
         ASSERT_TRUE(j.is_array());
         EXPECT_EQ(j.size(), 5u);  // j-steps, j-cancel, j-approval, j-1, j-2
       }},
      {"workflow count", {"workflow", "count"}, [&](const json& j) { EXPECT_EQ(j["count"], 5); }},
      {"workflow reset",
       {"workflow", "reset", "-w", "j-1", "--event-id", "4", "--no-reapply-signals"},
       [&](const json& j) { EXPECT_EQ(j["runId"].get<std::string>().size(), 36u) << j; }},
      {"workflow cancel",
       {"workflow", "cancel", "-w", "j-cancel", "--reason", "r"},
       [&](const json& j) {
         EXPECT_EQ(j["cancel_requested"], true);
         EXPECT_EQ(j["run_id"].get<std::string>().size(), 36u);
       }},
      {"workflow terminate",
       {"workflow", "terminate", "-w", "j-1", "--reason", "r"},
       [&](const json& j) {
         EXPECT_EQ(j["terminated"], true);
         EXPECT_EQ(j["reason"], "r");
       }},
      {"history export",
       {"history", "export", "-w", "j-steps", "--out", file},
       [&](const json& j) {
         EXPECT_EQ(j["file"], file);
         EXPECT_GT(j["events"].get<int>(), 5);
         EXPECT_EQ(j["run_id"].get<std::string>().size(), 36u);
       }},
      {"replay",
       {"replay", "--file", file, "--worker", CTL_WORKER_BINARY},
       [&](const json& j) {
         EXPECT_EQ(j["replayed"], true);
         EXPECT_EQ(j["workflow_id"], "j-steps");
         EXPECT_GT(j["events"].get<int>(), 5);
       }},
      {"admin verify",
       {"admin", "verify", "-w", "j-2"},
       [&](const json& j) {
         ASSERT_TRUE(j.is_array());
         EXPECT_EQ(j[0]["differences"].size(), 0u);
       }},
      {"namespace create",
       {"namespace", "create", "j-ns", "--retention", "2d"},
       [&](const json& j) {
         EXPECT_EQ(j["name"], "j-ns");
         EXPECT_EQ(j["retentionMs"], "172800000");
       }},
      {"namespace update",
       {"namespace", "update", "j-ns", "--description", "d"},
       [&](const json& j) { EXPECT_EQ(j["description"], "d"); }},
      {"namespace describe",
       {"namespace", "describe", "j-ns"},
       [&](const json& j) { EXPECT_EQ(j["description"], "d"); }},
      {"namespace list",
       {"namespace", "list"},
       [&](const json& j) { EXPECT_GE(j["namespaces"].size(), 2u) << j; }},
      {"search-attribute add",
       {"search-attribute", "add", "--name", "Stage", "--type", "Keyword"},
       [&](const json& j) {
         EXPECT_EQ(j["added"], true);
         EXPECT_EQ(j["type"], "Keyword");
       }},
      {"search-attribute list",
       {"search-attribute", "list"},
       [&](const json& j) {
         EXPECT_EQ(j["customAttributes"]["Stage"], "INDEXED_VALUE_TYPE_KEYWORD") << j;
       }},
      {"task-queue describe",
       {"task-queue", "describe", "-q", "json-q"},
       [&](const json& j) { EXPECT_TRUE(j.contains("workflowBacklog")) << j; }},
      {"approval list",
       {"approval", "list"},
       [&](const json& j) { EXPECT_EQ(j, json::array()) << "no approval attributes: none"; }},
      {"approval show",
       {"approval", "show", "-w", "j-approval"},
       [&](const json& j) {
         EXPECT_EQ(j["workflow_id"], "j-approval");
         EXPECT_EQ(j["approval"]["approval_id"], "a-1");
         EXPECT_EQ(j["approval"]["pending"], true);
       }},
      {"approval approve",
       {"approval", "approve", "-w", "j-approval", "--by", "alice"},
       [&](const json& j) {
         EXPECT_EQ(j["decision"]["by"], "alice");
         EXPECT_EQ(j["decision"]["approved"], true);
       }},
      {"approval reject",
       {"approval", "reject", "-w", "j-approval", "--by", "bob"},
       [&](const json& j) { EXPECT_EQ(j["decision"]["approved"], false); }},
      {"completion",
       {"completion", "bash"},
       [&](const json& j) {
         EXPECT_EQ(j["shell"], "bash");
         EXPECT_NE(j["script"].get<std::string>().find("complete -F _cairnctl"), std::string::npos);
       }},
      // Schedules last: their actions start workflows, which the list and count above must not
      // see. trigger and backfill start `square` on json-q.
      {"schedule create",
       {"schedule", "create", "-s", "j-sched", "--cron", "0 3 * * *", "--time-zone", "UTC", "-t",
        "square", "-q", "json-q", "--input", "3", "--overlap", "allow-all", "--note", "n"},
       [&](const json& j) {
         EXPECT_EQ(j["schedule_id"], "j-sched");
         EXPECT_EQ(j["created"], true);
         EXPECT_EQ(j["paused"], false);
         EXPECT_FALSE(j["next_fires"].empty()) << j;
       }},
      {"schedule update",
       {"schedule", "update", "-s", "j-sched", "--cron", "30 4 * * *"},
       [&](const json& j) {
         EXPECT_EQ(j["schedule_id"], "j-sched");
         EXPECT_EQ(j["updated"], true);
       }},
      {"schedule describe",
       {"schedule", "describe", "-s", "j-sched", "--next", "2"},
       [&](const json& j) {
         EXPECT_EQ(j["spec"]["cron"], json::array({"30 4 * * *"}));
         EXPECT_EQ(j["action"]["workflow_type"], "square");
         EXPECT_EQ(j["state"]["note"], "n");
         ASSERT_EQ(j["next_fires"].size(), 2u) << j;
         EXPECT_NE(j["next_fires"][0]["utc"].get<std::string>().find("T04:30:00Z"),
                   std::string::npos)
             << j;
       }},
      {"schedule list",
       {"schedule", "list"},
       [&](const json& j) {
         ASSERT_TRUE(j.is_array()) << j;
         ASSERT_EQ(j.size(), 1u) << j;
       }},
      {"schedule pause",
       {"schedule", "pause", "-s", "j-sched", "--note", "stop"},
       [&](const json& j) {
         EXPECT_EQ(j["paused"], true);
         EXPECT_EQ(j["note"], "stop");
       }},
      {"schedule unpause",
       {"schedule", "unpause", "-s", "j-sched", "--note", "go"},
       [&](const json& j) {
         EXPECT_EQ(j["paused"], false);
         EXPECT_EQ(j["note"], "go");
       }},
      {"schedule trigger",
       {"schedule", "trigger", "-s", "j-sched"},
       [&](const json& j) {
         EXPECT_EQ(j["schedule_id"], "j-sched");
         ASSERT_EQ(j["workflow_ids"].size(), 1u) << j;
       }},
      {"schedule backfill",
       {"schedule", "backfill", "-s", "j-sched", "--start", "2026-01-01T00:00:00Z", "--end",
        "2026-01-02T12:00:00Z"},
       [&](const json& j) {
         EXPECT_EQ(j["workflow_ids"],
                   json::array({"j-sched-2026-01-01T04:30:00Z", "j-sched-2026-01-02T04:30:00Z"}))
             << j;
       }},
      {"schedule delete",
       {"schedule", "delete", "-s", "j-sched"},
       [&](const json& j) { EXPECT_EQ(j["deleted"], true); }},
      {"stack plan",
       {"stack", "plan", stack_file},
       [&](const json& j) {
         EXPECT_EQ(j["stack"], "j-stack");
         EXPECT_EQ(j["plan"]["resources"][0]["action"], "create") << j;
         EXPECT_EQ(j["plan"]["cost"]["after_per_hour"], "$0.50") << j;
         EXPECT_EQ(j["needs_approval"], false) << j;
         EXPECT_EQ(j["hash"].get<std::string>().size(), 64u) << j;
       }},
      {"stack apply",
       {"stack", "apply", cloud_file, "--auto-approve"},
       [&](const json& j) {
         EXPECT_EQ(j["error"]["code"], "UNSUPPORTED_TYPE") << j;
         EXPECT_NE(j["error"]["message"].get<std::string>().find("aws:s3_bucket"),
                   std::string::npos)
             << j;
       },
       1},
      {"stack status",
       {"stack", "status", "--stack", "j-stack"},
       [&](const json& j) {
         EXPECT_EQ(j["error"]["code"], "NOT_FOUND") << j;
         EXPECT_NE(j["error"]["message"].get<std::string>().find("never been deployed"),
                   std::string::npos)
             << j;
       },
       1},
      {"stack destroy",
       {"stack", "destroy", stack_file, "--auto-approve"},
       [&](const json& j) { EXPECT_EQ(j["error"]["code"], "NOT_FOUND") << j; },
       1},
      {"stack history",
       {"stack", "history", "--stack", "j-stack"},
       [&](const json& j) { EXPECT_EQ(j["error"]["code"], "NOT_FOUND") << j; },
       1},
      {"stack reconcile",
       {"stack", "reconcile", "--stack", "j-stack", "--dry-run"},
       [&](const json& j) { EXPECT_EQ(j["error"]["code"], "NOT_FOUND") << j; },
       1},
      {"stack scale",
       {"stack", "scale", "--stack", "j-stack", "llm", "2"},
       [&](const json& j) { EXPECT_EQ(j["error"]["code"], "NOT_FOUND") << j; },
       1},
  };

  std::set<std::string> covered;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.command);
    covered.insert(c.command);
    json j = run_json(c.args, c.exit);
    if (!j.is_discarded()) {
      c.check(j);
    }
  }
  // Every command the binary has is covered above.
  json listed = run_json({"completion", "bash"});
  ASSERT_TRUE(listed["commands"].is_array()) << listed;
  std::set<std::string> commands;
  for (const auto& c : listed["commands"]) {
    commands.insert(c.get<std::string>());
  }
  EXPECT_GE(commands.size(), 27u);
  for (const auto& c : commands) {
    EXPECT_EQ(covered.count(c), 1u) << "no -o json case for `cairnctl " << c << "`";
  }
}

TEST_F(CairnctlJsonTest, ErrorsAreJsonWithTheDocumentedExitCodes) {
  json missing = run_json({"workflow", "describe", "-w", "no-such-workflow"}, 1);
  EXPECT_EQ(missing["error"]["code"], "NOT_FOUND");
  EXPECT_EQ(missing["error"]["exit_code"], 1);
  EXPECT_NE(missing["error"]["message"].get<std::string>().find("no-such-workflow"),
            std::string::npos);

  json usage = run_json({"workflow", "start", "-t", "wf", "-q", "q", "-w", ""}, 2);
  EXPECT_EQ(usage["error"]["code"], "USAGE");
  EXPECT_NE(usage["error"]["message"].get<std::string>().find("--workflow-id"), std::string::npos);
  json no_flag = run_json({"workflow", "describe"}, 2);
  EXPECT_EQ(no_flag["error"]["code"], "USAGE");
  json not_json = run_json({"workflow", "start", "-t", "wf", "-q", "q", "--input", "{x"}, 2);
  EXPECT_NE(not_json["error"]["message"].get<std::string>().find("not JSON"), std::string::npos);

  Run unreachable = ctl({"-o", "json", "server", "health"}, "127.0.0.1:1");
  EXPECT_EQ(unreachable.exit, 3);
  json j = json::parse(unreachable.output, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << unreachable.output;
  EXPECT_EQ(j["error"]["code"], "UNAVAILABLE");
  EXPECT_EQ(j["error"]["exit_code"], 3);

  // Without -o json: a line on stderr, nothing on stdout, the same codes.
  Run plain = ctl_split({"workflow", "describe", "-w", "no-such-workflow"});
  EXPECT_EQ(plain.exit, 1);
  EXPECT_EQ(plain.output, "");
  EXPECT_NE(plain.errors.find("cairnctl: "), std::string::npos) << plain.errors;
}

// Global flags are accepted after the subcommand as well: `-o json` written last is honoured,
// not refused as an unexpected argument or ignored.
TEST_F(CairnctlJsonTest, GlobalFlagsAfterTheSubcommandAreHonoured) {
  client_->start("anything", start_options("late-flags", "nobody-polls"));
  Run r = ctl_split({"workflow", "describe", "-w", "late-flags", "-o", "json"});
  ASSERT_EQ(r.exit, 0) << r.output << r.errors;
  json j = json::parse(r.output, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << "stdout is not JSON:\n" << r.output;
  EXPECT_EQ(j["workflowExecutionInfo"]["execution"]["workflowId"], "late-flags") << r.output;

  Run missing = ctl_split({"workflow", "describe", "-w", "late-flags", "-n", "no-such-ns",
                           "--output", "json"});
  EXPECT_EQ(missing.exit, 1) << missing.output << missing.errors;
  json e = json::parse(missing.output, nullptr, false);
  ASSERT_FALSE(e.is_discarded()) << missing.output;
  EXPECT_NE(e["error"]["message"].get<std::string>().find("no-such-ns"), std::string::npos)
      << missing.output;
}

TEST_F(CairnctlJsonTest, HelpDocumentsTheExitCodes) {
  Run help = ctl({"--help"});
  EXPECT_EQ(help.exit, 0);
  for (const char* line : {"Exit codes:", "0  done", "1  the server refused", "2  bad usage",
                           "3  no cairn-server answers"}) {
    EXPECT_NE(help.output.find(line), std::string::npos) << line << "\n" << help.output;
  }
}

}  // namespace
}  // namespace cairn::testing
