// The history JSON export format (round trip, accepted and refused inputs) and cairn::Replayer
// over whole recorded runs: OK, a changed activity order, extra commands after the end of a
// closed history, unregistered types, bad files, encoded payloads.
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "cairn/history_json.h"
#include "cairn/replayer.h"
#include "sdk/history_builder.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using google::protobuf::util::MessageDifferencer;

std::string fetch_then_summarize(WorkflowContext& ctx, std::string in) {
  auto a = ctx.activity<std::string>("fetch", in, {.start_to_close = 5s}).get();
  return ctx.activity<std::string>("summarize", a, {.start_to_close = 5s}).get();
}
std::string summarize_then_fetch(WorkflowContext& ctx, std::string in) {
  auto a = ctx.activity<std::string>("summarize", in, {.start_to_close = 5s}).get();
  return ctx.activity<std::string>("fetch", a, {.start_to_close = 5s}).get();
}
std::string fetch_three_times(WorkflowContext& ctx, std::string in) {
  fetch_then_summarize(ctx, in);
  return ctx.activity<std::string>("fetch", in, {.start_to_close = 5s}).get();
}

// A closed run of fetch_then_summarize, as the server would record it.
HistoryBuilder closed_run() {
  HistoryBuilder h("flow", to_payloads(std::string("doc")));
  h.task_completed();
  int64_t s1 = h.activity_scheduled("fetch", "1");
  h.activity_completed(s1, std::string("DOC")).workflow_task().task_completed();
  int64_t s2 = h.activity_scheduled("summarize", "2");
  h.activity_completed(s2, std::string("summary")).workflow_task().task_completed();
  *h.add(v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
       .mutable_workflow_execution_completed_event_attributes()
       ->mutable_result() = to_payloads(std::string("summary"));
  return h;
}

TEST(HistoryJsonTest, ExportAndParseRoundTrip) {
  HistoryBuilder h = closed_run();
  h.marker("SideEffect", to_payloads(Bytes{std::string("\x00\xff", 2)}));
  std::string text = export_history_json(h.events(), "wf-1", "run-1");
  EXPECT_THAT(text, HasSubstr("\"format\": \"cairn.history.v1\""));
  EXPECT_THAT(text, HasSubstr("EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"));
  WorkflowHistory back = parse_history_json(text);
  EXPECT_EQ(back.workflow_id, "wf-1");
  EXPECT_EQ(back.run_id, "run-1");
  ASSERT_EQ(back.events.size(), h.events().size());
  for (size_t i = 0; i < back.events.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(back.events[i], h.events()[i])) << "event " << i + 1;
  }
}

TEST(HistoryJsonTest, SaveAndLoadAFile) {
  std::string path = ::testing::TempDir() + "/cairn-history-json-test.json";
  save_history_json(path, {"wf-2", "run-2", closed_run().events()});
  WorkflowHistory back = load_history_json(path);
  EXPECT_EQ(back.workflow_id, "wf-2");
  EXPECT_EQ(back.events.size(), closed_run().events().size());
  try {
    load_history_json(path + ".missing");
    ADD_FAILURE() << "loaded a missing file";
  } catch (const HistoryFormatError& e) {
    EXPECT_THAT(e.what(), HasSubstr(path + ".missing"));
  }
}

TEST(HistoryJsonTest, BareEventListsAreAcceptedAndBadInputIsExplained) {
  WorkflowHistory bare = parse_history_json(
      R"({"events": [{"eventId": "1", "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
                      "someFutureField": true}]})");
  ASSERT_EQ(bare.events.size(), 1u);
  EXPECT_EQ(bare.events[0].event_id(), 1);
  struct Case {
    std::string text;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"not json", "invalid JSON"},
           {"[1, 2]", "expected a JSON object"},
           {R"({"workflow_id": "x"})", "no \"events\" array"},
           {R"({"format": "other.v9", "events": []})", "unknown history format"},
           {R"({"events": [{"eventId": "1"}, {"eventType": 12.5}]})", "events[1]"},
       }) {
    try {
      parse_history_json(c.text);
      ADD_FAILURE() << "accepted " << c.text;
    } catch (const HistoryFormatError& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.error)) << c.text;
    }
  }
}

