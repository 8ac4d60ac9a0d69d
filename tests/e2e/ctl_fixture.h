// CtlTest: E2eTest plus running the cairnctl binary against the fixture's server, its exit
// status and output (stdout and stderr) captured. One per test; not thread-safe.
#pragma once

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "e2e/fixture.h"

namespace cairn::testing {

class CtlTest : public E2eTest {
 protected:
  struct Run {
    int exit = -1;
    std::string output;
    std::string errors;  // stderr, when captured apart (ctl_split)
  };

  // `env` entries ("NAME=value") are set for cairnctl (and what it starts) only.
  Run ctl(std::vector<std::string> args, const std::string& address = "",
          const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv;
    if (!env.empty()) {
      argv.push_back("/usr/bin/env");
      argv.insert(argv.end(), env.begin(), env.end());
    }
    argv.insert(argv.end(),
                {CAIRNCTL_BINARY, "--address", address.empty() ? server_->address() : address});
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p(argv, dir_.path() + "/ctl-" + std::to_string(++calls_) + ".log");
    Run r;
    r.exit = p.wait(std::chrono::seconds(120));
    r.output = p.output();
    return r;
  }

  // Like ctl(), with stdout (`output`) and stderr (`errors`) apart, and stdin read from
  // `stdin_path` (default: /dev/null).
  Run ctl_split(std::vector<std::string> args, const std::string& stdin_path = "/dev/null") {
    const std::string err = dir_.path() + "/ctl-" + std::to_string(++calls_) + ".err";
    std::vector<std::string> argv = {"/bin/sh",
                                     "-c",
                                     "in=$1; err=$2; shift 2; exec \"$@\" <\"$in\" 2>\"$err\"",
                                     "sh",
                                     stdin_path,
                                     err,
                                     CAIRNCTL_BINARY,
                                     "--address",
                                     server_->address()};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p(argv, dir_.path() + "/ctl-" + std::to_string(calls_) + ".log");
    Run r;
    r.exit = p.wait(std::chrono::seconds(120));
    r.output = p.output();
    std::ifstream f(err);
    r.errors.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return r;
  }

  int calls_ = 0;
};

}  // namespace cairn::testing
