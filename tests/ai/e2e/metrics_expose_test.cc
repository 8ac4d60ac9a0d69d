// AiMetrics::expose serves the metrics over HTTP (/metrics) on a loopback port.
#include <gtest/gtest.h>

#include "cairn/ai/metrics.h"
#include "cairn/errors.h"
#include "tests/ai/support/http_client.h"
#include "tests/ai/support/process_util.h"

namespace cairn::testing {
namespace {

TEST(MetricsExposeTest, ServesMetricsOnLoopback) {
  ai::AiMetrics metrics;
  int port = ai_support::free_loopback_port();
  metrics.expose("127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(metrics.exposed_port(), port);
  ai::ChatResult r;
  r.tier = "economy";
  r.endpoint = "economy-1";
  r.model = "gpt-4o-mini";
  r.usage.prompt_tokens = 42;
  r.cost_micros = 9;
  metrics.record_chat(r);
  HttpResponse res = http_get("http://127.0.0.1:" + std::to_string(port) + "/metrics");
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_NE(res.body.find("cairn_ai_cost_micros_total{model=\"gpt-4o-mini\"} 9"), std::string::npos)
      << res.body;
  EXPECT_NE(res.body.find("cairn_ai_tokens_total{kind=\"prompt\",model=\"gpt-4o-mini\"} 42"),
            std::string::npos);
  EXPECT_THROW(metrics.expose("127.0.0.1:0"), Error);  // already exposed
}

TEST(MetricsExposeTest, AddressInUseIsReportedWithTheAddress) {
  ai::AiMetrics first;
  int port = ai_support::free_loopback_port();
  std::string address = "127.0.0.1:" + std::to_string(port);
  first.expose(address);
  ai::AiMetrics second;
  try {
    second.expose(address);
    FAIL() << "a second exposer on " << address << " was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(address), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cairn::testing