TEST(ReplayerToolTest, SameCodeReplaysOk) {
  Replayer r;
  r.register_workflow("flow", &fetch_then_summarize);
  r.register_activity("fetch", [](std::string s) { return s; });  // accepted, unused
  ReplayVerdict v = r.replay(closed_run().events(), "wf-1", "run-1");
  EXPECT_EQ(v.kind, ReplayVerdict::Kind::kOk) << v.message;
  EXPECT_EQ(v.message, "replay OK: " + std::to_string(closed_run().events().size()) + " events");
  EXPECT_EQ(v.workflow_type, "flow");
}

TEST(ReplayerToolTest, ChangedActivityOrderIsNonDeterminismAtTheFirstScheduledEvent) {
  Replayer r;
  r.register_workflow("flow", &summarize_then_fetch);
  HistoryBuilder h = closed_run();
  ReplayVerdict v = r.replay(h.events(), "wf-1", "run-1");
  ASSERT_EQ(v.kind, ReplayVerdict::Kind::kNonDeterminism) << v.message;
  ASSERT_TRUE(v.non_determinism);
  EXPECT_EQ(v.non_determinism->event_id, 5);  // the first ActivityTaskScheduled
  EXPECT_EQ(h.events()[4].event_type(), v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  EXPECT_THAT(v.non_determinism->expected, HasSubstr("fetch"));
  EXPECT_THAT(v.non_determinism->actual, HasSubstr("summarize"));
  EXPECT_THAT(v.message, HasSubstr("non-determinism at event 5: history has"));
}

TEST(ReplayerToolTest, CommandsPastTheEndOfAClosedHistoryAreNonDeterminism) {
  Replayer r;
  r.register_workflow("flow", &fetch_three_times);
  HistoryBuilder h = closed_run();
  // Cut off the completion: the history ends after the second activity's task completed.
  std::vector<v1::HistoryEvent> events(h.events().begin(), h.events().end() - 1);
  ReplayVerdict v = r.replay(events, "wf-1", "run-1");
  ASSERT_EQ(v.kind, ReplayVerdict::Kind::kNonDeterminism) << v.message;
  EXPECT_EQ(v.non_determinism->event_id, events.back().event_id() + 1);
  EXPECT_THAT(v.non_determinism->actual, HasSubstr("ScheduleActivityTask"));
  // While the last task is still running, its new commands are fine.
  HistoryBuilder open("flow", to_payloads(std::string("doc")));
  EXPECT_TRUE(r.replay(open.events(), "wf-1", "run-1").ok());
}

TEST(ReplayerToolTest, BadInputAndUnregisteredTypes) {
  Replayer r;
  r.register_workflow("flow", &fetch_then_summarize);
  EXPECT_EQ(r.replay(std::vector<v1::HistoryEvent>{}).kind, ReplayVerdict::Kind::kBadInput);
  HistoryBuilder other("other.flow");
  ReplayVerdict v = r.replay(other.events());
  EXPECT_EQ(v.kind, ReplayVerdict::Kind::kBadInput);
  EXPECT_THAT(v.message, HasSubstr("workflow type other.flow is not registered"));
  std::string path = ::testing::TempDir() + "/cairn-replayer-bad.json";
  std::ofstream(path) << "{ not json";
  EXPECT_EQ(r.replay_file(path).kind, ReplayVerdict::Kind::kBadInput);
}

TEST(ReplayerToolTest, EncodedHistoriesReplayWithTheirCodecs) {
  auto key = std::make_shared<AesGcmCodec>(std::string(32, 'k'), "k1");
  std::vector<v1::HistoryEvent> events = closed_run().events();
  for (auto& e : events) {
    encode_payloads_in({key}, &e);
  }
  ReplayerOptions options;
  options.codecs = {key};
  Replayer r(options);
  r.register_workflow("flow", &fetch_then_summarize);
  EXPECT_TRUE(r.replay(events, "wf-1", "run-1").ok());
  // With the wrong key the verdict says why, without guessing at non-determinism.
  options.codecs = {std::make_shared<AesGcmCodec>(std::string(32, 'x'), "k1")};
  Replayer wrong(options);
  wrong.register_workflow("flow", &fetch_then_summarize);
  ReplayVerdict v = wrong.replay(events, "wf-1", "run-1");
  EXPECT_EQ(v.kind, ReplayVerdict::Kind::kFailed);
  EXPECT_THAT(v.message, HasSubstr("payload decryption failed (wrong key or corrupted payload)"));
}

}  // namespace
}  // namespace cairn::testing
