// Incremental replay (what a worker's cache of live runs relies on): feeding a Replayer each
// task's new events gives, at every task, exactly the commands a fresh full replay gives, while
// the workflow code runs once instead of once per task. And the fiber machinery underneath:
// a fiber suspended inside a catch block can rethrow after being resumed on another thread.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "sdk/feature_test_util.h"
#include "worker-sdk/src/fiber.h"  // cairn_sdk_internal_for_testing

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> serialized(const ReplayResult& r) {
  std::vector<std::string> out;
  for (const auto& c : r.commands) {
    out.push_back(c.DebugString());
  }
  return out;
}

// The events of `all` from event id `from` on.
std::vector<v1::HistoryEvent> from_event(const std::vector<v1::HistoryEvent>& all, int64_t from) {
  std::vector<v1::HistoryEvent> out;
  for (const auto& e : all) {
    if (e.event_id() >= from) {
      out.push_back(e);
    }
  }
  return out;
}

TEST(StickyReplayTest, EachTasksNewEventsGiveTheSameCommandsAsAFullReplayAndTheCodeRunsOnce) {
  int live_starts = 0;  // how often the cached run's code started
  int full_starts = 0;  // how often the fresh replays' code started
  auto make = [](int* starts) {
    return [starts](WorkflowContext& ctx) {
      ++*starts;
      std::string id = ctx.uuid();
      int r = ctx.side_effect<int>([] { return 7; });
      bool v2 = ctx.patched("v2");
      auto a = ctx.activity<std::string>("fetch", std::string("doc"), {.start_to_close = 5s}).get();
      ctx.sleep(2s);
      std::string go = ctx.signal<std::string>("go").wait();
      try {
        ctx.activity<void>("flaky", {.start_to_close = 5s}).get();
      } catch (const ActivityError&) {
        // Suspended inside the handler: the fiber's caught exception must survive the switch.
        ctx.sleep(1s);
        a += "+recovered";
      }
      return a + "|" + std::to_string(r) + "|" + (v2 ? "v2" : "v1") + "|" + go + "|" +
             std::to_string(id.size());
    };
  };
  auto live_fn = detail::adapt<WorkflowContext>(make(&live_starts));
  auto full_fn = detail::adapt<WorkflowContext>(make(&full_starts));
  detail::Replayer live(live_fn, feature_info());

  HistoryBuilder h("agent");
  std::string result;
  for (int task = 0; task < 10 && result.empty(); ++task) {
    const int64_t from = live.next_event_id() == 0 ? 1 : live.next_event_id();
    ReplayResult inc = live.replay(from_event(h.events(), from));
    detail::Replayer fresh(full_fn, feature_info());
    ReplayResult full = fresh.replay(h.events());
    ASSERT_FALSE(inc.task_failed) << inc.failure.message();
    ASSERT_FALSE(full.task_failed) << full.failure.message();
    ASSERT_EQ(serialized(inc), serialized(full)) << "task " << task;
    ASSERT_FALSE(inc.commands.empty());
    if (inc.commands.back().command_type() == v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION) {
      result = completed_with<std::string>(inc);
      EXPECT_TRUE(live.closed());
      break;
    }
    // What the server would record for the commands, then what happens next in the world.
    auto scheduled = record(h, inc.commands);
    for (const auto& c : inc.commands) {
      if (c.command_type() == v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK) {
        const auto& a = c.schedule_activity_task_command_attributes();
        if (a.activity_type().name() == "fetch") {
          h.activity_completed(scheduled[a.activity_id()], std::string("DOC"));
        } else {
          h.activity_failed(scheduled[a.activity_id()], "boom", "Boom");
        }
      } else if (c.command_type() == v1::COMMAND_TYPE_START_TIMER) {
        h.timer_fired(c.start_timer_command_attributes().timer_id());
        if (c.start_timer_command_attributes().start_to_fire_timeout_ms() == 2000) {
          h.signaled("go", std::string("now"));
        }
      }
    }
    h.workflow_task();
  }
  EXPECT_EQ(result, "DOC+recovered|7|v2|now|36");
  EXPECT_EQ(live_starts, 1);
  EXPECT_GT(full_starts, 4);  // once per task
}

