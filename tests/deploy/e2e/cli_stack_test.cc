// End to end: `cairnctl stack plan | apply | status | history | destroy` against a real
// cairn-server and a real cairn-deploy-worker — the plan of the support agent's stack with its
// cost and the approval it needs, an apply with --auto-approve followed line by line, outputs in
// `status -o json`, a bad spec refused with its line before anything is sent, and a destroy that
// leaves nothing running.
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "deploy/e2e/stack_fixture.h"

namespace cairn::testing {
namespace {


using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

const fs::path kRepo = fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path();

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Whether something accepts TCP connections on 127.0.0.1:port.
bool listening(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Where the first match of `pattern` starts in `text`; npos when none.
size_t where(const std::string& text, const std::string& pattern) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(pattern)) ? static_cast<size_t>(m.position(0))
                                                         : std::string::npos;
}

int port_of(const std::string& url) {
  std::smatch m;
  static const std::regex re(":([0-9]+)(/|$)");
  return std::regex_search(url, m, re) ? std::stoi(m[1].str()) : 0;
}

// A real cairn-server and cairn-deploy-worker (StackTest, stack_fixture.h), and cairnctl run as
// a process against them.
class CliStackTest : public cairn::deploy::testing::StackTest {
 protected:
  struct Run {
    int exit = -1;
    std::string out;
    std::string err;
  };

