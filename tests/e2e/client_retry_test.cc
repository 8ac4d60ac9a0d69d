// End to end: the Client rides out a server restart. A start or signal made while the server is
// down (kill -9) retries UNAVAILABLE with the same request id and succeeds once the server is
// back on the same port and data directory, with exactly one effect; with the server gone for
// good the call gives up after ClientOptions::unavailable_retry_deadline and says so.
#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include <gmock/gmock.h>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class ClientRetryTest : public E2eTest {
 protected:
  // Kills the server, runs `call` on another thread, waits until that call has found the server
  // down (the client's channel failed to connect), then restarts the server on the same port
  // and data directory, and waits for the call.
  void across_restart(const std::function<void()>& call) {
    const int port = server_->port();
    server_->kill9();
    auto done = std::async(std::launch::async, call);
    ASSERT_TRUE(eventually([&] {
      return client_->core()->channel->GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE;
    })) << "the call never tried the stopped server";
    ASSERT_EQ(done.wait_for(0s), std::future_status::timeout)
        << "the call returned while the server was down";
    std::string error;
    ASSERT_TRUE(server_->start(port, 30s, &error)) << error;
    ASSERT_EQ(done.wait_for(60s), std::future_status::ready);
    done.get();  // rethrows what the call threw
  }

  std::vector<v1::WorkflowExecutionInfo> runs_of(const std::string& workflow_id) {
    std::vector<v1::WorkflowExecutionInfo> out;
    for (const auto& info : list_runs()) {
      if (info.execution().workflow_id() == workflow_id) {
        out.push_back(info);
      }
    }
    return out;
  }
};

TEST_F(ClientRetryTest, StartAcrossAServerRestartStartsExactlyOneRun) {
  std::optional<WorkflowHandle> handle;
  across_restart([&] { handle = client_->start("order", start_options("wf-restart", "q"), 1); });
  ASSERT_TRUE(handle.has_value());
  auto runs = runs_of("wf-restart");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].execution().run_id(), handle->run_id());
  EXPECT_EQ(runs[0].status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
}

TEST_F(ClientRetryTest, SignalAcrossAServerRestartIsDeliveredOnce) {
  auto handle = client_->start("order", start_options("wf-signal", "q"), 1);
  across_restart([&] { handle.signal("go", 7); });
  auto events = handle.history();
  ASSERT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 1);
  const v1::HistoryEvent* s = find(events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  EXPECT_EQ(from_payloads<int>(s->workflow_execution_signaled_event_attributes().input()), 7);
}

TEST_F(ClientRetryTest, WithTheServerDownTheCallGivesUpAfterTheDeadlineAndSaysSo) {
  const std::string address = server_->address();
  server_->kill9();
  Client client(ClientOptions{.address = address, .unavailable_retry_deadline = 1000ms});
  const auto start = Clock::now();
  try {
    client.start("order", start_options("wf-down", "q"), 1);
    FAIL() << "start succeeded with no server";
  } catch (const RpcError& e) {
    auto took = Clock::now() - start;
    EXPECT_EQ(e.code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_GE(took, 1000ms);
    EXPECT_LT(took, 5000ms);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("start workflow wf-down: UNAVAILABLE"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("server " + address + " unavailable"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("unavailable_retry_deadline of 1000 ms"));
  }
  // 0: no retry, the first UNAVAILABLE is thrown at once.
  Client no_retry(ClientOptions{.address = address, .unavailable_retry_deadline = 0ms});
  const auto again = Clock::now();
  EXPECT_THROW(no_retry.start("order", start_options("wf-down", "q"), 1), RpcError);
  EXPECT_LT(Clock::now() - again, 1000ms);
}

}  // namespace
}  // namespace cairn::testing
