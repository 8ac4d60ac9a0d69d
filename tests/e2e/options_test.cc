// End to end: bad options are refused where they are written. A workflow whose activity has a
// bad retry policy fails at once with a failure naming the field (no task retried in a loop,
// no activity scheduled); Client::start with bad options throws OptionsError and no run exists.
#include <chrono>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class OptionsTest : public E2eTest {
 protected:
  int runs_listed() { return static_cast<int>(list_runs().size()); }
};

TEST_F(OptionsTest, ActivityWithNegativeMaximumAttemptsFailsTheWorkflowAtOnceNamingTheField) {
  Worker& w = new_worker("opt-activity");
  w.register_activity("charge", [](int cents) { return cents; });
  w.register_workflow("checkout", [](WorkflowContext& ctx, int cents) {
    return ctx
        .activity<int>(
            "charge", cents,
            {.start_to_close = 10s, .retry = {.backoff_coefficient = 2.0, .maximum_attempts = -1}})
        .get();
  });
  w.start();
  auto handle = client_->start("checkout", start_options("wf-opt", "opt-activity"), 500);
  try {
    handle.result<int>(30s);
    FAIL() << "the workflow did not fail";
  } catch (const WorkflowFailedError& e) {
    EXPECT_EQ(e.status(), v1::WORKFLOW_EXECUTION_STATUS_FAILED);
    EXPECT_EQ(e.failure().message(),
              "activity \"charge\" options: retry.maximum_attempts must not be negative (got -1)");
    EXPECT_EQ(e.failure().application_failure_info().type(), "InvalidOptions");
    EXPECT_TRUE(e.failure().application_failure_info().non_retryable());
  }
  auto events = handle.history();
  // One workflow task, which failed the workflow: nothing was retried, nothing scheduled.
  EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED), 1);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_TASK_FAILED), 0);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), 0);
  EXPECT_EQ(count(events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), 0);
  EXPECT_EQ(events.back().event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
}

TEST_F(OptionsTest, ClientStartWithBadOptionsThrowsOptionsErrorAndStartsNothing) {
  StartWorkflowOptions o = start_options("wf-bad-start", "opt-start");
  o.retry = RetryPolicy{.backoff_coefficient = 0.5};
  try {
    client_->start("checkout", o, 1);
    FAIL() << "start with backoff_coefficient 0.5 did not throw";
  } catch (const OptionsError& e) {
    EXPECT_EQ(e.field(), "retry.backoff_coefficient");
    EXPECT_STREQ(e.what(),
                 "workflow \"checkout\" start options: retry.backoff_coefficient must be 0 (the "
                 "default, 2.0) or at least 1 (got 0.5)");
  }
  StartWorkflowOptions too_long = start_options("wf-bad-start", "opt-start");
  too_long.task_timeout = 10min;
  EXPECT_THROW(client_->signal_with_start("checkout", too_long, "go"), OptionsError);
  EXPECT_EQ(runs_listed(), 0);
  // The same start with good options reaches the server.
  client_->start("checkout", start_options("wf-good-start", "opt-start"), 1);
  EXPECT_EQ(runs_listed(), 1);
}

}  // namespace
}  // namespace cairn::testing
