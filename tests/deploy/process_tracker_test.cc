// The process tracker on real processes: detached start with a pid file and start time, alive
// checks that see through a reused pid, stops by process group with a grace period, commands run
// to completion, health probes.
#include <fstream>

#include <gtest/gtest.h>
#include <signal.h>

#include "cairn/deploy/process.h"
#include "tests/deploy/provider_support.h"

namespace cairn::deploy {
namespace {

using namespace std::chrono_literals;
using testing::await_until;
using testing::TempStateDir;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

ProcessSpec shell(const std::filesystem::path& dir, const std::string& script,
                  const std::string& name = "process") {
  ProcessSpec spec;
  spec.program = "/bin/sh";
  spec.args = {"-c", script};
  spec.dir = dir;
  spec.name = name;
  return spec;
}

TEST(ProcessTracker, StartsDetachedWithPidFileLogAndEnvironment) {
  TempStateDir dir;
  ProcessSpec spec = shell(dir.path(), "echo started $GREETING; exec sleep 60");
  spec.env["GREETING"] = "hello";
  ProcessRecord r = start_process(spec);

  ASSERT_GT(r.pid, 0);
  EXPECT_TRUE(alive(r));
  // The pid file names the process and its /proc start time.
  std::string pid_file = read_file(dir.path() / "process.pid");
  EXPECT_EQ(pid_file, std::to_string(r.pid) + " " + std::to_string(r.start_time) + "\n");
  EXPECT_EQ(process_start_time(r.pid), r.start_time);
  // Its own session: it leads its process group.
  EXPECT_EQ(::getpgid(r.pid), r.pid);
  EXPECT_EQ(::getsid(r.pid), r.pid);
  ASSERT_TRUE(
      await_until([&] { return log_tail(r.log_path).find("started hello") != std::string::npos; }));

  EXPECT_EQ(stop(r, 5s), StopResult::kStopped);
  EXPECT_FALSE(alive(r));
  EXPECT_EQ(stop(r, 5s), StopResult::kNotRunning);
}

TEST(ProcessTracker, ReusedPidIsNotOursAndIsLeftAlone) {
  TempStateDir dir;
  ProcessRecord real = start_process(shell(dir.path(), "exec sleep 60"));
  // A record naming the same pid with another start time: what a pid file of an earlier, dead
  // process looks like once the kernel has given its pid to someone else.
  ProcessRecord stale = real;
  stale.start_time = real.start_time - 1;

  EXPECT_FALSE(alive(stale));
  EXPECT_EQ(stop(stale, 100ms), StopResult::kNotRunning);
  EXPECT_TRUE(alive(real)) << "a stop of a stale record must not signal the pid's new owner";
  EXPECT_TRUE(wait_exit(stale, 0ms));
  EXPECT_FALSE(wait_exit(real, 20ms));
  EXPECT_EQ(stop(real, 5s), StopResult::kStopped);
}

TEST(ProcessTracker, SigkillsAfterTheGracePeriodAndTheWholeGroup) {
  TempStateDir dir;
  // Ignores SIGTERM and has a child in its group.
  ProcessRecord r = start_process(
      shell(dir.path(), "trap '' TERM; sleep 300 & echo child $! ready; while :; do wait; done"));
  ASSERT_TRUE(await_until([&] { return log_tail(r.log_path).find("ready") != std::string::npos; }));
  std::string log = log_tail(r.log_path);
  pid_t child = std::stoi(log.substr(log.find("child ") + 6));
  ASSERT_GT(child, 0);
  auto child_start = process_start_time(child);
  ASSERT_TRUE(child_start.has_value());

  auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(stop(r, 300ms), StopResult::kKilled);
  EXPECT_GE(std::chrono::steady_clock::now() - before, 300ms);
  EXPECT_FALSE(alive(r));
  ProcessRecord child_record{child, *child_start, "child", "", ""};
  EXPECT_TRUE(await_until([&] { return !alive(child_record); }, 5s))
      << "the group's other members are stopped too";
}

TEST(ProcessTracker, ProgramNotFoundAndExecFailureAreErrors) {
  TempStateDir dir;
  ProcessSpec missing = shell(dir.path(), "");
  missing.program = "cairn-no-such-program-xyz";
  try {
    start_process(missing);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind(), ProviderErrorKind::kInvalidInputs);
    EXPECT_NE(std::string(e.what()).find("cairn-no-such-program-xyz"), std::string::npos);
  }
  // A file that is not executable as a program: exec itself fails, reported by the child.
  std::ofstream(dir.path() / "not-a-program") << "garbage";
  std::filesystem::permissions(dir.path() / "not-a-program", std::filesystem::perms::owner_all);
  ProcessSpec bad = shell(dir.path(), "");
  bad.program = (dir.path() / "not-a-program").string();
  bad.args = {};
  try {
    start_process(bad);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind(), ProviderErrorKind::kFailed);
    EXPECT_NE(std::string(e.what()).find("exec"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "process.pid"));
}

TEST(ProcessTracker, RunCommandPassesStdinAndCapturesBothStreams) {
  ProcessSpec spec;
  spec.program = "/bin/sh";
  spec.args = {"-c", "cat; echo oops >&2; exit 3"};
  CommandResult r = run_command(spec, "{\"a\":1}", 5s);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.out, "{\"a\":1}");
  EXPECT_EQ(r.err, "oops\n");

