// Cancellation scopes and activity cancellation types with hand-built histories: a scope's
// cancel() emits RequestCancelActivityTask / CancelTimer for its pending work only; TRY_CANCEL,
// WAIT_CANCELLATION_COMPLETED and ABANDON resolve as documented; a non-cancellable scope runs
// clean-up activities after the workflow was asked to cancel.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cairn/combinators.h"
#include "sdk/feature_test_util.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

// Starts an activity and a long timer in a scope, lets 1 s pass outside it, cancels the scope.
std::string scoped(WorkflowContext& ctx, ActivityCancellationType type) {
  auto scope = ctx.cancellation_scope();
  auto [act, timer] = scope.run([&] {
    auto a = ctx.activity<int>("slow", {.start_to_close = 1h, .cancellation_type = type});
    return std::make_pair(a, ctx.timer(1h));
  });
  auto outside = ctx.timer(2h);  // not in the scope: survives the cancel
  ctx.sleep(1s);
  scope.cancel();
  std::string out;
  try {
    out += std::to_string(act.get());
  } catch (const CanceledError&) {
    out += "activity canceled";
  }
  try {
    timer.get();
  } catch (const CanceledError&) {
    out += ", timer canceled";
  }
  out += outside.ready() ? ", outside done" : ", outside pending";
  return out;
}

// History up to the scope's cancel: the first task's commands, then the 1 s timer fired.
HistoryBuilder until_cancel(ActivityCancellationType type, std::map<std::string, int64_t>* ids) {
  auto wf = [type](WorkflowContext& ctx) { return scoped(ctx, type); };
  HistoryBuilder h("wf");
  ReplayResult first = replay(wf, feature_info(), h.events());
  EXPECT_THAT(types(first),
              ElementsAre(v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, v1::COMMAND_TYPE_START_TIMER,
                          v1::COMMAND_TYPE_START_TIMER, v1::COMMAND_TYPE_START_TIMER));
  *ids = record(h, first.commands);
  h.timer_fired("4", 1000).workflow_task();
  return h;
}

TEST(CancellationTest, TryCancelRequestsCancellationAndResolvesAtOnce) {
  auto type = ActivityCancellationType::kTryCancel;
  std::map<std::string, int64_t> ids;
  HistoryBuilder h = until_cancel(type, &ids);
  ReplayResult r = replay([&](WorkflowContext& ctx) { return scoped(ctx, type); }, feature_info(),
                          h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
                                    v1::COMMAND_TYPE_CANCEL_TIMER,
                                    v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  EXPECT_EQ(r.commands[0].request_cancel_activity_task_command_attributes().scheduled_event_id(),
            ids.at("1"));
  EXPECT_EQ(r.commands[1].cancel_timer_command_attributes().timer_id(), "2");
  EXPECT_EQ(completed_with<std::string>(r), "activity canceled, timer canceled, outside pending");
}

TEST(CancellationTest, WaitCancellationCompletedResolvesWhenTheServerReportsTheEnd) {
  auto type = ActivityCancellationType::kWaitCancellationCompleted;
  auto wf = [&](WorkflowContext& ctx) { return scoped(ctx, type); };
  std::map<std::string, int64_t> ids;
  HistoryBuilder h = until_cancel(type, &ids);
  ReplayResult r = replay(wf, feature_info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  // Still waiting for the activity: no completion yet.
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
                                    v1::COMMAND_TYPE_CANCEL_TIMER));
  record(h, r.commands);
  HistoryBuilder completed = h;
  auto* c = h.add(v1::EVENT_TYPE_ACTIVITY_TASK_CANCELED).mutable_activity_task_canceled_event_attributes();
  c->set_scheduled_event_id(ids.at("1"));
  h.workflow_task();
  EXPECT_EQ(completed_with<std::string>(replay(wf, feature_info(), h.events())),
            "activity canceled, timer canceled, outside pending");
  // The activity finished before it saw the cancel: its result counts.
  completed.activity_completed(ids.at("1"), 5).workflow_task();
  EXPECT_EQ(completed_with<std::string>(replay(wf, feature_info(), completed.events())),
            "5, timer canceled, outside pending");
}

