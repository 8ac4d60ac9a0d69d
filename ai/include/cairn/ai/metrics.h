// AiMetrics: the worker-side Prometheus metrics of the AI batteries — tokens and cost by model,
// calls by tier / endpoint / outcome, response-cache results, fallbacks, budget rejections and
// approval wait times — over a prometheus-cpp Registry (ai/docs/metrics.md lists every name).
// Figures come from the recorded activity results, so they equal the cost ledger. Thread-safe;
// usually one per worker process, shared (std::shared_ptr) by the runtime and the helpers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cairn/ai/types.h"

namespace prometheus {
class Registry;
}

namespace cairn::ai {

class AiMetrics {
 public:
  // Metrics in a registry of their own.
  AiMetrics();
  // Metrics added to `registry` (e.g. the worker's, already exposed). REQUIRES: not null, and
  // holding no other family of the same names.
  explicit AiMetrics(std::shared_ptr<prometheus::Registry> registry);
  ~AiMetrics();

  AiMetrics(const AiMetrics&) = delete;
  AiMetrics& operator=(const AiMetrics&) = delete;

  // A chat call that returned. Not a cache hit: adds its usage to cairn_ai_tokens_total
  // {model, kind=prompt|completion|cached} and its cost to cairn_ai_cost_micros_total{model},
  // and counts cairn_ai_requests_total{tier, endpoint, outcome="ok"}. A cache hit (its usage
  // was spent by the original call, its cost is 0) counts only outcome="cache_hit". The model
  // is result.model, else result.response.model.
  void record_chat(const ChatResult& result);
  // An embedding call: tokens (kind=prompt), cost, and a request with outcome="ok".
  void record_embed(const EmbedResult& result);
  // A call that failed: cairn_ai_requests_total{tier, endpoint, outcome=error_type} (the
  // error's type, e.g. "RateLimited", "ServerError").
  void record_failure(std::string_view tier, std::string_view endpoint,
                      std::string_view error_type);
  // A response-cache lookup: cairn_ai_cache_total{result}. Throws OptionsError (field
  // "result") unless result is "hit", "miss" or "bypass".
  void record_cache(std::string_view result);
  // A fallback from one tier to the next: cairn_ai_fallbacks_total{from, to, reason} (reason
  // e.g. "exhausted", "context_length", "refused").
  void record_fallback(std::string_view from, std::string_view to, std::string_view reason);
  // A call refused by a budget: cairn_ai_budget_rejections_total{scope} (e.g. "run",
  // "team:support").
  void record_budget_rejection(std::string_view scope);
  // How long an approval waited for its answer: the histogram cairn_ai_approval_wait_seconds.
  // Throws OptionsError (field "seconds") when negative.
  void record_approval_wait(double seconds);

  // Every metric in the Prometheus text format.
  std::string serialize() const;
  // Serves /metrics on `address` ("127.0.0.1:9464"; port 0: any free port) until destroyed.
  // Throws cairn::Error naming the address when it cannot listen, or when already exposed.
  void expose(const std::string& address);
  // The port expose() listens on; 0 before expose().
  int exposed_port() const;
  std::shared_ptr<prometheus::Registry> registry() const;

  // Readers for tests and summaries: the current value of one series (0 when never recorded).
  int64_t tokens(std::string_view model, std::string_view kind) const;
  int64_t cost_micros(std::string_view model) const;
  int64_t requests(std::string_view tier, std::string_view endpoint,
                   std::string_view outcome) const;
  int64_t cache(std::string_view result) const;
  int64_t fallbacks(std::string_view from, std::string_view to, std::string_view reason) const;
  int64_t budget_rejections(std::string_view scope) const;
  // Observations of cairn_ai_approval_wait_seconds, and their sum.
  int64_t approval_waits() const;
  double approval_wait_seconds_sum() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::ai
