// ScheduleOptions as the user writes them: every bad field is refused before any RPC with an
// OptionsError naming that field (the spec checked by the server's own rules, so a bad cron says
// where it is wrong), and good options become exactly the proto the server receives, and back.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cairn/client.h"
#include "cairn/schedule.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

ScheduleTime at(int64_t epoch_s) { return ScheduleTime(std::chrono::seconds(epoch_s)); }

ScheduleOptions good() {
  ScheduleOptions o;
  o.spec.cron = {"0 22 * * *"};
  o.spec.time_zone = "Europe/Paris";
  o.action = ScheduleAction::start_workflow("scale_down", {.task_queue = "ops"}, "pool-a");
  return o;
}

struct BadCase {
  std::string name;
  std::function<void(ScheduleOptions&)> edit;
  std::string field;
  std::string message;  // a part of the message
  std::string schedule_id = "nightly";
};

std::vector<BadCase> bad_cases() {
  return {
      {"cron out of range",
       [](auto& o) {
         o.spec.cron = {"@daily", "0 25 * * *"};
       },
       "spec.cron[1]", "column 3"},
      {"cron with a zero step", [](auto& o) { o.spec.cron = {"*/0 * * * *"}; }, "spec.cron[0]",
       "step"},
      {"cron with seven fields", [](auto& o) { o.spec.cron = {"0 0 * * * * *"}; }, "spec.cron[0]",
       "7 fields"},
      {"cron that never fires", [](auto& o) { o.spec.cron = {"0 0 30 2 *"}; }, "spec.cron[0]",
       "never fires"},
      {"unknown time zone", [](auto& o) { o.spec.time_zone = "Mars/Olympus"; }, "spec.time_zone",
       "Mars/Olympus"},
      {"interval of zero", [](auto& o) { o.spec.intervals = {{.every = 0ms}}; },
       "spec.intervals[0].every", "spec.intervals[0].every"},
      {"offset not below the interval",
       [](auto& o) {
         o.spec.intervals = {{.every = 1h}, {.every = 1h, .offset = 1h}};
       },
       "spec.intervals[1].offset", "spec.intervals[1].offset"},
      {"end before start",
       [](auto& o) {
         o.spec.start_at = at(2'000'000'000);
         o.spec.end_at = at(1'900'000'000);
       },
       "spec.end_at", "spec.start_at"},
      {"negative jitter", [](auto& o) { o.spec.jitter = -1s; }, "spec.jitter", "spec.jitter"},
      {"no workflow type", [](auto& o) { o.action.workflow_type = ""; }, "action.workflow_type",
       "required"},
      {"no task queue", [](auto& o) { o.action.workflow.task_queue = ""; },
       "action.workflow.task_queue", "action.workflow.task_queue is required"},
      {"workflow id with a control character",
       [](auto& o) { o.action.workflow.workflow_id = "a\nb"; }, "action.workflow.workflow_id",
       "control characters"},
      {"negative run timeout", [](auto& o) { o.action.workflow.run_timeout = -1s; },
       "action.workflow.run_timeout", "must not be negative"},
      {"task timeout over 120 s", [](auto& o) { o.action.workflow.task_timeout = 121s; },
       "action.workflow.task_timeout", "at most 120000 ms"},
      {"bad retry policy",
       [](auto& o) { o.action.workflow.retry = RetryPolicy{.maximum_attempts = -1}; },
       "action.workflow.retry.maximum_attempts", "must not be negative"},
      {"bad action search attribute",
       [](auto& o) { o.action.workflow.search_attributes["Bad-Name"] = to_payload(1); },
       "action.workflow.search_attributes[Bad-Name]", "not a valid search attribute name"},
      {"bad schedule search attribute",
       [](auto& o) { o.search_attributes["WorkflowId"] = to_payload("x"); },
       "search_attributes[WorkflowId]", "system attribute"},
      {"catch-up window under a second", [](auto& o) { o.catchup_window = 500ms; },
       "catchup_window", "catchup_window"},
      {"negative remaining actions", [](auto& o) { o.remaining_actions = -1; }, "remaining_actions",
       ">= 0"},
      {"no schedule id", [](auto&) {}, "schedule_id", "required", ""},
  };
}

TEST(ScheduleOptionsTest, EachBadFieldIsRefusedNamingIt) {
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    ScheduleOptions o = good();
    c.edit(o);
    try {
      check_schedule_options(c.schedule_id, o);
      ADD_FAILURE() << "accepted";
    } catch (const OptionsError& e) {
      EXPECT_EQ(e.field(), c.field) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(c.message));
      EXPECT_THAT(e.what(), HasSubstr("schedule \"" + c.schedule_id + "\" options: "));
      EXPECT_EQ(e.type(), "InvalidOptions");
    }
  }
}

