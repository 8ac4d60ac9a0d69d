// Helpers of the provider and process tracker tests: a temp state directory that stops whatever
// is still recorded in it, a polling wait, and a /proc process count.
#pragma once

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include <dirent.h>
#include <stdlib.h>

#include "cairn/deploy/process.h"
#include "cairn/deploy/provider.h"
#include "e2e/server_process.h"

namespace cairn::deploy::testing {

#ifdef CAIRN_MODEL_ENDPOINT_BINARY
inline const char* kEndpointBinary = CAIRN_MODEL_ENDPOINT_BINARY;
#else
inline const char* kEndpointBinary = "cairn-model-endpoint";
#endif
#ifdef CAIRN_DEPLOY_REDIS_SERVER
inline const char* kRedisServer = CAIRN_DEPLOY_REDIS_SERVER;
#else
inline const char* kRedisServer = "/usr/bin/redis-server";
#endif

// Polls a condition until it holds or the timeout passes (the e2e helper).
using cairn::testing::await_until;

// A fresh directory under /tmp; on destruction stops every process recorded by a pid file in it
// (start times checked), then removes it.
class TempStateDir {
 public:
  TempStateDir() {
    char tmpl[] = "/tmp/cairn-deploy-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempStateDir() {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::string file = it->path().filename().string();
      if (file.size() > 4 && file.compare(file.size() - 4, 4, ".pid") == 0) {
        if (auto r =
                read_process_record(it->path().parent_path(), file.substr(0, file.size() - 4))) {
          stop(*r, std::chrono::milliseconds(500));
        }
      }
    }
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Whether `text` holds `marker` as a whole: a marker ending in a digit ("127.0.0.1:4123") does
// not match a longer number ("127.0.0.1:41230", another test's port).
inline bool contains_marker(const std::string& text, const std::string& marker) {
  bool ends_in_digit = !marker.empty() && std::isdigit(static_cast<unsigned char>(marker.back()));
  for (size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) {
    size_t after = at + marker.size();
    if (!ends_in_digit || after == text.size() ||
        !std::isdigit(static_cast<unsigned char>(text[after]))) {
      return true;
    }
  }
  return false;
}

// The live (not zombie) processes whose command line holds `marker` (see contains_marker).
inline int count_processes(const std::string& marker) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (char& c : cmdline) {
      if (c == '\0') {
        c = ' ';
      }
    }
    if (contains_marker(cmdline, marker) &&
        process_start_time(static_cast<pid_t>(std::stol(name)))) {
      ++count;
    }
  }
  return count;
}

inline ProviderContext make_context(const std::filesystem::path& state_dir) {
  ProviderContext ctx;
  ctx.state_dir = state_dir;
  return ctx;
}

}  // namespace cairn::deploy::testing
