// UsageReport arithmetic and JSON, and usage_from_history over hand-built events: only
// completed cairn.ai.chat / cairn.ai.embed activities count, cache hits are counted, the alert
// flag is read from the CostAlert upsert.
#include <gtest/gtest.h>

#include "cairn/ai/cost.h"
#include "cairn/payload.h"

namespace cairn::ai {
namespace {

ChatResult chat(const std::string& model, int64_t prompt, int64_t completion, Micros cost,
                bool hit = false) {
  ChatResult r;
  r.model = model;
  r.usage.prompt_tokens = prompt;
  r.usage.completion_tokens = completion;
  r.cost_micros = cost;
  r.cache_hit = hit;
  return r;
}

TEST(CostReport, SumsByModelAndInTotal) {
  UsageReport r;
  r.add(chat("claude-3-haiku", 100, 20, 50));
  r.add(chat("claude-3-haiku", 100, 20, 0, /*hit=*/true));
  r.add(chat("gpt-4o", 1000, 200, 4500));
  EmbedResult e;
  e.model = "embed-small";
  e.usage.prompt_tokens = 64;
  e.cost_micros = 2;
  r.add(e);
  EXPECT_EQ(r.calls, 4);
  EXPECT_EQ(r.cache_hits, 1);
  EXPECT_EQ(r.cost_micros, 4552);
  EXPECT_EQ(r.total.prompt_tokens, 1264);
  EXPECT_EQ(r.total.completion_tokens, 240);
  EXPECT_EQ(r.by_model.at("claude-3-haiku").calls, 2);
  EXPECT_EQ(r.by_model.at("claude-3-haiku").cache_hits, 1);
  EXPECT_EQ(r.by_model.at("embed-small").embeddings, 1);

  nlohmann::json j = r;
  EXPECT_EQ(j["cost"], "$0.004552");
  UsageReport back = j.get<UsageReport>();
  EXPECT_EQ(nlohmann::json(back), j);
}

v1::HistoryEvent scheduled(int64_t id, const std::string& type) {
  v1::HistoryEvent e;
  e.set_event_id(id);
  e.set_event_type(v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  e.mutable_activity_task_scheduled_event_attributes()->mutable_activity_type()->set_name(type);
  return e;
}

template <class T>
v1::HistoryEvent completed(int64_t id, int64_t scheduled_id, const T& result) {
  v1::HistoryEvent e;
  e.set_event_id(id);
  e.set_event_type(v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  auto* a = e.mutable_activity_task_completed_event_attributes();
  a->set_scheduled_event_id(scheduled_id);
  *a->mutable_result() = to_payloads(result);
  return e;
}

TEST(CostReport, FromHistoryCountsCompletedModelCallsOnly) {
  std::vector<v1::HistoryEvent> events;
  events.push_back(scheduled(5, "cairn.ai.chat"));
  events.push_back(completed(7, 5, chat("gpt-4o-mini", 10, 5, 300)));
  events.push_back(scheduled(8, "kb.search"));  // not a model call: ignored
  events.push_back(completed(10, 8, chat("gpt-4o-mini", 999, 999, 999)));
  events.push_back(scheduled(11, "cairn.ai.chat"));  // still running: not counted yet
  events.push_back(scheduled(12, "cairn.ai.chat"));
  events.push_back(completed(14, 12, std::string("not a chat result")));
  v1::HistoryEvent upsert;
  upsert.set_event_id(15);
  upsert.set_event_type(v1::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
  (*upsert.mutable_upsert_workflow_search_attributes_event_attributes()
        ->mutable_search_attributes())["CostAlert"] = to_payload(true);
  events.push_back(upsert);

  int64_t unreadable = 0;
  UsageReport r = usage_from_history(events, &unreadable);
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(r.cost_micros, 300);
  EXPECT_EQ(r.by_model.at("gpt-4o-mini").usage.total(), 15);
  EXPECT_EQ(unreadable, 1);
  EXPECT_TRUE(r.alert_fired);
}

}  // namespace
}  // namespace cairn::ai
