// End to end: continue-as-new (state carried across runs, a fresh history per run, the first
// handle's result following the chain, the memo carried over) and the history limits (the
// server's continue-as-new suggestion, termination past the hard limit).
#include <chrono>

#include <grpcpp/grpcpp.h>

#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

class ContinueAsNewTest : public E2eTest {
 protected:
  // The runs of `workflow_id` from `first_run_id`, following ContinuedAsNew events.
  std::vector<std::vector<v1::HistoryEvent>> chain(const std::string& workflow_id,
                                                   std::string run_id,
                                                   std::vector<std::string>* run_ids) {
    std::vector<std::vector<v1::HistoryEvent>> runs;
    while (!run_id.empty() && runs.size() < 10) {
      run_ids->push_back(run_id);
      runs.push_back(client_->handle(workflow_id, run_id).history());
      const auto* next = find(runs.back(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
      run_id = next == nullptr
                   ? ""
                   : next->workflow_execution_continued_as_new_event_attributes()
                         .new_execution_run_id();
    }
    return runs;
  }
};

TEST_F(ContinueAsNewTest, StateIsCarriedAcrossThreeRunsEachWithAFreshHistory) {
  Worker& w = new_worker("can");
  w.register_workflow("counter", [](WorkflowContext& ctx, int run, int total) {
    total += run * 10;
    ctx.sleep(10ms);  // some history of its own in every run
    if (run < 3) {
      ctx.continue_as_new(run + 1, total);
    }
    return total;
  });
  w.start();

  // Started through the raw stub to give it a memo, which every run must carry.
  v1::StartWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("counter-1");
  req.mutable_workflow_type()->set_name("counter");
  req.set_task_queue("can");
  *req.mutable_input() = to_payloads(1, 0);
  (*req.mutable_memo())["owner"] = to_payload(std::string("team-a"));
  v1::StartWorkflowExecutionResponse resp;
  grpc::ClientContext rpc;
  rpc.set_deadline(std::chrono::system_clock::now() + 10s);
  ASSERT_TRUE(client_->stub().StartWorkflowExecution(&rpc, req, &resp).ok());

  // The handle of the first run follows the chain to the last run's result.
  auto first = client_->handle("counter-1", resp.run_id());
  EXPECT_EQ(first.result<int>(30s), 10 + 20 + 30);

  std::vector<std::string> run_ids;
  auto runs = chain("counter-1", resp.run_id(), &run_ids);
  ASSERT_EQ(runs.size(), 3u);
  std::string previous;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& events = runs[i];
    ASSERT_FALSE(events.empty());
    // Fresh history: each run starts at event 1 with its own WorkflowExecutionStarted.
    EXPECT_EQ(events[0].event_id(), 1);
    ASSERT_EQ(events[0].event_type(), v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    const auto& started = events[0].workflow_execution_started_event_attributes();
    EXPECT_EQ(count(events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED), 1);
    EXPECT_EQ(count(events, v1::EVENT_TYPE_TIMER_STARTED), 1);
    EXPECT_EQ(from_payloads<int>(started.input(), 0), static_cast<int>(i) + 1);
    EXPECT_EQ(started.first_run_id(), resp.run_id());
    EXPECT_EQ(started.continued_from_run_id(), i == 0 ? "" : previous);
    ASSERT_EQ(started.memo().count("owner"), 1u) << "run " << i;
    EXPECT_EQ(from_payload<std::string>(started.memo().at("owner")), "team-a");
    const auto* closed = find(events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    EXPECT_EQ(closed != nullptr, i < 2);
    if (closed != nullptr) {
      EXPECT_NE(closed->workflow_execution_continued_as_new_event_attributes()
                    .new_execution_run_id(),
                run_ids[i]);
    }
    previous = run_ids[i];
  }
  // The first two runs closed as continued-as-new; the current run is the third.
  EXPECT_EQ(client_->handle("counter-1", resp.run_id()).describe().workflow_execution_info()
                .status(),
            v1::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW);
  EXPECT_EQ(client_->handle("counter-1").describe().workflow_execution_info().status(),
            v1::WORKFLOW_EXECUTION_STATUS_COMPLETED);
}

TEST_F(ContinueAsNewTest, MemoAndSearchAttributesAreCarriedOverOrReplacedAndSeenByTheCode) {
  v1::AddSearchAttributesRequest add;
  (*add.mutable_search_attributes())["Stage"] = v1::INDEXED_VALUE_TYPE_KEYWORD;
  (*add.mutable_search_attributes())["Priority"] = v1::INDEXED_VALUE_TYPE_INT;
  v1::AddSearchAttributesResponse added;
  grpc::ClientContext ctx;
  ASSERT_TRUE(client_->stub().AddSearchAttributes(&ctx, add, &added).ok());
  Worker& w = new_worker("can-tags");
  w.register_workflow("tagged", [](WorkflowContext& ctx, int run) {
    if (run == 1) {
      ctx.continue_as_new(2);  // carries both over
    }
    if (run == 2) {
      ctx.continue_as_new_with({.search_attributes = PayloadMap{{"Stage", to_payload("final")}}},
                               3);
    }
    const WorkflowInfo& info = ctx.info();
    return from_payload<std::string>(info.memo.at("owner")) + "/" +
           from_payload<std::string>(info.search_attributes.at("Stage"));
  });
  w.start();
  StartWorkflowOptions o = start_options("tagged-1", "can-tags");
  o.memo = {{"owner", to_payload("team-a")}};
  o.search_attributes = {{"Stage", to_payload("draft")}, {"Priority", to_payload(3)}};
  auto h = client_->start("tagged", o, 1);
  EXPECT_EQ(h.result<std::string>(30s), "team-a/final");

  std::vector<std::string> run_ids;
  auto runs = chain("tagged-1", h.run_id(), &run_ids);
  ASSERT_EQ(runs.size(), 3u);
  std::vector<std::string> stages;
  for (const auto& events : runs) {
    const auto& started = events[0].workflow_execution_started_event_attributes();
    ASSERT_EQ(started.memo().count("owner"), 1u);
    ASSERT_EQ(started.search_attributes().count("Stage"), 1u);
    stages.push_back(from_payload<std::string>(started.search_attributes().at("Stage")));
  }
  EXPECT_EQ(stages, (std::vector<std::string>{"draft", "draft", "final"}));
  // Replaced as a whole: the last run has only what continue_as_new_with gave it.
  EXPECT_EQ(runs[2][0].workflow_execution_started_event_attributes().search_attributes_size(), 1);
  auto info = client_->handle("tagged-1").describe().workflow_execution_info();
  EXPECT_EQ(from_payload<std::string>(info.search_attributes().at("Stage")), "final");
  EXPECT_EQ(from_payload<std::string>(info.memo().at("owner")), "team-a");
}

TEST_F(ContinueAsNewTest, InvalidSearchAttributesAreRejectedAndStartNothing) {
  StartWorkflowOptions o = start_options("bad-tags", "can-bad");
  o.search_attributes = {{"", to_payload("x")}};
  EXPECT_THROW(client_->start("tagged", o, 1), OptionsError);  // refused before any RPC
  o.search_attributes = {{"Blob", to_payload(std::string(3 << 20, 'x'))}};
  try {
    client_->start("tagged", o, 1);
    ADD_FAILURE() << "an oversized search attribute was accepted";
  } catch (const RpcError& e) {
    EXPECT_NE(std::string(e.what()).find("search_attributes is"), std::string::npos) << e.what();
  }
  EXPECT_THROW(client_->handle("bad-tags").describe(), RpcError);  // nothing was created
}

class HistorySuggestTest : public ContinueAsNewTest {
 protected:
  std::vector<std::string> server_args() override {
    return {"--history-suggest-events", "20"};
  }
};

TEST_F(HistorySuggestTest, ServerSuggestsContinueAsNewPastTheConfiguredEventCount) {
  Worker& w = new_worker("suggest");
  w.register_workflow("looper", [](WorkflowContext& ctx, int generation) {
    int loops = 0;
    while (generation == 0 && !ctx.info().continue_as_new_suggested) {
      ctx.sleep(5ms);
      ++loops;
    }
    if (generation == 0) {
      ctx.continue_as_new(1);
    }
    // The new run's history is short again: no suggestion.
    return ctx.info().continue_as_new_suggested ? -1 : static_cast<int>(ctx.info().history_length);
  });
  w.start();
  auto handle = client_->start("looper", start_options("looper-1", "suggest"), 0);
  int second_run_length = handle.result<int>(30s);
  EXPECT_GT(second_run_length, 0);
  EXPECT_LT(second_run_length, 20);

  auto first = client_->handle("looper-1", handle.run_id()).history();
  int64_t first_suggested = 0;
  for (const auto& e : first) {
    if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_STARTED &&
        e.workflow_task_started_event_attributes().suggest_continue_as_new()) {
      first_suggested = e.event_id();
      break;
    }
  }
  ASSERT_GT(first_suggested, 0) << "no WorkflowTaskStarted suggested continue-as-new";
  EXPECT_GE(first_suggested, 20);  // not before the threshold
  EXPECT_LT(first_suggested, 30);  // and at the first task past it
  EXPECT_EQ(count(first, v1::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW), 1);
}

class HistoryLimitTest : public ContinueAsNewTest {
 protected:
  std::vector<std::string> server_args() override { return {"--history-max-events", "40"}; }
};

TEST_F(HistoryLimitTest, RunPastTheHistoryLimitIsTerminatedWithAClearReason) {
  Worker& w = new_worker("limit");
  w.register_workflow("forever", [](WorkflowContext& ctx) {
    for (;;) {
      ctx.sleep(5ms);
    }
    return 0;
  });
  w.start();
  auto handle = client_->start("forever", start_options("forever-1", "limit"));
  try {
    handle.result<int>(30s);
    FAIL() << "the run should have been terminated";
  } catch (const WorkflowFailedError& e) {
    EXPECT_EQ(e.status(), v1::WORKFLOW_EXECUTION_STATUS_TERMINATED);
    EXPECT_NE(e.failure().message().find("over the limit of 40"), std::string::npos)
        << e.failure().message();
  }
  auto events = handle.history();
  EXPECT_LE(events.size(), 50u);
  EXPECT_NE(server_->log().find("over 80% of the limit"), std::string::npos);
}

}  // namespace
}  // namespace cairn::testing
