// Sticky execution rules: the next workflow task of a sticky run goes to the worker's own queue,
// falls back to the normal queue when not started in time, and stickiness ends when a task fails
// or times out, or when the worker resets it. Stickiness never writes events.
#include <gtest/gtest.h>

#include "history/transitions.h"
#include "tests/history/rules_test_util.h"

namespace cairn::rules_test {
namespace {

constexpr char kSticky[] = "orders/sticky/worker-1";

class StickyRulesTest : public RulesTest {
 protected:
  // Starts the run, and completes its first task from a worker that asks for stickiness.
  void SetUp() override {
    start();
    v1::TaskToken wft = start_wft();
    ASSERT_TRUE(complete_sticky(wft, {start_timer("t1", 1'000)}).ok());
  }

  Status complete_sticky(const v1::TaskToken& token, const std::vector<v1::Command>& commands,
                         int64_t timeout_ms = 2'000) {
    google::protobuf::RepeatedPtrField<v1::Command> cmds(commands.begin(), commands.end());
    return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      CAIRN_RETURN_IF_ERROR(set_sticky_queue(ms, kSticky, timeout_ms, limits_));
      return complete_workflow_task(ms, token, cmds, "worker-1", env, out);
    });
  }

  // Fires timer t1, which schedules the next workflow task.
  void wake() {
    auto t = find_timer(v1::TIMER_KIND_USER_TIMER);
    ASSERT_TRUE(t.has_value());
    ASSERT_TRUE(fire(*t).ok());
  }
};

TEST_F(StickyRulesTest, NextTaskGoesToTheStickyQueueWithAScheduleToStartTimer) {
  EXPECT_EQ(ms_.state().sticky_task_queue(), kSticky);
  wake();
  v1::TaskRecord task = pending_task(v1::TASK_KIND_WORKFLOW);
  EXPECT_EQ(task.task_queue(), kSticky);
  EXPECT_EQ(last_events().back().workflow_task_scheduled_event_attributes().task_queue(), kSticky);
  auto timer = find_timer(v1::TIMER_KIND_WORKFLOW_TASK_STICKY_SCHEDULE_TO_START);
  ASSERT_TRUE(timer.has_value());
  EXPECT_EQ(timer->fire_time_ms(), now_ + 2'000);
  EXPECT_EQ(timer->event_id(), task.scheduled_event_id());
  // Started from the sticky queue in time: the timer is stale.
  start_wft();
  auto fired = fire(*timer);
  ASSERT_TRUE(fired.ok());
  EXPECT_FALSE(*fired);
}

TEST_F(StickyRulesTest, NotStartedInTimeFallsBackToTheNormalQueueWithoutEvents) {
  wake();
  v1::TaskRecord sticky_task = pending_task(v1::TASK_KIND_WORKFLOW);
  size_t events_before = history_.size();
  auto timer = find_timer(v1::TIMER_KIND_WORKFLOW_TASK_STICKY_SCHEDULE_TO_START);
  ASSERT_TRUE(timer.has_value());
  auto fired = fire(*timer);
  ASSERT_TRUE(fired.ok());
  EXPECT_TRUE(*fired);
  EXPECT_EQ(history_.size(), events_before);  // no events
  EXPECT_TRUE(ms_.state().sticky_task_queue().empty());
  ASSERT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 1);
  v1::TaskRecord normal = pending_task(v1::TASK_KIND_WORKFLOW);
  EXPECT_EQ(normal.task_queue(), "orders");
  EXPECT_EQ(normal.scheduled_event_id(), sticky_task.scheduled_event_id());
  // The sticky record, still in a matcher's memory, cannot start the task.
  Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
    return start_workflow_task(ms, sticky_task, "worker-1", "", env, out).status();
  });
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  // The normal one can.
  Status ok = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
    return start_workflow_task(ms, normal, "worker-2", "", env, out).status();
  });
  EXPECT_TRUE(ok.ok()) << ok.to_string();
}

TEST_F(StickyRulesTest, AFailedTaskEndsStickinessAndItsRetryUsesTheNormalQueue) {
  wake();
  v1::TaskToken wft = start_wft();
  v1::Failure failure;
  failure.set_message("non-determinism");
  ASSERT_TRUE(transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
                return fail_workflow_task(ms, wft, v1::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED,
                                          failure, "worker-1", env, out);
              }).ok());
  EXPECT_TRUE(ms_.state().sticky_task_queue().empty());
  EXPECT_EQ(pending_task(v1::TASK_KIND_WORKFLOW).task_queue(), "orders");
}

TEST_F(StickyRulesTest, ResetMovesAWaitingTaskToTheNormalQueue) {
  wake();
  size_t events_before = history_.size();
  Result<bool> reset = false;
  ASSERT_TRUE(transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
                reset = reset_sticky_queue(ms, env, out);
                return reset.status();
              }).ok());
  EXPECT_TRUE(*reset);
  EXPECT_EQ(history_.size(), events_before);
  ASSERT_EQ(count_tasks(v1::TASK_KIND_WORKFLOW), 1);
  EXPECT_EQ(pending_task(v1::TASK_KIND_WORKFLOW).task_queue(), "orders");
  // A second reset has nothing to do.
  ASSERT_TRUE(transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
                reset = reset_sticky_queue(ms, env, out);
                return reset.status();
              }).ok());
  EXPECT_FALSE(*reset);
}

TEST_F(StickyRulesTest, InvalidStickyAttributesAreRejectedAndChangeNothing) {
  wake();
  v1::TaskToken wft = start_wft();
  v1::RunState before = ms_.state();
  for (auto [queue, timeout] : std::vector<std::pair<std::string, int64_t>>{
           {"", 1000}, {"orders", 1000}, {"q", -1}, {"q", 3'600'000}}) {
    Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      CAIRN_RETURN_IF_ERROR(set_sticky_queue(ms, queue, timeout, limits_));
      return complete_workflow_task(ms, wft, {}, "worker-1", env, out);
    });
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << queue << " " << timeout;
    EXPECT_NE(st.message().find("sticky_attributes"), std::string::npos) << st.message();
  }
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(before, ms_.state()));
}

}  // namespace
}  // namespace cairn::rules_test
