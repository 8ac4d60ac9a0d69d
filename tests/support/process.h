// Child processes for the end-to-end tests and the benchmark driver: start a binary with its
// output in files. Call from one thread at a time (fork); owns nothing, the caller reaps the pid.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace cairn::testing {

struct SpawnOptions {
  std::string out_path;     // the child's stdout; REQUIRED
  bool append_out = false;  // append to out_path (default: truncate it)
  // The child's stderr: empty, inherited; equal to out_path, the same file; else appended to.
  std::string err_path;
};

// Forks and execs args[0] (a path, not searched in PATH) with args. Returns the child's pid, or
// -1 when fork fails. When exec fails the child prints why on its stderr and exits with 127.
pid_t spawn_process(const std::vector<std::string>& args, const SpawnOptions& options);

// The exit code a waitpid() status stands for: the code of a normal exit, 128 + the signal
// number of a kill (as a shell reports it).
int exit_code(int status);

}  // namespace cairn::testing
