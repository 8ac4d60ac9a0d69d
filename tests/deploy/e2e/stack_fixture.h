// StackTest: a real cairn-server (E2eTest) and a real cairn-deploy-worker process (restartable,
// killable with SIGKILL) whose providers start real processes under a temporary state
// directory; helpers to submit requests, wait for deploys and count what is running.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cairn/deploy/process.h"
#include "cairn/deploy/stack.h"
#include "e2e/fixture.h"

namespace cairn::deploy::testing {

using cairn::testing::ChildProcess;
using nlohmann::json;

#ifdef CAIRN_DEPLOY_REDIS_SERVER
inline const char* kRedis = CAIRN_DEPLOY_REDIS_SERVER;
#else
inline const char* kRedis = "/usr/bin/redis-server";
#endif

class StackTest : public cairn::testing::E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    // A secret value unique to this test, in the worker's environment (inherited by what it
    // starts); tests check that it reaches no history, data file or log.
    secret_value_ = "tok-" + std::to_string(::getpid()) + "-" +
                    std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    ::setenv("CAIRN_E2E_STACK_TOKEN", secret_value_.c_str(), 1);
    state_dir_ = dir_.path() + "/state";
    std::filesystem::create_directories(state_dir_);
    start_worker();
  }

  void TearDown() override {
    stop_worker();
    stop_everything_recorded();
    E2eTest::TearDown();
  }

  void start_worker() {
    ++worker_starts_;
    worker_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{CAIRN_DEPLOY_WORKER_BINARY, "--address", server_->address(),
                                 "--state-dir", state_dir_, "--model-endpoint",
                                 CAIRN_MODEL_ENDPOINT_BINARY, "--redis-server", kRedis},
        worker_log(worker_starts_));
  }
  std::string worker_log(int n) const {
    return dir_.path() + "/worker-" + std::to_string(n) + ".log";
  }
  // Every worker log so far.
  std::string worker_logs() const {
    std::string all;
    for (int i = 1; i <= worker_starts_; ++i) {
      std::ifstream in(worker_log(i));
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
  }
  void stop_worker() {
    if (worker_) {
      worker_->stop();
      worker_.reset();
    }
  }
  void kill9_worker() {
    ::kill(worker_->pid(), SIGKILL);
    worker_->wait(std::chrono::seconds(10));
    worker_.reset();
  }

  // Stops every process recorded by a pid file under the state directory (what a failed test
  // may leave behind).
  void stop_everything_recorded() {
    for (const auto& [dir, name] : pid_files()) {
      if (auto r = read_process_record(dir, name)) {
        stop(*r, std::chrono::milliseconds(500));
      }
    }
  }

  std::vector<std::pair<std::filesystem::path, std::string>> pid_files() const {
    std::vector<std::pair<std::filesystem::path, std::string>> out;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(state_dir_, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::string file = it->path().filename().string();
      if (file.size() > 4 && file.compare(file.size() - 4, 4, ".pid") == 0) {
        out.emplace_back(it->path().parent_path(), file.substr(0, file.size() - 4));
      }
    }
    return out;
  }

  // Live processes recorded under the state directory (pid file + start time).
  int running_processes() const {
    int n = 0;
    for (const auto& [dir, name] : pid_files()) {
      if (auto r = read_process_record(dir, name); r && alive(*r)) {
        ++n;
      }
    }
    return n;
  }

  // Live processes whose command line contains `marker` (from /proc, pid files or not).
  static int count_processes(const std::string& marker) {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      std::string name = entry.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
        continue;
      }
      std::ifstream in(entry.path() / "cmdline", std::ios::binary);
      std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      for (char& c : cmdline) {
        if (c == '\0') {
          c = ' ';
        }
      }
      if (cmdline.find(marker) != std::string::npos &&
          process_start_time(static_cast<pid_t>(std::stol(name)))) {
        ++count;
      }
    }
    return count;
  }

  StackRequest apply_request(const std::string& spec, const std::string& by = "alice") {
    StackRequest r;
    r.operation = Operation::kApply;
    r.spec_text = spec;
    r.spec_file = "stack.yaml";
    r.base_dir = dir_.path();
    r.requested_by = by;
    return r;
  }

  StackAccepted submit(const std::string& stack, const StackRequest& r) {
    return submit_stack_request(*client_, stack, r);
  }

  DeployRecord wait_deploy(const std::string& stack, const std::string& id,
                           std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    return wait_for_deploy(*client_, stack, id, limit, {}, std::chrono::milliseconds(50));
  }

  // The status once `done(status)` holds, or the last one seen.
  StackStatus await_status(const std::string& stack,
                           const std::function<bool(const StackStatus&)>& done,
                           std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    StackStatus last;
    eventually(
        [&] {
          try {
            last = stack_status(*client_, stack);
            return done(last);
          } catch (const std::exception&) {
            return false;
          }
        },
        limit);
    return last;
  }

  static const ResourceProgress* progress_of(const DeployRecord& d, const std::string& resource) {
    const ResourceProgress* found = nullptr;
    for (const auto& p : d.resources) {
      if (p.resource == resource) {
        found = &p;
      }
    }
    return found;
  }

  static std::string dump(const DeployRecord& d) { return json(d).dump(2); }

  std::string secret_value_;
  std::string state_dir_;
  std::unique_ptr<ChildProcess> worker_;
  int worker_starts_ = 0;
};

// A process resource that listens on its port after `delay` seconds (a shell that execs
// cairn-model-endpoint: the same pid from start to end), serving the model id `marker` so that
// /proc can count it (redis-server would rewrite its command line).
inline std::string slow_listener(const std::string& name, double delay, const std::string& marker,
                                 const std::string& extra = "") {
  return "  " + name +
         ":\n"
         "    type: process\n"
         "    inputs:\n"
         "      command: /bin/sh\n"
         "      args: [\"-c\", \"sleep " +
         std::to_string(delay) + "; exec " + CAIRN_MODEL_ENDPOINT_BINARY +
         " --listen 127.0.0.1:{port} --model " + marker +
         "\"]\n"
         "      health: {tcp: true}\n" +
         extra;
}

}  // namespace cairn::deploy::testing
