// The response cache against a real redis-server (started by the test on a free
// loopback port): miss then hit, the LRU policy set on connect, TTL expiry,
// eviction under a small maxmemory, single flight, Redis killed mid-run (calls
// go on, bypasses counted) and restarted (the cache is used again).
#include <atomic>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include "cairn/ai/cache.h"
#include "tests/ai/support/redis_process.h"

namespace cairn::ai {
namespace {

using namespace std::chrono_literals;
using cairn::testing::RedisProcess;

// Polls `pred` until true or `limit` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 20s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(5ms);  // polling interval, not synchronisation
  }
  return true;
}

// A direct Redis connection of the test, to look at what the cache wrote.
class RedisProbe {
 public:
  explicit RedisProbe(int port) {
    timeval tv{2, 0};
    c_ = redisConnectWithTimeout("127.0.0.1", port, tv);
  }
  ~RedisProbe() {
    if (c_ != nullptr) {
      redisFree(c_);
    }
  }
  bool ok() const { return c_ != nullptr && c_->err == 0; }
  // An integer reply (EXISTS, TTL, DBSIZE); -100 when the command failed.
  long long integer(const std::string& cmd, const std::string& arg = "") {
    redisReply* r = static_cast<redisReply*>(
        arg.empty() ? redisCommand(c_, cmd.c_str())
                    : redisCommand(c_, (cmd + " %b").c_str(), arg.data(), arg.size()));
    long long v = (r != nullptr && r->type == REDIS_REPLY_INTEGER) ? r->integer : -100;
    if (r != nullptr) {
      freeReplyObject(r);
    }
    return v;
  }
  void set(const std::string& key, const std::string& value) {
    redisReply* r = static_cast<redisReply*>(
        redisCommand(c_, "SET %b %b", key.data(), key.size(), value.data(), value.size()));
    if (r != nullptr) {
      freeReplyObject(r);
    }
  }
  std::string config_get(const std::string& name) {
    redisReply* r = static_cast<redisReply*>(redisCommand(c_, "CONFIG GET %s", name.c_str()));
    std::string v;
    if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
      v.assign(r->element[1]->str, r->element[1]->len);
    }
    if (r != nullptr) {
      freeReplyObject(r);
    }
    return v;
  }

 private:
  redisContext* c_ = nullptr;
};

ChatResult answer(const std::string& text, size_t padding = 0) {
  ChatResult r;
  r.response.message = Message{"assistant", text + std::string(padding, 'x')};
  r.tier = "economy";
  r.endpoint = "economy-a";
  r.model = "cairn-echo";
  r.usage.prompt_tokens = 12;
  r.usage.completion_tokens = 3;
  r.cost_micros = 7;
  r.duration_ms = 15;
  return r;
}

CacheOptions options_for(const RedisProcess& redis) {
  CacheOptions o;
  o.port = redis.port();
  o.timeout = 500ms;
  o.reconnect_backoff = 20ms;
  o.reconnect_backoff_max = 100ms;
  return o;
}

class CacheRedisTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> config = {}) {
    redis_ = std::make_unique<RedisProcess>(std::move(config));
    std::string error;
    ASSERT_TRUE(redis_->start(&error)) << error;
  }
  std::unique_ptr<RedisProcess> redis_;
};

TEST_F(CacheRedisTest, MissThenHitWithTtlAndLruPolicy) {
  start();
  ResponseCache cache(options_for(*redis_));
  ChatAttempt attempt;
  attempt.request.messages = {Message{"user", "hello"}};
  attempt.request.temperature = 0.0;
  const std::string key = ResponseCache::cache_key(attempt, "economy", "cairn-echo", "default");
  int computes = 0;
  CacheOutcome outcome{};
  ChatResult first = cache.get_or_compute(
      key,
      [&] {
        ++computes;
        return answer("hi");
      },
      &outcome);
  EXPECT_EQ(outcome, CacheOutcome::kMiss);
  EXPECT_FALSE(first.cache_hit);
  EXPECT_EQ(first.cost_micros, 7);
  ChatResult second = cache.get_or_compute(
      key,
      [&] {
        ++computes;
        return answer("no");
      },
      &outcome);
  EXPECT_EQ(outcome, CacheOutcome::kHit);
  EXPECT_EQ(computes, 1);
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(second.cost_micros, 0);
  EXPECT_EQ(second.response, first.response);
  EXPECT_EQ(second.usage, first.usage);

  RedisProbe probe(redis_->port());
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe.integer("EXISTS", "cairn:ai:" + key), 1);
  long long ttl = probe.integer("TTL", "cairn:ai:" + key);
  EXPECT_GT(ttl, 3500);  // SETEX with the default hour
  EXPECT_LE(ttl, 3600);
  EXPECT_EQ(probe.config_get("maxmemory-policy"), "allkeys-lru");
  CacheStats s = cache.stats();
  EXPECT_EQ(s.misses, 1);
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(s.stores, 1);
  EXPECT_EQ(s.bypasses, 0);
  EXPECT_EQ(s.errors, 0);
}

