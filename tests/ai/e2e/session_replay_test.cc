// A finished conversation replays from history alone: cairn::Replayer and a fresh worker
// answering queries agree with the run's result, and the model endpoint sees no request —
// neither while it runs nor after it is stopped.
#include "ai/e2e/session_fixture.h"
#include "cairn/ai/agent.h"
#include "cairn/replayer.h"

namespace cairn::testing {
namespace {

class SessionReplayTest : public SessionE2eTest {};

// Three chat calls, the second with a document above the blob threshold; the answers are kept
// for the query "test.answers".
std::vector<std::string> conversation_workflow(WorkflowContext& ctx, const std::string& topic) {
  ai::SessionOptions so;
  so.chat_activity = fast_chat_activity();
  ai::Session session(ctx, so);
  std::vector<std::string> answers;
  ctx.set_query_handler("test.answers", [&answers] { return answers; });
  std::string manual;
  for (int i = 0; i < 200; ++i) {
    manual += "Section " + std::to_string(i) + " explains " + topic + " in detail. ";
  }
  manual += "The warranty on " + topic + " lasts two years.";
  ai::ChatRequest request;
  request.temperature = 0;
  request.messages = {{.role = "system", .content = "Returns are free within 30 days."},
                      {.role = "user", .content = "Are returns free?"}};
  for (const std::string& question :
       {std::string("Are returns free?"), "How long is the warranty on " + topic + "?",
        std::string("Within how many days are returns free?")}) {
    request.messages.back().content = question;
    if (answers.size() == 1) {
      request.messages.insert(request.messages.begin(),
                              ai::Message{.role = "system", .content = manual});
    }
    ai::ChatResult result = session.chat_within(request, {}, 0);
    answers.push_back(session.content(result.response.message));
  }
  // A query on a closed run sees the workflow at its last wait: wait once more, so that it
  // sees every answer.
  ctx.sleep(std::chrono::milliseconds(1));
  return answers;
}

TEST_F(SessionReplayTest, FinishedRunReplaysWithoutTheModel) {
  EndpointProcess& endpoint = start_endpoint();
  ai::RouterConfig config;
  config.tiers = {tier("standard", endpoint)};
  config.default_tier = "standard";
  config.blob_threshold_bytes = 2048;
  ai::AiRuntime& runtime = make_runtime(config);
  {
    Worker& w = new_worker("replay");
    ai::register_all(w, *client_, runtime);
    w.register_workflow("test.conversation", conversation_workflow);
    w.start();
  }
  auto run = client_->start("test.conversation", start_options("replay-1", "replay"),
                            std::string("the kettle"));
  auto answers = run.result<std::vector<std::string>>(std::chrono::seconds(60));
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_NE(answers[1].find("two years"), std::string::npos) << answers[1];
  const int64_t requests = stat(endpoint, "chat_requests");
  EXPECT_EQ(requests, 3);
  auto events = run.history();
  // The manual went by reference: no recorded payload holds it.
  for (const auto& in : scheduled_inputs(events, ai::kChatActivity)) {
    EXPECT_EQ(in.dump().find("Section 150 explains"), std::string::npos);
  }
  for (auto& w : workers_) {
    w->stop();
  }
  workers_.clear();

  auto check_replay = [&] {
    Replayer replayer;
    replayer.register_workflow("test.conversation", conversation_workflow);
    ReplayVerdict verdict = replayer.replay_from_server(*client_, "replay-1");
    EXPECT_TRUE(verdict.ok()) << verdict.message;
    // A fresh worker with no cache replays the whole history to answer.
    WorkerOptions wo;
    wo.task_queue = "replay";
    wo.max_cached_workflows = 0;
    Worker fresh(*client_, wo);
    fresh.register_workflow("test.conversation", conversation_workflow);
    fresh.start();
    EXPECT_EQ(run.query<std::vector<std::string>>("test.answers"), answers);
    auto usage = run.query<ai::UsageReport>(ai::kUsageQuery);
    EXPECT_EQ(usage.calls, 3);
    EXPECT_EQ(usage.cost_micros, ai::usage_from_history(events).cost_micros);
    fresh.stop();
  };
  check_replay();
  EXPECT_EQ(stat(endpoint, "chat_requests"), requests);  // replay asked nothing
  endpoint.stop();
  check_replay();  // and needs no endpoint at all
}

}  // namespace
}  // namespace cairn::testing
