// End to end: cairnctl's operating commands against a real cairn-server — reset (with and
// without re-applied signals), replay against worker binaries, admin verify on a deliberately
// corrupted stored state, trace, stack, update, task-queue describe, namespaces, completion.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "cairn/history_json.h"
#include "cairn/v1/persistence.pb.h"
#include "e2e/ctl_fixture.h"
#include "history/rocks_options.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class CairnctlAdminTest : public CtlTest {
 protected:
  // "collector": for each signal "item" an activity upper-cases it; signal "done" returns the
  // items joined with ','.
  void start_collector_worker() {
    Worker& w = new_worker("admin-q");
    w.register_workflow("collector", [](WorkflowContext& ctx) {
      std::string out;
      while (true) {
        std::string item = ctx.signal<std::string>("item").wait();
        if (item == "done") {
          return out;
        }
        std::string upper =
            ctx.activity_with<std::string>("upper", {.start_to_close = 10s}, item).get();
        out += (out.empty() ? "" : ",") + upper;
      }
    });
    w.register_activity("upper", [](std::string s) {
      for (auto& c : s) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      return s;
    });
    w.start();
  }

  std::vector<v1::HistoryEvent> history(const std::string& id, const std::string& run = "") {
    return client_->handle(id, run).history();
  }

  // The id of the first WorkflowTaskCompleted after the n-th ActivityTaskCompleted (0 when
  // there is none yet).
  int64_t task_completed_after_activity(const std::string& id, int n) {
    int seen = 0;
    for (const auto& e : history(id)) {
      if (e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
        ++seen;
      } else if (seen == n && e.event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
        return e.event_id();
      }
    }
    return 0;
  }

  // Sends items a and b, each fully processed before the next; returns the reset point: the
  // end of the workflow task that ran after a's activity (b arrives after it).
  int64_t collect_a_then_b(const std::string& id) {
    client_->start("collector", start_options(id, "admin-q"));
    client_->handle(id).signal("item", std::string("a"));
    EXPECT_TRUE(eventually([&] { return task_completed_after_activity(id, 1) > 0; }));
    int64_t point = task_completed_after_activity(id, 1);
    client_->handle(id).signal("item", std::string("b"));
    EXPECT_TRUE(eventually([&] { return task_completed_after_activity(id, 2) > 0; }));
    return point;
  }

  static std::string new_run_of(const std::string& output) {
    std::smatch m;
    std::regex re("new run ([0-9a-f-]+)");
    return std::regex_search(output, m, re) ? m[1].str() : "";
  }
};