TEST(StickyReplayTest, EventsThatDoNotContinueTheCachedRunAreRefused) {
  auto fn = detail::adapt<WorkflowContext>([](WorkflowContext& ctx) {
    return ctx.activity<int>("a", {.start_to_close = 5s}).get();
  });
  detail::Replayer r(fn, feature_info());
  HistoryBuilder h("wf");
  ReplayResult first = r.replay(h.events());
  ASSERT_FALSE(first.task_failed);
  EXPECT_EQ(r.next_event_id(), h.last_started() + 1);
  auto scheduled = record(h, first.commands);
  h.activity_completed(scheduled["1"], 5).workflow_task();
  // Skipping the WorkflowTaskCompleted event: a gap the worker must answer with a full replay.
  EXPECT_THROW(r.replay(from_event(h.events(), r.next_event_id() + 1)), std::logic_error);
}

TEST(StickyReplayTest, NonDeterminismInALaterBatchNamesTheEvent) {
  auto fn = detail::adapt<WorkflowContext>([](WorkflowContext& ctx) {
    ctx.activity<int>("a", {.start_to_close = 5s}).get();
    return ctx.activity<int>("b", {.start_to_close = 5s}).get();
  });
  detail::Replayer r(fn, feature_info());
  HistoryBuilder h("wf");
  auto scheduled = record(h, r.replay(h.events()).commands);
  h.activity_completed(scheduled["1"], 1).workflow_task();
  int64_t from = r.next_event_id();
  ReplayResult second = r.replay(from_event(h.events(), from));
  ASSERT_EQ(second.commands.size(), 1u);
  // History records "c" where the code scheduled "b" (as if another worker with other code had
  // answered the task): the cached run fails the task at that event.
  h.task_completed();
  int64_t bad = h.activity_scheduled("c", "2");
  h.activity_completed(bad, 2).workflow_task();
  ReplayResult third = r.replay(from_event(h.events(), r.next_event_id()));
  ASSERT_TRUE(third.task_failed);
  EXPECT_EQ(third.cause, v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  ASSERT_TRUE(third.non_determinism.has_value());
  EXPECT_EQ(third.non_determinism->event_id, bad);
  EXPECT_TRUE(r.failed());
}

TEST(FiberTest, ACatchBlockSuspendedOnOneThreadRethrowsAfterResumingOnAnother) {
  detail::StackPool pool(64 * 1024);
  std::string seen;
  detail::Fiber* self = nullptr;
  detail::Fiber fiber(pool, [&] {
    try {
      try {
        throw std::runtime_error("inner");
      } catch (const std::exception&) {
        self->yield();  // suspended inside the handler
        throw;          // needs the fiber's own caught-exception stack
      }
    } catch (const std::runtime_error& e) {
      seen = e.what();
    }
  });
  self = &fiber;
  fiber.resume();
  // Meanwhile this thread throws and catches on its own.
  try {
    throw std::logic_error("outer");
  } catch (const std::logic_error&) {
    EXPECT_EQ(std::uncaught_exceptions(), 0);
  }
  std::thread other([&] { fiber.resume(); });
  other.join();
  EXPECT_TRUE(fiber.finished());
  EXPECT_EQ(seen, "inner");
}

TEST(FiberTest, DestroyingAFiberSuspendedInACatchBlockUnwindsIt) {
  detail::StackPool pool(64 * 1024);
  bool unwound = false;
  struct Flag {
    bool* f;
    ~Flag() { *f = true; }
  };
  {
    detail::Fiber* self = nullptr;
    auto fiber = std::make_unique<detail::Fiber>(pool, [&] {
      Flag flag{&unwound};
      try {
        throw std::runtime_error("x");
      } catch (const std::exception&) {
        self->yield();
      }
    });
    self = fiber.get();
    fiber->resume();
    std::thread other([&] { fiber.reset(); });
    other.join();
  }
  EXPECT_TRUE(unwound);
}

}  // namespace
}  // namespace cairn::testing
