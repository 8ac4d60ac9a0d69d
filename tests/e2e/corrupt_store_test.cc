// End to end: cairn-server on a data directory whose RocksDB files were damaged while it was
// stopped (CURRENT, the MANIFEST, a table file) refuses to start: it exits non-zero with a
// message that names the directory, says it is damaged and what to do. The real binary.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cairn/client.h"
#include "e2e/server_process.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

class CorruptStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Two runs, then a second start: its WAL recovery writes table files and a new MANIFEST.
    for (int round = 0; round < 2; ++round) {
      ServerProcess server(data_);
      std::string error;
      ASSERT_TRUE(server.start(0, 30s, &error)) << error;
      if (round == 0) {
        ClientOptions options;
        options.address = server.address();
        Client client(options);
        for (int i = 0; i < 2; ++i) {
          StartWorkflowOptions start;
          start.id = "corrupt-" + std::to_string(i);
          start.task_queue = "nobody-polls";
          client.start("Order", start, std::string(2000, 'x'));
        }
      }
      ASSERT_EQ(server.stop(), 0) << server.log();
    }
    ASSERT_FALSE(files_named([](const std::string& n) { return n.ends_with(".sst"); }).empty());
  }

  std::vector<fs::path> files_named(const std::function<bool(const std::string&)>& match) const {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(data_)) {
      if (entry.is_regular_file() && match(entry.path().filename().string())) {
        out.push_back(entry.path());
      }
    }
    return out;
  }

  // Overwrites `n` bytes at `offset` (from the end when negative) with garbage.
  static void damage(const fs::path& file, std::streamoff offset, size_t n) {
    const auto size = static_cast<std::streamoff>(fs::file_size(file));
    const std::streamoff at = offset < 0 ? size + offset : offset;
    ASSERT_TRUE(at >= 0 && at + static_cast<std::streamoff>(n) <= size) << file;
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(at);
    for (size_t i = 0; i < n; ++i) {
      f.put(static_cast<char>(0xA5 ^ i));
    }
    ASSERT_TRUE(f.good()) << file;
  }

  // Starts the server on the damaged directory and expects it to refuse, clearly.
  void expect_refused_start() {
    ChildProcess server({CAIRN_SERVER_BINARY, "--data-dir", data_, "--listen", "127.0.0.1:0"},
                        dir_.path() + "/refused.log");
    const int code = server.wait(30s);
    const std::string out = server.output();
    EXPECT_NE(code, 0) << out;
    EXPECT_NE(code, -1) << "still running on a damaged store:\n" << out;
    EXPECT_THAT(out, HasSubstr(data_));
    EXPECT_THAT(out, HasSubstr("damaged"));
    EXPECT_THAT(out, HasSubstr("restore"));
  }

  TempDir dir_;
  const std::string data_ = dir_.path() + "/data";
};

TEST_F(CorruptStoreTest, ADamagedCurrentFileStopsTheStart) {
  const fs::path current = fs::path(data_) / "CURRENT";
  ASSERT_TRUE(fs::exists(current));
  damage(current, 0, 8);
  expect_refused_start();
}

TEST_F(CorruptStoreTest, ADamagedManifestStopsTheStart) {
  auto manifests = files_named([](const std::string& n) { return n.rfind("MANIFEST-", 0) == 0; });
  ASSERT_FALSE(manifests.empty());
  for (const auto& manifest : manifests) {
    damage(manifest, static_cast<std::streamoff>(fs::file_size(manifest) / 2), 16);
  }
  expect_refused_start();
}

TEST_F(CorruptStoreTest, ADamagedTableFileStopsTheStart) {
  // The footer and index of every table are read and checksummed at open; a flipped data block
  // is found by the read that needs it (kDataLoss) and by `cairnctl admin verify --all`.
  auto tables = files_named([](const std::string& n) { return n.ends_with(".sst"); });
  damage(tables.front(), -48, 40);
  expect_refused_start();
}

}  // namespace
}  // namespace cairn::testing
