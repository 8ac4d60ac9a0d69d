#include "proto/enum_names.h"

#include <gtest/gtest.h>

#include "cairn/v1/command.pb.h"

namespace cairn {
namespace {

TEST(EnumCamelCaseTest, DropsThePrefixAndJoinsTheWords) {
  EXPECT_EQ(enum_camel_case(v1::CommandType_Name(v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK),
                            "COMMAND_TYPE_"),
            "ScheduleActivityTask");
  EXPECT_EQ(enum_camel_case(v1::EventType_Name(v1::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT),
                            "EVENT_TYPE_"),
            "WorkflowTaskTimedOut");
  // A name without the prefix keeps all its words; an empty name stays empty.
  EXPECT_EQ(enum_camel_case("BAD_COMMAND", "EVENT_TYPE_"), "BadCommand");
  EXPECT_EQ(enum_camel_case("", "EVENT_TYPE_"), "");
}

TEST(TaskFailureNameTest, NamesTheCauseOrTheTimeout) {
  v1::WorkflowTaskFailureInfo f;
  f.set_cause(v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND);
  EXPECT_EQ(task_failure_name(f), "BadCommand");
  f.set_cause(v1::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE);
  EXPECT_EQ(task_failure_name(f), "WorkerUnhandledFailure");
  f.set_cause(v1::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED);
  EXPECT_EQ(task_failure_name(f), "Unspecified");
  f.set_timed_out(true);
  EXPECT_EQ(task_failure_name(f), "TimedOut");
}

}  // namespace
}  // namespace cairn
