// End to end: what cairnctl refuses before sending anything (empty, blank or malformed ids,
// names and inputs: exit 2, naming the flag), and inputs read from a file or stdin, several MiB
// of them, up to the server's --max-payload-bytes.
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "e2e/ctl_fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kPayloadLimit = 8 << 20;

class CairnctlInputTest : public CtlTest {
 protected:
  std::vector<std::string> server_args() override {
    return {"--max-payload-bytes", std::to_string(kPayloadLimit)};
  }

  int64_t runs() {
    Run counted = ctl_split({"-o", "json", "workflow", "count"});
    EXPECT_EQ(counted.exit, 0) << counted.output << counted.errors;
    auto j = nlohmann::json::parse(counted.output, nullptr, false);
    return j.is_object() ? j.value("count", int64_t{-1}) : -1;
  }

  std::string write_file(const std::string& name, const std::string& content) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  // "<size>:<sum of bytes>" of a string: what the measuring workflow returns.
  static std::string measure(const std::string& s) {
    uint64_t sum = 0;
    for (unsigned char c : s) {
      sum = sum * 31 + c;
    }
    return std::to_string(s.size()) + ":" + std::to_string(sum);
  }
};

TEST_F(CairnctlInputTest, EmptyOrInvalidIdsAreRefusedBeforeAnythingIsSent) {
  const std::string run = "3f2a9c1e-8b7d-4e21-9a0f-5c6d7e8f9a0b";
  struct Case {
    std::vector<std::string> args;
    std::string flag;  // named in the message
  };
  const std::vector<Case> cases = {
      {{"workflow", "start", "-t", "wf", "-q", "q", "-w", ""}, "--workflow-id"},
      {{"workflow", "start", "-t", "wf", "-q", "q", "-w", "  "}, "--workflow-id"},
      {{"workflow", "execute", "-t", "wf", "-q", "q", "-w", "\t"}, "--workflow-id"},
      {{"workflow", "start", "-t", "wf", "-q", ""}, "--task-queue"},
      {{"workflow", "start", "-t", "", "-q", "q"}, "--type"},
      {{"workflow", "start", "-t", "wf", "-q", "q", "-a", "1bad=\"x\""}, "--search-attribute"},
      {{"-n", "", "workflow", "start", "-t", "wf", "-q", "q"}, "--namespace"},
      {{"-n", "no spaces", "workflow", "start", "-t", "wf", "-q", "q"}, "--namespace"},
      {{"workflow", "describe", "-w", ""}, "--workflow-id"},
      {{"workflow", "describe", "-w", "x", "-r", ""}, "--run-id"},
      {{"workflow", "describe", "-w", "x", "-r", "not-a-uuid"}, "--run-id"},
      {{"workflow", "signal", "-w", "x", "--name", " "}, "--name"},
      {{"workflow", "query", "-w", "x", "--name", ""}, "--name"},
      {{"workflow", "update", "-w", "x", "--name", ""}, "--name"},
      {{"workflow", "terminate", "-w", " ", "-r", run}, "--workflow-id"},
      {{"workflow", "reset", "-w", ""}, "--workflow-id"},
      {{"replay", "-w", "", "--worker", "w"}, "--workflow-id"},
      {{"admin", "verify", "-w", ""}, "--workflow-id"},
      {{"task-queue", "describe", "-q", ""}, "--task-queue"},
      {{"search-attribute", "add", "--name", "", "--type", "Keyword"}, "--name"},
      {{"search-attribute", "add", "--name", "has-dash", "--type", "Keyword"}, "--name"},
      {{"namespace", "create", ""}, "name"},
      {{"namespace", "describe", "a/b"}, "name"},
  };
  for (const auto& c : cases) {
    Run r = ctl(c.args);
    std::string shown;
    for (const auto& a : c.args) {
      shown += "'" + a + "' ";
    }
    EXPECT_EQ(r.exit, 2) << shown << "\n" << r.output;
    EXPECT_NE(r.output.find(c.flag), std::string::npos) << shown << "\n" << r.output;
  }
  EXPECT_EQ(runs(), 0);
  Run listed = ctl({"namespace", "list"});
  EXPECT_EQ(listed.output.find("no spaces"), std::string::npos) << listed.output;

  // Leaving -w out still means a random id.
  Run started = ctl({"workflow", "start", "-t", "wf", "-q", "q"});
  EXPECT_EQ(started.exit, 0) << started.output;
  EXPECT_EQ(runs(), 1);
}

