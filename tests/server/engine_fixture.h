// A test fixture for the transition rules through the real Engine and handlers: the memory store
// (behind FaultyStore, for its commit count), a ManualClock whose advance() fires due timers
// before returning, a minimal in-test worker that speaks the task protocol through the handlers,
// and a snapshot of everything the store holds, so an error answer can be shown to change
// nothing.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "history/faulty_store.h"
#include "history/history_store.h"
#include "scheduler/clock.h"
#include "server/engine.h"
#include "server/handlers/handlers.h"
#include "server/handlers/transfer.h"

namespace cairn::engine_test {

using namespace std::chrono_literals;

constexpr int64_t kSecond = 1'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kEngineTestStart = 1'796'644'800'000;  // 2026-12-07T12:00:00Z

class NullWaiter final : public PollWaiter {
 public:
  void deliver(v1::TaskRecord) override {}
};

// Everything the store holds for the runs of a test, and the engine's cached view of each run.
struct StoreSnapshot {
  int64_t commits = 0;
  std::vector<RunKey> keys;
  std::vector<v1::RunState> stored;
  std::vector<v1::RunState> cached;  // Engine::read_state()
  std::vector<size_t> event_counts;
  std::vector<v1::TaskRecord> tasks;
  std::vector<v1::TimerRecord> timers;
};

class EngineFixture : public ::testing::Test {
 protected:
  static constexpr const char* kQueue = "orders";

  void SetUp() override {
    store_ = std::make_unique<FaultyStore>(make_memory_store(4));
    EngineOptions options;
    options.timer_thread = false;
    options.worker_threads = 2;
    options.seed = 7;
    engine_ = std::make_unique<Engine>(store_.get(), &clock_, options);
    engine_->set_transfer_executor(handlers::execute_transfer);
    ASSERT_TRUE(engine_->start().ok());
    settle();
  }
  void TearDown() override {
    settle();
    engine_->stop();
  }
  void settle() { ASSERT_TRUE(engine_->pool().wait_idle(10s)) << "engine pool did not drain"; }
  // Moves the clock (firing every timer due, inside advance()) and drains the work it queued.
  void advance(int64_t ms) {
    clock_.advance(ms);
    settle();
  }

  // --- Runs -------------------------------------------------------------------------------

  v1::StartWorkflowExecutionRequest start_request(const std::string& workflow_id) {
    v1::StartWorkflowExecutionRequest req;
    req.set_workflow_id(workflow_id);
    req.mutable_workflow_type()->set_name("order");
    req.set_task_queue(kQueue);
    req.set_request_id("start-" + workflow_id + "-" + std::to_string(++requests_));
    return req;
  }
  Result<std::string> start(const v1::StartWorkflowExecutionRequest& req) {
    v1::StartWorkflowExecutionResponse resp;
    CAIRN_RETURN_IF_ERROR(handlers::start_workflow(*engine_, req, &resp));
    settle();
    return resp.run_id();
  }
  std::string start_run(const std::string& workflow_id) {
    auto run = start(start_request(workflow_id));
    EXPECT_TRUE(run.ok()) << run.status().to_string();
    return run.ok() ? *run : "";
  }
  RunKey key_of(const std::string& workflow_id, const std::string& run_id) {
    WorkflowKey wk = engine_->workflow_key("default", workflow_id);
    return RunKey{wk.shard, wk.ns, wk.workflow_id, RunId{run_id}};
  }
  v1::RunState stored(const std::string& workflow_id, const std::string& run_id) {
    auto state = store_->load_run(key_of(workflow_id, run_id));
    EXPECT_TRUE(state.ok()) << state.status().to_string();
    return state.ok() ? *state : v1::RunState();
  }
  std::vector<v1::HistoryEvent> history(const RunKey& key) {
    std::vector<v1::HistoryEvent> out;
    int64_t from = 1;
    for (;;) {
      auto page = store_->read_events(key, EventId{from}, 1000);
      EXPECT_TRUE(page.ok()) << page.status().to_string();
      if (!page.ok()) {
        return out;
      }
      for (auto& e : page->events) {
        from = e.event_id() + 1;
        out.push_back(std::move(e));
      }
      if (!page->more) {
        return out;
      }
    }
  }
  std::vector<v1::HistoryEvent> history(const std::string& workflow_id, const std::string& run_id) {
    return history(key_of(workflow_id, run_id));
  }
  static int count_events(const std::vector<v1::HistoryEvent>& events, v1::EventType type) {
    int n = 0;
    for (const auto& e : events) {
      n += e.event_type() == type ? 1 : 0;
    }
    return n;
  }
  // The stored state equals the state rebuilt from the run's events (admin verify).
  void expect_consistent(const std::string& workflow_id, const std::string& run_id) {
    v1::VerifyWorkflowExecutionRequest req;
    req.mutable_execution()->set_workflow_id(workflow_id);
    req.mutable_execution()->set_run_id(run_id);
    v1::VerifyWorkflowExecutionResponse resp;
    Status st = handlers::verify_workflow(*engine_, req, &resp);
    ASSERT_TRUE(st.ok()) << st.to_string();
    EXPECT_EQ(resp.differences_size(), 0) << run_id << ": " << resp.DebugString();
  }
  v1::DescribeWorkflowExecutionResponse describe(const std::string& workflow_id) {
    v1::DescribeWorkflowExecutionRequest req;
    req.mutable_execution()->set_workflow_id(workflow_id);
    v1::DescribeWorkflowExecutionResponse resp;
    Status st = handlers::describe_workflow(*engine_, req, &resp);
    EXPECT_TRUE(st.ok()) << st.to_string();
    return resp;
  }

