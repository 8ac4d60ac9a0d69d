// A tiny blocking RESP2 client for the redis provider: one command per call on a fresh loopback
// connection (the provider speaks to Redis a few times per reconcile, never on a hot path).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace cairn::deploy::resp {

// A decoded reply: a simple string / error / integer / bulk string, or an array of them.
struct Reply {
  enum class Kind { kString, kError, kInteger, kNil, kArray } kind = Kind::kNil;
  std::string text;  // string, error, bulk; the digits of an integer
  std::vector<Reply> elements;
};

// Sends `args` as one command to 127.0.0.1:port and returns the reply, or nullopt (with *error
// set) when there is no connection or no complete reply within `timeout`.
std::optional<Reply> command(int port, const std::vector<std::string>& args,
                             std::chrono::milliseconds timeout, std::string* error);

// Encodes a command (exposed for tests).
std::string encode(const std::vector<std::string>& args);
// Parses one reply from the front of `data`; returns the bytes used, 0 when incomplete, -1 when
// malformed.
long parse(const std::string& data, size_t at, Reply* out);

}  // namespace cairn::deploy::resp
