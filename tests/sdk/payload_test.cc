// Payload converters: JSON round trips of user structs and standard types, binary and null
// payloads, and clear errors for payloads that are not what the code expects.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cairn/payload.h"

namespace cairn::testing {
namespace {

struct Ticket {
  std::string question;
  int priority = 0;
  std::vector<std::string> tags;
  bool operator==(const Ticket&) const = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Ticket, question, priority, tags)

TEST(PayloadTest, UserStructRoundTripsThroughJson) {
  Ticket t{"why?", 3, {"a", "b"}};
  v1::Payload p = to_payload(t);
  EXPECT_EQ(p.metadata().at("encoding"), "json/plain");
  EXPECT_EQ(p.data(), R"({"priority":3,"question":"why?","tags":["a","b"]})");
  EXPECT_EQ(from_payload<Ticket>(p), t);
}

TEST(PayloadTest, StandardTypesRoundTrip) {
  EXPECT_EQ(from_payload<std::string>(to_payload(std::string("hi"))), "hi");
  EXPECT_EQ(to_payload(std::string("hi")).data(), "\"hi\"");  // strings are JSON too
  EXPECT_EQ(from_payload<int64_t>(to_payload(int64_t{1} << 40)), int64_t{1} << 40);
  EXPECT_DOUBLE_EQ(from_payload<double>(to_payload(2.5)), 2.5);
  std::map<std::string, int> m{{"x", 1}};
  EXPECT_EQ((from_payload<std::map<std::string, int>>(to_payload(m))), m);
  std::optional<int> none;
  EXPECT_EQ(from_payload<std::optional<int>>(to_payload(none)), std::nullopt);
}

TEST(PayloadTest, BinaryAndNullEncodings) {
  Bytes b{std::string("\x00\xff", 2)};
  v1::Payload p = to_payload(b);
  EXPECT_EQ(p.metadata().at("encoding"), "binary/plain");
  EXPECT_EQ(from_payload<Bytes>(p), b);
  v1::Payload n = to_payload(nullptr);
  EXPECT_EQ(n.metadata().at("encoding"), "binary/null");
  EXPECT_EQ(from_payload<std::optional<std::string>>(n), std::nullopt);
  EXPECT_THROW(from_payload<std::string>(n), PayloadError);
}

TEST(PayloadTest, PayloadWithoutEncodingIsReadAsJson) {
  v1::Payload p;
  p.set_data("42");
  EXPECT_EQ(from_payload<int>(p), 42);
}

TEST(PayloadTest, BadPayloadGivesAClearNonRetryableError) {
  v1::Payload p = to_payload(std::string("not a ticket"));
  try {
    from_payload<Ticket>(p);
    FAIL() << "expected PayloadError";
  } catch (const PayloadError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("Ticket"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("not a ticket"));
    EXPECT_TRUE(e.non_retryable());
    EXPECT_EQ(e.type(), "PayloadError");
  }
  v1::Payload garbage;
  garbage.set_data("{oops");
  EXPECT_THROW(from_payload<int>(garbage), PayloadError);
}

TEST(PayloadTest, PayloadsCarryOneValuePerArgument) {
  v1::Payloads ps = to_payloads(std::string("a"), 7);
  ASSERT_EQ(ps.payloads_size(), 2);
  EXPECT_EQ(from_payloads<std::string>(ps, 0), "a");
  EXPECT_EQ(from_payloads<int>(ps, 1), 7);
  try {
    from_payloads<int>(ps, 2);
    FAIL() << "expected PayloadError";
  } catch (const PayloadError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("missing value 2"));
  }
  EXPECT_EQ(from_payloads<std::optional<int>>(ps, 5), std::nullopt);
}

}  // namespace
}  // namespace cairn::testing
