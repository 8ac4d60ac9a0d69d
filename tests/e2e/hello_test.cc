// End to end: the hello example exactly as the README runs it — a cairn-server process, the
// `hello worker` process, and `hello run`, which prints the result and the history.
#include <chrono>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class HelloTest : public E2eTest {};

TEST_F(HelloTest, WorkerAndRunnerProcessesCompleteTheGreeting) {
  ChildProcess worker({CAIRN_HELLO_BINARY, "worker", "--address", server_->address()},
                      dir_.path() + "/worker.log");
  ChildProcess run({CAIRN_HELLO_BINARY, "run", "--address", server_->address(), "--name", "Ada",
                    "--punctuation", "?", "--id", "hello-e2e"},
                   dir_.path() + "/run.log");
  ASSERT_EQ(run.wait(60s), 0) << run.output() << "\nworker:\n" << worker.output();
  std::string out = run.output();
  EXPECT_NE(out.find("Hello, Ada?"), std::string::npos) << out;
  // The timeline names the steps: two activities, the signal, the completion.
  EXPECT_NE(out.find("ActivityTaskScheduled"), std::string::npos) << out;
  EXPECT_NE(out.find("WorkflowExecutionSignaled"), std::string::npos) << out;
  EXPECT_NE(out.find("WorkflowExecutionCompleted"), std::string::npos) << out;

  // The server agrees.
  auto events = client_->handle("hello-e2e").history();
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED), 2);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 1);
  EXPECT_EQ(events.back().event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  EXPECT_EQ(worker.stop(), 0) << worker.output();
}

}  // namespace
}  // namespace cairn::testing
