// The `process` provider and the seam's shared pieces (registry, diff, secrets) on real
// processes: create → healthy → adopt on a second create with the key (also after a "crash" that
// lost the first result) → destroy frees the port; a reused pid is not ours; startup failures.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include "cairn/deploy/process.h"
#include "cairn/deploy/provider.h"
#include "tests/deploy/provider_support.h"

namespace cairn::deploy {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::await_until;
using testing::TempStateDir;

json endpoint_inputs(const std::string& model = "proc-model") {
  return {{"command", testing::kEndpointBinary},
          {"args", {"--listen", "127.0.0.1:{port}", "--model", model}},
          {"health", {{"http", "/v1/models"}}},
          {"startup_timeout_seconds", 20}};
}

class ProcessProviderTest : public ::testing::Test {
 protected:
  ProcessProviderTest() { register_local_providers(registry_); }
  Provider& provider() { return registry_.get("process"); }
  ProviderContext ctx() { return testing::make_context(dir_.path()); }

  TempStateDir dir_;
  ProviderRegistry registry_;
};

TEST_F(ProcessProviderTest, CreateStartsAHealthyProcessOnAnAllocatedPort) {
  ProviderContext c = ctx();
  ASSERT_TRUE(provider().check(endpoint_inputs()).empty());
  ProviderState s = provider().create(c, "stack1-api-1", endpoint_inputs());

  int port = s.outputs["port"];
  ASSERT_GT(port, 0);
  EXPECT_EQ(s.outputs["url"], "http://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(s.provider_id, "pid:" + std::to_string(s.outputs["pid"].get<int>()));
  EXPECT_EQ(http_get_status(port, "/v1/models", 2s), 200);
  EXPECT_TRUE(std::filesystem::exists(s.outputs["log_path"].get<std::string>()));
  EXPECT_EQ(testing::count_processes("127.0.0.1:" + std::to_string(port)), 1);

  ReadResult r = provider().read(c, s);
  EXPECT_TRUE(r.exists);
  EXPECT_TRUE(r.drift.empty());
  EXPECT_EQ(r.outputs, s.outputs);

  // Destroy stops it, frees its port and leaves nothing in the state directory.
  provider().destroy(c, s);
  EXPECT_FALSE(alive(process_record_from_json(s.private_state["process"])));
  EXPECT_TRUE(await_until([&] { return port_free(port); }));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "stack1-api-1"));
  EXPECT_FALSE(provider().read(c, s).exists);
  provider().destroy(c, s);  // idempotent
}

TEST_F(ProcessProviderTest, CreateTwiceWithTheSameKeyAdoptsTheFirstProcess) {
  ProviderContext c = ctx();
  ProviderState first = provider().create(c, "k-adopt", endpoint_inputs());
  ProviderState second = provider().create(c, "k-adopt", endpoint_inputs());
  EXPECT_EQ(second.outputs["pid"], first.outputs["pid"]);
  EXPECT_EQ(second.outputs["port"], first.outputs["port"]);
  EXPECT_TRUE(second.private_state["adopted"].get<bool>());
  EXPECT_FALSE(first.private_state["adopted"].get<bool>());
  int port = first.outputs["port"];
  EXPECT_EQ(testing::count_processes("127.0.0.1:" + std::to_string(port)), 1);
  provider().destroy(c, second);
}

TEST_F(ProcessProviderTest, ARetryAfterACrashBetweenStartAndRecordAdopts) {
  int pid = 0;
  int port = 0;
  {
    // The first attempt starts the process, then its worker "dies": the result is never
    // recorded and the provider object is gone.
    ProviderRegistry lost;
    register_local_providers(lost);
    ProviderContext c = ctx();
    ProviderState dropped = lost.get("process").create(c, "k-crash", endpoint_inputs());
    pid = dropped.outputs["pid"];
    port = dropped.outputs["port"];
  }
  // The retry, on a fresh provider with the same key.
  ProviderContext c = ctx();
  ProviderState retried = provider().create(c, "k-crash", endpoint_inputs());
  EXPECT_EQ(retried.outputs["pid"], pid);
  EXPECT_EQ(retried.outputs["port"], port);
  EXPECT_EQ(testing::count_processes("127.0.0.1:" + std::to_string(port)), 1);
  provider().destroy(c, retried);
}