TEST_F(CairnctlAdminTest, ResetStartsANewRunFromThePointAndReappliesLaterSignals) {
  start_collector_worker();
  const int64_t point = collect_a_then_b("reset-1");
  ASSERT_GT(point, 0);
  const std::string old_run =
      client_->handle("reset-1").describe().workflow_execution_info().execution().run_id();

  // A point that does not end a workflow task is refused, and the run goes on untouched.
  Run bad = ctl({"workflow", "reset", "-w", "reset-1", "--event-id", "2"});
  EXPECT_EQ(bad.exit, 1) << bad.output;
  EXPECT_NE(bad.output.find("not the end of a workflow task"), std::string::npos) << bad.output;
  EXPECT_EQ(client_->handle("reset-1").describe().workflow_execution_info().status(),
            v1::WORKFLOW_EXECUTION_STATUS_RUNNING);

  Run reset = ctl({"workflow", "reset", "-w", "reset-1", "--event-id", std::to_string(point),
                   "--reason", "bad deploy"});
  ASSERT_EQ(reset.exit, 0) << reset.output;
  const std::string new_run = new_run_of(reset.output);
  ASSERT_FALSE(new_run.empty()) << reset.output;
  ASSERT_NE(new_run, old_run);

  auto old_info = client_->handle("reset-1", old_run).describe().workflow_execution_info();
  EXPECT_EQ(old_info.status(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  auto events = history("reset-1", new_run);
  const v1::HistoryEvent* failed = find(events, v1::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->workflow_task_failed_event_attributes().cause(),
            v1::WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW);
  EXPECT_NE(failed->workflow_task_failed_event_attributes().failure().message().find("bad deploy"),
            std::string::npos);
  // b arrived after the point: it is in the new run again, after the failed task.
  int signals_after = 0;
  for (const auto& e : events) {
    if (e.event_id() > failed->event_id() &&
        e.event_type() == v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) {
      ++signals_after;
    }
  }
  EXPECT_EQ(signals_after, 1);

  client_->handle("reset-1").signal("item", std::string("done"));
  EXPECT_EQ(client_->handle("reset-1", new_run).result<std::string>(30s), "A,B");

  // A closed run resets too (to its last completed workflow task by default): nothing to
  // terminate, and the new run ends the way the code ends it now.
  Run again = ctl({"workflow", "reset", "-w", "reset-1"});
  ASSERT_EQ(again.exit, 0) << again.output;
  const std::string third = new_run_of(again.output);
  ASSERT_FALSE(third.empty()) << again.output;
  EXPECT_EQ(client_->handle("reset-1", third).result<std::string>(30s), "A,B");
  EXPECT_EQ(client_->handle("reset-1", new_run).describe().workflow_execution_info().status(),
            v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
}

TEST_F(CairnctlAdminTest, ResetWithoutReapplyingSignalsDropsTheLaterOnes) {
  start_collector_worker();
  const int64_t point = collect_a_then_b("reset-2");
  ASSERT_GT(point, 0);
  Run reset = ctl({"-o", "json", "workflow", "reset", "-w", "reset-2", "--event-id",
                   std::to_string(point), "--no-reapply-signals"});
  ASSERT_EQ(reset.exit, 0) << reset.output;
  auto j = nlohmann::json::parse(reset.output, nullptr, false);
  ASSERT_TRUE(j.contains("runId")) << reset.output;
  const std::string new_run = j["runId"].get<std::string>();
  client_->handle("reset-2").signal("item", std::string("done"));
  EXPECT_EQ(client_->handle("reset-2", new_run).result<std::string>(30s), "A");
}

TEST_F(CairnctlAdminTest, ReplayCatchesANonDeterministicChangeAndPassesACompatibleOne) {
  // Record a run with the worker binary's original code.
  ChildProcess worker({CTL_WORKER_BINARY, "--address", server_->address()},
                      dir_.path() + "/ctl-worker.log");
  client_->start("steps", start_options("replay-1", "ctl-replay"));
  ASSERT_EQ(client_->handle("replay-1").result<std::string>(60s), "one;two;");
  ASSERT_EQ(worker.stop(), 0) << worker.output();

  Run same = ctl({"replay", "-w", "replay-1", "--worker", CTL_WORKER_BINARY});
  EXPECT_EQ(same.exit, 0) << same.output;
  Run compatible = ctl({"replay", "-w", "replay-1", "--worker", CTL_WORKER_BINARY}, "",
                       {"CTL_WORKER_VARIANT=compatible"});
  EXPECT_EQ(compatible.exit, 0) << compatible.output;
  Run broken = ctl({"replay", "-w", "replay-1", "--worker", CTL_WORKER_BINARY}, "",
                   {"CTL_WORKER_VARIANT=broken"});
  EXPECT_EQ(broken.exit, 1) << broken.output;
  EXPECT_NE(broken.output.find("non-determinism"), std::string::npos) << broken.output;
  EXPECT_NE(broken.output.find("three"), std::string::npos)
      << "the report should name the command that differs:\n" << broken.output;

  // From an exported file, with no server involved in the replay.
  const std::string file = dir_.path() + "/replay-1.json";
  Run exported = ctl({"history", "export", "-w", "replay-1", "--out", file});
  ASSERT_EQ(exported.exit, 0) << exported.output;
  Run offline = ctl({"replay", "--file", file, "--worker", CTL_WORKER_BINARY},
                    "127.0.0.1:1", {"CTL_WORKER_VARIANT=broken"});
  EXPECT_EQ(offline.exit, 1) << offline.output;
  Run missing = ctl({"replay", "--file", dir_.path() + "/nope.json", "--worker", CTL_WORKER_BINARY});
  EXPECT_EQ(missing.exit, 2) << missing.output;
  Run no_worker = ctl({"replay", "--file", file, "--worker", dir_.path() + "/no-such-worker"});
  EXPECT_EQ(no_worker.exit, 2) << no_worker.output;
  EXPECT_NE(no_worker.output.find("cannot run worker"), std::string::npos) << no_worker.output;
}

// Rewrites the stored mutable state of `workflow_id`'s runs in a stopped server's data
// directory, the way a storage bug would.
void corrupt_state(const std::string& data_dir, const std::string& workflow_id,
                   const std::function<void(v1::RunState*)>& edit) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status st = rocksdb::DB::Open(rocks_db_options(nullptr), data_dir,
                                         rocks_family_descriptors(8 << 20), &handles, &raw);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::unique_ptr<rocksdb::DB> db(raw);
  int changed = 0;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[kRunsCf]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::RunState state;
    ASSERT_TRUE(state.ParseFromString(it->value().ToString()));
    if (state.workflow_id() == workflow_id) {
      edit(&state);
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[kRunsCf], it->key(),
                          state.SerializeAsString())
                      .ok());
      ++changed;
    }
  }
  ASSERT_EQ(changed, 1);
  it.reset();
  for (auto* h : handles) {
    ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  }
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(CairnctlAdminTest, VerifyReportsADeliberatelyCorruptedStoredState) {
  verify_runs_on_teardown_ = false;  // verify-1 stays corrupted
  start_collector_worker();
  client_->start("collector", start_options("verify-1", "admin-q"));
  client_->start("collector", start_options("verify-2", "admin-q"));
  client_->handle("verify-1").signal("item", std::string("a"));
  ASSERT_TRUE(eventually([&] { return task_completed_after_activity("verify-1", 1) > 0; }));

  Run clean = ctl({"admin", "verify", "--all"});
  EXPECT_EQ(clean.exit, 0) << clean.output;
  EXPECT_NE(clean.output.find("verified 2 run(s) of namespace default: every stored state "
                              "matches its history"),
            std::string::npos)
      << clean.output;

  for (auto& w : workers_) {
    w->stop();
  }
  workers_.clear();
  ASSERT_EQ(server_->stop(), 0) << server_->log();
  corrupt_state(dir_.path() + "/data", "verify-1", [](v1::RunState* s) {
    s->set_next_event_id(s->next_event_id() + 3);
    s->set_task_queue("elsewhere");
  });
  std::string error;
  ASSERT_TRUE(server_->start(server_->port(), 30s, &error)) << error;

  Run one = ctl({"admin", "verify", "-w", "verify-1"});
  EXPECT_EQ(one.exit, 1) << one.output;
  EXPECT_NE(one.output.find("next_event_id: stored"), std::string::npos) << one.output;
  EXPECT_NE(one.output.find("task_queue: stored \"elsewhere\", from events \"admin-q\""),
            std::string::npos)
      << one.output;
  Run other = ctl({"admin", "verify", "-w", "verify-2"});
  EXPECT_EQ(other.exit, 0) << other.output;
  Run all = ctl({"-o", "json", "admin", "verify", "--all"});
  EXPECT_EQ(all.exit, 1) << all.output;
  EXPECT_NE(all.output.find("verified 2/2 runs, 1 with differences"), std::string::npos)
      << all.output;
  Run usage = ctl({"admin", "verify"});
  EXPECT_EQ(usage.exit, 2) << usage.output;
}

