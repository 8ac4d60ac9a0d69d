// AiRuntime's own checks (no processes): the config is validated when the runtime is made, and
// the heartbeat interval is checked where it is set.
#include <gtest/gtest.h>

#include <chrono>

#include "cairn/ai/router.h"
#include "cairn/ai/runtime.h"

namespace cairn::ai {
namespace {

RouterConfig one_tier() {
  RouterConfig c;
  TierConfig t;
  t.name = "standard";
  t.model = "cairn-echo";
  t.endpoints = {{.name = "standard-1", .base_url = "http://127.0.0.1:9/v1"}};
  c.tiers = {t};
  c.default_tier = "standard";
  return c;
}

TEST(ClientRuntime, ABadConfigIsRefusedWhenTheRuntimeIsMade) {
  RouterConfig c = one_tier();
  c.default_tier = "premium";
  EXPECT_THROW(AiRuntime{c}, ConfigError);
  c = one_tier();
  c.tiers[0].endpoints.clear();
  EXPECT_THROW(AiRuntime{c}, ConfigError);
}

TEST(ClientRuntime, HeartbeatIntervalIsCheckedWhereItIsSet) {
  AiRuntime runtime(one_tier());
  EXPECT_EQ(runtime.config().default_tier, "standard");
  runtime.set_heartbeat_interval(std::chrono::milliseconds(100));
  for (auto bad : {std::chrono::milliseconds(0), std::chrono::milliseconds(-5),
                   std::chrono::milliseconds(1000)}) {
    try {
      runtime.set_heartbeat_interval(bad);
      FAIL() << bad.count() << " ms was accepted";
    } catch (const OptionsError& e) {
      EXPECT_EQ(e.field(), "heartbeat_interval");
    }
  }
}

TEST(ClientRuntime, OptionalPartsStartEmpty) {
  AiRuntime runtime(one_tier());
  EXPECT_EQ(runtime.cache(), nullptr);
  EXPECT_EQ(runtime.metrics(), nullptr);
  EXPECT_EQ(runtime.blob_store(), nullptr);
}

}  // namespace
}  // namespace cairn::ai
