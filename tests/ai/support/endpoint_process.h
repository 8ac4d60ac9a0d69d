// EndpointProcess: starts the real cairn-model-endpoint binary on a free loopback port, waits
// until it answers /health, drives its control API (faults, stats, reset) over plain HTTP, and
// stops it by pid. A restart after stop() or kill9() reuses the same port, so clients
// configured with base_url() reconnect. Test-only; not thread-safe.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/types.h>

namespace cairn::testing {

class EndpointProcess {
 public:
  // extra_args are appended to the command line ("--model", "gpt-4o-mini",
  // "--context-window", "4096", "--api-key-env", "MY_KEY", ...). A "--listen" among them
  // replaces the default 127.0.0.1:0.
  explicit EndpointProcess(std::vector<std::string> extra_args = {});
  ~EndpointProcess();  // SIGKILL if still running; removes the temp dir

  EndpointProcess(const EndpointProcess&) = delete;
  EndpointProcess& operator=(const EndpointProcess&) = delete;

  // Starts the binary and waits (up to 20 s) until GET /health answers 200. Returns false with
  // the endpoint's log in `error` when it did not come up, or when it is already running.
  bool start(std::string* error = nullptr);
  // SIGTERM and wait (SIGKILL after 5 s).
  void stop();
  // SIGKILL and reap.
  void kill9();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // "http://127.0.0.1:PORT/v1": the base URL an OpenAI client takes.
  std::string base_url() const;
  // "http://127.0.0.1:PORT": for /health and /control.
  std::string root_url() const;

  // GET /control/stats (see ai/docs/endpoint.md). A failed call is a test failure
  // (ADD_FAILURE) and returns an empty object.
  nlohmann::json stats() const;
  // POST /control/faults, e.g. {"mode": "rate_limit", "retry_after": "2", "count": 1}. A
  // refused fault is a test failure (ADD_FAILURE with the endpoint's message).
  void set_fault(const nlohmann::json& fault);
  // POST /control/reset: faults off, counters zeroed.
  void reset();
  // The endpoint's stdout and stderr so far (one line per request; never a header).
  std::string log() const;

 private:
  std::vector<std::string> extra_args_;
  std::string dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace cairn::testing