  // A command that ignores its stdin does not hurt the caller (no SIGPIPE).
  spec.args = {"-c", "exit 0"};
  EXPECT_EQ(run_command(spec, std::string(1 << 20, 'x'), 5s).exit_code, 0);
}

TEST(ProcessTracker, RunCommandKillsAtItsTimeout) {
  ProcessSpec spec;
  spec.program = "/bin/sh";
  spec.args = {"-c", "sleep 30"};
  auto before = std::chrono::steady_clock::now();
  CommandResult r = run_command(spec, "", 200ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
}

TEST(ProcessTracker, HealthProbesAnswerForARealServer) {
  TempStateDir dir;
  int port = loopback_port_allocator().allocate();
  EXPECT_TRUE(port_free(port));
  EXPECT_FALSE(tcp_open(port, 200ms));
  EXPECT_EQ(http_get_status(port, "/v1/models", 200ms), 0);

  ProcessSpec spec;
  spec.program = testing::kEndpointBinary;
  spec.args = {"--listen", "127.0.0.1:" + std::to_string(port), "--model", "probe-model"};
  spec.dir = dir.path();
  ProcessRecord r = start_process(spec);
  ProviderContext ctx = testing::make_context(dir.path());
  std::vector<nlohmann::json> progress;
  ctx.heartbeat = [&](const nlohmann::json& p) { progress.push_back(p); };
  ASSERT_EQ(await_healthy(ctx, r, port, HealthCheck{HealthCheck::Kind::kHttp, "/v1/models"}, 20s),
            HealthResult::kHealthy);
  std::string body;
  EXPECT_EQ(http_get_status(port, "/v1/models", 2s, &body), 200);
  EXPECT_NE(body.find("probe-model"), std::string::npos);
  EXPECT_EQ(http_get_status(port, "/no-such-path", 2s), 404);
  EXPECT_TRUE(tcp_open(port, 2s));
  EXPECT_FALSE(port_free(port));

  EXPECT_EQ(stop(r, 5s), StopResult::kStopped);
  EXPECT_TRUE(await_until([&] { return port_free(port); }));
}

TEST(ProcessTracker, AwaitHealthyEndsWhenTheProcessExits) {
  TempStateDir dir;
  ProcessRecord r = start_process(shell(dir.path(), "exit 1"));
  ProviderContext ctx = testing::make_context(dir.path());
  auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(await_healthy(ctx, r, 1, HealthCheck{HealthCheck::Kind::kTcp, ""}, 30s),
            HealthResult::kExited);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
}

TEST(ProcessTracker, AwaitHealthyHonoursCancellationAndTimeout) {
  TempStateDir dir;
  ProcessRecord r = start_process(shell(dir.path(), "exec sleep 60"));
  ProviderContext ctx = testing::make_context(dir.path());
  int port = loopback_port_allocator().allocate();
  EXPECT_EQ(await_healthy(ctx, r, port, HealthCheck{HealthCheck::Kind::kTcp, ""}, 100ms),
            HealthResult::kTimedOut);
  ctx.cancelled = [] { return true; };
  EXPECT_EQ(await_healthy(ctx, r, port, HealthCheck{HealthCheck::Kind::kTcp, ""}, 30s),
            HealthResult::kCanceled);
  stop(r, 5s);
}

TEST(ProcessTracker, PortAllocatorDoesNotRepeatItselfSoon) {
  std::set<int> seen;
  for (int i = 0; i < 50; ++i) {
    int port = loopback_port_allocator().allocate();
    EXPECT_GT(port, 0);
    EXPECT_TRUE(seen.insert(port).second) << "port " << port << " handed out twice";
  }
}

}  // namespace
}  // namespace cairn::deploy
