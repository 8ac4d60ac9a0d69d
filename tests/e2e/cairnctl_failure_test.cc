// End to end: what cairnctl shows of runs that are stuck or retrying — a run whose workflow
// tasks keep failing (describe's "workflow task failing" section, stack, list's status, the
// TaskFailure attribute) and an activity between attempts (attempt of maximum, last failure,
// next retry, heartbeat timeout, queue).
#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "e2e/ctl_fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class CairnctlFailureTest : public CtlTest {};

TEST_F(CairnctlFailureTest, ARunWhoseTasksFailSaysWhyInDescribeStackAndList) {
  Worker& w = new_worker("tag-q");
  w.register_workflow("tagger", [](WorkflowContext& ctx) {
    ctx.upsert_search_attributes({{"Stage", to_payload(std::string("review"))}});
    ctx.signal<std::string>("go").wait();
    return std::string("tagged");
  });
  w.start();
  client_->start("tagger", start_options("tag-1", "tag-q"));
  ASSERT_TRUE(
      eventually([&] { return client_->handle("tag-1").describe().has_workflow_task_failure(); }));

  Run described = ctl({"workflow", "describe", "-w", "tag-1"});
  ASSERT_EQ(described.exit, 0) << described.output;
  for (const char* part : {"workflow task failing:", "cause    BadSearchAttributes",
                           "Stage is not registered", "attempt  ", "pending workflow task:"}) {
    EXPECT_NE(described.output.find(part), std::string::npos) << part << "\n" << described.output;
  }

  Run stack = ctl({"workflow", "stack", "-w", "tag-1"});
  ASSERT_EQ(stack.exit, 0) << stack.output;
  EXPECT_NE(stack.output.find("workflow tasks are failing"), std::string::npos) << stack.output;
  EXPECT_NE(stack.output.find("BadSearchAttributes: "), std::string::npos) << stack.output;
  EXPECT_NE(stack.output.find("Stage is not registered"), std::string::npos) << stack.output;
  EXPECT_EQ(stack.output.find("not started"), std::string::npos) << stack.output;
  Run stack_json = ctl_split({"-o", "json", "workflow", "stack", "-w", "tag-1"});
  ASSERT_EQ(stack_json.exit, 0) << stack_json.errors;
  json sj = json::parse(stack_json.output);
  EXPECT_EQ(sj["workflow_task_failure"]["cause"], "BadSearchAttributes") << sj;
  EXPECT_GE(sj["workflow_task_failure"]["attempt"].get<int>(), 1) << sj;
  EXPECT_TRUE(sj["stack"].is_null()) << sj;

  Run listed = ctl({"workflow", "list"});
  ASSERT_EQ(listed.exit, 0) << listed.output;
  EXPECT_NE(listed.output.find("RUNNING (task failing: BadSearchAttributes)"), std::string::npos)
      << listed.output;
  Run attributes = ctl({"search-attribute", "list"});
  EXPECT_NE(attributes.output.find("TaskFailure"), std::string::npos) << attributes.output;

  // Fixed: the retried task goes through and the views are clean again.
  ASSERT_EQ(ctl({"search-attribute", "add", "--name", "Stage", "--type", "Keyword"}).exit, 0);
  ASSERT_TRUE(
      eventually([&] { return !client_->handle("tag-1").describe().has_workflow_task_failure(); }));
  Run healthy = ctl({"workflow", "describe", "-w", "tag-1"});
  EXPECT_EQ(healthy.output.find("workflow task failing"), std::string::npos) << healthy.output;
  Run relisted = ctl({"workflow", "list"});
  EXPECT_EQ(relisted.output.find("task failing"), std::string::npos) << relisted.output;
  client_->handle("tag-1").signal("go", std::string("now"));
  EXPECT_EQ(client_->handle("tag-1").result<std::string>(30s), "tagged");
}

TEST_F(CairnctlFailureTest, DescribeShowsWhyEarlierAttemptsOfARetryingActivityFailed) {
  Worker& w = new_worker("retry-q");
  w.register_workflow("retrier", [](WorkflowContext& ctx) {
    ActivityOptions o{.start_to_close = 10s, .heartbeat = 5s};
    o.retry.initial_interval = 60s;  // long: the activity waits out its backoff while we look
    o.retry.maximum_attempts = 5;
    return ctx.activity_with<std::string>("flaky", o).get();
  });
  w.register_activity(
      "flaky", []() -> std::string { throw ApplicationError("the disk is full", "DiskFull"); });
  w.start();
  client_->start("retrier", start_options("retry-1", "retry-q"));
  ASSERT_TRUE(eventually([&] {
    auto d = client_->handle("retry-1").describe();
    return d.pending_activities_size() == 1 && d.pending_activities(0).attempt() >= 2;
  }));
  Run described = ctl({"workflow", "describe", "-w", "retry-1"});
  ASSERT_EQ(described.exit, 0) << described.output;
  for (const char* part :
       {"attempt            2 of 5", "last failure       DiskFull: the disk is full",
        "next retry         20", "heartbeat timeout  5s", "task queue         retry-q",
        "last heartbeat     -"}) {
    EXPECT_NE(described.output.find(part), std::string::npos) << part << "\n" << described.output;
  }
  Run as_json = ctl_split({"-o", "json", "workflow", "describe", "-w", "retry-1"});
  json a = json::parse(as_json.output)["pendingActivities"][0];
  EXPECT_EQ(a["maximumAttempts"], 5) << a;
  EXPECT_EQ(a["heartbeatTimeoutMs"], "5000") << a;
  EXPECT_NE(a["nextAttemptScheduleTimeMs"], "0") << a;
  EXPECT_EQ(a["lastFailure"]["message"], "the disk is full") << a;
}

}  // namespace
}  // namespace cairn::testing
