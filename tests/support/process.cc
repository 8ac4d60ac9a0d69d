#include "tests/support/process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace cairn::testing {

pid_t spawn_process(const std::vector<std::string>& args, const SpawnOptions& options) {
  // argv is built before fork: the child of a multi-threaded process may only call
  // async-signal-safe functions, and allocation is not one.
  std::vector<char*> argv;
  for (const auto& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid != 0) {
    return pid;
  }
  int out_flags = O_WRONLY | O_CREAT | (options.append_out ? O_APPEND : O_TRUNC);
  int out = open(options.out_path.c_str(), out_flags, 0644);
  if (out >= 0) {
    dup2(out, 1);
  }
  if (options.err_path == options.out_path) {
    dup2(1, 2);
  } else if (!options.err_path.empty()) {
    int err = open(options.err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (err >= 0) {
      dup2(err, 2);
    }
  }
  execv(argv[0], argv.data());
  std::perror(argv[0]);  // "<path>: <why>"
  _exit(127);
}

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace cairn::testing
