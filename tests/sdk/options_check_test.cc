// Options checked where workflow code writes them: each bad option throws OptionsError naming
// the field into the workflow before any command is issued (uncaught, it fails the workflow),
// the same on replay; good options pass. And Client::start checking its options before any RPC.
#include <chrono>
#include <cmath>
#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cairn/client.h"
#include "sdk/feature_test_util.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Body = std::function<void(WorkflowContext&)>;

// Runs `body` as a workflow's first task; the workflow returns "<field>|<message>" of the
// OptionsError it caught, or "ok".
ReplayResult run_catching(const Body& body) {
  auto wf = [body](WorkflowContext& ctx) -> std::string {
    try {
      body(ctx);
    } catch (const OptionsError& e) {
      return e.field() + "|" + e.what();
    }
    return "ok";
  };
  HistoryBuilder h("wf");
  return replay_local(wf, {}, h.events());
}

struct BadCase {
  std::string name;
  Body body;
  std::string field;
  std::string message;  // a part of the message
};

ActivityOptions good_activity() { return {.start_to_close = 5s}; }

std::vector<BadCase> bad_cases() {
  std::vector<BadCase> cases;
  auto activity = [&](std::string name, ActivityOptions o, std::string field, std::string msg) {
    cases.push_back(
        {name, [o](WorkflowContext& ctx) { ctx.activity<void>("charge", o); }, field, msg});
  };
  ActivityOptions o = good_activity();
  o.retry.maximum_attempts = -1;
  activity("negative attempts", o, "retry.maximum_attempts",
           "activity \"charge\" options: retry.maximum_attempts must not be negative (got -1)");
  o = good_activity();
  o.retry.backoff_coefficient = 0.5;
  activity("shrinking backoff", o, "retry.backoff_coefficient", "at least 1 (got 0.5)");
  o = good_activity();
  o.retry.backoff_coefficient = std::nan("");
  activity("NaN backoff", o, "retry.backoff_coefficient", "at least 1");
  o = good_activity();
  o.retry.initial_interval = -1ms;
  activity("negative initial interval", o, "retry.initial_interval", "must not be negative");
  o = good_activity();
  o.retry.maximum_interval = 500ms;  // below the default initial interval of 1 s
  activity("maximum below default initial", o, "retry.maximum_interval",
           "(500 ms) must not be below retry.initial_interval (1000 ms, the default)");
  o = good_activity();
  o.retry.initial_interval = 2s;
  o.retry.maximum_interval = 1s;
  activity("maximum below initial", o, "retry.maximum_interval", "(2000 ms)");
  activity("no timeout", ActivityOptions{}, "start_to_close", "or schedule_to_close is required");
  activity("negative start_to_close", {.start_to_close = -1s}, "start_to_close",
           "must not be negative (got -1000 ms)");
  activity("negative schedule_to_start", {.schedule_to_start = -1ms, .start_to_close = 5s},
           "schedule_to_start", "must not be negative");
  activity("negative heartbeat", {.start_to_close = 5s, .heartbeat = -5ms}, "heartbeat",
           "must not be negative");
  activity("long task queue", {.task_queue = std::string(1001, 'q'), .start_to_close = 5s},
           "task_queue", "longer than 1000 bytes (got 1001)");
  activity("control character in id", {.start_to_close = 5s, .activity_id = "a\x01"}, "activity_id",
           "control characters (byte 1 is 0x01)");
  activity("bad UTF-8 in id", {.start_to_close = 5s, .activity_id = "caf\xc3"}, "activity_id",
           "not valid UTF-8 (at byte 3)");

  cases.push_back({"local activity without timeout",
                   [](WorkflowContext& ctx) { ctx.local_activity<void>("la", {}); },
                   "start_to_close", "local activity \"la\" options: start_to_close or"});
  cases.push_back({"local activity retry",
                   [](WorkflowContext& ctx) {
                     ctx.local_activity<void>(
                         "la", {.start_to_close = 1s, .retry = {.maximum_attempts = -2}});
                   },
                   "retry.maximum_attempts", "(got -2)"});
  cases.push_back({"local activity threshold",
                   [](WorkflowContext& ctx) {
                     ctx.local_activity<void>(
                         "la", {.start_to_close = 1s, .local_retry_threshold = -1ms});
                   },
                   "local_retry_threshold", "must not be negative"});
  auto child = [&](std::string name, ChildWorkflowOptions co, std::string field, std::string m) {
    cases.push_back({name, [co](WorkflowContext& ctx) { ctx.child<void>("kid", co); }, field, m});
  };
  child("child retry", {.retry = RetryPolicy{.backoff_coefficient = 0.9}},
        "retry.backoff_coefficient", "child workflow \"kid\" options:");
  child("child task timeout", {.task_timeout = 121s}, "task_timeout", "at most 120000 ms");
  child("child negative run timeout", {.run_timeout = -1s}, "run_timeout", "must not be negative");
  child("child namespace", {.namespace_ = "a b"}, "namespace_", "only letters, digits");
  child("child long id", {.id = std::string(1001, 'x')}, "id", "longer than 1000 bytes");
  child("child search attribute", {.search_attributes = {{"1st", to_payload(1)}}},
        "search_attributes[1st]", "must start with a letter");
  cases.push_back({"negative timer", [](WorkflowContext& ctx) { ctx.timer(-1ms); }, "duration",
                   "timer options: duration must not be negative (got -1 ms)"});
  cases.push_back({"negative sleep", [](WorkflowContext& ctx) { ctx.sleep(-5s); }, "duration",
                   "(got -5000 ms)"});
  cases.push_back({"negative signal timeout",
                   [](WorkflowContext& ctx) { ctx.signal<int>("go").wait_for(-1ms); }, "timeout",
                   "wait for signal \"go\" options: timeout must not be negative"});
  cases.push_back({"negative condition timeout",
                   [](WorkflowContext& ctx) { ctx.await_condition([] { return false; }, -1ms); },
                   "timeout", "await_condition options"});
  cases.push_back({"signal without target",
                   [](WorkflowContext& ctx) { ctx.signal_external("", "", "go"); }, "workflow_id",
                   "signal_external \"go\" options: workflow_id is required"});
  cases.push_back({"signal without name",
                   [](WorkflowContext& ctx) { ctx.signal_external("other", "", ""); },
                   "signal_name", "is required"});
  cases.push_back({"cancel without target", [](WorkflowContext& ctx) { ctx.cancel_external(""); },
                   "workflow_id", "cancel_external options"});
  cases.push_back({"upsert system attribute",
                   [](WorkflowContext& ctx) {
                     ctx.upsert_search_attributes({{"WorkflowId", to_payload("x")}});
                   },
                   "attributes[WorkflowId]", "is a system attribute"});
  cases.push_back({"upsert bad name",
                   [](WorkflowContext& ctx) {
                     ctx.upsert_search_attributes({{"Bad-Name", to_payload("x")}});
                   },
                   "attributes[Bad-Name]", "letters, digits and '_'"});
  cases.push_back({"continue-as-new bad queue",
                   [](WorkflowContext& ctx) {
                     ctx.continue_as_new_with({.task_queue = std::string(1001, 'q')});
                   },
                   "task_queue", "continue-as-new of workflow \"wf\" options"});
  return cases;
}

