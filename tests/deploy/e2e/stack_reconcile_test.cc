// Reconcile: a resource killed behind the workflow's back is reported by a dry run and created
// again by a real one, each finding recorded.
#include <signal.h>

#include "deploy/e2e/stack_fixture.h"

namespace cairn::deploy::testing {
namespace {

TEST_F(StackTest, AKilledRedisIsReportedByADryRunAndRecreatedByReconcile) {
  const char* spec = R"(name: healing
resources:
  cache:
    type: redis
    inputs:
      maxmemory: 16mb
)";
  DeployRecord applied = wait_deploy("healing", submit("healing", apply_request(spec)).deploy_id);
  ASSERT_EQ(applied.state, "succeeded") << dump(applied) << worker_logs();
  ASSERT_EQ(running_processes(), 1);
  for (const auto& [dir, name] : pid_files()) {
    if (auto r = read_process_record(dir, name); r && alive(*r)) {
      ::kill(r->pid, SIGKILL);
      ASSERT_TRUE(wait_exit(*r, std::chrono::seconds(5)));
    }
  }
  ASSERT_EQ(running_processes(), 0);

  StackRequest dry;
  dry.operation = Operation::kReconcile;
  dry.requested_by = "reconciler";
  dry.dry_run = true;
  DeployRecord report = wait_deploy("healing", submit("healing", dry).deploy_id);
  ASSERT_EQ(report.state, "succeeded") << dump(report);
  ASSERT_EQ(report.drift.size(), 1u) << dump(report);
  EXPECT_EQ(report.drift[0]["resource"], "cache");
  EXPECT_EQ(report.drift[0]["field"], "exists");
  EXPECT_EQ(report.drift[0]["repaired"], false);
  EXPECT_EQ(running_processes(), 0);  // a dry run repairs nothing

  StackRequest real = dry;
  real.dry_run = false;
  DeployRecord repaired = wait_deploy("healing", submit("healing", real).deploy_id);
  ASSERT_EQ(repaired.state, "succeeded") << dump(repaired) << worker_logs();
  ASSERT_EQ(repaired.drift.size(), 1u);
  EXPECT_EQ(repaired.drift[0]["repaired"], true);
  EXPECT_EQ(running_processes(), 1);
  StackStatus s = stack_status(*client_, "healing");
  ASSERT_EQ(s.resources.size(), 1u);
  EXPECT_TRUE(s.resources[0].exists);
  std::string url = s.outputs["cache"]["url"];
  int port = std::stoi(url.substr(url.rfind(':') + 1));
  EXPECT_TRUE(tcp_open(port, std::chrono::seconds(2)));
}

}  // namespace
}  // namespace cairn::deploy::testing