TEST_F(ProcessProviderTest, AStartedProcessWhoseRecordIsStaleIsReplacedNotAdopted) {
  ProviderContext c = ctx();
  ProviderState s = provider().create(c, "k-dead", endpoint_inputs());
  ProcessRecord r = process_record_from_json(s.private_state["process"]);
  ::kill(r.pid, SIGKILL);
  ASSERT_TRUE(await_until([&] { return !alive(r); }));
  EXPECT_FALSE(provider().read(c, s).exists);

  ProviderState again = provider().create(c, "k-dead", endpoint_inputs());
  EXPECT_NE(again.outputs["pid"], s.outputs["pid"]);
  EXPECT_FALSE(again.private_state["adopted"].get<bool>());
  EXPECT_EQ(http_get_status(again.outputs["port"], "/v1/models", 2s), 200);
  provider().destroy(c, again);
}

TEST_F(ProcessProviderTest, ARecordWithAnotherStartTimeIsNotOursAndNotKilled) {
  ProviderContext c = ctx();
  ProviderState s = provider().create(c, "k-reused", endpoint_inputs());
  ProviderState stale = s;
  stale.private_state["process"]["start_time"] =
      s.private_state["process"]["start_time"].get<uint64_t>() + 7;
  stale.private_state.erase("dir");  // only the record speaks

  EXPECT_FALSE(provider().read(c, stale).exists);
  provider().destroy(c, stale);
  EXPECT_TRUE(alive(process_record_from_json(s.private_state["process"])));
  EXPECT_EQ(http_get_status(s.outputs["port"], "/v1/models", 2s), 200);
  provider().destroy(c, s);
}

TEST_F(ProcessProviderTest, TcpHealthAndAFixedPortSubstitutedInArgsAndEnv) {
  ProviderContext c = ctx();
  int port = c.ports->allocate();
  json inputs = {{"command", testing::kEndpointBinary},
                 {"args", {"--listen", "127.0.0.1:{port}"}},
                 {"env", {{"LISTEN_ON", "{port}"}}},
                 {"port", port},
                 {"health", {{"tcp", true}}}};
  ASSERT_TRUE(provider().check(inputs).empty());
  ProviderState s = provider().create(c, "k-tcp", inputs);
  EXPECT_EQ(s.outputs["port"], port);
  EXPECT_TRUE(tcp_open(port, 2s));
  std::ifstream environ_file("/proc/" + std::to_string(s.outputs["pid"].get<int>()) + "/environ");
  std::string env((std::istreambuf_iterator<char>(environ_file)), std::istreambuf_iterator<char>());
  EXPECT_NE(env.find("LISTEN_ON=" + std::to_string(port)), std::string::npos);
  provider().destroy(c, s);
  EXPECT_TRUE(await_until([&] { return port_free(port); }));
}

TEST_F(ProcessProviderTest, AProcessThatExitsDuringStartupFailsWithItsLogAndNoSecret) {
  ::setenv("CAIRN_TEST_PROCESS_SECRET", "s3cr3t-planted-value", 1);
  ProviderContext c = ctx();
  json inputs = {{"command", "/bin/sh"},
                 {"args", {"-c", "echo \"cannot start: token=$API_TOKEN\" >&2; exit 3"}},
                 {"env", {{"API_TOKEN", {{"secret", "env:CAIRN_TEST_PROCESS_SECRET"}}}}},
                 {"health", {{"tcp", true}}}};
  ASSERT_TRUE(provider().check(inputs).empty());
  try {
    provider().create(c, "k-fails", inputs);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    std::string what = e.what();
    EXPECT_EQ(e.kind(), ProviderErrorKind::kFailed);
    EXPECT_FALSE(e.retryable());
    EXPECT_NE(what.find("cannot start: token=[redacted]"), std::string::npos) << what;
    EXPECT_EQ(what.find("s3cr3t-planted-value"), std::string::npos) << what;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "k-fails" / "process.pid"));
}

