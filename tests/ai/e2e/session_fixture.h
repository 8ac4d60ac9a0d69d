// SessionE2eTest: a real cairn-server (E2eTest), real model endpoint processes, and helpers to
// build a router config over them, an AiRuntime with a blob store, and to read what the
// session recorded in history (the tier of each chat activity, fallback and route markers).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ai/support/endpoint_process.h"
#include "cairn/ai/claim_check.h"
#include "cairn/ai/cost.h"
#include "cairn/ai/metrics.h"
#include "cairn/ai/router.h"
#include "cairn/ai/runtime.h"
#include "cairn/ai/session.h"
#include "e2e/fixture.h"

namespace cairn::testing {

// Chat activity options that retry fast (3 attempts, 50 ms apart).
inline ActivityOptions fast_chat_activity() {
  ActivityOptions o = ai::default_chat_activity_options();
  o.start_to_close = std::chrono::seconds(30);
  o.retry.initial_interval = std::chrono::milliseconds(50);
  o.retry.backoff_coefficient = 1.0;
  o.retry.maximum_interval = std::chrono::milliseconds(50);
  return o;
}

class SessionE2eTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    ai::register_cost_search_attributes(*client_);
  }

  void TearDown() override {
    E2eTest::TearDown();  // workers stop before the endpoints they call
    endpoints_.clear();
  }

  // A started endpoint process; stopped at the end of the test.
  EndpointProcess& start_endpoint(std::vector<std::string> args = {}) {
    endpoints_.push_back(std::make_unique<EndpointProcess>(std::move(args)));
    std::string error;
    EXPECT_TRUE(endpoints_.back()->start(&error)) << error;
    return *endpoints_.back();
  }

  // A tier over one endpoint, priced per million tokens (its own price: the endpoint's model
  // is not in the default price table).
  static ai::TierConfig tier(const std::string& name, const EndpointProcess& endpoint,
                             std::vector<std::string> fallback = {}, int64_t context_window = 0) {
    ai::TierConfig t;
    t.name = name;
    t.model = "cairn-echo";
    t.price_set = true;
    t.input_per_million = 3'000'000;
    t.output_per_million = 15'000'000;
    t.context_window = context_window;
    t.max_output_tokens = 256;
    t.fallback = std::move(fallback);
    ai::EndpointConfig e;
    e.name = name + "-endpoint";
    e.base_url = endpoint.base_url();
    e.model = "cairn-echo";
    e.request_timeout = std::chrono::seconds(30);
    t.endpoints.push_back(e);
    return t;
  }

  // A runtime over `config` with a blob store in the test's directory and metrics; owned by the
  // fixture.
  ai::AiRuntime& make_runtime(ai::RouterConfig config) {
    auto runtime = std::make_unique<ai::AiRuntime>(std::move(config));
    blob_store_ = std::make_shared<ai::FileBlobStore>(dir_.path() + "/blobs");
    runtime->set_blob_store(blob_store_);
    metrics_ = std::make_shared<ai::AiMetrics>();
    runtime->set_metrics(metrics_);
    runtimes_.push_back(std::move(runtime));
    return *runtimes_.back();
  }

  // The input of every scheduled activity of `type`, in history order, as JSON.
  static std::vector<nlohmann::json> scheduled_inputs(const std::vector<v1::HistoryEvent>& events,
                                                      const std::string& type) {
    std::vector<nlohmann::json> out;
    for (const auto& e : events) {
      if (e.event_type() != v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
        continue;
      }
      const auto& a = e.activity_task_scheduled_event_attributes();
      if (a.activity_type().name() != type) {
        continue;
      }
      out.push_back(a.input().payloads_size() > 0
                        ? nlohmann::json::parse(a.input().payloads(0).data())
                        : nlohmann::json());
    }
    return out;
  }

  // The tier of each "cairn.ai.chat" activity in history order.
  static std::vector<std::string> chat_tiers(const std::vector<v1::HistoryEvent>& events) {
    std::vector<std::string> out;
    for (const auto& in : scheduled_inputs(events, ai::kChatActivity)) {
      out.push_back(in.value("tier", ""));
    }
    return out;
  }

  // The recorded results of the local activities of `type` (markers), in history order.
  static std::vector<nlohmann::json> marker_results(const std::vector<v1::HistoryEvent>& events,
                                                    const std::string& type) {
    std::vector<nlohmann::json> out;
    for (const auto& e : events) {
      if (e.event_type() != v1::EVENT_TYPE_MARKER_RECORDED) {
        continue;
      }
      const auto& m = e.marker_recorded_event_attributes();
      auto t = m.details().find("type");
      if (t == m.details().end() || t->second.payloads_size() == 0 ||
          nlohmann::json::parse(t->second.payloads(0).data()) != type) {
        continue;
      }
      auto r = m.details().find("result");
      out.push_back(r != m.details().end() && r->second.payloads_size() > 0
                        ? nlohmann::json::parse(r->second.payloads(0).data())
                        : nlohmann::json());
    }
    return out;
  }

  static int64_t stat(const EndpointProcess& endpoint, const std::string& name) {
    return endpoint.stats().value(name, int64_t{-1});
  }

  std::shared_ptr<ai::FileBlobStore> blob_store_;
  std::shared_ptr<ai::AiMetrics> metrics_;  // of the last runtime made
  std::vector<std::unique_ptr<EndpointProcess>> endpoints_;
  std::vector<std::unique_ptr<ai::AiRuntime>> runtimes_;
};

}  // namespace cairn::testing
