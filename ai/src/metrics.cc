#include "cairn/ai/metrics.h"

#include <exception>
#include <mutex>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "cairn/errors.h"

namespace cairn::ai {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Labels;

// Approval waits run from seconds (an operator at the console) to days (a weekend).
const prometheus::Histogram::BucketBoundaries& approval_buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 48 * 3600, 7 * 24 * 3600};
  return kBuckets;
}

int64_t value_of(const Family<Counter>& family, const Labels& labels) {
  if (!family.Has(labels)) {
    return 0;
  }
  // Has() is true, so Add() returns the existing series without changing it.
  return static_cast<int64_t>(const_cast<Family<Counter>&>(family).Add(labels).Value());
}

void add(Family<Counter>& family, const Labels& labels, double amount) {
  if (amount > 0) {
    family.Add(labels).Increment(amount);
  } else {
    family.Add(labels);  // the series exists from its first event, even at 0
  }
}

std::string model_of(const std::string& model, const std::string& response_model) {
  return model.empty() ? response_model : model;
}

}  // namespace

struct AiMetrics::Impl {
  explicit Impl(std::shared_ptr<prometheus::Registry> r)
      : registry(std::move(r)),
        tokens(prometheus::BuildCounter()
                   .Name("cairn_ai_tokens_total")
                   .Help("Tokens used by model calls, by model and kind (prompt, completion, "
                         "cached; cached tokens are part of prompt)")
                   .Register(*registry)),
        cost(prometheus::BuildCounter()
                 .Name("cairn_ai_cost_micros_total")
                 .Help("Cost of model calls in micro-dollars, by model")
                 .Register(*registry)),
        requests(prometheus::BuildCounter()
                     .Name("cairn_ai_requests_total")
                     .Help("Model calls by tier, endpoint and outcome (ok, cache_hit, or the "
                           "error type)")
                     .Register(*registry)),
        cache(prometheus::BuildCounter()
                  .Name("cairn_ai_cache_total")
                  .Help("Response cache lookups by result (hit, miss, bypass)")
                  .Register(*registry)),
        fallbacks(prometheus::BuildCounter()
                      .Name("cairn_ai_fallbacks_total")
                      .Help("Fallbacks from one tier to the next, by reason")
                      .Register(*registry)),
        budget_rejections(prometheus::BuildCounter()
                              .Name("cairn_ai_budget_rejections_total")
                              .Help("Model calls refused by a budget, by scope")
                              .Register(*registry)),
        approval_wait(prometheus::BuildHistogram()
                          .Name("cairn_ai_approval_wait_seconds")
                          .Help("Time from an approval request to its answer")
                          .Register(*registry)
                          .Add({}, approval_buckets())) {}

  std::shared_ptr<prometheus::Registry> registry;
  Family<Counter>& tokens;
  Family<Counter>& cost;
  Family<Counter>& requests;
  Family<Counter>& cache;
  Family<Counter>& fallbacks;
  Family<Counter>& budget_rejections;
  prometheus::Histogram& approval_wait;

  std::mutex expose_mu;
  std::unique_ptr<prometheus::Exposer> exposer;  // GUARDED_BY(expose_mu)
  int port = 0;                                  // GUARDED_BY(expose_mu)
};

AiMetrics::AiMetrics() : AiMetrics(std::make_shared<prometheus::Registry>()) {}

AiMetrics::AiMetrics(std::shared_ptr<prometheus::Registry> registry)
    : impl_(std::make_unique<Impl>(std::move(registry))) {}

AiMetrics::~AiMetrics() = default;

void AiMetrics::record_chat(const ChatResult& result) {
  std::string model = model_of(result.model, result.response.model);
  Labels request = {{"tier", result.tier}, {"endpoint", result.endpoint}};
  if (result.cache_hit) {
    request["outcome"] = "cache_hit";
    add(impl_->requests, request, 1);
    return;
  }
  request["outcome"] = "ok";
  add(impl_->requests, request, 1);
  add(impl_->tokens, {{"model", model}, {"kind", "prompt"}},
      static_cast<double>(result.usage.prompt_tokens));
  add(impl_->tokens, {{"model", model}, {"kind", "completion"}},
      static_cast<double>(result.usage.completion_tokens));
  add(impl_->tokens, {{"model", model}, {"kind", "cached"}},
      static_cast<double>(result.usage.cached_tokens));
  add(impl_->cost, {{"model", model}}, static_cast<double>(result.cost_micros));
}

