// An endpoint API key, given to a worker process through the environment or a key file, is used
// (the endpoint requires it) and appears nowhere else: not in any file of the cairn-server data
// directory (RocksDB's WAL, SSTs, manifest, options), not in the worker's log (debug level:
// every failed attempt's message) or the server's, not in any failure message in history.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "ai/e2e/client_workflow.h"
#include "ai/support/endpoint_process.h"
#include "cairn/ai/types.h"
#include "e2e/fixture.h"

namespace cairn::ai {
namespace {

using namespace std::chrono_literals;
using cairn::testing::ChildProcess;
using cairn::testing::EndpointProcess;

constexpr char kKey[] = "sk-cairn-secret-9d2f4e6a1b3c5d7e";
// Text the runs certainly store: proof that the data directory is readable as searched.
constexpr char kMarker[] = "Zanzibar-granite-ledger";

using cairn::ai::client_testing::ChatCall;

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Every file under `dir` whose bytes contain `needle`.
std::vector<std::string> files_containing(const std::string& dir, const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && read_all(e.path()).find(needle) != std::string::npos) {
      hits.push_back(e.path().string());
    }
  }
  return hits;
}

void collect_messages(const v1::Failure& f, std::string* out) {
  *out += f.message() + "\n";
  if (f.has_cause()) {
    collect_messages(f.cause(), out);
  }
}

class ClientSecretsTest : public cairn::testing::E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    ::setenv("CAIRN_E2E_ENDPOINT_KEY", kKey, 1);
    endpoint_ = std::make_unique<EndpointProcess>(
        std::vector<std::string>{"--api-key-env", "CAIRN_E2E_ENDPOINT_KEY"});
    std::string error;
    ASSERT_TRUE(endpoint_->start(&error)) << error;
    ::unsetenv("CAIRN_E2E_ENDPOINT_KEY");
  }

  void TearDown() override {
    worker_.reset();
    ::unsetenv("CAIRN_E2E_WORKER_KEY");
    E2eTest::TearDown();
  }

  // Starts ai-worker-client with a router config whose one endpoint takes its key as
  // `key_line` says ("api_key_env: X" or "api_key_file: /path").
  void start_worker(const std::string& key_line) {
    std::string config = dir_.path() + "/router.yaml";
    std::ofstream(config) << "default_tier: standard\n"
                             "cooldown: 0s\n"
                             "tiers:\n"
                             "  - name: standard\n"
                             "    model: cairn-echo\n"
                             "    input_per_million: 1\n"
                             "    output_per_million: 2\n"
                             "    endpoints:\n"
                             "      - name: keyed-1\n"
                             "        base_url: " +
                                 endpoint_->base_url() +
                                 "\n"
                                 "        " +
                                 key_line + "\n";
    worker_log_ = dir_.path() + "/worker.log";
    worker_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{CAIRN_AI_WORKER_DIR "/ai-worker-client", "--address",
                                 server_->address(), "--task-queue", "ai-secrets", "--config",
                                 config},
        worker_log_);
  }

  ChatCall call() {
    ChatCall c;
    c.attempt.request.messages = {
        {.role = "system",
         .content = std::string("The vault code word is ") + kMarker + ". Cairn stores runs."},
        {.role = "user", .content = "What is the vault code word?"}};
    c.attempt.request.temperature = 0;
    return c;
  }

  // Runs one successful call and one that fails (the endpoint answers 500 twice), then checks
  // every place the key must not be.
  void run_and_check(const std::string& how) {
    auto ok = client_->start("client.chat", start_options("wf-ok-" + how, "ai-secrets"), call());
    ChatResult r = ok.result<ChatResult>(60s);
    EXPECT_NE(r.response.message.content.find(kMarker), std::string::npos)
        << r.response.message.content;
    EXPECT_EQ(endpoint_->stats()["last_authorization_seen"], true)
        << "the endpoint did not see the key: nothing was proven";

    endpoint_->set_fault({{"mode", "status"}, {"status", 500}, {"count", 2}});
    ChatCall failing = call();
    failing.max_attempts = 2;
    auto bad = client_->start("client.chat", start_options("wf-bad-" + how, "ai-secrets"), failing);
    EXPECT_THROW(bad.result<ChatResult>(60s), WorkflowFailedError);

    std::string messages;
    for (auto* h : {&ok, &bad}) {
      for (const auto& e : h->history()) {
        std::string text = e.DebugString();
        EXPECT_EQ(text.find(kKey), std::string::npos) << how << ": history event " << e.event_id();
        if (e.has_activity_task_failed_event_attributes()) {
          collect_messages(e.activity_task_failed_event_attributes().failure(), &messages);
        }
      }
    }
    EXPECT_NE(messages.find("HTTP 500"), std::string::npos) << messages;
    EXPECT_EQ(messages.find(kKey), std::string::npos) << messages;

    const std::string data = dir_.path() + "/data";
    EXPECT_FALSE(files_containing(data, kMarker).empty())
        << "the runs' text is not found in the data directory: the search proves nothing";
    EXPECT_EQ(files_containing(data, kKey), std::vector<std::string>()) << how;
    EXPECT_EQ(server_->log().find(kKey), std::string::npos) << how << ": server log";
    std::string worker_log = read_all(worker_log_);
    EXPECT_NE(worker_log.find("HTTP 500"), std::string::npos)
        << "the worker did not log the failed attempts: nothing was proven\n"
        << worker_log;
    EXPECT_EQ(worker_log.find(kKey), std::string::npos) << how << ": worker log";
    EXPECT_EQ(endpoint_->log().find(kKey), std::string::npos) << how << ": endpoint log";
  }

  std::unique_ptr<EndpointProcess> endpoint_;
  std::unique_ptr<ChildProcess> worker_;
  std::string worker_log_;
};

TEST_F(ClientSecretsTest, AKeyFromTheEnvironmentIsNowhereButInTheRequest) {
  ::setenv("CAIRN_E2E_WORKER_KEY", kKey, 1);
  start_worker("api_key_env: CAIRN_E2E_WORKER_KEY");
  ::unsetenv("CAIRN_E2E_WORKER_KEY");  // the child has its own copy
  run_and_check("env");
}

TEST_F(ClientSecretsTest, AKeyFromAFileIsNowhereButInTheRequest) {
  std::string key_file = dir_.path() + "/key";
  std::ofstream(key_file) << kKey << "\n";
  start_worker("api_key_file: " + key_file);
  run_and_check("file");
  // The data directory is searched once more after the server flushed everything to SSTs.
  ASSERT_EQ(server_->stop(), 0);
  EXPECT_EQ(files_containing(dir_.path() + "/data", kKey), std::vector<std::string>());
}

}  // namespace
}  // namespace cairn::ai
