// End to end: the cairnctl binary against a real cairn-server — the workflow commands, the
// output formats, the exit codes, and the errors a person sees.
#include <chrono>
#include <fstream>
#include <sstream>

#include "cairn/history_json.h"
#include "e2e/ctl_fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class CairnctlTest : public CtlTest {
 protected:
  // A run that waits for signal "go" (a string) and returns "got <value>".
  void start_waiting(const std::string& id) {
    Worker& w = new_worker("ctl-q");
    w.register_workflow("waiter", [](WorkflowContext& ctx) {
      return "got " + ctx.signal<std::string>("go").wait();
    });
    w.start();
    client_->start("waiter", start_options(id, "ctl-q"));
  }
};

TEST_F(CairnctlTest, HealthDescribeSignalResultAndShow) {
  Run health = ctl({"server", "health"});
  EXPECT_EQ(health.exit, 0) << health.output;
  EXPECT_NE(health.output.find("SERVING"), std::string::npos) << health.output;

  start_waiting("ctl-1");
  Run described = ctl({"workflow", "describe", "-w", "ctl-1"});
  ASSERT_EQ(described.exit, 0) << described.output;
  EXPECT_NE(described.output.find("waiter"), std::string::npos) << described.output;
  EXPECT_NE(described.output.find("RUNNING"), std::string::npos) << described.output;

  Run sent = ctl({"workflow", "signal", "-w", "ctl-1", "--name", "go", "--input", "\"now\""});
  ASSERT_EQ(sent.exit, 0) << sent.output;
  Run result = ctl({"workflow", "result", "-w", "ctl-1", "--timeout", "30"});
  ASSERT_EQ(result.exit, 0) << result.output;
  EXPECT_NE(result.output.find("\"got now\""), std::string::npos) << result.output;

  Run shown = ctl({"workflow", "show", "-w", "ctl-1"});
  ASSERT_EQ(shown.exit, 0) << shown.output;
  EXPECT_NE(shown.output.find("WorkflowExecutionSignaled  signal_name=go"), std::string::npos)
      << shown.output;
  EXPECT_NE(shown.output.find("WorkflowExecutionCompleted"), std::string::npos) << shown.output;

  Run as_json = ctl({"--output", "json", "workflow", "describe", "-w", "ctl-1"});
  ASSERT_EQ(as_json.exit, 0) << as_json.output;
  EXPECT_NE(as_json.output.find("\"WORKFLOW_EXECUTION_STATUS_COMPLETED\""), std::string::npos)
      << as_json.output;
}