TEST_F(CairnctlAdminTest, TraceShowsChildrenWithTheirPendingActivitiesAndTimers) {
  Worker& w = new_worker("trace-q");
  Gate& gate = new_gate();
  w.register_workflow("parent", [](WorkflowContext& ctx) {
    auto child = ctx.child<std::string>("child", ChildWorkflowOptions{.id = "trace-child"});
    auto timer = ctx.timer(1h);
    return child.get();
  });
  w.register_workflow("child", [](WorkflowContext& ctx) {
    return ctx.activity_with<std::string>("slow", {.start_to_close = 60s}).get();
  });
  w.register_activity("slow", [&gate] {
    gate.wait(60s);
    return std::string("ok");
  });
  w.start();
  client_->start("parent", start_options("trace-1", "trace-q"));
  ASSERT_TRUE(eventually([&] {
    try {
      return client_->handle("trace-child").describe().pending_activities_size() == 1;
    } catch (const RpcError&) {
      return false;
    }
  }));
  Run trace = ctl({"workflow", "trace", "-w", "trace-1"});
  ASSERT_EQ(trace.exit, 0) << trace.output;
  EXPECT_NE(trace.output.find("trace-1  parent  RUNNING"), std::string::npos) << trace.output;
  EXPECT_NE(trace.output.find("timer "), std::string::npos) << trace.output;
  EXPECT_NE(trace.output.find("child trace-child  child  RUNNING"), std::string::npos)
      << trace.output;
  EXPECT_NE(trace.output.find("   └─ activity 1  slow  STARTED  attempt 1"), std::string::npos)
      << trace.output;

  Run stack = ctl({"workflow", "stack", "-w", "trace-child"});
  EXPECT_EQ(stack.exit, 0) << stack.output;
  EXPECT_NE(stack.output.find("slow"), std::string::npos) << stack.output;

  Run queue = ctl({"task-queue", "describe", "-q", "trace-q"});
  ASSERT_EQ(queue.exit, 0) << queue.output;
  EXPECT_NE(queue.output.find("workflow "), std::string::npos) << queue.output;
  EXPECT_NE(queue.output.find("activity "), std::string::npos) << queue.output;
  Run unused = ctl({"-o", "json", "task-queue", "describe", "-q", "nobody-polls"});
  ASSERT_EQ(unused.exit, 0) << unused.output;
  EXPECT_EQ(unused.output.find("identity"), std::string::npos) << unused.output;
  gate.open();
  EXPECT_EQ(client_->handle("trace-1").result<std::string>(30s), "ok");
}