void AiMetrics::record_embed(const EmbedResult& result) {
  std::string model = model_of(result.model, result.response.model);
  add(impl_->requests, {{"tier", result.tier}, {"endpoint", result.endpoint}, {"outcome", "ok"}},
      1);
  add(impl_->tokens, {{"model", model}, {"kind", "prompt"}},
      static_cast<double>(result.usage.prompt_tokens));
  add(impl_->cost, {{"model", model}}, static_cast<double>(result.cost_micros));
}

void AiMetrics::record_failure(std::string_view tier, std::string_view endpoint,
                               std::string_view error_type) {
  add(impl_->requests,
      {{"tier", std::string(tier)},
       {"endpoint", std::string(endpoint)},
       {"outcome", std::string(error_type.empty() ? "error" : error_type)}},
      1);
}

void AiMetrics::record_cache(std::string_view result) {
  if (result != "hit" && result != "miss" && result != "bypass") {
    throw OptionsError(
        "AiMetrics::record_cache: result must be \"hit\", \"miss\" or \"bypass\" "
        "(got \"" +
            std::string(result) + "\")",
        "result");
  }
  add(impl_->cache, {{"result", std::string(result)}}, 1);
}

void AiMetrics::record_fallback(std::string_view from, std::string_view to,
                                std::string_view reason) {
  add(impl_->fallbacks,
      {{"from", std::string(from)}, {"to", std::string(to)}, {"reason", std::string(reason)}}, 1);
}

void AiMetrics::record_budget_rejection(std::string_view scope) {
  add(impl_->budget_rejections, {{"scope", std::string(scope)}}, 1);
}

void AiMetrics::record_approval_wait(double seconds) {
  if (!(seconds >= 0)) {
    throw OptionsError("AiMetrics::record_approval_wait: seconds must not be negative (got " +
                           std::to_string(seconds) + ")",
                       "seconds");
  }
  impl_->approval_wait.Observe(seconds);
}

std::string AiMetrics::serialize() const {
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

void AiMetrics::expose(const std::string& address) {
  std::lock_guard<std::mutex> lock(impl_->expose_mu);
  if (impl_->exposer) {
    throw Error("AiMetrics::expose(" + address + "): metrics are already exposed on port " +
                std::to_string(impl_->port));
  }
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(address);
    exposer->RegisterCollectable(impl_->registry);
    std::vector<int> ports = exposer->GetListeningPorts();
    impl_->port = ports.empty() ? 0 : ports.front();
    impl_->exposer = std::move(exposer);
  } catch (const std::exception& e) {
    throw Error("AiMetrics::expose: cannot serve /metrics on " + address + " (" + e.what() +
                "): use a free HOST:PORT of this machine");
  }
}

int AiMetrics::exposed_port() const {
  std::lock_guard<std::mutex> lock(impl_->expose_mu);
  return impl_->port;
}

std::shared_ptr<prometheus::Registry> AiMetrics::registry() const { return impl_->registry; }

int64_t AiMetrics::tokens(std::string_view model, std::string_view kind) const {
  return value_of(impl_->tokens, {{"model", std::string(model)}, {"kind", std::string(kind)}});
}

int64_t AiMetrics::cost_micros(std::string_view model) const {
  return value_of(impl_->cost, {{"model", std::string(model)}});
}

int64_t AiMetrics::requests(std::string_view tier, std::string_view endpoint,
                            std::string_view outcome) const {
  return value_of(impl_->requests, {{"tier", std::string(tier)},
                                    {"endpoint", std::string(endpoint)},
                                    {"outcome", std::string(outcome)}});
}

int64_t AiMetrics::cache(std::string_view result) const {
  return value_of(impl_->cache, {{"result", std::string(result)}});
}

int64_t AiMetrics::fallbacks(std::string_view from, std::string_view to,
                             std::string_view reason) const {
  return value_of(
      impl_->fallbacks,
      {{"from", std::string(from)}, {"to", std::string(to)}, {"reason", std::string(reason)}});
}

int64_t AiMetrics::budget_rejections(std::string_view scope) const {
  return value_of(impl_->budget_rejections, {{"scope", std::string(scope)}});
}

int64_t AiMetrics::approval_waits() const {
  return static_cast<int64_t>(impl_->approval_wait.Collect().histogram.sample_count);
}

double AiMetrics::approval_wait_seconds_sum() const {
  return impl_->approval_wait.Collect().histogram.sample_sum;
}

}  // namespace cairn::ai