TEST(OptionsCheckTest, EachBadOptionThrowsIntoTheWorkflowNamingTheFieldBeforeAnyCommand) {
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    ReplayResult r = run_catching(c.body);
    ASSERT_FALSE(r.task_failed) << r.failure.message();
    // The workflow caught the error and completed: no command came before the completion.
    ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
    std::string got = completed_with<std::string>(r);
    EXPECT_EQ(got.substr(0, got.find('|')), c.field);
    EXPECT_THAT(got, HasSubstr(c.message));
  }
}

TEST(OptionsCheckTest, GoodOptionsPass) {
  ReplayResult r = run_catching([](WorkflowContext& ctx) {
    ctx.activity<void>("charge", {.task_queue = "payments",
                                  .schedule_to_close = 1min,
                                  .start_to_close = 10s,
                                  .heartbeat = 2s,
                                  .retry = {.initial_interval = 1s,
                                            .backoff_coefficient = 1.0,
                                            .maximum_interval = 1s,
                                            .maximum_attempts = 1},
                                  .activity_id = "charge-\xc3\xa9"});  // "charge-é": UTF-8 is fine
    ctx.activity<void>("zero means unset", {.schedule_to_close = 1s});
    ctx.timer(0ms);  // ready at once, no command
    ctx.child<void>("kid",
                    ChildWorkflowOptions{.namespace_ = "other-ns.v1",
                                         .task_timeout = 120s,
                                         .retry = RetryPolicy{.maximum_interval = 1s},
                                         .search_attributes = {{"Customer_1", to_payload(1)}}});
    ctx.signal_external("other", "", "go");
    ctx.upsert_search_attributes({{"Stage", to_payload("paid")}});
  });
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
                                    v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
                                    v1::COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
                                    v1::COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
                                    v1::COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
                                    v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  EXPECT_EQ(completed_with<std::string>(r), "ok");
}