  // --- The store, before and after --------------------------------------------------------

  StoreSnapshot snapshot() {
    StoreSnapshot s;
    s.commits = store_->commits();
    auto keys = store_->list_runs_for_testing();
    EXPECT_TRUE(keys.ok());
    for (const RunKey& k : keys.ok() ? *keys : std::vector<RunKey>()) {
      s.keys.push_back(k);
      auto state = store_->load_run(k);
      s.stored.push_back(state.ok() ? *state : v1::RunState());
      auto cached = engine_->read_state(k);
      s.cached.push_back(cached.ok() ? *cached : v1::RunState());
      s.event_counts.push_back(history(k).size());
    }
    for (int32_t shard = 0; shard < store_->shard_count(); ++shard) {
      auto tasks = store_->scan_tasks(ShardId{shard}, 0, 100'000);
      EXPECT_TRUE(tasks.ok());
      for (auto& t : tasks->tasks) {
        s.tasks.push_back(std::move(t));
      }
      auto timers = store_->scan_timers(ShardId{shard}, -1, -1, 100'000);
      EXPECT_TRUE(timers.ok());
      for (auto& t : timers->timers) {
        s.timers.push_back(std::move(t));
      }
    }
    return s;
  }
  template <typename M>
  static void expect_same_messages(const std::vector<M>& a, const std::vector<M>& b,
                                   const char* what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a[i], b[i]))
          << what << " " << i << " changed:\n"
          << a[i].DebugString() << "---\n"
          << b[i].DebugString();
    }
  }
  // Nothing was committed, and the store and the engine's cache hold what they held.
  void expect_unchanged(const StoreSnapshot& before) {
    settle();
    StoreSnapshot after = snapshot();
    EXPECT_EQ(after.commits, before.commits) << "an error answer committed a transition";
    ASSERT_EQ(after.keys.size(), before.keys.size()) << "runs were created or removed";
    EXPECT_EQ(after.event_counts, before.event_counts) << "history changed";
    expect_same_messages(before.stored, after.stored, "stored run state");
    expect_same_messages(before.cached, after.cached, "cached run state");
    expect_same_messages(before.tasks, after.tasks, "task record");
    expect_same_messages(before.timers, after.timers, "timer record");
  }

  // --- A minimal worker -------------------------------------------------------------------

