#include "tests/ai/support/redis_process.h"

#include <fstream>

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/ai/support/process_util.h"
#include "tests/support/process.h"

namespace cairn::testing {

using namespace ai_support;

RedisProcess::RedisProcess(std::vector<std::string> config_lines)
    : config_lines_(std::move(config_lines)), dir_(make_temp_dir("cairn-redis")) {}

RedisProcess::~RedisProcess() {
  kill9();
  remove_tree(dir_);
}

bool RedisProcess::start(std::string* error) {
  if (pid_ > 0) {
    if (error != nullptr) {
      *error =
          "RedisProcess::start: already running (pid " + std::to_string(pid_) + "): stop() first";
    }
    return false;
  }
  // A fresh port the first time; the same one on a restart. A port taken between choosing and
  // binding fails the start: choose again.
  bool fresh = port_ == 0;
  for (int attempt = 0; attempt < (fresh ? 3 : 1); ++attempt) {
    if (fresh) {
      port_ = free_loopback_port();
    }
    std::string conf = dir_ + "/redis.conf";
    {
      std::ofstream out(conf);
      out << "port " << port_ << "\n"
          << "bind 127.0.0.1\n"
          << "protected-mode no\n"
          << "daemonize no\n"
          << "dir " << dir_ << "\n"
          << "logfile " << dir_ << "/redis.log\n"
          << "appendonly no\n";
      bool has_save = false;
      for (const std::string& line : config_lines_) {
        has_save |= line.rfind("save", 0) == 0;
      }
      if (!has_save) {
        out << "save \"\"\n";
      }
      for (const std::string& line : config_lines_) {
        out << line << "\n";
      }
    }
    pid_ = spawn_process(
        {REDIS_SERVER_BINARY, conf},
        {.out_path = dir_ + "/redis.out", .append_out = true, .err_path = dir_ + "/redis.out"});
    bool exited = false;
    bool up = poll_until(
        [&] {
          if (child_exited(pid_)) {
            exited = true;
            return true;
          }
          return command("PING").rfind("+PONG", 0) == 0;
        },
        std::chrono::seconds(20));
    if (up && !exited) {
      return true;
    }
    if (exited) {
      pid_ = -1;
    }
    kill9();
  }
  if (error != nullptr) {
    *error = "redis-server did not start; its log:\n" + log();
  }
  return false;
}

void RedisProcess::stop() {
  stop_child(pid_, SIGTERM, std::chrono::seconds(5));
  pid_ = -1;
}

void RedisProcess::kill9() {
  stop_child(pid_, SIGKILL, std::chrono::milliseconds(0));
  pid_ = -1;
}

std::string RedisProcess::command(const std::string& inline_command) const {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return "";
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string line = inline_command + "\r\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size())) {
      // One reply: read until a pause of 50 ms after the first bytes (inline replies are small).
      char buf[4096];
      pollfd p{fd, POLLIN, 0};
      int wait_ms = 2000;
      while (::poll(&p, 1, wait_ms) > 0) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
          break;
        }
        reply.append(buf, static_cast<size_t>(n));
        wait_ms = 50;
      }
    }
  }
  ::close(fd);
  return reply;
}

std::string RedisProcess::log() const {
  return read_file(dir_ + "/redis.log") + read_file(dir_ + "/redis.out");
}

}  // namespace cairn::testing
