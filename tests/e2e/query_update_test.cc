// End to end: queries (answered by a worker replaying history, nothing written), the built-in
// __stack_trace, and updates (validator rejections leave history untouched; accepted updates write
// their events and return the handler's result; a repeated update id gets the same outcome).
#include <chrono>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class QueryUpdateTest : public E2eTest {
 protected:
  // Waits until the run's first workflow task completed: its handlers are registered.
  void await_first_task(WorkflowHandle& h) {
    ASSERT_TRUE(await_until(
        [&] { return count(h.history(), v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= 1; }));
  }
};

void register_counter(Worker& w) {
  w.register_workflow("counter", [](WorkflowContext& ctx) {
    int count = 0;
    std::string status = "waiting";
    ctx.set_query_handler("count", [&] { return count; });
    ctx.set_query_handler("status", [&](const std::string& prefix) { return prefix + status; });
    ctx.set_query_handler("broken", [&]() -> int { throw ApplicationError("no answer today"); });
    count += ctx.signal<int>("add").wait();
    status = "got one";
    count += ctx.signal<int>("add").wait();
    return count;
  });
}

TEST_F(QueryUpdateTest, QueryIsAnsweredWhileTheWorkflowWaitsAndOnTheClosedRun) {
  Worker& w = new_worker("qu-query");
  register_counter(w);
  w.start();
  auto h = client_->start("counter", start_options("qu-query-1", "qu-query"));
  await_first_task(h);
  size_t before = h.history().size();
  EXPECT_EQ(h.query<int>("count"), 0);
  EXPECT_EQ(h.query<std::string>("status", std::string("now: ")), "now: waiting");
  EXPECT_EQ(h.history().size(), before) << "a query must not write history";

  h.signal("add", 5);
  ASSERT_TRUE(await_until([&] { return h.query<int>("count") == 5; }));
  EXPECT_EQ(h.query<std::string>("status", std::string("now: ")), "now: got one");

  h.signal("add", 2);
  EXPECT_EQ(h.result<int>(30s), 7);
  // The closed run answers as of its last wait (the closing task's code returned: its locals
  // are gone).
  EXPECT_EQ(h.query<int>("count"), 5);
}

TEST_F(QueryUpdateTest, UnknownQueryTypeAndFailingHandlerGetClearErrors) {
  Worker& w = new_worker("qu-unknown");
  register_counter(w);
  w.start();
  auto h = client_->start("counter", start_options("qu-unknown-1", "qu-unknown"));
  await_first_task(h);
  try {
    h.query<int>("nope");
    FAIL() << "an unknown query type must fail";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::INVALID_ARGUMENT);
    std::string m = e.what();
    EXPECT_NE(m.find("nope"), std::string::npos) << m;
    EXPECT_NE(m.find("count"), std::string::npos) << m;
    EXPECT_NE(m.find("status"), std::string::npos) << m;
  }
  try {
    h.query<int>("broken");
    FAIL() << "a throwing handler must fail the query";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_NE(std::string(e.what()).find("no answer today"), std::string::npos) << e.what();
  }
}

TEST_F(QueryUpdateTest, StackTraceNamesWhatTheWorkflowIsBlockedOn) {
  Worker& w = new_worker("qu-stack");
  w.register_activity("slow.step", [](ActivityContext& ctx) -> std::string { ctx.complete_async(); });
  w.register_workflow("blocked", [](WorkflowContext& ctx) {
    auto approval = ctx.signal<bool>("approval").wait_for(30s);
    if (!approval) {
      return std::string("timed out");
    }
    ActivityOptions o;
    o.start_to_close = 60s;
    return ctx.activity<std::string>("slow.step", o).get();
  });
  w.start();
  auto h = client_->start("blocked", start_options("qu-stack-1", "qu-stack"));
  await_first_task(h);
  std::string trace = h.query<std::string>("__stack_trace");
  EXPECT_NE(trace.find("signal approval"), std::string::npos) << trace;
  EXPECT_NE(trace.find("timeout 30000 ms"), std::string::npos) << trace;

  h.signal("approval", true);
  ASSERT_TRUE(await_until([&] {
    // A cached run names the activity by id (its scheduled event is known once the next task
    // brings it); a replay of the history names the event too.
    return h.query<std::string>("__stack_trace").find("activity slow.step (activity id 2") !=
           std::string::npos;
  })) << h.query<std::string>("__stack_trace");
  h.terminate("done");
}