TEST_F(CacheRedisTest, UnreadableValueIsAMissAndIsOverwritten) {
  start();
  ResponseCache cache(options_for(*redis_));
  RedisProbe probe(redis_->port());
  probe.set(cache.redis_key("bad"), "{not json");
  probe.set(cache.redis_key("old"), R"({"v": 99, "result": {}})");
  for (const char* key : {"bad", "old"}) {
    CacheOutcome outcome{};
    ChatResult r = cache.get_or_compute(
        key, [] { return answer("recomputed"); }, &outcome);
    EXPECT_EQ(outcome, CacheOutcome::kMiss) << key;
    EXPECT_EQ(r.response.message.content, "recomputed");
    cache.get_or_compute(
        key, [] { return answer("again"); }, &outcome);
    EXPECT_EQ(outcome, CacheOutcome::kHit) << key << " was overwritten";
  }
  EXPECT_EQ(cache.stats().errors, 2);
  EXPECT_EQ(cache.stats().computes, 2);
}

TEST_F(CacheRedisTest, LruPolicyLeftAloneWhenNotAsked) {
  start();
  CacheOptions o = options_for(*redis_);
  o.set_lru_policy = false;
  ResponseCache cache(o);
  cache.put("k", answer("x"));
  RedisProbe probe(redis_->port());
  EXPECT_EQ(probe.config_get("maxmemory-policy"), "noeviction");
}

TEST_F(CacheRedisTest, KeyExpiresAfterItsTtl) {
  start();
  CacheOptions o = options_for(*redis_);
  o.ttl = 1s;
  ResponseCache cache(o);
  cache.put("short", answer("soon gone"));
  RedisProbe probe(redis_->port());
  const std::string rkey = cache.redis_key("short");
  ASSERT_EQ(probe.integer("EXISTS", rkey), 1);
  long long ttl = probe.integer("PTTL", rkey);
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 1000);
  ASSERT_TRUE(cache.get("short").has_value());
  // Redis expires it: poll until it is gone (well within the deadline).
  EXPECT_TRUE(eventually([&] { return probe.integer("EXISTS", rkey) == 0; }, 10s));
  EXPECT_FALSE(cache.get("short").has_value());
}

