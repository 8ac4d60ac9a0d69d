// RESP2 encoding and decoding over a blocking loopback socket.
#include "providers/resp.h"

#include <cstdlib>

#include <unistd.h>

#include "providers/socket.h"

namespace cairn::deploy::resp {

std::string encode(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  }
  return out;
}

long parse(const std::string& data, size_t at, Reply* out) {
  if (at >= data.size()) {
    return 0;
  }
  size_t eol = data.find("\r\n", at);
  if (eol == std::string::npos) {
    return 0;
  }
  char type = data[at];
  std::string line = data.substr(at + 1, eol - at - 1);
  long head = static_cast<long>(eol + 2 - at);
  switch (type) {
    case '+':
      *out = Reply{Reply::Kind::kString, line, {}};
      return head;
    case '-':
      *out = Reply{Reply::Kind::kError, line, {}};
      return head;
    case ':':
      *out = Reply{Reply::Kind::kInteger, line, {}};
      return head;
    case '$': {
      long len = std::strtol(line.c_str(), nullptr, 10);
      if (len < 0) {
        *out = Reply{Reply::Kind::kNil, "", {}};
        return head;
      }
      size_t body = eol + 2;
      if (data.size() < body + static_cast<size_t>(len) + 2) {
        return 0;
      }
      *out = Reply{Reply::Kind::kString, data.substr(body, static_cast<size_t>(len)), {}};
      return head + len + 2;
    }
    case '*': {
      long count = std::strtol(line.c_str(), nullptr, 10);
      *out = Reply{count < 0 ? Reply::Kind::kNil : Reply::Kind::kArray, "", {}};
      long used = head;
      for (long i = 0; i < count; ++i) {
        Reply element;
        long n = parse(data, at + static_cast<size_t>(used), &element);
        if (n <= 0) {
          return n;
        }
        used += n;
        out->elements.push_back(std::move(element));
      }
      return used;
    }
    default:
      return -1;
  }
}

std::optional<Reply> command(int port, const std::vector<std::string>& args,
                             std::chrono::milliseconds timeout, std::string* error) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int fd = connect_loopback(port, deadline);
  if (fd < 0) {
    *error = "cannot connect to 127.0.0.1:" + std::to_string(port);
    return std::nullopt;
  }
  std::optional<Reply> result;
  if (!send_all(fd, encode(args), deadline)) {
    *error = "send failed";
  } else {
    std::string data;
    while (true) {
      int n = recv_some(fd, &data, deadline);
      if (n <= 0) {
        *error = n == 0 ? "connection closed before the reply" : "no reply in time";
        break;
      }
      Reply reply;
      long used = parse(data, 0, &reply);
      if (used < 0) {
        *error = "malformed reply";
        break;
      }
      if (used > 0) {
        result = std::move(reply);
        break;
      }
    }
  }
  ::close(fd);
  return result;
}

}  // namespace cairn::deploy::resp
