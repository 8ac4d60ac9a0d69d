// A 100-turn conversation whose every turn brings a 12 KiB document stays far below the
// server's history limits: the documents travel by reference (claim check). Recorded whole,
// every call's conversation would add up to about 60 MB — above the 50 MiB at which the server
// ends a run.
#include "ai/e2e/session_fixture.h"

namespace cairn::testing {
namespace {

constexpr int kTurns = 100;
constexpr size_t kDocumentBytes = 12 * 1024;
// The server's defaults (history/transitions.h Limits), passed explicitly so the test states
// what it compares against.
constexpr int64_t kSuggestBytes = 4LL << 20;
constexpr int64_t kMaxBytes = 50LL << 20;

class SessionHistoryTest : public SessionE2eTest {
 protected:
  std::vector<std::string> server_args() override {
    return {"--history-suggest-bytes", std::to_string(kSuggestBytes), "--history-max-bytes",
            std::to_string(kMaxBytes)};
  }
};

std::string document(int turn) {
  std::string text;
  int sentence = 0;
  while (text.size() < kDocumentBytes) {
    ++sentence;
    text += "Note " + std::to_string(turn) + "." + std::to_string(sentence) +
            ": the archive keeps record " + std::to_string(turn * 1000 + sentence) + " on shelf " +
            std::to_string(sentence % 17) + ". ";
  }
  return text;
}

struct LongChatResult {
  int turns = 0;
  int64_t inline_bytes = 0;  // what the calls' conversations weigh with every content inline
  std::string last_answer;
};

void to_json(nlohmann::json& j, const LongChatResult& v) {
  j = {{"turns", v.turns}, {"inline_bytes", v.inline_bytes}, {"last_answer", v.last_answer}};
}
void from_json(const nlohmann::json& j, LongChatResult& v) {
  v.turns = j.at("turns");
  v.inline_bytes = j.at("inline_bytes");
  v.last_answer = j.at("last_answer");
}

LongChatResult long_chat(WorkflowContext& ctx, int turns) {
  ai::SessionOptions so;
  so.chat_activity = fast_chat_activity();
  ai::Session session(ctx, so);
  ai::ChatRequest request;
  request.temperature = 0;
  request.messages.push_back({.role = "system", .content = "Answer from the notes."});
  LongChatResult out;
  int64_t inline_size = 0;
  for (int t = 0; t < turns; ++t) {
    std::string user =
        document(t) + "\nWhich shelf keeps record " + std::to_string(t * 1000 + 3) + "?";
    inline_size += static_cast<int64_t>(user.size());
    request.messages.push_back({.role = "user", .content = std::move(user)});
    out.inline_bytes += inline_size;
    ai::ChatResult r = session.chat_within(request, {}, 0);
    ai::Message answer = r.response.message;
    answer.role = "assistant";
    inline_size += static_cast<int64_t>(answer.content.size());
    request.messages.push_back(answer);
    out.last_answer = answer.content_ref.empty() ? answer.content : answer.content_ref;
    ++out.turns;
  }
  return out;
}

TEST_F(SessionHistoryTest, HundredTurnsStayFarBelowTheHistoryLimits) {
  EndpointProcess& endpoint = start_endpoint();
  ai::RouterConfig config;
  config.tiers = {tier("standard", endpoint)};
  config.default_tier = "standard";
  config.blob_threshold_bytes = 4096;
  ai::AiRuntime& runtime = make_runtime(config);
  Worker& w = new_worker("long");
  ai::register_all(w, *client_, runtime);
  w.register_workflow("test.long_chat", long_chat);
  w.start();

  auto run = client_->start("test.long_chat", start_options("long-1", "long"), kTurns);
  LongChatResult result = run.result<LongChatResult>(std::chrono::seconds(300));
  EXPECT_EQ(result.turns, kTurns);
  EXPECT_FALSE(result.last_answer.empty());
  EXPECT_EQ(stat(endpoint, "chat_requests"), kTurns);
  // Recorded inline, the conversations would pass the limit at which the server ends a run.
  EXPECT_GT(result.inline_bytes, kMaxBytes);

  auto events = run.history();
  int64_t history_bytes = 0;
  bool suggested = false;
  for (const auto& e : events) {
    history_bytes += static_cast<int64_t>(e.ByteSizeLong());
    if (e.event_type() == v1::EVENT_TYPE_WORKFLOW_TASK_STARTED) {
      suggested = suggested || e.workflow_task_started_event_attributes().suggest_continue_as_new();
    }
  }
  EXPECT_EQ(chat_tiers(events).size(), static_cast<size_t>(kTurns));
  EXPECT_LT(history_bytes, kSuggestBytes) << "history of " << events.size() << " events";
  EXPECT_LT(history_bytes * 20, kMaxBytes);  // under 5% of the hard limit
  EXPECT_FALSE(suggested) << "the server suggested continue-as-new";
  std::printf("100-turn conversation: %lld history bytes in %zu events (inline: %lld bytes)\n",
              static_cast<long long>(history_bytes), events.size(),
              static_cast<long long>(result.inline_bytes));
}

}  // namespace
}  // namespace cairn::testing