TEST_F(ProcessProviderTest, NotHealthyInTimeIsARetryableTimeoutAndLeavesNothingRunning) {
  ProviderContext c = ctx();
  json inputs = {{"command", "/bin/sh"},
                 {"args", {"-c", "echo waiting-on-{port}; exec sleep 60"}},
                 {"health", {{"tcp", true}}},
                 {"startup_timeout_seconds", 1}};
  try {
    provider().create(c, "k-slow", inputs);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind(), ProviderErrorKind::kTimeout);
    EXPECT_TRUE(e.retryable());
    EXPECT_NE(std::string(e.what()).find("waiting-on-"), std::string::npos) << e.what();
  }
  EXPECT_EQ(testing::count_processes("waiting-on-"), 0);
}

TEST_F(ProcessProviderTest, CheckReportsEveryProblemAtOnce) {
  std::vector<InputError> errors = provider().check(
      {{"args", "not-a-list"}, {"port", 70000}, {"health", {{"grpc", true}}}, {"colour", "red"}});
  std::set<std::string> fields;
  for (const InputError& e : errors) {
    fields.insert(e.field);
  }
  EXPECT_EQ(fields,
            (std::set<std::string>{"command", "args", "port", "health.grpc", "health", "colour"}));
}

TEST_F(ProcessProviderTest, DiffReplacesOnCommandChangesAndUpdatesHealthInPlace) {
  ProviderState none;
  json a = endpoint_inputs("a");
  EXPECT_EQ(provider().diff(a, a, none).kind, DiffKind::kNone);
  json b = a;
  b["health"] = {{"tcp", true}};
  Diff d = provider().diff(a, b, none);
  EXPECT_EQ(d.kind, DiffKind::kUpdate);
  EXPECT_EQ(d.changed, std::vector<std::string>{"health"});
  Diff r = provider().diff(a, endpoint_inputs("b"), none);
  EXPECT_EQ(r.kind, DiffKind::kReplace);
  EXPECT_EQ(r.replace, std::vector<std::string>{"args"});
}

TEST(ProviderRegistry, KnowsTheLocalTypesAndNamesThemForAnUnknownOne) {
  ProviderRegistry registry;
  register_local_providers(registry);
  EXPECT_EQ(registry.types(),
            (std::vector<std::string>{"command", "model_endpoint", "process", "redis", "router",
                                      "vector_index"}));
  EXPECT_EQ(registry.find("aws:rds"), nullptr);
  try {
    registry.get("aws:rds");
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(std::string(e.what()),
              "unknown resource type 'aws:rds' (known: command, model_endpoint, process, redis, "
              "router, vector_index)");
    EXPECT_EQ(e.type(), "ProviderInvalidInputs");
  }
  EXPECT_THROW(registry.add(make_process_provider()), ProviderError);
}

TEST(ProviderContext, ResolvesSecretReferencesAndRedactsThem) {
  ::setenv("CAIRN_TEST_CTX_SECRET", "hunter2-value", 1);
  ProviderContext c;
  json resolved = c.resolve_secrets(
      {{"env", {{"K", {{"secret", "env:CAIRN_TEST_CTX_SECRET"}}}, {"PLAIN", "x"}}}});
  EXPECT_EQ(resolved["env"]["K"], "hunter2-value");
  EXPECT_EQ(resolved["env"]["PLAIN"], "x");
  EXPECT_EQ(c.redact(std::string("got hunter2-value!")), "got [redacted]!");
  EXPECT_EQ(c.redact(json{{"a", {"hunter2-value"}}}), (json{{"a", {"[redacted]"}}}));
  try {
    c.resolve_secrets({{"secret", "env:CAIRN_TEST_NO_SUCH_VAR"}});
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(std::string(e.what()),
              "secret env:CAIRN_TEST_NO_SUCH_VAR: not found (expected env:NAME or file:PATH)");
  }
  EXPECT_THROW(c.key_dir("../escape"), ProviderError);
}

}  // namespace
}  // namespace cairn::deploy
