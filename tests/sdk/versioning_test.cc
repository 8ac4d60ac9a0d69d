// Versioning with hand-built histories: patched() takes the new path on a first execution (and
// records a Version marker), the old path when replaying a task recorded without the marker, the
// new path when replaying a task recorded with it; deprecate_patch() records without branching,
// and a Version marker whose call was removed from the code is skipped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sdk/feature_test_util.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

// v1 of a workflow: one activity. v2 adds a patch that calls a different activity.
std::string v1_code(WorkflowContext& ctx) {
  return ctx.activity<std::string>("old_step", {.start_to_close = 5s}).get();
}
std::string v2_code(WorkflowContext& ctx) {
  if (ctx.patched("use-new-step")) {
    return ctx.activity<std::string>("new_step", {.start_to_close = 5s}).get();
  }
  return ctx.activity<std::string>("old_step", {.start_to_close = 5s}).get();
}

std::string patch_id(const v1::Command& c) {
  return from_payloads<std::string>(c.record_marker_command_attributes().details().at("id"));
}

TEST(VersioningTest, PatchedIsTrueOnAFirstExecutionAndRecordsAVersionMarker) {
  HistoryBuilder h("wf");
  ReplayResult r = replay(&v2_code, feature_info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_RECORD_MARKER,
                                    v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK));
  EXPECT_EQ(r.commands[0].record_marker_command_attributes().marker_name(), "Version");
  EXPECT_EQ(patch_id(r.commands[0]), "use-new-step");
  EXPECT_EQ(r.commands[1].schedule_activity_task_command_attributes().activity_type().name(),
            "new_step");
}

TEST(VersioningTest, ReplayingAHistoryRecordedByOldCodeTakesTheOldPath) {
  // Recorded by v1: no marker; then the activity completed.
  HistoryBuilder h("wf");
  ReplayResult first = replay(&v1_code, feature_info(), h.events());
  auto ids = record(h, first.commands);
  h.activity_completed(ids.at("1"), std::string("old result")).workflow_task();

  ReplayResult r = replay(&v2_code, feature_info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  EXPECT_EQ(completed_with<std::string>(r), "old result");
}

TEST(VersioningTest, ReplayingAHistoryRecordedByNewCodeTakesTheNewPath) {
  HistoryBuilder h("wf");
  ReplayResult first = replay(&v2_code, feature_info(), h.events());
  auto ids = record(h, first.commands);
  h.activity_completed(ids.at("1"), std::string("new result")).workflow_task();

  ReplayResult r = replay(&v2_code, feature_info(), h.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  EXPECT_EQ(completed_with<std::string>(r), "new result");
  // Old code cannot replay it: the marker is skipped, but the activity differs.
  ReplayResult old = replay(&v1_code, feature_info(), h.events());
  ASSERT_TRUE(old.task_failed);
  EXPECT_EQ(old.cause, v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
}

TEST(VersioningTest, TheAnswerIsRememberedForTheRunAndRecordedOnce) {
  auto twice = [](WorkflowContext& ctx) {
    bool a = ctx.patched("p");
    ctx.sleep(1s);
    bool b = ctx.patched("p");
    return std::to_string(a) + std::to_string(b);
  };
  HistoryBuilder h("wf");
  ReplayResult first = replay(twice, feature_info(), h.events());
  ASSERT_THAT(types(first),
              ElementsAre(v1::COMMAND_TYPE_RECORD_MARKER, v1::COMMAND_TYPE_START_TIMER));
  record(h, first.commands);
  h.timer_fired("1").workflow_task();
  ReplayResult r = replay(twice, feature_info(), h.events());
  ASSERT_THAT(types(r), ElementsAre(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  EXPECT_EQ(completed_with<std::string>(r), "11");

  // A run that started before the patch: false in the old task, and still false afterwards.
  auto old_code = [](WorkflowContext& ctx) {
    ctx.sleep(1s);
    return std::string("old");
  };
  HistoryBuilder o("wf");
  record(o, replay(old_code, feature_info(), o.events()).commands);
  o.timer_fired("1").workflow_task();
  auto late = [](WorkflowContext& ctx) {
    bool a = ctx.patched("p");
    ctx.sleep(1s);
    bool b = ctx.patched("p");
    return std::to_string(a) + std::to_string(b);
  };
  ReplayResult lr = replay(late, feature_info(), o.events());
  ASSERT_FALSE(lr.task_failed) << lr.failure.message();
  ASSERT_THAT(types(lr), ElementsAre(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION));
  EXPECT_EQ(completed_with<std::string>(lr), "00");
}

TEST(VersioningTest, DeprecatePatchRecordsTheMarkerWithoutBranching) {
  auto deprecated = [](WorkflowContext& ctx) {
    ctx.deprecate_patch("use-new-step");
    return ctx.activity<std::string>("new_step", {.start_to_close = 5s}).get();
  };
  HistoryBuilder h("wf");
  ReplayResult first = replay(deprecated, feature_info(), h.events());
  ASSERT_THAT(types(first), ElementsAre(v1::COMMAND_TYPE_RECORD_MARKER,
                                        v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK));
  EXPECT_EQ(patch_id(first.commands[0]), "use-new-step");
  EXPECT_TRUE(from_payloads<bool>(
      first.commands[0].record_marker_command_attributes().details().at("deprecated")));

  // Histories of v2 (with the marker) replay under the deprecated code...
  HistoryBuilder v2("wf");
  auto ids = record(v2, replay(&v2_code, feature_info(), v2.events()).commands);
  v2.activity_completed(ids.at("1"), std::string("new")).workflow_task();
  ReplayResult r = replay(deprecated, feature_info(), v2.events());
  ASSERT_FALSE(r.task_failed) << r.failure.message();
  EXPECT_EQ(completed_with<std::string>(r), "new");
  // ...and under code that dropped the call altogether: the marker is skipped.
  auto cleaned = [](WorkflowContext& ctx) {
    return ctx.activity<std::string>("new_step", {.start_to_close = 5s}).get();
  };
  ReplayResult c = replay(cleaned, feature_info(), v2.events());
  ASSERT_FALSE(c.task_failed) << c.failure.message();
  EXPECT_EQ(completed_with<std::string>(c), "new");
}

TEST(VersioningTest, SideEffectIsRunOnceAndItsMarkerReplayedNotRecomputed) {
  int calls = 0;
  auto wf = [&](WorkflowContext& ctx) {
    int v = ctx.side_effect<int>([&] { return ++calls * 100; });
    ctx.sleep(1s);
    return v;
  };
  HistoryBuilder h("wf");
  ReplayResult first = replay(wf, feature_info(), h.events());
  ASSERT_THAT(types(first),
              ElementsAre(v1::COMMAND_TYPE_RECORD_MARKER, v1::COMMAND_TYPE_START_TIMER));
  EXPECT_EQ(calls, 1);
  record(h, first.commands);
  h.timer_fired("1").workflow_task();
  ReplayResult r = replay(wf, feature_info(), h.events());
  EXPECT_EQ(calls, 1);  // replayed from the marker
  EXPECT_EQ(completed_with<int>(r), 100);
}

}  // namespace
}  // namespace cairn::testing
