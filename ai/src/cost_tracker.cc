// Per-run cost accounting: the UsageReport arithmetic, the CostTracker's search attributes,
// query and once-per-run alert, the same report computed from a history (for cairnctl), and the
// registration of the search attributes.
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "cairn/ai/budget.h"
#include "cairn/ai/cost.h"
#include "cairn/payload.h"

namespace cairn::ai {
namespace {

using nlohmann::json;

template <class T>
void get(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) {
    it->get_to(out);
  }
}

}  // namespace

void UsageReport::add(const ChatResult& result) {
  const std::string& model = result.model.empty() ? result.response.model : result.model;
  ModelUsage& m = by_model[model];
  m.model = model;
  m.usage += result.usage;
  m.cost_micros += result.cost_micros;
  m.calls += 1;
  m.cache_hits += result.cache_hit ? 1 : 0;
  total += result.usage;
  cost_micros += result.cost_micros;
  calls += 1;
  cache_hits += result.cache_hit ? 1 : 0;
}

void UsageReport::add(const EmbedResult& result) {
  const std::string& model = result.model.empty() ? result.response.model : result.model;
  ModelUsage& m = by_model[model];
  m.model = model;
  m.usage += result.usage;
  m.cost_micros += result.cost_micros;
  m.calls += 1;
  m.embeddings += 1;
  total += result.usage;
  cost_micros += result.cost_micros;
  calls += 1;
}

CostTracker::CostTracker(WorkflowContext& ctx, CostOptions options) : options_(std::move(options)) {
  if (options_.alert_threshold < 0) {
    throw OptionsError("CostOptions.alert_threshold must not be negative (got " +
                           std::to_string(options_.alert_threshold) + ")",
                       "alert_threshold");
  }
  ctx.set_query_handler(kUsageQuery, [this] { return report_; });
}

void CostTracker::record(WorkflowContext& ctx, const ChatResult& result) {
  report_.add(result);
  after_record(ctx);
}

void CostTracker::record(WorkflowContext& ctx, const EmbedResult& result) {
  report_.add(result);
  after_record(ctx);
}

void CostTracker::after_record(WorkflowContext& ctx) {
  const bool fire = !report_.alert_fired && options_.alert_threshold > 0 &&
                    report_.cost_micros > options_.alert_threshold;
  if (options_.upsert_search_attributes) {
    PayloadMap attributes{
        {kCostMicrosAttribute, to_payload(report_.cost_micros)},
        {kPromptTokensAttribute, to_payload(report_.total.prompt_tokens)},
        {kCompletionTokensAttribute, to_payload(report_.total.completion_tokens)},
    };
    if (fire) {
      attributes[kCostAlertAttribute] = to_payload(true);
    }
    ctx.upsert_search_attributes(attributes);
  }
  if (!fire) {
    return;
  }
  // Once per run: the flag is workflow state rebuilt by replay, so the alert fires at the same
  // record on every replay and never again after it.
  report_.alert_fired = true;
  if (!ctx.is_replaying()) {
    spdlog::warn("cairn.ai: workflow {} (run {}) cost {} passed the alert threshold {}",
                 ctx.info().workflow_id, ctx.info().run_id, format_dollars(report_.cost_micros),
                 format_dollars(options_.alert_threshold));
  }
  if (options_.on_alert) {
    options_.on_alert(ctx, report_.cost_micros);
  }
}

void CostTracker::check_run_budget(Micros run_limit, Micros next_max_cost) const {
  if (run_limit <= 0) {
    return;
  }
  if (report_.cost_micros + next_max_cost > run_limit) {
    throw BudgetExceeded("run", run_limit, report_.cost_micros, 0, next_max_cost);
  }
}