std::string charge(WorkflowContext& ctx) {
  ctx.activity<void>("charge", {.start_to_close = 5s, .retry = {.maximum_attempts = -1}}).get();
  return "charged";
}

TEST(OptionsCheckTest, UncaughtItFailsTheWorkflowWithTheMessageAndNoOtherCommand) {
  HistoryBuilder h("charge");
  ReplayResult r = replay_local(&charge, {}, h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION));
  const v1::Failure& f = r.commands[0].fail_workflow_execution_command_attributes().failure();
  EXPECT_EQ(f.message(),
            "activity \"charge\" options: retry.maximum_attempts must not be negative (got -1)");
  EXPECT_EQ(f.application_failure_info().type(), "InvalidOptions");
  EXPECT_TRUE(f.application_failure_info().non_retryable());
}

TEST(OptionsCheckTest, TheSameOnReplay) {
  // The first task catches the error and schedules a good activity; replaying the recorded
  // history takes the same branch (no non-determinism) and the activity id is the same.
  auto wf = [](WorkflowContext& ctx) {
    std::string field;
    try {
      ctx.activity<void>("charge", {.start_to_close = 5s, .retry = {.backoff_coefficient = 0.5}});
    } catch (const OptionsError& e) {
      field = e.field();
    }
    ctx.activity<void>("notify", field, {.start_to_close = 5s}).get();
    return field;
  };
  HistoryBuilder h("wf");
  ReplayResult first = replay_local(wf, {}, h.events());
  ASSERT_THAT(types(first), ElementsAre(v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK));
  const auto& a = first.commands[0].schedule_activity_task_command_attributes();
  EXPECT_EQ(from_payloads<std::string>(a.input()), "retry.backoff_coefficient");
  auto scheduled = record(h, first.commands);
  h.activity_completed(scheduled.at(a.activity_id()), nullptr).workflow_task();
  ReplayResult second = replay_local(wf, {}, h.events());
  ASSERT_FALSE(second.task_failed) << second.failure.message();
  ASSERT_THAT(types(second), ElementsAre(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  EXPECT_EQ(completed_with<std::string>(second), "retry.backoff_coefficient");
}

TEST(OptionsCheckTest, ClientStartChecksItsOptionsBeforeAnyRpc) {
  // Nothing listens on this address: an RPC would fail UNAVAILABLE (no retry configured).
  Client client(ClientOptions{.address = "127.0.0.1:1", .unavailable_retry_deadline = 0ms});
  StartWorkflowOptions o{.id = "order-1", .task_queue = "q"};
  o.retry = RetryPolicy{.maximum_attempts = -1};
  try {
    client.start("order", o);
    FAIL() << "start with a bad retry policy did not throw";
  } catch (const OptionsError& e) {
    EXPECT_EQ(e.field(), "retry.maximum_attempts");
    EXPECT_THAT(e.what(), HasSubstr("workflow \"order\" start options: retry.maximum_attempts"));
  }
  StartWorkflowOptions no_queue{.id = "order-1"};
  try {
    client.signal_with_start("order", no_queue, "go");
    FAIL() << "signal-with-start without a task queue did not throw";
  } catch (const OptionsError& e) {
    EXPECT_EQ(e.field(), "task_queue");
    EXPECT_THAT(e.what(), HasSubstr("task_queue is required"));
  }
  StartWorkflowOptions negative{.task_queue = "q", .run_timeout = -1s};
  EXPECT_THROW(client.start("order", negative), OptionsError);
  // Good options do reach for the server.
  EXPECT_THROW(client.start("order", StartWorkflowOptions{.task_queue = "q"}), RpcError);
}

}  // namespace
}  // namespace cairn::testing
