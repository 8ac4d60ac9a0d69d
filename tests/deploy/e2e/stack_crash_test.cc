// kill -9 in the middle: of the worker, of the server, during a destroy. The deploy finishes,
// nothing is started twice, the lock is released.
#include <algorithm>

#include "deploy/e2e/stack_fixture.h"

namespace cairn::deploy::testing {
namespace {

std::string crash_stack(const std::string& name) {
  return "name: " + name +
         "\nresources:\n"
         "  cache:\n    type: redis\n    inputs:\n      maxmemory: 16mb\n" +
         slow_listener("slow", 2.5, name + "-slow",
                       "      env: {UPSTREAM: \"${cache.url}\"}\n") +
         "  tail:\n    type: process\n    inputs:\n"
         "      command: /usr/bin/sleep\n      args: [\"300\"]\n"
         "      env: {UPSTREAM: \"${slow.url}\"}\n";
}

class StackCrashTest : public StackTest {
 protected:
  // Waits until the deploy is creating `resource`.
  void await_running(const std::string& stack, const std::string& resource) {
    StackStatus s = await_status(stack, [&](const StackStatus& s) {
      if (!s.running) {
        return false;
      }
      const ResourceProgress* p = progress_of(*s.running, resource);
      return p != nullptr && p->state == "running";
    });
    ASSERT_TRUE(s.running.has_value()) << worker_logs();
  }

  void expect_finished_once(const std::string& stack, const std::string& deploy_id) {
    DeployRecord d = wait_deploy(stack, deploy_id, std::chrono::seconds(60));
    ASSERT_EQ(d.state, "succeeded") << dump(d) << worker_logs();
    EXPECT_EQ(count_processes("--model " + stack + "-slow"), 1);  // adopted, not started twice
    EXPECT_EQ(running_processes(), 3);
    StackStatus s = stack_status(*client_, stack);
    EXPECT_FALSE(s.running.has_value());
    EXPECT_EQ(s.resources.size(), 3u);
    // The lock is free: the same spec again is accepted and changes nothing.
    DeployRecord again =
        wait_deploy(stack, submit(stack, apply_request(crash_stack(stack))).deploy_id);
    EXPECT_EQ(again.state, "succeeded") << dump(again);
    EXPECT_EQ(running_processes(), 3);
  }
};

TEST_F(StackCrashTest, AWorkerKilledMidApplyFinishesTheDeployWithoutADuplicate) {
  StackAccepted a = submit("wkill", apply_request(crash_stack("wkill")));
  await_running("wkill", "slow");
  kill9_worker();
  start_worker();
  expect_finished_once("wkill", a.deploy_id);
}

TEST_F(StackCrashTest, AServerKilledMidApplyFinishesTheDeployWithoutADuplicate) {
  StackAccepted a = submit("skill", apply_request(crash_stack("skill")));
  await_running("skill", "slow");
  const int port = server_->port();
  server_->kill9();
  std::string error;
  ASSERT_TRUE(server_->start(port, std::chrono::seconds(30), &error)) << error;
  expect_finished_once("skill", a.deploy_id);
}

TEST_F(StackCrashTest, ADestroyKilledMidwayLeavesNothing) {
  DeployRecord applied =
      wait_deploy("dkill", submit("dkill", apply_request(crash_stack("dkill"))).deploy_id);
  ASSERT_EQ(applied.state, "succeeded") << dump(applied) << worker_logs();
  ASSERT_EQ(running_processes(), 3);
  StackRequest r;
  r.operation = Operation::kDestroy;
  r.requested_by = "alice";
  StackAccepted a = submit("dkill", r);
  await_status("dkill", [&](const StackStatus& s) {
    return s.running && s.running->deploy_id == a.deploy_id && s.running->phase == "apply";
  });
  kill9_worker();
  start_worker();
  DeployRecord d = wait_deploy("dkill", a.deploy_id, std::chrono::seconds(60));
  ASSERT_EQ(d.state, "succeeded") << dump(d) << worker_logs();
  // Reverse dependency order: tail before slow before cache.
  std::vector<ResourceProgress> done;
  for (const auto& p : d.resources) {
    if (p.state == "done") {
      done.push_back(p);
    }
  }
  std::stable_sort(done.begin(), done.end(), [](const auto& a, const auto& b) {
    return a.finished_ms < b.finished_ms;
  });
  std::vector<std::string> order;
  for (const auto& p : done) {
    order.push_back(p.resource);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"tail", "slow", "cache"})) << dump(d);
  EXPECT_EQ(running_processes(), 0);
  EXPECT_EQ(count_processes("--model dkill-slow"), 0);
  StackStatus s = stack_status(*client_, "dkill");
  EXPECT_TRUE(s.resources.empty());
  EXPECT_TRUE(s.outputs.empty());
}

}  // namespace
}  // namespace cairn::deploy::testing
