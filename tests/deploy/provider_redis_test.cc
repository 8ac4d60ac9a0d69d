// The `redis` provider on a real redis-server: its config as asked, drift made from outside with
// redis-cli found by read() and reverted, a kill -9 seen as gone, adoption on a retried create.
#include <gtest/gtest.h>
#include <signal.h>

#include "cairn/deploy/process.h"
#include "cairn/deploy/provider.h"
#include "tests/deploy/provider_support.h"

namespace cairn::deploy {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::await_until;
using testing::TempStateDir;

class RedisProviderTest : public ::testing::Test {
 protected:
  RedisProviderTest() {
    LocalProviderOptions options;
    options.redis_server_binary = testing::kRedisServer;
    register_local_providers(registry_, options);
  }
  Provider& provider() { return registry_.get("redis"); }

  // redis-cli against the instance, as an operator would type it.
  static std::string cli(int port, std::vector<std::string> args) {
    ProcessSpec spec;
    spec.program = "redis-cli";
    spec.args = {"-h", "127.0.0.1", "-p", std::to_string(port)};
    spec.args.insert(spec.args.end(), args.begin(), args.end());
    CommandResult r = run_command(spec, "", 5s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  static json inputs() {
    return {{"maxmemory", "32mb"}, {"maxmemory_policy", "allkeys-lru"}, {"persistence", "none"}};
  }

  TempStateDir dir_;
  ProviderRegistry registry_;
};

TEST_F(RedisProviderTest, DriftFromOutsideIsReportedAndReverted) {
  ProviderContext c = testing::make_context(dir_.path());
  ASSERT_TRUE(provider().check(inputs()).empty());
  ProviderState s = provider().create(c, "stack-cache", inputs());
  int port = s.outputs["port"];
  EXPECT_EQ(s.outputs["url"], "redis://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(s.outputs["host"], "127.0.0.1");
  EXPECT_EQ(cli(port, {"CONFIG", "GET", "maxmemory"}), "maxmemory\n33554432\n");
  EXPECT_EQ(cli(port, {"PING"}), "PONG\n");

  ReadResult clean = provider().read(c, s);
  EXPECT_TRUE(clean.exists);
  EXPECT_TRUE(clean.drift.empty());

  cli(port, {"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  ReadResult drifted = provider().read(c, s);
  EXPECT_TRUE(drifted.exists);
  ASSERT_EQ(drifted.drift.size(), 1u);
  EXPECT_EQ(drifted.drift[0].field, "maxmemory-policy");
  EXPECT_EQ(drifted.drift[0].expected, "allkeys-lru");
  EXPECT_EQ(drifted.drift[0].actual, "noeviction");

  provider().revert_drift(c, s);
  EXPECT_TRUE(provider().read(c, s).drift.empty());
  EXPECT_EQ(cli(port, {"CONFIG", "GET", "maxmemory-policy"}), "maxmemory-policy\nallkeys-lru\n");

  provider().destroy(c, s);
  EXPECT_TRUE(await_until([&] { return port_free(port); }));
}

TEST_F(RedisProviderTest, KilledIsGoneAndARetriedCreateAdoptsALiveOne) {
  ProviderContext c = testing::make_context(dir_.path());
  ProviderState s = provider().create(c, "stack-cache2", inputs());
  ProviderState again = provider().create(c, "stack-cache2", inputs());
  EXPECT_EQ(again.outputs["pid"], s.outputs["pid"]);
  EXPECT_TRUE(again.private_state["adopted"].get<bool>());
  int port = s.outputs["port"];
  // redis-server titles itself "redis-server 127.0.0.1:PORT".
  EXPECT_EQ(testing::count_processes("127.0.0.1:" + std::to_string(port)), 1);

  ProcessRecord r = process_record_from_json(s.private_state["process"]);
  ::kill(r.pid, SIGKILL);
  ASSERT_TRUE(await_until([&] { return !alive(r); }));
  EXPECT_FALSE(provider().read(c, s).exists);
  EXPECT_THROW(provider().revert_drift(c, s), ProviderError);

  // Recreated under the same key: a new process (the dead one's record is not adopted).
  ProviderState recreated = provider().create(c, "stack-cache2", inputs());
  EXPECT_NE(recreated.outputs["pid"], s.outputs["pid"]);
  EXPECT_TRUE(provider().read(c, recreated).exists);
  provider().destroy(c, recreated);
}

TEST_F(RedisProviderTest, UpdateChangesMemoryAndPersistenceInPlace) {
  ProviderContext c = testing::make_context(dir_.path());
  ProviderState s = provider().create(c, "stack-cache3", inputs());
  json next = {{"maxmemory", "64mb"}, {"maxmemory_policy", "allkeys-lfu"}, {"persistence", "aof"}};
  EXPECT_EQ(provider().diff(inputs(), next, s).kind, DiffKind::kUpdate);
  EXPECT_EQ(provider().diff(inputs(), json{{"port", 7000}}, s).kind, DiffKind::kReplace);
  ProviderState updated = provider().update(c, s, next);
  int port = s.outputs["port"];
  EXPECT_EQ(updated.outputs["pid"], s.outputs["pid"]);
  EXPECT_EQ(cli(port, {"CONFIG", "GET", "maxmemory"}), "maxmemory\n67108864\n");
  EXPECT_EQ(cli(port, {"CONFIG", "GET", "appendonly"}), "appendonly\nyes\n");
  EXPECT_TRUE(provider().read(c, updated).drift.empty());
  // The old record's expectations now differ from what runs.
  EXPECT_FALSE(provider().read(c, s).drift.empty());
  provider().destroy(c, updated);
}

TEST_F(RedisProviderTest, CheckRefusesBadSettings) {
  std::vector<InputError> errors = provider().check(
      {{"maxmemory", "lots"}, {"maxmemory_policy", "evict-everything"}, {"persistence", "tape"}});
  ASSERT_EQ(errors.size(), 3u);
}

}  // namespace
}  // namespace cairn::deploy
