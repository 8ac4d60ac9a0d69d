// Crash tests: kill -9 of cairn-server while activities, timers and signals are pending, then a
// restart on the same data directory. Every acknowledged start, signal and completion survives
// and every run completes exactly once.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class CrashTest : public E2eTest {};

// A gate that activities block on until the test opens it for their workflow id.
class Gates {
 public:
  void wait(const std::string& id) {
    std::unique_lock lock(mu_);
    ++started_;
    cv_.notify_all();
    cv_.wait_for(lock, 60s, [&] { return open_.count(id) != 0; });
  }
  void open(const std::string& id) {
    std::lock_guard lock(mu_);
    open_.insert(id);
    cv_.notify_all();
  }
  int started() {
    std::lock_guard lock(mu_);
    return started_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> open_;
  int started_ = 0;
};

TEST_F(CrashTest, KillDashNineWithPendingActivitiesTimersAndSignalsLosesNothing) {
  constexpr int kRuns = 12;
  Gates gates;
  Worker& w = new_worker("crash-q", 4);
  w.register_activity("gate", [&](ActivityContext& ctx, std::string id) {
    gates.wait(id);
    return id + ":gate";
  });
  w.register_workflow("staged", [](WorkflowContext& ctx, std::string id) {
    RetryPolicy retry{.initial_interval = 200ms};
    auto a = ctx.activity<std::string>("gate", id, {.start_to_close = 4s, .retry = retry}).get();
    ctx.sleep(2s);
    auto s = ctx.signal<std::string>("go").wait();
    return a + "+" + s;
  });
  w.start();

  std::vector<WorkflowHandle> handles;
  for (int i = 0; i < kRuns; ++i) {
    std::string id = "run-" + std::to_string(i);
    handles.push_back(client_->start("staged", start_options(id, "crash-q"), id));
  }
  // Every run has its activity in flight.
  ASSERT_TRUE(await_until([&] { return gates.started() >= kRuns; }, 30s));
  // Runs 0-7 move on to their timer; runs 8-11 keep their activity pending.
  for (int i = 0; i < 8; ++i) {
    gates.open("run-" + std::to_string(i));
  }
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(await_until([&] {
      return count(handles[i].history(), v1::EVENT_TYPE_TIMER_STARTED) == 1;
    }, 30s));
  }
  // Acknowledged signals to every run: some wait behind a timer, some behind an activity.
  for (int i = 0; i < kRuns; ++i) {
    handles[i].signal("go", std::string("sig") + std::to_string(i));
  }

  int port = server_->port();
  server_->kill9();
  std::string error;
  ASSERT_TRUE(server_->start(port, 30s, &error)) << error;
  for (int i = 8; i < kRuns; ++i) {
    gates.open("run-" + std::to_string(i));
  }

  for (int i = 0; i < kRuns; ++i) {
    std::string id = "run-" + std::to_string(i);
    EXPECT_EQ(handles[i].result<std::string>(60s), id + ":gate+sig" + std::to_string(i)) << id;
    auto events = handles[i].history();
    EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED), 1) << id;
    EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 1) << id;
    EXPECT_EQ(count(events, v1::EVENT_TYPE_TIMER_FIRED), 1) << id;
    EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED), 1) << id;
  }
}

TEST_F(CrashTest, KillDashNineDuringConcurrentStartsKeepsEveryAcknowledgedRun) {
  Worker& w = new_worker("crash-load", 4);
  w.register_activity("step", [](std::string s) { return s + "."; });
  w.register_workflow("three", [](WorkflowContext& ctx, std::string s) {
    for (int i = 0; i < 3; ++i) {
      s = ctx.activity<std::string>("step", s, {.start_to_close = 5s}).get();
    }
    return s;
  });
  w.start();

  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> starters;
  // Starts that fail when the server dies, rather than retrying until it is back: the test is
  // about what was acknowledged before the crash.
  Client no_retry(ClientOptions{.address = server_->address(), .unavailable_retry_deadline = 0ms});
  for (int t = 0; t < 4; ++t) {
    starters.emplace_back([&, t] {
      for (int i = 0; i < 200 && !stop.load(); ++i) {
        std::string id = "load-" + std::to_string(t) + "-" + std::to_string(i);
        try {
          no_retry.start("three", start_options(id, "crash-load"), std::string("x"));
          std::lock_guard lock(mu);
          acknowledged.push_back(id);
        } catch (const RpcError&) {
          // Not acknowledged: the server was down. It may or may not exist; not counted.
        }
      }
    });
  }
  ASSERT_TRUE(await_until([&] {
    std::lock_guard lock(mu);
    return acknowledged.size() >= 40;
  }, 60s));
  int port = server_->port();
  server_->kill9();
  stop = true;
  for (auto& t : starters) {
    t.join();
  }
  std::string error;
  ASSERT_TRUE(server_->start(port, 30s, &error)) << error;

  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu);
    ids = acknowledged;
  }
  ASSERT_GE(ids.size(), 40u);
  for (auto& id : ids) {
    auto handle = client_->handle(id);
    EXPECT_EQ(handle.result<std::string>(60s), "x...") << id;
    EXPECT_EQ(count(handle.history(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED), 1) << id;
  }
}

}  // namespace
}  // namespace cairn::testing
