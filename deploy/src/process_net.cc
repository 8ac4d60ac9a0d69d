// Loopback probes of the process tracker: TCP connect, a tiny blocking HTTP/1.0 GET, port_free.
#include <cerrno>
#include <cstdlib>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cairn/deploy/process.h"
#include "providers/socket.h"

namespace cairn::deploy {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

int connect_loopback(int port, Clock::time_point deadline) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (r != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  if (r != 0) {
    pollfd p{fd, POLLOUT, 0};
    while (true) {
      int n = ::poll(&p, 1, remaining_ms(deadline));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      if (n <= 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        ::close(fd);
        return -1;
      }
      break;
    }
  }
  return fd;
}

bool send_all(int fd, const std::string& data, Clock::time_point deadline) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
        return false;
      }
      continue;
    }
    return false;
  }
  return true;
}

int recv_some(int fd, std::string* into, Clock::time_point deadline) {
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      into->append(buf, static_cast<size_t>(n));
      return static_cast<int>(n);
    }
    if (n == 0) {
      return 0;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN) {
      return -1;
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r <= 0) {
      return -1;
    }
  }
}

bool tcp_open(int port, milliseconds timeout) {
  int fd = connect_loopback(port, Clock::now() + timeout);
  if (fd < 0) {
    return false;
  }
  ::close(fd);
  return true;
}

int http_get_status(int port, const std::string& path, milliseconds timeout, std::string* body) {
  auto deadline = Clock::now() + timeout;
  int fd = connect_loopback(port, deadline);
  if (fd < 0) {
    return 0;
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nConnection: close\r\nAccept: */*\r\n\r\n";
  std::string response;
  if (!send_all(fd, request, deadline)) {
    ::close(fd);
    return 0;
  }
  // HTTP/1.0 with Connection: close: the body ends where the connection does.
  while (true) {
    int n = recv_some(fd, &response, deadline);
    if (n <= 0 || response.size() > (1 << 20)) {
      break;
    }
  }
  ::close(fd);
  // "HTTP/1.1 200 OK"
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) {
    return 0;
  }
  int status = std::atoi(response.c_str() + 9);
  if (body != nullptr) {
    size_t end = response.find("\r\n\r\n");
    *body = end == std::string::npos ? std::string() : response.substr(end + 4);
  }
  return status;
}

bool port_free(int port) {
  if (tcp_open(port, milliseconds(200))) {
    return false;  // something listens
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  // As servers bind: connections of a stopped server left in TIME_WAIT do not hold the port.
  // Its TIME_WAIT sockets carry the server's options (cpp-httplib sets SO_REUSEPORT, Redis
  // SO_REUSEADDR), so both are set; a live listener was ruled out above.
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace cairn::deploy
