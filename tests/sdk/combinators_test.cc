// all_of / any_of / await_condition with hand-built histories: what each waits for, the order
// in which they resolve, and await_condition's durable timeout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cairn/combinators.h"
#include "sdk/feature_test_util.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

ActivityOptions opts() { return {.start_to_close = 5s}; }

std::string race(WorkflowContext& ctx) {
  auto a = ctx.activity<std::string>("a", opts());
  auto b = ctx.activity<std::string>("b", opts());
  size_t i = any_of(a, b);
  return std::to_string(i) + ":" + (i == 0 ? a.get() : b.get());
}

TEST(CombinatorsTest, AnyOfReturnsTheIndexOfTheFirstReadyFuture) {
  HistoryBuilder h("race");
  ReplayResult first = replay(&race, feature_info(), h.events());
  ASSERT_THAT(types(first), ElementsAre(v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
                                        v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK));
  auto ids = record(h, first.commands);
  HistoryBuilder both = h;
  h.activity_completed(ids.at("2"), std::string("B")).workflow_task();
  ReplayResult r = replay(&race, feature_info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  EXPECT_EQ(completed_with<std::string>(r), "1:B");

  // Both ready in the same task: the lowest index wins, whatever the event order.
  both.activity_completed(ids.at("2"), std::string("B"));
  both.activity_completed(ids.at("1"), std::string("A")).workflow_task();
  EXPECT_EQ(completed_with<std::string>(replay(&race, feature_info(), both.events())), "0:A");
}

TEST(CombinatorsTest, AllOfWaitsForEveryFuture) {
  auto wf = [](WorkflowContext& ctx) {
    std::vector<Future<int>> fs;
    for (const char* t : {"x", "y", "z"}) {
      fs.push_back(ctx.activity<int>(t, opts()));
    }
    auto timer = ctx.timer(1s);
    all_of(fs[0], timer);  // variadic, mixed types
    int first = fs[0].get();
    std::vector<int> all = all_of(fs);
    return first * 1000 + all[0] + all[1] + all[2];
  };
  HistoryBuilder h("wf");
  ReplayResult first = replay(wf, feature_info(), h.events());
  ASSERT_EQ(first.commands.size(), 4u);
  auto ids = record(h, first.commands);
  h.activity_completed(ids.at("1"), 1).workflow_task();
  EXPECT_TRUE(replay(wf, feature_info(), h.events()).commands.empty());  // timer still out
  h.task_completed();
  h.timer_fired("4").activity_completed(ids.at("3"), 30).workflow_task();
  EXPECT_TRUE(replay(wf, feature_info(), h.events()).commands.empty());  // y still out
  h.task_completed();
  h.activity_completed(ids.at("2"), 20).workflow_task();
  ReplayResult r = replay(wf, feature_info(), h.events());
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  EXPECT_EQ(completed_with<int>(r), 1051);
}

TEST(CombinatorsTest, AllOfOverAVectorThrowsTheFirstFailureByIndex) {
  auto wf = [](WorkflowContext& ctx) {
    std::vector<Future<int>> fs{ctx.activity<int>("ok", opts()), ctx.activity<int>("bad", opts())};
    try {
      all_of(fs);
      return std::string("no error");
    } catch (const ActivityError& e) {
      return e.activity_type();
    }
  };
  HistoryBuilder h("wf");
  auto ids = record(h, replay(wf, feature_info(), h.events()).commands);
  h.activity_failed(ids.at("2"), "boom", "Boom");
  h.activity_completed(ids.at("1"), 1).workflow_task();
  EXPECT_EQ(completed_with<std::string>(replay(wf, feature_info(), h.events())), "bad");
}

// Waits until the activity is done, for at most 10 s of durable time.
std::string condition(WorkflowContext& ctx) {
  auto f = ctx.activity<int>("work", opts());
  bool done = ctx.await_condition([&] { return f.ready(); }, 10s);
  return done ? "done " + std::to_string(f.get()) : std::string("timed out");
}

TEST(CombinatorsTest, AwaitConditionIsReevaluatedAsEventsArriveAndCancelsItsTimer) {
  HistoryBuilder h("wf");
  ReplayResult first = replay(&condition, feature_info(), h.events());
  ASSERT_THAT(types(first),
              ElementsAre(v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, v1::COMMAND_TYPE_START_TIMER));
  EXPECT_EQ(first.commands[1].start_timer_command_attributes().start_to_fire_timeout_ms(), 10000);
  auto ids = record(h, first.commands);
  HistoryBuilder timeout = h;
  h.activity_completed(ids.at("1"), 7).workflow_task();
  ReplayResult r = replay(&condition, feature_info(), h.events());
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_CANCEL_TIMER,
                                    v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  EXPECT_EQ(r.commands[0].cancel_timer_command_attributes().timer_id(), "2");
  EXPECT_EQ(completed_with<std::string>(r), "done 7");

  timeout.timer_fired("2", 10'000).workflow_task();
  EXPECT_EQ(completed_with<std::string>(replay(&condition, feature_info(), timeout.events())),
            "timed out");
}

TEST(CombinatorsTest, AwaitConditionWithoutTimeoutSeesSignals) {
  auto wf = [](WorkflowContext& ctx) {
    auto ch = ctx.signal_channel<int>("n");
    int sum = 0;
    int seen = 0;
    // The predicate drains the buffered signals: it reads workflow state only.
    ctx.await_condition([&] {
      while (auto v = ch.try_receive()) {
        sum += *v;
        ++seen;
      }
      return seen >= 2;
    });
    return sum;
  };
  HistoryBuilder h("wf");
  EXPECT_TRUE(replay(wf, feature_info(), h.events()).commands.empty());
  h.task_completed();
  h.signaled("n", 40).workflow_task();
  EXPECT_TRUE(replay(wf, feature_info(), h.events()).commands.empty());
  h.task_completed();
  h.signaled("n", 2).workflow_task();
  EXPECT_EQ(completed_with<int>(replay(wf, feature_info(), h.events())), 42);
}

}  // namespace
}  // namespace cairn::testing
