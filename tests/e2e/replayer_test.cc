// End to end: a run's history exported to a JSON file replays OK with the same code and is
// caught as non-determinism (naming the event) when the activity order changes — through
// cairn::Replayer in process, and through `hello worker --replay FILE` (run_worker_main).
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <sstream>

#include "cairn/history_json.h"
#include "cairn/replayer.h"
#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

std::string charge_then_ship(WorkflowContext& ctx, std::string order) {
  auto charged = ctx.activity<std::string>("charge", order, {.start_to_close = 10s}).get();
  return ctx.activity<std::string>("ship", charged, {.start_to_close = 10s}).get();
}
std::string ship_then_charge(WorkflowContext& ctx, std::string order) {
  auto shipped = ctx.activity<std::string>("ship", order, {.start_to_close = 10s}).get();
  return ctx.activity<std::string>("charge", shipped, {.start_to_close = 10s}).get();
}

int64_t first_event_id(const std::vector<v1::HistoryEvent>& events, v1::EventType type) {
  for (const auto& e : events) {
    if (e.event_type() == type) {
      return e.event_id();
    }
  }
  return -1;
}

class ReplayerE2eTest : public E2eTest {};

TEST_F(ReplayerE2eTest, SavedHistoryReplaysAndAChangedActivityOrderIsCaught) {
  Worker& w = new_worker("orders");
  w.register_workflow("order.flow", &charge_then_ship);
  w.register_activity("charge", [](std::string s) { return s + ":charged"; });
  w.register_activity("ship", [](std::string s) { return s + ":shipped"; });
  w.start();
  auto h = client_->start("order.flow", start_options("order-1", "orders"), std::string("o1"));
  ASSERT_EQ(h.result<std::string>(60s), "o1:charged:shipped");

  WorkflowHistory recorded{"order-1", h.run_id(), h.history()};
  const std::string path = dir_.path() + "/order-1.json";
  save_history_json(path, recorded);

  Replayer same;
  same.register_workflow("order.flow", &charge_then_ship);
  ReplayVerdict ok = same.replay_file(path);
  EXPECT_EQ(ok.kind, ReplayVerdict::Kind::kOk) << ok.message;
  EXPECT_EQ(ok.message, "replay OK: " + std::to_string(recorded.events.size()) + " events");
  EXPECT_TRUE(same.replay_from_server(*client_, "order-1").ok());

  Replayer swapped;
  swapped.register_workflow("order.flow", &ship_then_charge);
  ReplayVerdict bad = swapped.replay_file(path);
  ASSERT_EQ(bad.kind, ReplayVerdict::Kind::kNonDeterminism) << bad.message;
  ASSERT_TRUE(bad.non_determinism);
  EXPECT_EQ(bad.non_determinism->event_id,
            first_event_id(recorded.events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED));
  EXPECT_NE(bad.non_determinism->expected.find("charge"), std::string::npos) << bad.message;
  EXPECT_NE(bad.non_determinism->actual.find("ship"), std::string::npos) << bad.message;
  EXPECT_EQ(bad.workflow_id, "order-1");
}

// The same check through a worker binary's --replay flag. hello's code cannot be changed from
// here, so the history is changed instead: its two ActivityTaskScheduled events swap activity
// types, which is what history would look like had the code run them in the other order.
TEST_F(ReplayerE2eTest, WorkerBinaryReplayFlagReportsOkNonDeterminismAndBadInput) {
  ChildProcess worker({CAIRN_HELLO_BINARY, "worker", "--address", server_->address()},
                      dir_.path() + "/worker.log");
  ChildProcess run({CAIRN_HELLO_BINARY, "run", "--address", server_->address(), "--name", "Ada",
                    "--punctuation", "!", "--id", "hello-replay"},
                   dir_.path() + "/run.log");
  ASSERT_EQ(run.wait(60s), 0) << run.output() << "\nworker:\n" << worker.output();
  EXPECT_EQ(worker.stop(), 0) << worker.output();

  const std::string file = dir_.path() + "/hello.json";
  ChildProcess exp({CAIRN_HELLO_BINARY, "export", "--address", server_->address(), "--id",
                    "hello-replay", "--out", file},
                   dir_.path() + "/export.log");
  ASSERT_EQ(exp.wait(30s), 0) << exp.output();
  WorkflowHistory recorded = load_history_json(file);
  ASSERT_EQ(recorded.workflow_id, "hello-replay");
  ASSERT_EQ(recorded.events.size(), client_->handle("hello-replay").history().size());

  ChildProcess ok({CAIRN_HELLO_BINARY, "worker", "--replay", file}, dir_.path() + "/ok.log");
  EXPECT_EQ(ok.wait(30s), 0) << ok.output();
  EXPECT_NE(ok.output().find("replay OK: " + std::to_string(recorded.events.size()) + " events"),
            std::string::npos)
      << ok.output();

  std::ifstream in(file);
  nlohmann::json doc = nlohmann::json::parse(in);
  std::vector<nlohmann::json*> scheduled;
  for (auto& e : doc["events"]) {
    if (e.contains("activityTaskScheduledEventAttributes")) {
      scheduled.push_back(&e["activityTaskScheduledEventAttributes"]["activityType"]["name"]);
    }
  }
  ASSERT_EQ(scheduled.size(), 2u);
  std::swap(*scheduled[0], *scheduled[1]);
  const std::string swapped_file = dir_.path() + "/hello-swapped.json";
  std::ofstream(swapped_file) << doc.dump(1);
  ChildProcess nd({CAIRN_HELLO_BINARY, "worker", "--replay", swapped_file},
                  dir_.path() + "/nd.log");
  EXPECT_EQ(nd.wait(30s), 3) << nd.output();
  int64_t at = first_event_id(recorded.events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  EXPECT_NE(nd.output().find("non-determinism at event " + std::to_string(at) + ": history has"),
            std::string::npos)
      << nd.output();
  EXPECT_NE(nd.output().find("hello.decorate"), std::string::npos) << nd.output();
  EXPECT_NE(nd.output().find("workflow code issued ScheduleActivityTask"), std::string::npos)
      << nd.output();

  const std::string garbage = dir_.path() + "/garbage.json";
  std::ofstream(garbage) << "this is not a history";
  ChildProcess bad({CAIRN_HELLO_BINARY, "worker", "--replay", garbage}, dir_.path() + "/bad.log");
  EXPECT_EQ(bad.wait(30s), 2) << bad.output();
  EXPECT_NE(bad.output().find("bad history"), std::string::npos) << bad.output();
}

}  // namespace
}  // namespace cairn::testing