void register_account(Worker& w) {
  w.register_workflow("account", [](WorkflowContext& ctx) {
    int total = 0;
    bool closed = false;
    ctx.set_query_handler("total", [&] { return total; });
    ctx.set_update_handler(
        "deposit", [&](int amount) { return total += amount; },
        [&](int amount) {
          if (amount <= 0) {
            throw ApplicationError("deposit must be positive, got " + std::to_string(amount));
          }
        });
    ctx.set_update_handler("close", [&] {
      closed = true;
      return total;
    });
    ctx.await_condition([&] { return closed; });
    return total;
  });
}

TEST_F(QueryUpdateTest, AcceptedUpdateReturnsItsResultAndWritesItsEvents) {
  Worker& w = new_worker("qu-update");
  register_account(w);
  w.start();
  auto h = client_->start("account", start_options("qu-update-1", "qu-update"));
  await_first_task(h);
  EXPECT_EQ(h.update<int>("deposit", 40), 40);
  EXPECT_EQ(h.update<int>("deposit", 2), 42);
  auto events = h.history();
  EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), 2);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED), 2);
  const v1::HistoryEvent* accepted = find(events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
  ASSERT_NE(accepted, nullptr);
  EXPECT_EQ(accepted->workflow_execution_update_accepted_event_attributes().name(), "deposit");
  // The update's effect survives replay: a query replays the accepted updates.
  EXPECT_EQ(h.query<int>("total"), 42);
  EXPECT_EQ(h.update<int>("close"), 42);
  EXPECT_EQ(h.result<int>(30s), 42);
}

TEST_F(QueryUpdateTest, UpdateRejectedByItsValidatorLeavesHistoryUnchanged) {
  Worker& w = new_worker("qu-reject");
  register_account(w);
  w.start();
  auto h = client_->start("account", start_options("qu-reject-1", "qu-reject"));
  await_first_task(h);
  auto before = event_types(h.history());
  try {
    h.update<int>("deposit", -5);
    FAIL() << "the validator must reject a negative deposit";
  } catch (const ApplicationError& e) {
    EXPECT_EQ(e.type(), "UpdateRejected");
    EXPECT_NE(std::string(e.what()).find("deposit must be positive, got -5"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(event_types(h.history()), before);
  // An unknown update is rejected the same way, naming the known ones.
  try {
    h.update<int>("withdraw", 1);
    FAIL() << "an unknown update must be rejected";
  } catch (const ApplicationError& e) {
    EXPECT_NE(std::string(e.what()).find("deposit"), std::string::npos) << e.what();
  }
  EXPECT_EQ(event_types(h.history()), before);
  EXPECT_EQ(h.query<int>("total"), 0);
}

TEST_F(QueryUpdateTest, RepeatedUpdateIdReturnsTheSameOutcome) {
  Worker& w = new_worker("qu-dedup");
  register_account(w);
  w.start();
  auto h = client_->start("account", start_options("qu-dedup-1", "qu-dedup"));
  await_first_task(h);
  EXPECT_EQ(h.update_with_id<int>("dep-1", "deposit", 10), 10);
  EXPECT_EQ(h.update_with_id<int>("dep-1", "deposit", 10), 10);  // not applied again
  EXPECT_EQ(h.update_with_id<int>("dep-2", "deposit", 10), 20);
  EXPECT_EQ(count(h.history(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), 2);
  EXPECT_EQ(h.query<int>("total"), 20);
}

}  // namespace
}  // namespace cairn::testing
