// The cache without a Redis: options checked, single flight (ten identical concurrent calls,
// one compute), a failing leader, bypass counted and the reconnect backoff on a manual clock.
// No processes: "Redis" is an unused port or a socket of this test that never answers.
#include <atomic>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cairn/ai/cache.h"
#include "cairn/errors.h"

namespace cairn::ai {
namespace {

using namespace std::chrono_literals;

// A loopback port with a listening socket that accepts nothing (connects complete in the
// backlog; commands time out). accepted() drains and counts the connections made so far.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 64), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~SilentServer() {
    for (int c : clients_) {
      ::close(c);
    }
    ::close(fd_);
  }
  int port() const { return port_; }
  int accepted() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) {
        return static_cast<int>(clients_.size());
      }
      clients_.push_back(c);
    }
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> clients_;
};

// A port nothing listens on: bind one, then close it.
int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

ChatResult answer(const std::string& text) {
  ChatResult r;
  r.response.message = Message{"assistant", text};
  r.tier = "economy";
  r.model = "cairn-echo";
  r.usage.prompt_tokens = 10;
  r.usage.completion_tokens = 5;
  r.cost_micros = 42;
  return r;
}

// Polls `pred` until true or 10 s pass.
bool eventually(const std::function<bool()>& pred) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::yield();
  }
  return true;
}

TEST(CacheOptions, CheckedWhereWritten) {
  auto field_of = [](CacheOptions o) {
    try {
      ResponseCache cache(std::move(o));
    } catch (const OptionsError& e) {
      return e.field();
    }
    return std::string("accepted");
  };
  CacheOptions o;
  EXPECT_EQ(field_of(o), "accepted");
  o.port = 0;
  EXPECT_EQ(field_of(o), "port");
  o = {};
  o.ttl = 0s;
  EXPECT_EQ(field_of(o), "ttl");
  o = {};
  o.timeout = 0ms;
  EXPECT_EQ(field_of(o), "timeout");
  o = {};
  o.key_prefix = "";
  EXPECT_EQ(field_of(o), "key_prefix");
  o = {};
  o.reconnect_backoff_max = 1ms;
  EXPECT_EQ(field_of(o), "reconnect_backoff_max");
}

TEST(CacheFlight, TenConcurrentIdenticalCallsComputeOnce) {
  CacheOptions o;
  o.port = unused_port();  // Redis down: single flight still coalesces in the process
  ResponseCache cache(o);
  const std::string key = "k";
  std::atomic<int> computes{0};
  std::vector<ChatResult> results(10);
  std::vector<CacheOutcome> outcomes(10);
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      results[i] = cache.get_or_compute(
          key,
          [&] {
            computes.fetch_add(1);
            // Hold the flight until the nine others wait on it.
            EXPECT_TRUE(eventually([&] { return cache.waiters_for_testing(key) == 9; }));
            return answer("the answer");
          },
          &outcomes[i]);
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(computes.load(), 1);
  int leaders = 0;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(results[i].response.message.content, "the answer");
    if (outcomes[i] == CacheOutcome::kBypass) {
      ++leaders;
      EXPECT_FALSE(results[i].cache_hit);
      EXPECT_EQ(results[i].cost_micros, 42);
    } else {
      EXPECT_EQ(outcomes[i], CacheOutcome::kHit);
      EXPECT_TRUE(results[i].cache_hit);
      EXPECT_EQ(results[i].cost_micros, 0) << "a shared result costs nothing again";
      EXPECT_EQ(results[i].usage.prompt_tokens, 10);
    }
  }
  EXPECT_EQ(leaders, 1);
  CacheStats s = cache.stats();
  EXPECT_EQ(s.computes, 1);
  EXPECT_EQ(s.hits, 9);
  EXPECT_EQ(s.bypasses, 1);
  EXPECT_EQ(cache.waiters_for_testing(key), 0u);
}