  // Takes the next task of `kind` for `workflow_id` from the matcher (others are put back).
  std::optional<v1::TaskRecord> take_task(const std::string& workflow_id, v1::TaskKind kind,
                                          const std::string& queue_name = kQueue) {
    QueueKey queue{"default", queue_name, kind};
    std::vector<v1::TaskRecord> others;
    std::optional<v1::TaskRecord> found;
    for (int i = 0; i < 1000 && !found; ++i) {
      auto task = engine_->matcher().poll(queue, std::make_shared<NullWaiter>(), clock_.now_ms());
      if (!task) {
        break;
      }
      if (task->workflow_id() == workflow_id) {
        found = std::move(task);
      } else {
        others.push_back(*task);
      }
    }
    for (auto& t : others) {
      engine_->matcher().offer(queue, t);
    }
    return found;
  }
  int64_t backlog(v1::TaskKind kind, const std::string& queue_name = kQueue) {
    return engine_->matcher().stats(QueueKey{"default", queue_name, kind}).backlog;
  }
  // Polls and starts the workflow task of `workflow_id`.
  Result<v1::PollWorkflowTaskQueueResponse> poll_workflow_task(const std::string& workflow_id) {
    auto task = take_task(workflow_id, v1::TASK_KIND_WORKFLOW);
    if (!task) {
      return not_found("no workflow task of " + workflow_id + " in the queue");
    }
    v1::PollWorkflowTaskQueueRequest poll;
    poll.set_task_queue(kQueue);
    poll.set_identity("test-worker");
    v1::PollWorkflowTaskQueueResponse polled;
    CAIRN_RETURN_IF_ERROR(handlers::start_workflow_task(*engine_, *task, poll, &polled));
    settle();
    return polled;
  }
  Status respond_completed(const std::string& token, const std::vector<v1::Command>& commands,
                           v1::RespondWorkflowTaskCompletedResponse* resp = nullptr) {
    v1::RespondWorkflowTaskCompletedRequest req;
    req.set_task_token(token);
    req.set_identity("test-worker");
    for (const auto& c : commands) {
      *req.add_commands() = c;
    }
    v1::RespondWorkflowTaskCompletedResponse local;
    Status st = handlers::respond_workflow_task_completed(*engine_, req, resp ? resp : &local);
    settle();
    return st;
  }
  // Polls the workflow task of `workflow_id` and completes it with `commands`.
  Status complete_task(const std::string& workflow_id, const std::vector<v1::Command>& commands) {
    CAIRN_ASSIGN_OR_RETURN(auto polled, poll_workflow_task(workflow_id));
    return respond_completed(polled.task_token(), commands);
  }
  // Polls and starts the activity task of `workflow_id`.
  Result<v1::PollActivityTaskQueueResponse> poll_activity_task(const std::string& workflow_id) {
    auto task = take_task(workflow_id, v1::TASK_KIND_ACTIVITY);
    if (!task) {
      return not_found("no activity task of " + workflow_id + " in the queue");
    }
    v1::PollActivityTaskQueueRequest poll;
    poll.set_task_queue(kQueue);
    poll.set_identity("test-worker");
    v1::PollActivityTaskQueueResponse polled;
    CAIRN_RETURN_IF_ERROR(handlers::start_activity_task(*engine_, *task, poll, &polled));
    settle();
    return polled;
  }

  // --- Commands ---------------------------------------------------------------------------

  static v1::Command schedule_activity(const std::string& id, int64_t start_to_close_ms,
                                       const v1::RetryPolicy* retry = nullptr) {
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
    auto* a = c.mutable_schedule_activity_task_command_attributes();
    a->set_activity_id(id);
    a->mutable_activity_type()->set_name("charge");
    a->set_start_to_close_timeout_ms(start_to_close_ms);
    if (retry != nullptr) {
      *a->mutable_retry_policy() = *retry;
    }
    return c;
  }
  static v1::Command start_timer(const std::string& id, int64_t ms) {
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_START_TIMER);
    c.mutable_start_timer_command_attributes()->set_timer_id(id);
    c.mutable_start_timer_command_attributes()->set_start_to_fire_timeout_ms(ms);
    return c;
  }
  static v1::Command cancel_timer(const std::string& id) {
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_CANCEL_TIMER);
    c.mutable_cancel_timer_command_attributes()->set_timer_id(id);
    return c;
  }
  static v1::Command complete_workflow(const std::string& result = "done") {
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
    c.mutable_complete_workflow_execution_command_attributes()
        ->mutable_result()
        ->add_payloads()
        ->set_data(result);
    return c;
  }

  std::unique_ptr<FaultyStore> store_;
  ManualClock clock_{kEngineTestStart};
  std::unique_ptr<Engine> engine_;
  int requests_ = 0;
};

}  // namespace cairn::engine_test
