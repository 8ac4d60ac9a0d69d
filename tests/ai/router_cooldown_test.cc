// Endpoint cooldowns: per process, round-robin among free endpoints, expiry at the passed time,
// Retry-After, all cooling → TierCoolingDown with its delay, thread safety.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "cairn/ai/router.h"

namespace cairn::ai {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

RouterConfig two_endpoints() {
  RouterConfig c;
  TierConfig t;
  t.name = "economy";
  t.model = "m";
  for (const char* name : {"a", "b"}) {
    EndpointConfig e;
    e.name = name;
    e.base_url = "http://127.0.0.1:1/v1";
    t.endpoints.push_back(e);
  }
  c.tiers = {t};
  c.default_tier = "economy";
  c.cooldown = seconds(30);
  return c;
}

const Router::TimePoint t0{seconds(1000)};

TEST(RouterCooldown, RoundRobinAmongFreeEndpoints) {
  Router router(two_endpoints());
  EXPECT_EQ(router.pick_endpoint("economy", t0).name, "a");
  EXPECT_EQ(router.pick_endpoint("economy", t0).name, "b");
  EXPECT_EQ(router.pick_endpoint("economy", t0).name, "a");
}

TEST(RouterCooldown, FailedEndpointSkippedUntilExpiry) {
  Router router(two_endpoints());
  router.report_failure("a", t0);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(router.pick_endpoint("economy", t0 + seconds(29)).name, "b");
  }
  EXPECT_EQ(router.cooling_until("a", t0 + seconds(29)), t0 + seconds(30));
  EXPECT_FALSE(router.cooling_until("a", t0 + seconds(30)).has_value());
  // At expiry it is picked again.
  std::set<std::string> picked;
  for (int i = 0; i < 2; ++i) {
    picked.insert(router.pick_endpoint("economy", t0 + seconds(30)).name);
  }
  EXPECT_EQ(picked, (std::set<std::string>{"a", "b"}));
}

TEST(RouterCooldown, RetryAfterSetsTheRestAndLaterExpiryIsKept) {
  Router router(two_endpoints());
  router.report_failure("a", t0, milliseconds(2500));
  EXPECT_EQ(router.cooling_until("a", t0), t0 + milliseconds(2500));
  router.report_failure("a", t0, seconds(60));
  router.report_failure("a", t0, milliseconds(100));  // shorter: the later expiry stays
  EXPECT_EQ(router.cooling_until("a", t0), t0 + seconds(60));
}

TEST(RouterCooldown, AllCoolingIsRetryableWithDelay) {
  Router router(two_endpoints());
  router.report_failure("a", t0, seconds(10));
  router.report_failure("b", t0, seconds(4));
  try {
    router.pick_endpoint("economy", t0 + seconds(1));
    FAIL() << "picked";
  } catch (const ApplicationError& e) {
    EXPECT_EQ(e.type(), "TierCoolingDown");
    EXPECT_FALSE(e.non_retryable());
    EXPECT_EQ(e.next_retry_delay(), seconds(3));
    EXPECT_NE(std::string(e.what()).find("economy"), std::string::npos);
  }
  EXPECT_EQ(router.pick_endpoint("economy", t0 + seconds(4)).name, "b");
}

TEST(RouterCooldown, CoolingLongerThanMaxRetryAfterFailsFast) {
  Router router(two_endpoints());  // max_retry_after 60 s
  router.report_failure("a", t0, seconds(120));
  router.report_failure("b", t0, seconds(90));
  try {
    router.pick_endpoint("economy", t0);
    FAIL() << "picked";
  } catch (const ApplicationError& e) {
    EXPECT_EQ(e.type(), "TierCoolingDown");
    EXPECT_TRUE(e.non_retryable()) << "not worth waiting 90 s: fall back";
    EXPECT_EQ(e.next_retry_delay(), seconds(90));
  }
  try {
    router.pick_endpoint("economy", t0 + seconds(30));  // 60 s left: worth the wait
    FAIL() << "picked";
  } catch (const ApplicationError& e) {
    EXPECT_FALSE(e.non_retryable());
  }
}

TEST(RouterCooldown, SuccessEndsTheCooldown) {
  Router router(two_endpoints());
  router.report_failure("a", t0);
  router.report_success("a");
  EXPECT_FALSE(router.cooling_until("a", t0).has_value());
}

TEST(RouterCooldown, UnknownNamesAndTiers) {
  Router router(two_endpoints());
  router.report_failure("nope", t0);  // ignored
  EXPECT_FALSE(router.cooling_until("nope", t0).has_value());
  try {
    router.pick_endpoint("gold", t0);
    FAIL();
  } catch (const ApplicationError& e) {
    EXPECT_EQ(e.type(), "UnknownTier");
    EXPECT_TRUE(e.non_retryable());
  }
}

TEST(RouterCooldown, ConcurrentUseIsSafe) {
  Router router(two_endpoints());
  std::atomic<int> picks{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 2000; ++k) {
        auto now = t0 + milliseconds(k);
        if (k % 7 == 0) {
          router.report_failure(i % 2 ? "a" : "b", now, milliseconds(1));
        }
        try {
          router.pick_endpoint("economy", now);
          picks.fetch_add(1);
        } catch (const ApplicationError&) {
        }
        if (k % 11 == 0) {
          router.report_success("a");
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_GT(picks.load(), 0);
}

}  // namespace
}  // namespace cairn::ai
