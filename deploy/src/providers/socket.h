// Private loopback socket helpers shared by the probes (process_net.cc) and the RESP client.
#pragma once

#include <chrono>
#include <string>

namespace cairn::deploy {

// A connected non-blocking socket to 127.0.0.1:port, or -1 (refused, or not by `deadline`).
int connect_loopback(int port, std::chrono::steady_clock::time_point deadline);
// Sends all of `data` by `deadline`; false on error or timeout.
bool send_all(int fd, const std::string& data, std::chrono::steady_clock::time_point deadline);
// Appends what arrives (waiting until `deadline`): bytes read, 0 at EOF, -1 on error / timeout.
int recv_some(int fd, std::string* into, std::chrono::steady_clock::time_point deadline);

}  // namespace cairn::deploy
