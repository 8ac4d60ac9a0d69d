// Helpers shared by the AI process fixtures: temp dirs, free ports, stopping a child by pid,
// polling with a deadline. Test-only.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <sys/types.h>

namespace cairn::testing::ai_support {

// A fresh directory "/tmp/<prefix>-XXXXXX"; aborts when none can be made.
std::string make_temp_dir(const std::string& prefix);
void remove_tree(const std::string& path);
// A loopback TCP port that was free a moment ago (bound to port 0, then released).
int free_loopback_port();
// Sends `sig` to pid and reaps it; SIGKILL when it has not exited within `grace`.
void stop_child(pid_t pid, int sig, std::chrono::milliseconds grace);
// True when the child has exited (reaped).
bool child_exited(pid_t pid);
// Polls pred every 10 ms until true or the deadline.
bool poll_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
std::string read_file(const std::string& path);

}  // namespace cairn::testing::ai_support