TEST_F(CacheRedisTest, SmallMaxmemoryEvictsLeastRecentlyUsed) {
  start({"maxmemory 2mb"});  // the server starts with noeviction; the cache sets
                             // allkeys-lru
  ResponseCache cache(options_for(*redis_));
  const int kKeys = 200;  // 200 × ~40 KB = 8 MB, four times maxmemory
  for (int i = 0; i < kKeys; ++i) {
    cache.put("k" + std::to_string(i), answer("answer " + std::to_string(i), 40'000));
  }
  CacheStats s = cache.stats();
  EXPECT_EQ(s.stores, kKeys) << "every write was accepted (no OOM under allkeys-lru)";
  EXPECT_EQ(s.errors, 0);
  RedisProbe probe(redis_->port());
  long long size = probe.integer("DBSIZE");
  EXPECT_GT(size, 0);
  EXPECT_LT(size, kKeys) << "older keys were evicted";
  EXPECT_EQ(probe.integer("EXISTS", cache.redis_key("k0")), 0);
  auto last = cache.get("k" + std::to_string(kKeys - 1));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->response.message.content.substr(0, 10), "answer 199");
}

TEST_F(CacheRedisTest, TenConcurrentCallsOneComputeThenStored) {
  start();
  ResponseCache cache(options_for(*redis_));
  std::atomic<int> computes{0};
  std::vector<std::thread> threads;
  std::vector<ChatResult> results(10);
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      results[i] = cache.get_or_compute("same", [&] {
        computes.fetch_add(1);
        EXPECT_TRUE(eventually([&] { return cache.waiters_for_testing("same") == 9; }));
        return answer("once");
      });
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(computes.load(), 1);
  for (const auto& r : results) {
    EXPECT_EQ(r.response.message.content, "once");
  }
  // An eleventh call later is a hit from Redis.
  CacheOutcome outcome{};
  cache.get_or_compute(
      "same",
      [&] {
        computes.fetch_add(1);
        return answer("again");
      },
      &outcome);
  EXPECT_EQ(outcome, CacheOutcome::kHit);
  EXPECT_EQ(computes.load(), 1);
  EXPECT_EQ(cache.stats().stores, 1);
}

TEST_F(CacheRedisTest, RedisKilledMidRunThenRestarted) {
  start();
  ResponseCache cache(options_for(*redis_));
  int computes = 0;
  auto call = [&](const std::string& key, CacheOutcome* outcome) {
    return cache.get_or_compute(
        key,
        [&] {
          ++computes;
          return answer("v-" + key);
        },
        outcome);
  };
  CacheOutcome outcome{};
  call("a", &outcome);
  ASSERT_EQ(outcome, CacheOutcome::kMiss);
  call("a", &outcome);
  ASSERT_EQ(outcome, CacheOutcome::kHit);
  ASSERT_EQ(computes, 1);

  redis_->kill9();
  // Calls go on without the cache, each computed, each counted as a bypass.
  for (int i = 0; i < 5; ++i) {
    ChatResult r = call("a", &outcome);
    EXPECT_EQ(outcome, CacheOutcome::kBypass);
    EXPECT_EQ(r.response.message.content, "v-a");
  }
  EXPECT_EQ(computes, 6);
  EXPECT_EQ(cache.stats().bypasses, 5);
  EXPECT_FALSE(cache.connected());

  std::string error;
  ASSERT_TRUE(redis_->start(&error)) << error;  // same port, empty (no persistence)
  // After the backoff the cache reconnects: a miss stores, the next call hits.
  EXPECT_TRUE(eventually([&] {
    call("b", &outcome);
    return outcome == CacheOutcome::kMiss;
  }));
  call("b", &outcome);
  EXPECT_EQ(outcome, CacheOutcome::kHit);
  EXPECT_TRUE(cache.connected());
  RedisProbe probe(redis_->port());
  EXPECT_EQ(probe.config_get("maxmemory-policy"), "allkeys-lru") << "set again on reconnect";
}

TEST_F(CacheRedisTest, FrozenRedisTimesOutThenBypassesUntilItAnswers) {
  start();
  CacheOptions o = options_for(*redis_);
  o.timeout = 200ms;
  o.reconnect_backoff = 1s;  // long enough that the calls below all fall inside it
  o.reconnect_backoff_max = 1s;
  ResponseCache cache(o);
  cache.put("warm", answer("warm"));
  ASSERT_TRUE(cache.connected());

  ASSERT_EQ(::kill(redis_->pid(), SIGSTOP), 0);  // accepts nothing, answers nothing
  int computes = 0;
  CacheOutcome outcome{};
  auto begin = std::chrono::steady_clock::now();
  cache.get_or_compute(
      "warm",
      [&] {
        ++computes;
        return answer("fresh");
      },
      &outcome);
  EXPECT_EQ(outcome, CacheOutcome::kBypass);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s) << "bounded by the command timeout";
  for (int i = 0; i < 20; ++i) {
    cache.get_or_compute(
        "warm",
        [&] {
          ++computes;
          return answer("fresh");
        },
        &outcome);
    EXPECT_EQ(outcome, CacheOutcome::kBypass);
  }
  EXPECT_EQ(computes, 21);
  EXPECT_EQ(cache.stats().bypasses, 21);

  ASSERT_EQ(::kill(redis_->pid(), SIGCONT), 0);
  // After the backoff the cache is used again: the warm key is still there.
  EXPECT_TRUE(eventually([&] {
    cache.get_or_compute(
        "warm", [&] { return answer("fresh"); }, &outcome);
    return outcome == CacheOutcome::kHit;
  }));
}

}  // namespace
}  // namespace cairn::ai