TEST(CancellationTest, AbandonSendsNoRequestAndResolvesAtOnce) {
  auto type = ActivityCancellationType::kAbandon;
  std::map<std::string, int64_t> ids;
  HistoryBuilder h = until_cancel(type, &ids);
  ReplayResult r = replay([&](WorkflowContext& ctx) { return scoped(ctx, type); }, feature_info(),
                          h.events());
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_CANCEL_TIMER,
                                    v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  EXPECT_EQ(completed_with<std::string>(r), "activity canceled, timer canceled, outside pending");
}

TEST(CancellationTest, CancelingBeforeTheActivityIsSentDropsItsCommand) {
  auto wf = [](WorkflowContext& ctx) {
    auto scope = ctx.cancellation_scope();
    auto f = scope.run([&] { return ctx.activity<int>("never", {.start_to_close = 5s}); });
    scope.cancel();
    bool canceled = false;
    try {
      f.get();
    } catch (const CanceledError&) {
      canceled = true;
    }
    // Work started in a canceled scope fails at once.
    auto late = scope.run([&] { return ctx.timer(1s); });
    return canceled && late.ready() && scope.canceled();
  };
  HistoryBuilder h("wf");
  ReplayResult r = replay(wf, feature_info(), h.events());
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  EXPECT_TRUE(completed_with<bool>(r));
}

TEST(CancellationTest, CancelingAScopeCancelsItsChildrenButNotNonCancellableOnes) {
  auto wf = [](WorkflowContext& ctx) {
    auto outer = ctx.cancellation_scope();
    Future<void> inner_timer(nullptr, nullptr), shielded_timer(nullptr, nullptr);
    outer.run([&] {
      inner_timer = ctx.cancellation_scope([&] { return ctx.timer(1h); });
      shielded_timer = ctx.non_cancellable([&] { return ctx.timer(2h); });
    });
    ctx.sleep(1s);
    outer.cancel();
    return inner_timer.ready() && !shielded_timer.ready();
  };
  HistoryBuilder h("wf");
  record(h, replay(wf, feature_info(), h.events()).commands);
  h.timer_fired("3").workflow_task();
  ReplayResult r = replay(wf, feature_info(), h.events());
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_CANCEL_TIMER,
                                    v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  EXPECT_EQ(r.commands[0].cancel_timer_command_attributes().timer_id(), "1");
  EXPECT_TRUE(completed_with<bool>(r));
}

// On cancellation, runs a clean-up activity in a non-cancellable scope, then lets the
// cancellation end the workflow.
std::string with_cleanup(WorkflowContext& ctx) {
  try {
    return ctx.activity<std::string>("work", {.start_to_close = 1h}).get();
  } catch (const CanceledError&) {
    ctx.non_cancellable([&] {
      ctx.activity<std::string>("cleanup", {.start_to_close = 5s}).get();
    });
    throw;
  }
}

TEST(CancellationTest, ANonCancellableScopeRunsCleanUpAfterTheWorkflowIsCanceled) {
  HistoryBuilder h("wf");
  auto ids = record(h, replay(&with_cleanup, feature_info(), h.events()).commands);
  h.cancel_requested().workflow_task();
  ReplayResult r = replay(&with_cleanup, feature_info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
                                    v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK));
  EXPECT_EQ(r.commands[1].schedule_activity_task_command_attributes().activity_type().name(),
            "cleanup");
  auto more = record(h, r.commands);
  h.activity_completed(more.at("2"), std::string("cleaned")).workflow_task();
  ReplayResult done = replay(&with_cleanup, feature_info(), h.events());
  ASSERT_FALSE(done.task_failed) << done.failure.message();
  ASSERT_THAT(types(done), ElementsAre(v1::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION));
}

}  // namespace
}  // namespace cairn::testing
