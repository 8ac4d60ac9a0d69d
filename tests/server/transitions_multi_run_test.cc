// One decision, one write: reset, start with TERMINATE_EXISTING and continue-as-new each commit
// both runs in one multi-run transition; a failed commit leaves the old state and answers
// UNAVAILABLE; a bad search attribute writes nothing; deleting a closed run is a transition;
// namespace writes never hold the lock RPCs read the registry under. Through the real engine and
// handlers on the memory store with a ManualClock, behind a counting store decorator.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "history/history_store.h"
#include "scheduler/clock.h"
#include "server/engine.h"
#include "server/handlers/handlers.h"
#include "server/handlers/transfer.h"

namespace cairn {
namespace {

using namespace std::chrono_literals;

// Counts commits (and the runs each carried), fails the next N of them with kUnavailable
// (writing nothing), and can hold put_namespace() until released. Delegates everything else.
class CountingStore final : public HistoryStore {
 public:
  explicit CountingStore(std::unique_ptr<HistoryStore> inner) : inner_(std::move(inner)) {}

  int32_t shard_count() const override { return inner_->shard_count(); }
  Result<v1::RunState> load_run(const RunKey& key) override { return inner_->load_run(key); }
  Result<v1::CurrentRun> load_current(const WorkflowKey& key) override {
    return inner_->load_current(key);
  }
  Status commit(const Transition& t) override {
    if (fail_next_.load() > 0) {
      fail_next_.fetch_sub(1);
      ++failed_;
      return unavailable("injected: commit of run " + t.key.debug_string() + " failed");
    }
    Status st = inner_->commit(t);
    if (st.ok()) {
      std::lock_guard lock(mu_);
      committed_.push_back(t);
    }
    return st;
  }
  Result<EventPage> read_events(const RunKey& key, EventId from, int limit) override {
    return inner_->read_events(key, from, limit);
  }
  Result<TaskPage> scan_tasks(ShardId shard, int64_t after, int limit) override {
    return inner_->scan_tasks(shard, after, limit);
  }
  Result<TimerPage> scan_timers(ShardId shard, int64_t after_ms, int64_t after_seq,
                                int limit) override {
    return inner_->scan_timers(shard, after_ms, after_seq, limit);
  }
  Result<int64_t> max_sequence() override { return inner_->max_sequence(); }
  Status forget_timers(const std::vector<v1::TimerRecord>& timers) override {
    return inner_->forget_timers(timers);
  }
  Status put_namespace(const v1::NamespaceRecord& ns) override {
    {
      std::unique_lock lock(mu_);
      if (hold_namespaces_) {
        namespace_waiting_ = true;
        changed_.notify_all();
        changed_.wait(lock, [&] { return !hold_namespaces_; });
      }
    }
    return inner_->put_namespace(ns);
  }
  Result<v1::NamespaceRecord> get_namespace(const std::string& name) override {
    return inner_->get_namespace(name);
  }
  Result<std::vector<v1::NamespaceRecord>> list_namespaces() override {
    return inner_->list_namespaces();
  }
  Result<VisibilityPage> scan_visibility(const VisibilityScan& scan) override {
    return inner_->scan_visibility(scan);
  }
  Result<std::vector<RunKey>> list_runs_for_testing() override {
    return inner_->list_runs_for_testing();
  }

  void fail_next_commits(int n) { fail_next_ = n; }
  int failed() const { return failed_.load(); }
  size_t commits() {
    std::lock_guard lock(mu_);
    return committed_.size();
  }
  Transition last() {
    std::lock_guard lock(mu_);
    return committed_.empty() ? Transition() : committed_.back();
  }
  void hold_namespaces(bool hold) {
    std::lock_guard lock(mu_);
    hold_namespaces_ = hold;
    changed_.notify_all();
  }
  // Waits until a put_namespace() is held.
  bool namespace_held(std::chrono::milliseconds within) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, within, [&] { return namespace_waiting_; });
  }

 private:
  std::unique_ptr<HistoryStore> inner_;
  std::atomic<int> fail_next_{0};
  std::atomic<int> failed_{0};
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Transition> committed_;  // guarded by mu_
  bool hold_namespaces_ = false;       // guarded by mu_
  bool namespace_waiting_ = false;     // guarded by mu_
};