UsageReport usage_from_history(const std::vector<v1::HistoryEvent>& events, int64_t* unreadable) {
  std::unordered_map<int64_t, std::string> scheduled;  // event id → activity type
  UsageReport report;
  for (const v1::HistoryEvent& e : events) {
    if (e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const std::string& type = e.activity_task_scheduled_event_attributes().activity_type().name();
      if (type == kChatActivity || type == kEmbedActivity) {
        scheduled[e.event_id()] = type;
      }
      continue;
    }
    if (e.event_type() == v1::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) {
      const auto& sa = e.upsert_workflow_search_attributes_event_attributes().search_attributes();
      if (auto it = sa.find(kCostAlertAttribute); it != sa.end() && it->second.data() == "true") {
        report.alert_fired = true;
      }
      continue;
    }
    if (e.event_type() != v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      continue;
    }
    const auto& done = e.activity_task_completed_event_attributes();
    auto it = scheduled.find(done.scheduled_event_id());
    if (it == scheduled.end()) {
      continue;
    }
    try {
      // The recorded form is a JSON object; anything else was not written by these activities.
      json j = from_payloads<json>(done.result());
      if (!j.is_object()) {
        throw PayloadError("not a JSON object");
      }
      if (it->second == kChatActivity) {
        report.add(j.get<ChatResult>());
      } else {
        report.add(j.get<EmbedResult>());
      }
    } catch (const std::exception&) {
      if (unreadable != nullptr) {
        ++*unreadable;
      }
    }
  }
  return report;
}

void register_cost_search_attributes(Client& client) {
  v1::AddSearchAttributesRequest req;
  req.set_namespace_(client.options().ns);
  auto& attrs = *req.mutable_search_attributes();
  attrs[kCostMicrosAttribute] = v1::INDEXED_VALUE_TYPE_INT;
  attrs[kPromptTokensAttribute] = v1::INDEXED_VALUE_TYPE_INT;
  attrs[kCompletionTokensAttribute] = v1::INDEXED_VALUE_TYPE_INT;
  attrs[kCostAlertAttribute] = v1::INDEXED_VALUE_TYPE_BOOL;
  v1::AddSearchAttributesResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status st = client.stub().AddSearchAttributes(&ctx, req, &resp);
  if (!st.ok()) {
    throw RpcError(st.error_code(), "register the cost search attributes in namespace " +
                                        client.options().ns + ": " + st.error_message());
  }
}

void to_json(json& j, const ModelUsage& v) {
  j = {{"model", v.model},
       {"usage", v.usage},
       {"cost_micros", v.cost_micros},
       {"cost", format_dollars(v.cost_micros)},
       {"calls", v.calls},
       {"cache_hits", v.cache_hits},
       {"embeddings", v.embeddings}};
}
void from_json(const json& j, ModelUsage& v) {
  get(j, "model", v.model);
  get(j, "usage", v.usage);
  get(j, "cost_micros", v.cost_micros);
  get(j, "calls", v.calls);
  get(j, "cache_hits", v.cache_hits);
  get(j, "embeddings", v.embeddings);
}

void to_json(json& j, const UsageReport& v) {
  json models = json::array();
  for (const auto& [name, m] : v.by_model) {
    models.push_back(m);
  }
  j = {{"by_model", models},
       {"total", v.total},
       {"cost_micros", v.cost_micros},
       {"cost", format_dollars(v.cost_micros)},
       {"calls", v.calls},
       {"cache_hits", v.cache_hits},
       {"alert_fired", v.alert_fired}};
}
void from_json(const json& j, UsageReport& v) {
  v = UsageReport();
  if (auto it = j.find("by_model"); it != j.end() && it->is_array()) {
    for (const json& m : *it) {
      ModelUsage u = m.get<ModelUsage>();
      v.by_model[u.model] = u;
    }
  }
  get(j, "total", v.total);
  get(j, "cost_micros", v.cost_micros);
  get(j, "calls", v.calls);
  get(j, "cache_hits", v.cache_hits);
  get(j, "alert_fired", v.alert_fired);
}

}  // namespace cairn::ai
