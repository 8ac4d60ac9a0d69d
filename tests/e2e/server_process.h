// ServerProcess: starts the real cairn-server binary on a free loopback port with a fresh (or
// given) data directory, waits until it serves, and stops it by pid — SIGTERM for a graceful
// stop, SIGKILL for a crash. Test-only; not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace cairn::testing {

// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class ServerProcess {
 public:
  // `data_dir` must outlive the process. extra_args are appended to the command line.
  explicit ServerProcess(std::string data_dir, std::vector<std::string> extra_args = {});
  ~ServerProcess();  // SIGKILL if still running

  // Starts the binary and waits until it answers GetSystemInfo. port 0: pick a free one; a
  // restart passes the previous port so clients reconnect. Returns false (with the server's
  // log in `error`) when it did not come up within the timeout.
  bool start(int port = 0, std::chrono::milliseconds timeout = std::chrono::seconds(30),
             std::string* error = nullptr);
  // SIGTERM and wait for exit; returns the exit status (0 on a clean shutdown).
  int stop();
  // SIGKILL and reap: a crash at an arbitrary instant.
  void kill9();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& log_path() const { return log_path_; }
  std::string log() const;

 private:
  std::string data_dir_;
  std::vector<std::string> extra_args_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// A child process with stdout+stderr captured to a file; killed (SIGTERM) on destruction.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> args, std::string log_path);
  ~ChildProcess();
  // SIGTERM and wait; returns the exit status.
  int stop();
  // Waits for exit (up to timeout); returns the exit status, or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  std::string output() const;
  pid_t pid() const { return pid_; }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
};

// Polls `pred` every few milliseconds until it is true or the deadline passes.
template <class Pred>
bool await_until(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    struct timespec ts {0, 5'000'000};
    nanosleep(&ts, nullptr);
  }
  return pred();
}

}  // namespace cairn::testing