TEST_F(CairnctlTest, ExportedHistoryIsTheReplayersInputAndMatchesTheServer) {
  start_waiting("ctl-2");
  client_->handle("ctl-2").signal("go", std::string("x"));
  client_->handle("ctl-2").result<std::string>(30s);
  std::string file = dir_.path() + "/ctl-2.json";
  Run exported = ctl({"history", "export", "-w", "ctl-2", "--out", file});
  ASSERT_EQ(exported.exit, 0) << exported.output;
  WorkflowHistory h = load_history_json(file);
  EXPECT_EQ(h.workflow_id, "ctl-2");
  auto events = client_->handle("ctl-2").history();
  ASSERT_EQ(h.events.size(), events.size());
  EXPECT_EQ(h.events.back().event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  EXPECT_EQ(h.run_id,
            client_->handle("ctl-2").describe().workflow_execution_info().execution().run_id());
}

TEST_F(CairnctlTest, CancelTerminateAndTheirEffects) {
  start_waiting("ctl-3");
  start_waiting("ctl-4");
  Run canceled = ctl({"workflow", "cancel", "-w", "ctl-3", "--reason", "operator"});
  ASSERT_EQ(canceled.exit, 0) << canceled.output;
  Run terminated = ctl({"workflow", "terminate", "-w", "ctl-4", "--reason", "stuck"});
  ASSERT_EQ(terminated.exit, 0) << terminated.output;
  ASSERT_TRUE(await_until([&] {
    auto s = client_->handle("ctl-3").describe().workflow_execution_info().status();
    return s == v1::WORKFLOW_EXECUTION_STATUS_CANCELED;
  }));
  EXPECT_EQ(client_->handle("ctl-4").describe().workflow_execution_info().status(),
            v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  // Waiting for the result of an unsuccessful run says so and exits 1.
  Run result = ctl({"workflow", "result", "-w", "ctl-4"});
  EXPECT_EQ(result.exit, 1);
  EXPECT_NE(result.output.find("terminated"), std::string::npos) << result.output;
}

TEST_F(CairnctlTest, ErrorsSayWhatIsWrongWithDistinctExitCodes) {
  Run missing = ctl({"workflow", "describe", "-w", "no-such-workflow"});
  EXPECT_EQ(missing.exit, 1);
  EXPECT_NE(missing.output.find("no-such-workflow"), std::string::npos) << missing.output;
  EXPECT_NE(missing.output.find("not found"), std::string::npos) << missing.output;

  Run usage = ctl({"workflow", "describe"});  // no --workflow-id
  EXPECT_EQ(usage.exit, 2);
  EXPECT_NE(usage.output.find("--workflow-id"), std::string::npos) << usage.output;

  start_waiting("ctl-5");
  Run bad_input = ctl({"workflow", "signal", "-w", "ctl-5", "--name", "go", "--input", "now"});
  EXPECT_EQ(bad_input.exit, 2);
  EXPECT_NE(bad_input.output.find("not JSON"), std::string::npos) << bad_input.output;
  // Nothing was sent.
  EXPECT_EQ(count(client_->handle("ctl-5").history(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
            0);

  Run unreachable = ctl({"server", "health"}, "127.0.0.1:1");
  EXPECT_EQ(unreachable.exit, 3);
  EXPECT_NE(unreachable.output.find("no cairn-server answers at 127.0.0.1:1"), std::string::npos)
      << unreachable.output;
}

TEST_F(CairnctlTest, NamespacesAreListedAndDescribed) {
  Run listed = ctl({"namespace", "list"});
  ASSERT_EQ(listed.exit, 0) << listed.output;
  EXPECT_NE(listed.output.find("default"), std::string::npos) << listed.output;
  Run described = ctl({"namespace", "describe", "default"});
  ASSERT_EQ(described.exit, 0) << described.output;
  EXPECT_NE(described.output.find("name         default"), std::string::npos) << described.output;
  EXPECT_NE(described.output.find("retention    3d"), std::string::npos) << described.output;
  Run unknown = ctl({"namespace", "describe", "nope"});
  EXPECT_EQ(unknown.exit, 1);
  EXPECT_NE(unknown.output.find("nope"), std::string::npos) << unknown.output;
}

}  // namespace
}  // namespace cairn::testing

namespace cairn::testing {
namespace {

TEST_F(CairnctlTest, StartExecuteAndQuery) {
  Worker& w = new_worker("ctl-exec");
  w.register_workflow("double", [](WorkflowContext& ctx, int x) {
    ctx.set_query_handler("input", [x] { return x; });
    ctx.signal<int>("done").wait_for(std::chrono::seconds(30));
    return 2 * x;
  });
  w.register_workflow("square", [](WorkflowContext&, int x) { return x * x; });
  w.start();
  Run executed = ctl({"workflow", "execute", "-t", "square", "-q", "ctl-exec", "-w", "ctl-sq",
                      "--input", "7", "--timeout", "30"});
  ASSERT_EQ(executed.exit, 0) << executed.output;
  EXPECT_NE(executed.output.find("49"), std::string::npos) << executed.output;

  Run started = ctl({"--output", "json", "workflow", "start", "-t", "double", "-q", "ctl-exec",
                     "-w", "ctl-double", "--input", "21"});
  ASSERT_EQ(started.exit, 0) << started.output;
  EXPECT_NE(started.output.find("\"workflow_id\":\"ctl-double\""), std::string::npos)
      << started.output;
  Run queried = ctl({"workflow", "query", "-w", "ctl-double", "--name", "input"});
  ASSERT_EQ(queried.exit, 0) << queried.output;
  EXPECT_NE(queried.output.find("21"), std::string::npos) << queried.output;
  Run unknown = ctl({"workflow", "query", "-w", "ctl-double", "--name", "nope"});
  EXPECT_EQ(unknown.exit, 1);
  EXPECT_NE(unknown.output.find("nope"), std::string::npos) << unknown.output;
  client_->handle("ctl-double").signal("done", 1);
  EXPECT_EQ(client_->handle("ctl-double").result<int>(30s), 42);

  Run bad = ctl(
      {"workflow", "start", "-t", "double", "-q", "ctl-exec", "-w", "ctl-bad", "--input", "{oops"});
  EXPECT_EQ(bad.exit, 2);
  EXPECT_THROW(client_->handle("ctl-bad").describe(), RpcError);  // nothing was started
}

}  // namespace
}  // namespace cairn::testing