TEST(ScheduleOptionsTest, ABadCronSaysWhereItIsWrongInTheOptionsNames) {
  ScheduleOptions o = good();
  o.spec.cron = {"0 25 * * *"};
  try {
    check_schedule_options("nightly", o);
    FAIL() << "accepted";
  } catch (const OptionsError& e) {
    // The server's message, with the options' field name instead of the proto's.
    EXPECT_THAT(e.what(), HasSubstr("spec.cron[0]: \"0 25 * * *\": hour \"25\" at column 3"));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("cron_expressions")));
  }
}

TEST(ScheduleOptionsTest, GoodOptionsPass) {
  ScheduleOptions o = good();
  o.spec.cron = {"0 22 * * *", "0 7 * * mon-fri", "@hourly"};
  o.spec.intervals = {{.every = 90min, .offset = 15min}};
  o.spec.start_at = at(1'900'000'000);
  o.spec.end_at = at(2'000'000'000);
  o.spec.jitter = 30s;
  o.catchup_window = 10min;
  o.remaining_actions = 0;
  EXPECT_NO_THROW(check_schedule_options("nightly-scale-down", o));
}

TEST(ScheduleOptionsTest, ConvertsToTheProtoTheServerReceives) {
  ScheduleOptions o;
  o.spec.cron = {"0 22 * * *"};
  o.spec.intervals = {{.every = 1h, .offset = 15min}};
  o.spec.time_zone = "America/New_York";
  o.spec.start_at = at(1'900'000'000);
  o.spec.end_at = at(2'000'000'000);
  o.spec.jitter = 2s;
  o.action = ScheduleAction::start_workflow(
      "scale_down",
      {.task_queue = "ops",
       .workflow_id = "scale",
       .execution_timeout = 1h,
       .run_timeout = 30min,
       .task_timeout = 20s,
       .retry = RetryPolicy{.initial_interval = 2s, .maximum_attempts = 3},
       .memo = {{"owner", to_payload("sre")}},
       .search_attributes = {{"Pool", to_payload("gpu-a")}}},
      "pool-a", 0);
  o.overlap = ScheduleOverlap::kBufferAll;
  o.catchup_window = 10min;
  o.pause_on_failure = true;
  o.paused = true;
  o.note = "waiting for the freeze to end";
  o.remaining_actions = 7;

  v1::Schedule s = to_proto(o);
  EXPECT_EQ(s.spec().cron_expressions_size(), 1);
  EXPECT_EQ(s.spec().cron_expressions(0), "0 22 * * *");
  ASSERT_EQ(s.spec().intervals_size(), 1);
  EXPECT_EQ(s.spec().intervals(0).every_ms(), 3'600'000);
  EXPECT_EQ(s.spec().intervals(0).phase_ms(), 900'000);
  EXPECT_EQ(s.spec().time_zone(), "America/New_York");
  EXPECT_EQ(s.spec().start_time_ms(), 1'900'000'000'000);
  EXPECT_EQ(s.spec().end_time_ms(), 2'000'000'000'000);
  EXPECT_EQ(s.spec().jitter_ms(), 2'000);
  EXPECT_EQ(s.action().workflow_type().name(), "scale_down");
  EXPECT_EQ(s.action().task_queue(), "ops");
  EXPECT_EQ(s.action().workflow_id(), "scale");
  ASSERT_EQ(s.action().input().payloads_size(), 2);
  EXPECT_EQ(s.action().input().payloads(0).data(), "\"pool-a\"");
  EXPECT_EQ(s.action().input().payloads(1).data(), "0");
  EXPECT_EQ(s.action().workflow_execution_timeout_ms(), 3'600'000);
  EXPECT_EQ(s.action().workflow_run_timeout_ms(), 1'800'000);
  EXPECT_EQ(s.action().workflow_task_timeout_ms(), 20'000);
  EXPECT_EQ(s.action().retry_policy().initial_interval_ms(), 2'000);
  EXPECT_EQ(s.action().retry_policy().maximum_attempts(), 3);
  EXPECT_EQ(s.action().memo().at("owner").data(), "\"sre\"");
  EXPECT_EQ(s.action().search_attributes().at("Pool").data(), "\"gpu-a\"");
  EXPECT_EQ(s.policies().overlap_policy(), v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL);
  EXPECT_EQ(s.policies().catchup_window_ms(), 600'000);
  EXPECT_TRUE(s.policies().pause_on_failure());
  EXPECT_TRUE(s.paused());
  EXPECT_EQ(s.notes(), "waiting for the freeze to end");
  EXPECT_TRUE(s.limited_actions());
  EXPECT_EQ(s.remaining_actions(), 7);

  // And back: what describe() hands to update().
  ScheduleOptions back = schedule_options_from_proto(s);
  EXPECT_EQ(back.spec.cron, o.spec.cron);
  ASSERT_EQ(back.spec.intervals.size(), 1u);
  EXPECT_EQ(back.spec.intervals[0].every, 1h);
  EXPECT_EQ(back.spec.intervals[0].offset, 15min);
  EXPECT_EQ(back.spec.start_at, o.spec.start_at);
  EXPECT_EQ(back.spec.end_at, o.spec.end_at);
  EXPECT_EQ(back.spec.jitter, 2s);
  EXPECT_EQ(back.action.workflow.retry->maximum_attempts, 3);
  EXPECT_EQ(back.action.workflow.task_timeout, 20s);
  EXPECT_EQ(back.overlap, ScheduleOverlap::kBufferAll);
  EXPECT_EQ(back.remaining_actions, 7);
  EXPECT_TRUE(back.paused);
  EXPECT_EQ(to_proto(back).SerializeAsString(), s.SerializeAsString());
}

TEST(ScheduleOptionsTest, UnsetFieldsAreTheProtosDefaults) {
  v1::Schedule s = to_proto(good());
  EXPECT_EQ(s.spec().start_time_ms(), 0) << "no lower bound";
  EXPECT_EQ(s.spec().end_time_ms(), 0) << "no upper bound";
  EXPECT_FALSE(s.limited_actions()) << "no limit on the actions";
  EXPECT_FALSE(s.action().has_retry_policy()) << "the workflow is not retried";
  EXPECT_EQ(s.policies().overlap_policy(), v1::SCHEDULE_OVERLAP_POLICY_SKIP);
  EXPECT_EQ(s.policies().catchup_window_ms(), 0) << "the server's default, one year";
  ScheduleOptions back = schedule_options_from_proto(s);
  EXPECT_FALSE(back.spec.start_at.has_value());
  EXPECT_FALSE(back.remaining_actions.has_value());
  EXPECT_FALSE(back.action.workflow.retry.has_value());
}

TEST(ScheduleOptionsTest, EveryOverlapPolicyMapsBothWays) {
  const std::vector<std::pair<ScheduleOverlap, v1::ScheduleOverlapPolicy>> pairs = {
      {ScheduleOverlap::kSkip, v1::SCHEDULE_OVERLAP_POLICY_SKIP},
      {ScheduleOverlap::kBufferOne, v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE},
      {ScheduleOverlap::kBufferAll, v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL},
      {ScheduleOverlap::kCancelOther, v1::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER},
      {ScheduleOverlap::kTerminateOther, v1::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER},
      {ScheduleOverlap::kAllowAll, v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL},
  };
  for (const auto& [sdk, proto] : pairs) {
    EXPECT_EQ(to_proto(sdk), proto);
    EXPECT_EQ(overlap_from_proto(proto), sdk);
  }
  EXPECT_EQ(overlap_from_proto(v1::SCHEDULE_OVERLAP_POLICY_UNSPECIFIED), ScheduleOverlap::kSkip);
}

// The client refuses before sending: against an address where nothing listens, a bad option is
// an OptionsError, never the RpcError (UNAVAILABLE) an attempted call would give.
TEST(ScheduleOptionsTest, TheClientChecksBeforeAnyRpc) {
  ClientOptions co;
  co.address = "127.0.0.1:1";
  co.unavailable_retry_deadline = 0ms;
  Client client(co);
  ScheduleOptions o = good();
  o.spec.cron = {"61 * * * *"};
  EXPECT_THROW(client.create_schedule("nightly", o), OptionsError);
  EXPECT_THROW(client.schedule_handle("nightly").update(o), OptionsError);
  try {
    client.schedule_handle("nightly").backfill(at(2'000'000'000), at(1'900'000'000));
    FAIL() << "accepted";
  } catch (const OptionsError& e) {
    EXPECT_EQ(e.field(), "end");
    EXPECT_THAT(e.what(), HasSubstr("before its start"));
  }
  // Good options do reach the RPC (and find no server).
  EXPECT_THROW(client.create_schedule("nightly", good()), RpcError);
}

}  // namespace
}  // namespace cairn::testing
