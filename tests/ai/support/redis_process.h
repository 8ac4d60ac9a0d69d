// RedisProcess: starts a real redis-server on a free loopback port with a config file in a
// temp dir (no persistence unless a "save" line is given), waits until it answers PING, and
// stops it by pid. A restart after stop() or kill9() reuses the same port. Test-only; not
// thread-safe.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

namespace cairn::testing {

class RedisProcess {
 public:
  // config_lines are appended to the config file, e.g. "maxmemory 2mb",
  // "maxmemory-policy allkeys-lru".
  explicit RedisProcess(std::vector<std::string> config_lines = {});
  ~RedisProcess();  // SIGKILL if still running; removes the temp dir

  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  // Starts redis-server and waits (up to 20 s) until it answers PING. Returns false with its
  // log in `error` when it did not come up, or when it is already running.
  bool start(std::string* error = nullptr);
  // SIGTERM and wait (SIGKILL after 5 s).
  void stop();
  // SIGKILL and reap.
  void kill9();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // Sends one inline command (e.g. "PING", "DBSIZE", "CONFIG GET maxmemory-policy") and
  // returns the raw RESP reply ("+PONG\r\n"); empty when the server does not answer.
  std::string command(const std::string& inline_command) const;
  std::string log() const;

 private:
  std::vector<std::string> config_lines_;
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace cairn::testing