class NullWaiter final : public PollWaiter {
 public:
  void deliver(v1::TaskRecord) override {}
};

size_t runs_in(const Transition& t) { return t.delete_run ? 0 : 1 + t.other_runs.size(); }

class MultiRunTransitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<CountingStore>(make_memory_store(4));
    EngineOptions options;
    options.timer_thread = false;
    options.worker_threads = 2;
    options.seed = 11;
    engine_ = std::make_unique<Engine>(store_.get(), &clock_, options);
    engine_->set_transfer_executor(
        [](Engine& e, const v1::TaskRecord& task) { return handlers::execute_transfer(e, task); });
    ASSERT_TRUE(engine_->start().ok());
    settle();
  }
  void TearDown() override {
    settle();
    engine_->stop();
  }
  void settle() { ASSERT_TRUE(engine_->pool().wait_idle(10s)) << "engine pool did not drain"; }

  v1::StartWorkflowExecutionRequest start_request(const std::string& id) {
    v1::StartWorkflowExecutionRequest req;
    req.set_workflow_id(id);
    req.mutable_workflow_type()->set_name("order");
    req.set_task_queue("orders");
    req.set_request_id("start-" + id + "-" + std::to_string(++requests_));
    return req;
  }
  Result<std::string> start(const v1::StartWorkflowExecutionRequest& req) {
    v1::StartWorkflowExecutionResponse resp;
    CAIRN_RETURN_IF_ERROR(handlers::start_workflow(*engine_, req, &resp));
    return resp.run_id();
  }

  // Takes the workflow task of `workflow_id` and answers it with `commands`.
  Status complete_task(const std::string& workflow_id, const std::vector<v1::Command>& commands) {
    QueueKey queue{"default", "orders", v1::TASK_KIND_WORKFLOW};
    std::vector<v1::TaskRecord> others;
    Status result = not_found("no workflow task of " + workflow_id);
    for (int i = 0; i < 100; ++i) {
      auto task = engine_->matcher().poll(queue, std::make_shared<NullWaiter>(), clock_.now_ms());
      if (!task) {
        break;
      }
      if (task->workflow_id() != workflow_id) {
        others.push_back(*task);
        continue;
      }
      v1::PollWorkflowTaskQueueRequest poll;
      poll.set_task_queue("orders");
      poll.set_identity("test-worker");
      v1::PollWorkflowTaskQueueResponse polled;
      Status st = handlers::start_workflow_task(*engine_, *task, poll, &polled);
      if (!st.ok()) {
        continue;  // stale: the run moved on
      }
      v1::RespondWorkflowTaskCompletedRequest req;
      req.set_task_token(polled.task_token());
      req.set_identity("test-worker");
      for (const auto& c : commands) {
        *req.add_commands() = c;
      }
      v1::RespondWorkflowTaskCompletedResponse resp;
      result = handlers::respond_workflow_task_completed(*engine_, req, &resp);
      break;
    }
    for (auto& t : others) {
      engine_->matcher().offer(queue, t);
    }
    settle();
    return result;
  }

  static v1::Command start_timer(const std::string& id) {
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_START_TIMER);
    c.mutable_start_timer_command_attributes()->set_timer_id(id);
    c.mutable_start_timer_command_attributes()->set_start_to_fire_timeout_ms(3'600'000);
    return c;
  }
  static v1::Command continue_as_new() {
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION);
    c.mutable_continue_as_new_workflow_execution_command_attributes()
        ->mutable_input()
        ->add_payloads()
        ->set_data("next");
    return c;
  }
  static v1::Command complete() {
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
    c.mutable_complete_workflow_execution_command_attributes();
    return c;
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
  std::string current_run(const std::string& workflow_id) {
    auto current = store_->load_current(engine_->workflow_key("default", workflow_id));
    EXPECT_TRUE(current.ok()) << current.status().to_string();
    return current.ok() ? current->run_id() : "";
  }
  size_t run_count() {
    auto keys = store_->list_runs_for_testing();
    EXPECT_TRUE(keys.ok());
    return keys.ok() ? keys->size() : 0;
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
  // A run with one completed workflow task and a pending timer: resettable, and open.
  std::string open_run(const std::string& workflow_id) {
    auto run = start(start_request(workflow_id));
    EXPECT_TRUE(run.ok()) << run.status().to_string();
    Status st = complete_task(workflow_id, {start_timer("t1")});
    EXPECT_TRUE(st.ok()) << st.to_string();
    return run.ok() ? *run : "";
  }
  Status reset(const std::string& workflow_id, std::string* new_run) {
    v1::ResetWorkflowExecutionRequest req;
    req.mutable_workflow_execution()->set_workflow_id(workflow_id);
    req.set_reason("test");
    req.set_request_id("reset-" + workflow_id);
    v1::ResetWorkflowExecutionResponse resp;
    Status st = handlers::reset_workflow(*engine_, req, &resp);
    *new_run = resp.run_id();
    return st;
  }
  bool transfer_task_on_disk(const RunKey& key, v1::TransferType type) {
    auto tasks = store_->scan_tasks(key.shard, 0, 1000);
    EXPECT_TRUE(tasks.ok());
    for (const auto& t : tasks->tasks) {
      if (t.kind() == v1::TASK_KIND_TRANSFER && t.transfer().type() == type) {
        return true;
      }
    }
    return false;
  }

  std::unique_ptr<CountingStore> store_;
  ManualClock clock_;
  std::unique_ptr<Engine> engine_;
  int requests_ = 0;
};

TEST_F(MultiRunTransitionTest, ResetTerminatesTheOpenRunAndStartsTheResetRunInOneCommit) {
  const std::string old_run = open_run("wf-reset");
  const size_t before = store_->commits();
  std::string new_run;
  Status st = reset("wf-reset", &new_run);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(store_->commits(), before + 1);
  EXPECT_EQ(runs_in(store_->last()), 2u);
  EXPECT_EQ(stored("wf-reset", old_run).status(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  EXPECT_EQ(stored("wf-reset", new_run).status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  EXPECT_EQ(current_run("wf-reset"), new_run);
  expect_consistent("wf-reset", old_run);
  expect_consistent("wf-reset", new_run);
  // The same reset again answers the run the first one made, writing nothing.
  const size_t after = store_->commits();
  std::string again;
  ASSERT_TRUE(reset("wf-reset", &again).ok());
  EXPECT_EQ(again, new_run);
  EXPECT_EQ(store_->commits(), after);
}

TEST_F(MultiRunTransitionTest, AFailedResetCommitLeavesTheOldRunAndAnswersUnavailable) {
  const std::string old_run = open_run("wf-reset-fail");
  const size_t runs = run_count();
  const size_t before = store_->commits();
  store_->fail_next_commits(1);
  std::string new_run;
  EXPECT_EQ(reset("wf-reset-fail", &new_run).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->commits(), before);
  EXPECT_EQ(run_count(), runs);
  EXPECT_EQ(stored("wf-reset-fail", old_run).status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  EXPECT_EQ(current_run("wf-reset-fail"), old_run);
  // Nothing cached from the failed attempt: the engine's view is the store's.
  auto cached = engine_->read_state(key_of("wf-reset-fail", old_run));
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  // The retry succeeds.
  ASSERT_TRUE(reset("wf-reset-fail", &new_run).ok());
  EXPECT_EQ(current_run("wf-reset-fail"), new_run);
}

TEST_F(MultiRunTransitionTest, TerminateExistingTerminatesTheOldRunAndStartsTheNewInOneCommit) {
  auto old_run = start(start_request("wf-te"));
  ASSERT_TRUE(old_run.ok());
  const size_t before = store_->commits();
  auto req = start_request("wf-te");
  req.set_workflow_id_conflict_policy(v1::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING);
  auto new_run = start(req);
  ASSERT_TRUE(new_run.ok()) << new_run.status().to_string();
  EXPECT_NE(*new_run, *old_run);
  EXPECT_EQ(store_->commits(), before + 1);
  EXPECT_EQ(runs_in(store_->last()), 2u);
  EXPECT_EQ(stored("wf-te", *old_run).status(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  EXPECT_EQ(stored("wf-te", *new_run).status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  EXPECT_EQ(current_run("wf-te"), *new_run);
  expect_consistent("wf-te", *old_run);
  expect_consistent("wf-te", *new_run);
}

TEST_F(MultiRunTransitionTest, AFailedTerminateExistingCommitLeavesTheOldRunRunning) {
  auto old_run = start(start_request("wf-te-fail"));
  ASSERT_TRUE(old_run.ok());
  const size_t runs = run_count();
  store_->fail_next_commits(1);
  auto req = start_request("wf-te-fail");
  req.set_workflow_id_conflict_policy(v1::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING);
  EXPECT_EQ(start(req).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(run_count(), runs);
  EXPECT_EQ(stored("wf-te-fail", *old_run).status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  EXPECT_EQ(current_run("wf-te-fail"), *old_run);
  auto cached = engine_->read_state(key_of("wf-te-fail", *old_run));
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
}

TEST_F(MultiRunTransitionTest, ContinueAsNewClosesTheRunAndStartsItsSuccessorInOneCommit) {
  auto first = start(start_request("wf-can"));
  ASSERT_TRUE(first.ok());
  const size_t before = store_->commits();
  ASSERT_TRUE(complete_task("wf-can", {continue_as_new()}).ok());
  // The completion (after the task's start, a commit of its own) is one write with both runs.
  EXPECT_EQ(store_->commits(), before + 2);
  const Transition completion = store_->last();
  ASSERT_EQ(runs_in(completion), 2u);
  const std::string successor = completion.other_runs[0].key.run_id.value;
  EXPECT_EQ(stored("wf-can", *first).status(), v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW);
  const v1::RunState next = stored("wf-can", successor);
  EXPECT_EQ(next.status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  auto events = store_->read_events(key_of("wf-can", successor), EventId{1}, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_FALSE(events->events.empty());
  EXPECT_EQ(events->events[0].workflow_execution_started_event_attributes().continued_from_run_id(),
            *first);
  EXPECT_EQ(current_run("wf-can"), successor);
  // No hand-off left for a start to slip into: the outbox has no CONTINUE_AS_NEW task.
  EXPECT_FALSE(transfer_task_on_disk(key_of("wf-can", *first), v1::TRANSFER_TYPE_CONTINUE_AS_NEW));
  expect_consistent("wf-can", *first);
  expect_consistent("wf-can", successor);
  // The successor's workflow task is dispatched: it completes the chain.
  ASSERT_TRUE(complete_task("wf-can", {complete()}).ok());
  EXPECT_EQ(stored("wf-can", successor).status(), v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
}

TEST_F(MultiRunTransitionTest, AFailedContinueAsNewCommitLeavesTheRunOpenWithNoSuccessor) {
  auto first = start(start_request("wf-can-fail"));
  ASSERT_TRUE(first.ok());
  QueueKey queue{"default", "orders", v1::TASK_KIND_WORKFLOW};
  auto task = engine_->matcher().poll(queue, std::make_shared<NullWaiter>(), clock_.now_ms());
  ASSERT_TRUE(task.has_value());
  v1::PollWorkflowTaskQueueRequest poll;
  poll.set_task_queue("orders");
  v1::PollWorkflowTaskQueueResponse polled;
  ASSERT_TRUE(handlers::start_workflow_task(*engine_, *task, poll, &polled).ok());
  const size_t runs = run_count();
  const v1::RunState before = stored("wf-can-fail", *first);

  store_->fail_next_commits(1);
  v1::RespondWorkflowTaskCompletedRequest req;
  req.set_task_token(polled.task_token());
  *req.add_commands() = continue_as_new();
  v1::RespondWorkflowTaskCompletedResponse resp;
  EXPECT_EQ(handlers::respond_workflow_task_completed(*engine_, req, &resp).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(run_count(), runs);
  EXPECT_EQ(stored("wf-can-fail", *first).next_event_id(), before.next_event_id());
  EXPECT_EQ(current_run("wf-can-fail"), *first);
  // The worker's retry of the same completion goes through.
  ASSERT_TRUE(handlers::respond_workflow_task_completed(*engine_, req, &resp).ok());
  EXPECT_NE(current_run("wf-can-fail"), *first);
  settle();
}

TEST_F(MultiRunTransitionTest, ABadSearchAttributeWritesNothingOnEveryStartPath) {
  auto running = start(start_request("wf-sa"));
  ASSERT_TRUE(running.ok());
  const v1::RunState before = stored("wf-sa", *running);
  const size_t commits = store_->commits();
  const size_t runs = run_count();
  v1::Payload bad;
  (*bad.mutable_metadata())["encoding"] = "json/plain";
  bad.set_data("\"x\"");

  auto plain = start_request("wf-sa-new");
  (*plain.mutable_search_attributes())["Unregistered"] = bad;
  EXPECT_EQ(start(plain).status().code(), StatusCode::kInvalidArgument);

  auto replace = start_request("wf-sa");
  replace.set_workflow_id_conflict_policy(v1::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING);
  (*replace.mutable_search_attributes())["Unregistered"] = bad;
  EXPECT_EQ(start(replace).status().code(), StatusCode::kInvalidArgument);

  v1::SignalWithStartWorkflowExecutionRequest sws;
  *sws.mutable_start() = start_request("wf-sa");
  (*sws.mutable_start()->mutable_search_attributes())["Unregistered"] = bad;
  sws.set_signal_name("go");
  v1::SignalWithStartWorkflowExecutionResponse sws_resp;
  EXPECT_EQ(handlers::signal_with_start(*engine_, sws, &sws_resp).code(),
            StatusCode::kInvalidArgument);

  EXPECT_EQ(store_->commits(), commits);
  EXPECT_EQ(store_->failed(), 0);
  EXPECT_EQ(run_count(), runs);
  const v1::RunState after = stored("wf-sa", *running);
  EXPECT_EQ(after.status(), v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  EXPECT_EQ(after.next_event_id(), before.next_event_id());  // no signal, no termination
}

TEST_F(MultiRunTransitionTest, DeletingAClosedRunIsOneTransitionThroughTheEngine) {
  auto run = start(start_request("wf-del"));
  ASSERT_TRUE(run.ok());
  const RunKey key = key_of("wf-del", *run);
  const size_t before = store_->commits();
  EXPECT_EQ(engine_->delete_closed_run(key).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->commits(), before);  // refused before the commit

  ASSERT_TRUE(complete_task("wf-del", {complete()}).ok());
  const size_t closed = store_->commits();
  ASSERT_TRUE(engine_->delete_closed_run(key).ok());
  EXPECT_EQ(store_->commits(), closed + 1);
  EXPECT_TRUE(store_->last().delete_run);
  EXPECT_EQ(store_->load_run(key).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->load_current(engine_->workflow_key("default", "wf-del")).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(engine_->read_state(key).status().code(), StatusCode::kNotFound);  // not cached
  EXPECT_EQ(engine_->delete_closed_run(key).code(), StatusCode::kNotFound);
}

TEST_F(MultiRunTransitionTest, AFailedDeleteCommitKeepsTheRun) {
  auto run = start(start_request("wf-del-fail"));
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(complete_task("wf-del-fail", {complete()}).ok());
  const RunKey key = key_of("wf-del-fail", *run);
  store_->fail_next_commits(1);
  EXPECT_EQ(engine_->delete_closed_run(key).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(store_->load_run(key).ok());
  EXPECT_TRUE(engine_->read_state(key).ok());
}

TEST_F(MultiRunTransitionTest, ANamespaceWriteDoesNotBlockRpcsWhileItSyncs) {
  store_->hold_namespaces(true);
  v1::RegisterNamespaceRequest req;
  req.set_namespace_("payments");
  auto registering = std::async(std::launch::async, [&] {
    v1::RegisterNamespaceResponse resp;
    return handlers::register_namespace(*engine_, req, &resp);
  });
  ASSERT_TRUE(store_->namespace_held(5s));
  // While the write is held in the store: RPCs check and read namespaces without waiting, and
  // the new namespace is not visible before it is durable.
  auto reads = std::async(std::launch::async, [&] {
    return engine_->check_namespace("default").ok() &&
           engine_->check_namespace("payments").code() == StatusCode::kNotFound &&
           !engine_->list_namespaces().empty();
  });
  ASSERT_EQ(reads.wait_for(5s), std::future_status::ready) << "an RPC waited for a namespace sync";
  EXPECT_TRUE(reads.get());
  store_->hold_namespaces(false);
  ASSERT_TRUE(registering.get().ok());
  EXPECT_TRUE(engine_->check_namespace("payments").ok());
}

}  // namespace
}  // namespace cairn