TEST_F(CairnctlInputTest, InputFromAFileOrStdinReachesTheWorkflowIntact) {
  Worker& w = new_worker("input-q");
  w.register_workflow("measure", [](WorkflowContext&, std::string s) { return measure(s); });
  w.register_workflow(
      "waiter", [](WorkflowContext& ctx) { return measure(ctx.signal<std::string>("go").wait()); });
  w.start();
  // Several MiB of printable text, quotes and backslashes (escaped in the JSON) among it.
  std::string big;
  big.reserve(5 << 20);
  for (size_t i = 0; big.size() < (5u << 20); ++i) {
    big.push_back(static_cast<char>(32 + (i * 7919) % 95));
  }
  const std::string file = write_file("big.json", nlohmann::json(big).dump());
  ASSERT_GT(file.size(), 0u);
  const std::string expected = "\"" + measure(big) + "\"";

  Run from_file = ctl({"workflow", "execute", "-t", "measure", "-q", "input-q", "-w", "in-file",
                       "--input-file", file, "--timeout", "60"});
  ASSERT_EQ(from_file.exit, 0) << from_file.output.substr(0, 2000);
  EXPECT_NE(from_file.output.find(expected), std::string::npos) << from_file.output;

  Run from_stdin = ctl_split({"workflow", "execute", "-t", "measure", "-q", "input-q", "-w",
                              "in-stdin", "--input", "-", "--timeout", "60"},
                             file);
  ASSERT_EQ(from_stdin.exit, 0) << from_stdin.errors.substr(0, 2000);
  EXPECT_NE(from_stdin.output.find(expected), std::string::npos) << from_stdin.output;

  // Signals take the same flags.
  client_->start("waiter", start_options("in-signal", "input-q"));
  Run signaled = ctl_split(
      {"workflow", "signal", "-w", "in-signal", "--name", "go", "--input-file", "-"}, file);
  ASSERT_EQ(signaled.exit, 0) << signaled.errors;
  EXPECT_EQ(client_->handle("in-signal").result<std::string>(60s), measure(big));

  // Over the server's limit: the server's clear refusal, exit 1, and no run.
  const std::string huge =
      write_file("huge.json", nlohmann::json(std::string(9 << 20, 'x')).dump());
  Run over = ctl({"workflow", "start", "-t", "measure", "-q", "input-q", "-w", "in-huge",
                  "--input-file", huge});
  EXPECT_EQ(over.exit, 1) << over.output.substr(0, 2000);
  EXPECT_NE(over.output.find("limit"), std::string::npos) << over.output.substr(0, 2000);
  EXPECT_THROW(client_->handle("in-huge").describe(), RpcError);
}

TEST_F(CairnctlInputTest, BadInputSourcesAreUsageErrorsThatSaySo) {
  const std::string bad = write_file("bad.json", "{\"a\": ");
  const std::string blank = write_file("blank.json", " \n");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<std::string> start = {"workflow", "start", "-t", "wf", "-q", "q"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = start;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  const std::vector<Case> cases = {
      {with({"--input-file", dir_.path() + "/missing.json"}), "cannot open the file"},
      {with({"--input-file", bad}), "--input-file " + bad + " is not JSON"},
      {with({"--input-file", blank}), "is empty"},
      {with({"--input", ""}), "--input is empty"},
      {with({"--input", "1", "--input-file", bad}), "--input excludes --input-file"},
  };
  for (const auto& c : cases) {
    Run r = ctl(c.args);
    EXPECT_EQ(r.exit, 2) << c.says << "\n" << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << r.output;
  }
  // Not JSON on stdin either.
  Run piped = ctl_split(with({"--input", "-"}), bad);
  EXPECT_EQ(piped.exit, 2) << piped.errors;
  EXPECT_NE(piped.errors.find("--input - is not JSON"), std::string::npos) << piped.errors;
  EXPECT_EQ(runs(), 0);
}

}  // namespace
}  // namespace cairn::testing