TEST_F(CairnctlAdminTest, UpdateSendsAndPrintsTheResult) {
  Worker& w = new_worker("upd-q");
  w.register_workflow("counter", [](WorkflowContext& ctx) {
    int total = 0;
    ctx.set_update_handler("add", [&total](int n) {
      total += n;
      return total;
    });
    ctx.signal<std::string>("stop").wait();
    return total;
  });
  w.start();
  client_->start("counter", start_options("upd-1", "upd-q"));
  Run first = ctl({"workflow", "update", "-w", "upd-1", "--name", "add", "--input", "5"});
  ASSERT_EQ(first.exit, 0) << first.output;
  EXPECT_EQ(first.output, "5\n");
  Run second = ctl({"workflow", "update", "-w", "upd-1", "--name", "add", "--input", "2"});
  EXPECT_EQ(second.output, "7\n");
  Run bad = ctl({"workflow", "update", "-w", "upd-1", "--name", "add", "--input", "{oops"});
  EXPECT_EQ(bad.exit, 2) << bad.output;
  client_->handle("upd-1").signal("stop", std::string("now"));
  EXPECT_EQ(client_->handle("upd-1").result<int>(30s), 7);
}

TEST_F(CairnctlAdminTest, NamespacesAreCreatedAndUpdated) {
  Run created = ctl({"namespace", "create", "agents", "--description", "AI agents",
                     "--retention", "7d"});
  ASSERT_EQ(created.exit, 0) << created.output;
  Run again = ctl({"namespace", "create", "agents"});
  EXPECT_EQ(again.exit, 1) << again.output;
  EXPECT_NE(again.output.find("already exists"), std::string::npos) << again.output;
  Run bad = ctl({"namespace", "create", "x", "--retention", "soon"});
  EXPECT_EQ(bad.exit, 2) << bad.output;
  Run nothing = ctl({"namespace", "update", "agents"});
  EXPECT_EQ(nothing.exit, 2) << nothing.output;
  Run updated = ctl({"namespace", "update", "agents", "--retention", "36h"});
  ASSERT_EQ(updated.exit, 0) << updated.output;
  EXPECT_NE(updated.output.find("retention    36h"), std::string::npos) << updated.output;
  EXPECT_NE(updated.output.find("description  AI agents"), std::string::npos) << updated.output;
  Run described = ctl({"-o", "json", "namespace", "describe", "agents"});
  ASSERT_EQ(described.exit, 0) << described.output;
  EXPECT_NE(described.output.find("\"retentionMs\": \"129600000\""), std::string::npos)
      << described.output;
  Run unknown = ctl({"namespace", "update", "nope", "--retention", "1h"});
  EXPECT_EQ(unknown.exit, 1) << unknown.output;
}

TEST_F(CairnctlAdminTest, ExportOfABigHistoryShowsProgressAndKeepsEveryEvent) {
  client_->start("never-polled", start_options("big-1", "nobody"));
  constexpr int kSignals = 5200;
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      for (int i = t; i < kSignals; i += 4) {
        client_->handle("big-1").signal("tick", i);
      }
    });
  }
  for (auto& s : senders) {
    s.join();
  }
  const std::string file = dir_.path() + "/big-1.json";
  Run exported = ctl({"history", "export", "-w", "big-1", "--out", file});
  ASSERT_EQ(exported.exit, 0) << exported.output;
  EXPECT_NE(exported.output.find("read 5000 events of big-1"), std::string::npos)
      << exported.output;
  WorkflowHistory h = load_history_json(file);
  EXPECT_EQ(h.events.size(), static_cast<size_t>(kSignals + 2));  // started, task scheduled
}

TEST_F(CairnctlAdminTest, CompletionScriptIsValidBashAndKnowsTheCommands) {
  Run script = ctl({"completion", "bash"});
  ASSERT_EQ(script.exit, 0) << script.output;
  EXPECT_NE(script.output.find("complete -F _cairnctl cairnctl"), std::string::npos);
  EXPECT_NE(script.output.find("\" workflow\") echo \""), std::string::npos) << script.output;
  EXPECT_NE(script.output.find("reset"), std::string::npos);
  const std::string path = dir_.path() + "/completion.bash";
  std::ofstream(path) << script.output;
  // Source it and ask for the completions of `cairnctl workflow re`.
  ChildProcess bash({"/bin/bash", "-c",
                     "source " + path +
                         " && COMP_WORDS=(cairnctl workflow re) COMP_CWORD=2 && _cairnctl && "
                         "echo \"${COMPREPLY[*]}\""},
                    dir_.path() + "/bash.log");
  ASSERT_EQ(bash.wait(30s), 0) << bash.output();
  EXPECT_NE(bash.output().find("reset"), std::string::npos) << bash.output();
  EXPECT_NE(bash.output().find("result"), std::string::npos) << bash.output();
  EXPECT_EQ(bash.output().find("list"), std::string::npos) << bash.output();
}

}  // namespace
}  // namespace cairn::testing
