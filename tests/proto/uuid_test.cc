#include "proto/uuid.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

TEST(FormatUuidV4Test, CanonicalFormWithVersionAndVariantBitsForced) {
  // Replay relies on these exact strings (ctx.uuid() is seeded): never change the format.
  EXPECT_EQ(format_uuid_v4(0, 0), "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(format_uuid_v4(~0ULL, ~0ULL), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  EXPECT_EQ(format_uuid_v4(0x0123456789abcdefULL, 0xfedcba9876543210ULL),
            "01234567-89ab-4def-bedc-ba9876543210");
}

TEST(FormatUuidV4Test, DifferentBitsGiveDifferentIds) {
  EXPECT_NE(format_uuid_v4(1, 0), format_uuid_v4(0, 1));
  EXPECT_EQ(format_uuid_v4(1, 2), format_uuid_v4(1, 2));
}

}  // namespace
}  // namespace cairn
