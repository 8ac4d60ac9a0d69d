// The agent loop across a kill -9 of its worker process mid-conversation: a second worker
// process resumes from history without calling the model again for the finished turn, and no
// usage is counted twice — not in the run's history, not in the shared budget's ledger.
#include <filesystem>
#include <fstream>

#include <signal.h>

#include "ai/e2e/session_fixture.h"
#include "cairn/ai/agent.h"
#include "cairn/ai/budget.h"

namespace cairn::testing {
namespace {

class AgentCrashTest : public SessionE2eTest {};

TEST_F(AgentCrashTest, KilledWorkerResumesWithoutCallingTheModelAgainOrCountingTwice) {
  EndpointProcess& endpoint = start_endpoint();
  const std::string queue = "ai-session-agent";
  const std::string gate = dir_.path() + "/gate";
  std::filesystem::create_directories(gate);

  auto worker = [&](const std::string& name) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{CAIRN_AI_WORKER_DIR "/ai-worker-session_agent", "--address",
                                 server_->address(), "--task-queue", queue, "--endpoint-url",
                                 endpoint.base_url(), "--blob-dir", dir_.path() + "/blobs",
                                 "--gate-dir", gate},
        dir_.path() + "/" + name + ".log");
  };
  auto first = worker("worker-1");
  // The shared budget's ledger runs on the same workers.
  ai::LedgerOptions lo;
  lo.task_queue = queue;
  ai::ensure_budget(*client_, "crash-test", 10 * ai::kMicrosPerDollar, lo);
  nlohmann::json input = {{"question", "What is the status of order 12345? Use lookup_order."},
                          {"budget_scope", "crash-test"}};
  WorkflowHandle run =
      client_->start("test.agent.crash", start_options("agent-crash", queue), input);

  // The first model turn is done and its tool call is running: kill the worker there.
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(gate + "/attempt-1"); },
                         std::chrono::seconds(60)))
      << first->output();
  EXPECT_EQ(stat(endpoint, "chat_requests"), 1);
  ::kill(first->pid(), SIGKILL);
  first->wait(std::chrono::seconds(10));

  std::ofstream(gate + "/open") << "open";
  auto second = worker("worker-2");
  ai::AgentResult result = run.result<ai::AgentResult>(std::chrono::seconds(90));

  EXPECT_EQ(result.stopped, "answered");
  EXPECT_EQ(result.steps, 2);
  EXPECT_TRUE(std::filesystem::exists(gate + "/attempt-2")) << "the tool call was retried";
  // Two model turns in all: the one before the crash was not asked again.
  EXPECT_EQ(stat(endpoint, "chat_requests"), 2);

  auto events = run.history();
  EXPECT_EQ(chat_tiers(events), (std::vector<std::string>{"standard", "standard"}));
  EXPECT_EQ(scheduled_inputs(events, "tool.lookup_order").size(), 1u);
  ai::UsageReport usage = ai::usage_from_history(events);
  EXPECT_EQ(usage.calls, 2);
  EXPECT_EQ(usage.cost_micros, result.cost_micros);
  EXPECT_EQ(usage.total, result.usage);
  EXPECT_GT(usage.cost_micros, 0);

  // The ledger settled each turn once, at the cost the history records; nothing is held.
  ai::LedgerSnapshot ledger = ai::ledger_state(*client_, "crash-test");
  EXPECT_EQ(ledger.settled, 2);
  EXPECT_EQ(ledger.spent, usage.cost_micros);
  EXPECT_EQ(ledger.reserved, 0);
  EXPECT_EQ(ledger.open, 0);

  second->stop();
}

}  // namespace
}  // namespace cairn::testing
