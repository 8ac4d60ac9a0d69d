// CtlTest: E2eTest plus running the cairnctl binary against the fixture's server, its exit
// status and output (stdout and stderr) captured. One per test; not thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "e2e/fixture.h"

namespace cairn::testing {

class CtlTest : public E2eTest {
 protected:
  struct Run {
    int exit = -1;
    std::string output;
  };

  // `env` entries ("NAME=value") are set for cairnctl (and what it starts) only.
  Run ctl(std::vector<std::string> args, const std::string& address = "",
          const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv;
    if (!env.empty()) {
      argv.push_back("/usr/bin/env");
      argv.insert(argv.end(), env.begin(), env.end());
    }
    argv.insert(argv.end(), {CAIRNCTL_BINARY, "--address",
                             address.empty() ? server_->address() : address});
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p(argv, dir_.path() + "/ctl-" + std::to_string(++calls_) + ".log");
    Run r;
    r.exit = p.wait(std::chrono::seconds(120));
    r.output = p.output();
    return r;
  }

  int calls_ = 0;
};

}  // namespace cairn::testing