  // cairnctl ARGS against the server: stdout and stderr apart.
  Run ctl(const std::vector<std::string>& args) {
    const std::string n = std::to_string(++calls_);
    const std::string out = dir_.path() + "/ctl-" + n + ".out";
    const std::string err = dir_.path() + "/ctl-" + n + ".err";
    std::vector<std::string> argv = {"/bin/sh",
                                     "-c",
                                     "out=$1; err=$2; shift 2; exec \"$@\" >\"$out\" 2>\"$err\" "
                                     "</dev/null",
                                     "sh",
                                     out,
                                     err,
                                     CAIRNCTL_BINARY,
                                     "--address",
                                     server_->address()};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p(argv, dir_.path() + "/ctl-" + n + ".log");
    Run r;
    r.exit = p.wait(60s);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  json ctl_json(std::vector<std::string> args, int expected_exit = 0) {
    args.insert(args.begin(), {"-o", "json"});
    Run r = ctl(args);
    EXPECT_EQ(r.exit, expected_exit) << r.out << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "stdout is not JSON:\n" << r.out << r.err;
    return j;
  }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // A stack of one deterministic model endpoint and a command resource that records its URL in
  // a file (the command provider runs it; the file is what a destroy must remove).
  std::string small_stack() {
    marker_ = dir_.path() + "/marker.txt";
    return write("small.yaml",
                 "name: cli-small\n"
                 "version: 1\n"
                 "resources:\n"
                 "  llm:\n"
                 "    type: model_endpoint\n"
                 "    inputs:\n"
                 "      tier: economy\n"
                 "      model: lumen-small\n"
                 "      replicas: 1\n"
                 "      price_per_hour: 0.12\n"
                 "  note:\n"
                 "    type: command\n"
                 "    inputs:\n"
                 "      create: \"echo ${llm.url} > " + marker_ +
                     " && echo '{\\\"file\\\": \\\"" + marker_ + "\\\"}'\"\n"
                 "      read: \"test -f " + marker_ + " && echo '{\\\"file\\\": \\\"" + marker_ +
                     "\\\"}' || true\"\n"
                 "      delete: \"rm -f " + marker_ + "\"\n"
                 "      outputs: [file]\n");
  }

  std::string marker_;
  int calls_ = 0;
};

TEST_F(CliStackTest, PlanOfTheSupportAgentStackShowsItsCostAndThatItNeedsApproval) {
  const std::string file = (kRepo / "examples/support-agent/stack.yaml").string();
  Run text = ctl({"stack", "plan", file});
  ASSERT_EQ(text.exit, 0) << text.out << text.err;
  for (const char* s : {"+ economy (model_endpoint)", "+ router (router)", "+ kb (vector_index)",
                        "$1.09", "$795.70", "Needs approval", "Plan hash: "}) {
    EXPECT_NE(text.out.find(s), std::string::npos) << s << "\n" << text.out;
  }

  json j = ctl_json({"stack", "plan", file});
  EXPECT_EQ(j["stack"], "support-agent");
  EXPECT_EQ(j["needs_approval"], true) << j;
  EXPECT_EQ(j["plan"]["cost"]["after_per_hour"], "$1.09");
  EXPECT_EQ(j["plan"]["cost"]["delta_per_month"], "+$795.70");
  ASSERT_TRUE(j["hash"].is_string());
  EXPECT_EQ(j["hash"].get<std::string>().size(), 64u);
  EXPECT_NE(text.out.find(j["hash"].get<std::string>()), std::string::npos)
      << "the text and the JSON show one hash";
  ASSERT_FALSE(j["approval_reasons"].empty());
  EXPECT_NE(j["approval_reasons"][0].get<std::string>().find("$1.09 per hour"), std::string::npos)
      << j["approval_reasons"];
}

TEST_F(CliStackTest, ABadSpecExitsTwoNamingEachLineAndSendsNothing) {
  const std::string bad = write("bad.yaml",
                                "name: broken\n"
                                "version: 1\n"
                                "resources:\n"
                                "  cache:\n"
                                "    type: redis_cluster\n"
                                "  app:\n"
                                "    type: process\n"
                                "    inputs:\n"
                                "      command: ${nothing.url}\n");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"stack", "plan", bad}, {"stack", "apply", bad, "--auto-approve"}}) {
    SCOPED_TRACE(args[1]);
    Run r = ctl(args);
    EXPECT_EQ(r.exit, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("bad.yaml:5:"), std::string::npos) << r.err;  // the unknown type
    EXPECT_NE(r.err.find("bad.yaml:9:"), std::string::npos) << r.err;  // the reference
    EXPECT_NE(r.err.find("redis_cluster"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  json j = ctl_json({"stack", "apply", bad, "--auto-approve"}, 2);
  EXPECT_EQ(j["error"]["code"], "SPEC_INVALID");
  EXPECT_EQ(j["error"]["exit_code"], 2);
  ASSERT_GE(j["error"]["errors"].size(), 2u) << j;
  EXPECT_EQ(j["error"]["errors"][0]["line"], 5) << j;
  // Nothing was sent: the stack has no workflow.
  json missing = ctl_json({"stack", "status", "--stack", "broken"}, 1);
  EXPECT_EQ(missing["error"]["code"], "NOT_FOUND") << missing;
}

TEST_F(CliStackTest, ApplyFollowsTheDeployThenStatusHistoryAndDestroyLeaveNothing) {
  const std::string file = small_stack();
  Run apply = ctl({"stack", "apply", file, "--auto-approve", "--by", "ana"});
  ASSERT_EQ(apply.exit, 0) << apply.out << apply.err << "\nworker log:\n" << worker_logs();
  // The plan first, then a line per resource as its state changes, the final state, outputs.
  EXPECT_NE(apply.out.find("+ llm (model_endpoint)"), std::string::npos) << apply.out;
  const size_t llm_done = where(apply.out, R"(\+ +llm +model_endpoint +creating… done [0-9.]+ s)");
  const size_t note_done = where(apply.out, R"(\+ +note +command +creating… done [0-9.]+ s)");
  ASSERT_NE(llm_done, std::string::npos) << apply.out;
  ASSERT_NE(note_done, std::string::npos) << apply.out;
  EXPECT_LT(llm_done, note_done) << "note depends on llm: it is created after\n" << apply.out;
  EXPECT_NE(apply.out.find("deploy d-1 succeeded"), std::string::npos) << apply.out;
  EXPECT_NE(apply.out.find("Outputs:"), std::string::npos) << apply.out;
  EXPECT_NE(apply.out.find("note.file = " + marker_), std::string::npos) << apply.out;

  json st = ctl_json({"stack", "status", file});
  ASSERT_TRUE(st["outputs"]["llm"]["url"].is_string()) << st;
  const std::string url = st["outputs"]["llm"]["url"];
  EXPECT_EQ(st["outputs"]["note"]["file"], marker_) << st;
  // The command really ran with the endpoint's URL, and the endpoint really serves.
  EXPECT_NE(slurp(marker_).find(url), std::string::npos) << slurp(marker_);
  const int port = port_of(url);
  ASSERT_GT(port, 0) << url;
  EXPECT_TRUE(listening(port)) << url;
  ASSERT_EQ(st["resources"].size(), 2u) << st;

  json again = ctl_json({"stack", "plan", file});
  EXPECT_EQ(again["has_changes"], false) << again;

  json hist = ctl_json({"stack", "history", "--stack", "cli-small"});
  ASSERT_EQ(hist["deploys"].size(), 1u) << hist;
  EXPECT_EQ(hist["deploys"][0]["state"], "succeeded");
  EXPECT_EQ(hist["deploys"][0]["requested_by"], "ana");
  EXPECT_EQ(hist["deploys"][0]["plan_hash"].get<std::string>().size(), 64u);

  Run destroy = ctl({"stack", "destroy", "--stack", "cli-small", "--auto-approve", "--by", "ana"});
  ASSERT_EQ(destroy.exit, 0) << destroy.out << destroy.err << "\nworker log:\n"
                             << worker_logs();
  const size_t note_gone = where(destroy.out, R"(- +note +command +deleting… done)");
  const size_t llm_gone = where(destroy.out, R"(- +llm +model_endpoint +deleting… done)");
  ASSERT_NE(note_gone, std::string::npos) << destroy.out;
  ASSERT_NE(llm_gone, std::string::npos) << destroy.out;
  EXPECT_LT(note_gone, llm_gone) << "deletes in reverse order\n" << destroy.out;
  EXPECT_FALSE(fs::exists(marker_));
  EXPECT_FALSE(listening(port)) << url << " still answers after destroy";

  json after = ctl_json({"stack", "status", "--stack", "cli-small"});
  EXPECT_TRUE(after["resources"].empty()) << after;
  EXPECT_TRUE(after["outputs"].empty()) << after;
  json hist2 = ctl_json({"stack", "history", "--stack", "cli-small"});
  ASSERT_EQ(hist2["deploys"].size(), 2u) << hist2;
  EXPECT_EQ(hist2["deploys"][0]["operation"], "destroy");
  EXPECT_EQ(hist2["deploys"][0]["state"], "succeeded");
}

}  // namespace
}  // namespace cairn::testing
