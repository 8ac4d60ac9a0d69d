#include "e2e/server_process.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cairn/v1/service.grpc.pb.h"
#include "tests/support/process.h"

namespace cairn::testing {

TempDir::TempDir() {
  char tmpl[] = "/tmp/cairn-test-XXXXXX";
  char* p = mkdtemp(tmpl);
  if (p == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ServerProcess::ServerProcess(std::string data_dir, std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {
  log_path_ = data_dir_ + ".server.log";
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill9();
  }
}

std::string ServerProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool ServerProcess::start(int port, std::chrono::milliseconds timeout, std::string* error) {
  std::string port_file = data_dir_ + ".port";
  std::remove(port_file.c_str());
  std::vector<std::string> args = {CAIRN_SERVER_BINARY,
                                   "--data-dir", data_dir_,
                                   "--listen", "127.0.0.1:" + std::to_string(port),
                                   "--port-file", port_file,
                                   "--log-level", "info"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  pid_ = spawn_process(args, {.out_path = log_path_, .append_out = true, .err_path = log_path_});
  bool up = await_until(
      [&] {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;  // exited: stop waiting
        }
        std::ifstream in(port_file);
        int p = 0;
        return static_cast<bool>(in >> p) && p > 0 && (port_ = p) > 0;
      },
      timeout);
  if (!up || pid_ <= 0) {
    if (error != nullptr) {
      *error = "cairn-server did not start; its log:\n" + log();
    }
    if (pid_ > 0) {
      kill9();
    }
    return false;
  }
  auto channel = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  auto stub = v1::WorkflowService::NewStub(channel);
  bool serving = await_until(
      [&] {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
        v1::GetSystemInfoResponse resp;
        return stub->GetSystemInfo(&ctx, v1::GetSystemInfoRequest(), &resp).ok() && resp.serving();
      },
      timeout);
  if (!serving && error != nullptr) {
    *error = "cairn-server did not answer GetSystemInfo; its log:\n" + log();
  }
  return serving;
}

int ServerProcess::stop() {
  if (pid_ <= 0) {
    return -1;
  }
  ::kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return exit_code(status);
}

void ServerProcess::kill9() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

ChildProcess::ChildProcess(std::vector<std::string> args, std::string log_path)
    : log_path_(std::move(log_path)) {
  pid_ = spawn_process(args, {.out_path = log_path_, .err_path = log_path_});
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    stop();
  }
}

int ChildProcess::stop() {
  if (pid_ <= 0) {
    return -1;
  }
  ::kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return exit_code(status);
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  int status = 0;
  bool exited = await_until([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
  if (!exited) {
    return -1;
  }
  pid_ = -1;
  return exit_code(status);
}

std::string ChildProcess::output() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace cairn::testing
