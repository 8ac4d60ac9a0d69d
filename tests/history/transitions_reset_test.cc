// Rules: reset (a new run from a history prefix) and search-attribute upserts.
#include <gtest/gtest.h>
#include <google/protobuf/util/message_differencer.h>

#include "history/transitions.h"
#include "tests/history/rules_test_util.h"

namespace cairn::rules_test {
namespace {

class ResetRulesTest : public RulesTest {
 protected:
  // start; WFT 1 schedules activity (event 5); signal s1 (6); WFT 2 (7-9) completes with no
  // commands; signal s2 (10) schedules WFT 3 (11).
  void build_history() {
    start();
    run_wft({schedule_activity()});
    signal("s1");
    run_wft({});
    signal("s2");
    ASSERT_EQ(event(9).event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    ASSERT_EQ(event(10).event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  }
  void signal(const std::string& name) {
    Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
      return signal_workflow(ms, name, v1::Payloads(), "test", "", env, out);
    });
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  Status reset(int64_t point, bool reapply, MutableState* fresh, Effects* out) {
    RunKey key = key_;
    key.run_id.value = "run-2";
    return reset_run(history_, point, reapply, "bad deploy", "reset-1", key, env(), fresh, out);
  }
};

TEST_F(ResetRulesTest, NewRunKeepsThePrefixFailsItsTaskReappliesLaterSignalsAndRearms) {
  build_history();
  EXPECT_EQ(last_completed_workflow_task(history_), 9);
  MutableState fresh;
  Effects out;
  Status st = reset(9, /*reapply=*/true, &fresh, &out);
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_EQ(out.events.size(), 11u);
  for (int64_t id = 1; id <= 8; ++id) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(out.events[id - 1], event(id)))
        << "event " << id << " of the prefix was not copied as it was";
  }
  const auto& failed = out.events[8];
  EXPECT_EQ(failed.event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  EXPECT_EQ(failed.workflow_task_failed_event_attributes().cause(),
            v1::WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW);
  EXPECT_EQ(failed.workflow_task_failed_event_attributes().started_event_id(), 8);
  EXPECT_EQ(out.events[9].event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  EXPECT_EQ(out.events[9].workflow_execution_signaled_event_attributes().signal_name(), "s2");
  EXPECT_EQ(out.events[10].event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  EXPECT_EQ(fresh.state().run_id(), "run-2");
  ASSERT_TRUE(out.current.has_value());
  EXPECT_EQ(out.current->run_id(), "run-2");

  // The activity scheduled before the point is pending in the new run, with a new task.
  ASSERT_NE(fresh.activity(5), nullptr);
  bool activity_task = false;
  bool workflow_task = false;
  for (const auto& t : out.add_tasks) {
    activity_task |= t.kind() == v1::TASK_KIND_ACTIVITY && t.scheduled_event_id() == 5 &&
                     t.run_id() == "run-2";
    workflow_task |= t.kind() == v1::TASK_KIND_WORKFLOW && t.run_id() == "run-2";
  }
  EXPECT_TRUE(activity_task);
  EXPECT_TRUE(workflow_task);

  // The new run's history alone rebuilds its state.
  auto rebuilt = rebuild_from_events(out.events, key_.ns, key_.workflow_id, "run-2");
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().to_string();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      event_derived(rebuilt->state()), event_derived(fresh.state())));
}

TEST_F(ResetRulesTest, WithoutReapplyTheLaterSignalsAreDropped) {
  build_history();
  MutableState fresh;
  Effects out;
  ASSERT_TRUE(reset(9, /*reapply=*/false, &fresh, &out).ok());
  ASSERT_EQ(out.events.size(), 10u);
  EXPECT_EQ(out.events[9].event_type(), v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
}

TEST_F(ResetRulesTest, OnlyTheEndOfAWorkflowTaskIsAResetPoint) {
  build_history();
  for (int64_t bad : {0, 5, 8, 99}) {
    MutableState fresh;
    Effects out;
    Status st = reset(bad, true, &fresh, &out);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad << ": " << st.to_string();
  }
}

TEST_F(ResetRulesTest, UpsertSetsAndRemovesSearchAttributes) {
  start();
  v1::Command upsert;
  upsert.set_command_type(v1::COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
  auto& attrs = *upsert.mutable_upsert_workflow_search_attributes_command_attributes()
                     ->mutable_search_attributes();
  (*attrs["Stage"].mutable_metadata())["encoding"] = "json/plain";
  attrs["Stage"].set_data("\"review\"");
  (*attrs["Priority"].mutable_metadata())["encoding"] = "json/plain";
  attrs["Priority"].set_data("3");
  run_wft({upsert});
  ASSERT_EQ(ms_.state().search_attributes().size(), 2u);
  EXPECT_EQ(ms_.state().search_attributes().at("Stage").data(), "\"review\"");
  const auto* e = &last_events().back();
  EXPECT_EQ(e->event_type(), v1::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);

  v1::Command remove;
  remove.set_command_type(v1::COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
  auto& removal = *remove.mutable_upsert_workflow_search_attributes_command_attributes()
                       ->mutable_search_attributes();
  (*removal["Priority"].mutable_metadata())["encoding"] = "binary/null";
  signal("next");
  run_wft({remove});
  EXPECT_EQ(ms_.state().search_attributes().count("Priority"), 0u);
  EXPECT_EQ(ms_.state().search_attributes().count("Stage"), 1u);

  v1::Command empty;
  empty.set_command_type(v1::COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
  empty.mutable_upsert_workflow_search_attributes_command_attributes();
  signal("again");
  v1::TaskToken token = start_wft();
  EXPECT_EQ(complete_wft(token, {empty}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn::rules_test
