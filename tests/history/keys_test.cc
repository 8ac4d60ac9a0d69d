// Key encoding of the RocksDB history store: round trips, and byte order equal to numeric order
// (the property every scan relies on), including values that cross byte boundaries.
#include "history/keys.h"

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

namespace cairn::keys {
namespace {

// Around every byte boundary a wrong encoding would get wrong.
// clang-format off
const std::vector<int64_t> kBoundaryValues = {
    0, 1, 254, 255, 256, 257, 65535, 65536, (1ll << 24) - 1, 1ll << 24,
    (1ll << 32) - 1, 1ll << 32, (1ll << 32) + 1, 1ll << 40, 1ll << 56, INT64_MAX - 1, INT64_MAX};
// clang-format on

TEST(KeysTest, IntegersAreBigEndian) {
  std::string out;
  append_u32(&out, 0x01020304u);
  append_u64(&out, 0x05060708090a0b0cull);
  EXPECT_EQ(out, std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", 12));
  std::string_view in = out;
  EXPECT_EQ(read_u32(&in), 0x01020304u);
  EXPECT_EQ(read_u64(&in), 0x05060708090a0b0cull);
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(read_u32(&in), std::nullopt);
}

TEST(KeysTest, RunKeyRoundTripsWithAwkwardStrings) {
  RunKey key{ShardId{258}, std::string("ns\0x", 4), "", RunId{std::string(300, '\xff')}};
  auto decoded = decode_run_key(run_key(key));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, key);
  EXPECT_EQ(decode_run_key(run_key(key) + "x"), std::nullopt);  // trailing bytes
  std::string truncated = run_key(key);
  truncated.pop_back();
  EXPECT_EQ(decode_run_key(truncated), std::nullopt);
}

TEST(KeysTest, LengthPrefixesKeepNeighbouringStringsApart) {
  // Without length prefixes ("ab","c") and ("a","bc") would encode to the same bytes.
  RunKey one{ShardId{0}, "ab", "c", RunId{"r"}};
  RunKey two{ShardId{0}, "a", "bc", RunId{"r"}};
  EXPECT_NE(run_key(one), run_key(two));
  // A run id that extends another does not fall under the other's event prefix.
  std::string prefix = events_prefix(ShardId{1}, "run-1");
  std::string other = event_key(ShardId{1}, "run-10", 1);
  EXPECT_NE(other.compare(0, prefix.size(), prefix), 0);
  EXPECT_EQ(event_key(ShardId{1}, "run-1", 5).compare(0, prefix.size(), prefix), 0);
}

TEST(KeysTest, EventKeysRoundTripAndSortByEventId) {
  std::vector<std::string> encoded;
  for (int64_t id : kBoundaryValues) {
    std::string key = event_key(ShardId{3}, "run", id);
    auto decoded = decode_event_key(key);
    ASSERT_TRUE(decoded.has_value()) << id;
    EXPECT_EQ(decoded->shard.value, 3);
    EXPECT_EQ(decoded->run_id, "run");
    EXPECT_EQ(decoded->event_id, id);
    encoded.push_back(key);
  }
  EXPECT_TRUE(std::is_sorted(encoded.begin(), encoded.end()));
  EXPECT_EQ(std::adjacent_find(encoded.begin(), encoded.end()), encoded.end());
}

TEST(KeysTest, TimerKeysSortByFireTimeThenSeq) {
  std::vector<std::pair<int64_t, int64_t>> positions;
  for (int64_t fire : kBoundaryValues) {
    for (int64_t seq : {int64_t{0}, int64_t{255}, int64_t{256}, int64_t{1} << 32}) {
      positions.emplace_back(fire, seq);
    }
  }
  std::vector<std::string> encoded;
  for (auto [fire, seq] : positions) {
    std::string key = timer_key(ShardId{7}, fire, seq);
    auto decoded = decode_timer_key(key);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->shard.value, 7);
    EXPECT_EQ(decoded->fire_time_ms, fire);
    EXPECT_EQ(decoded->timer_seq, seq);
    encoded.push_back(key);
  }
  // positions is in numeric order, so the encodings must be too.
  ASSERT_TRUE(std::is_sorted(positions.begin(), positions.end()));
  EXPECT_TRUE(std::is_sorted(encoded.begin(), encoded.end()));
  EXPECT_EQ(std::adjacent_find(encoded.begin(), encoded.end()), encoded.end());
  // 255 < 256 is the case a little-endian or text encoding gets wrong.
  EXPECT_LT(timer_key(ShardId{0}, 255, 1), timer_key(ShardId{0}, 256, 0));
  EXPECT_LT(timer_key(ShardId{0}, (1ll << 32) - 1, 9), timer_key(ShardId{0}, 1ll << 32, 0));
}

TEST(KeysTest, TaskKeysSortByTaskIdWithinAShardAndShardsDoNotInterleave) {
  std::vector<std::string> encoded;
  for (int32_t shard : {0, 1, 255, 256}) {
    for (int64_t id : kBoundaryValues) {
      std::string key = task_key(ShardId{shard}, id);
      auto decoded = decode_task_key(key);
      ASSERT_TRUE(decoded.has_value());
      EXPECT_EQ(decoded->shard.value, shard);
      EXPECT_EQ(decoded->task_id, id);
      std::string prefix = shard_prefix(ShardId{shard});
      EXPECT_EQ(key.compare(0, prefix.size(), prefix), 0);
      EXPECT_LT(key, prefix_end(prefix));
      encoded.push_back(key);
    }
  }
  EXPECT_TRUE(std::is_sorted(encoded.begin(), encoded.end()));
}

TEST(KeysTest, PrefixEndIsTheTightExclusiveBound) {
  EXPECT_EQ(prefix_end("ab"), "ac");
  EXPECT_EQ(prefix_end(std::string("a\xff\xff", 3)), "b");
  EXPECT_EQ(prefix_end(std::string("\xff\xff", 2)), "");
  EXPECT_EQ(prefix_end("ns/"), "ns0");
}

TEST(KeysTest, CurrentAndNamespaceKeys) {
  WorkflowKey workflow{ShardId{2}, "default", "order-7"};
  RunKey run{ShardId{2}, "default", "order-7", RunId{"r1"}};
  EXPECT_EQ(run_key(run).compare(0, current_key(workflow).size(), current_key(workflow)), 0);
  EXPECT_EQ(namespace_key("agents"), "ns/agents");
  EXPECT_EQ(decode_u64(encode_u64(1ull << 40)), 1ull << 40);
  EXPECT_EQ(decode_u64("short"), std::nullopt);
}

}  // namespace
}  // namespace cairn::keys