TEST(CacheFlight, DifferentKeysDoNotWaitForEachOther) {
  CacheOptions o;
  o.port = unused_port();
  ResponseCache cache(o);
  std::atomic<bool> release{false};
  std::thread slow([&] {
    cache.get_or_compute("slow", [&] {
      EXPECT_TRUE(eventually([&] { return release.load(); }));
      return answer("slow");
    });
  });
  EXPECT_TRUE(eventually([&] { return cache.stats().computes == 1; }));
  // Another key computes while "slow" is still in flight.
  EXPECT_EQ(cache.get_or_compute("fast", [] { return answer("fast"); }).response.message.content,
            "fast");
  release = true;
  slow.join();
}

TEST(CacheFlight, FailedLeaderLetsAWaiterCompute) {
  CacheOptions o;
  o.port = unused_port();
  ResponseCache cache(o);
  std::atomic<int> calls{0};
  std::atomic<int> failures{0};
  auto compute = [&] {
    if (calls.fetch_add(1) == 0) {
      EXPECT_TRUE(eventually([&] { return cache.waiters_for_testing("k") == 2; }));
      throw ApplicationError("upstream 503", "ServerError");
    }
    // The new leader holds its flight until the last caller waits on it.
    EXPECT_TRUE(eventually([&] { return cache.waiters_for_testing("k") == 1; }));
    return answer("second try");
  };
  std::vector<std::thread> threads;
  std::vector<std::string> got(3);
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      try {
        got[i] = cache.get_or_compute("k", compute).response.message.content;
      } catch (const ApplicationError& e) {
        failures.fetch_add(1);
        got[i] = e.what();
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 1) << "only the leader sees its own failure";
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(std::count(got.begin(), got.end(), "second try"), 2);
}

TEST(CacheBypass, RedisDownIsCountedAndTheCallGoesOn) {
  CacheOptions o;
  o.port = unused_port();
  ResponseCache cache(o);
  CacheOutcome outcome{};
  ChatResult r = cache.get_or_compute(
      "k", [] { return answer("fresh"); }, &outcome);
  EXPECT_EQ(outcome, CacheOutcome::kBypass);
  EXPECT_STREQ(cache_outcome_name(outcome), "bypass");
  EXPECT_EQ(r.response.message.content, "fresh");
  EXPECT_FALSE(cache.get("k").has_value());
  cache.put("k", r);  // no throw
  EXPECT_FALSE(cache.connected());
  EXPECT_EQ(cache.stats().bypasses, 2);
}

TEST(CacheBypass, ReconnectBacksOffOnTheGivenClock) {
  SilentServer server;
  auto now = std::make_shared<std::chrono::steady_clock::time_point>(
      std::chrono::steady_clock::time_point{} + 1h);
  CacheOptions o;
  o.port = server.port();
  o.timeout = 20ms;  // the silent server never answers: each try times out
  o.set_lru_policy = false;
  o.reconnect_backoff = 100ms;
  o.reconnect_backoff_max = 400ms;
  o.clock = [now] { return *now; };
  ResponseCache cache(o);
  auto tries = [&] { return server.accepted(); };

  EXPECT_FALSE(cache.get("k").has_value());  // connects, GET times out
  EXPECT_EQ(tries(), 1);
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(cache.get("k").has_value());  // backing off: no network
  }
  EXPECT_EQ(tries(), 1);
  *now += 99ms;
  cache.get("k");
  EXPECT_EQ(tries(), 1);
  *now += 1ms;  // 100 ms after the failure
  cache.get("k");
  EXPECT_EQ(tries(), 2);
  *now += 199ms;  // the backoff doubled to 200 ms
  cache.get("k");
  EXPECT_EQ(tries(), 2);
  *now += 1ms;
  cache.get("k");
  EXPECT_EQ(tries(), 3);
  *now += 400ms;  // 400 ms: the maximum
  cache.get("k");
  EXPECT_EQ(tries(), 4);
  *now += 400ms;
  cache.get("k");
  EXPECT_EQ(tries(), 5);
  EXPECT_EQ(cache.stats().bypasses, 12);  // every get above
  EXPECT_GE(cache.stats().errors, 5);
}

}  // namespace
}  // namespace cairn::ai
