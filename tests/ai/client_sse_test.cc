// SseParser: the event-stream rules, and the same events whatever byte splits the network makes.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ai/src/openai_sse.h"

namespace cairn::ai {
namespace {

std::vector<SseEvent> parse_whole(std::string_view text) {
  SseParser p;
  auto out = p.feed(text);
  for (auto& e : p.finish()) {
    out.push_back(e);
  }
  return out;
}

// A stream as OpenAI-compatible servers send it: comments, CRLF and LF, multi-line data, an
// event type, an id, a usage chunk and [DONE].
const std::string kStream =
    "\xEF\xBB\xBF: keep-alive\r\n\r\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
    "event: note\nid: 7\ndata: line one\ndata:line two\n\n"
    "data: {\"usage\":{\"prompt_tokens\":3}}\r\r"
    "data: [DONE]\n\n";

const std::vector<SseEvent> kExpected = {
    {"", "{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}", ""},
    {"", "{\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}", ""},
    {"note", "line one\nline two", "7"},
    {"", "{\"usage\":{\"prompt_tokens\":3}}", "7"},
    {"", "[DONE]", "7"},
};

TEST(ClientSse, ParsesAWholeStream) { EXPECT_EQ(parse_whole(kStream), kExpected); }

TEST(ClientSse, SameEventsWhenSplitAtEveryByte) {
  for (size_t cut = 0; cut <= kStream.size(); ++cut) {
    SseParser p;
    auto out = p.feed(std::string_view(kStream).substr(0, cut));
    for (auto& e : p.feed(std::string_view(kStream).substr(cut))) {
      out.push_back(e);
    }
    EXPECT_EQ(out, kExpected) << "split at byte " << cut;
  }
}

TEST(ClientSse, SameEventsFedOneByteAtATime) {
  SseParser p;
  std::vector<SseEvent> out;
  for (char c : kStream) {
    for (auto& e : p.feed(std::string_view(&c, 1))) {
      out.push_back(e);
    }
  }
  EXPECT_EQ(out, kExpected);
}

TEST(ClientSse, SameEventsSplitAtEveryPairOfBytes) {
  // Three pieces: every CRLF, BOM and "data:" prefix is cut in every possible place.
  for (size_t a = 0; a <= kStream.size(); a += 3) {
    for (size_t b = a; b <= kStream.size(); b += 5) {
      SseParser p;
      std::string_view s(kStream);
      auto out = p.feed(s.substr(0, a));
      for (auto& e : p.feed(s.substr(a, b - a))) {
        out.push_back(e);
      }
      for (auto& e : p.feed(s.substr(b))) {
        out.push_back(e);
      }
      ASSERT_EQ(out, kExpected) << "split at " << a << " and " << b;
    }
  }
}

TEST(ClientSse, AnEventIsDispatchedOnlyAtItsBlankLine) {
  SseParser p;
  EXPECT_TRUE(p.feed("data: a\n").empty());
  EXPECT_TRUE(p.feed("data: b\n").empty());
  auto out = p.feed("\n");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "a\nb");
}

TEST(ClientSse, CommentsAndEmptyEventsDispatchNothing) {
  EXPECT_TRUE(parse_whole(": ping\n\n: ping\n\n\n\nevent: x\n\n").empty());
}

TEST(ClientSse, FieldWithoutColonAndEmptyData) {
  // "data" alone is a data line with an empty value; unknown fields and "retry" are ignored.
  auto out = parse_whole("retry: 100\nfoo: bar\ndata\n\ndata:\n\n");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, "");
  EXPECT_EQ(out[1].data, "");
}

TEST(ClientSse, OnlyOneLeadingSpaceIsStripped) {
  auto out = parse_whole("data:   x \n\n");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "  x ");
}

TEST(ClientSse, FinishDispatchesATrailingEventWithoutBlankLine) {
  SseParser p;
  EXPECT_TRUE(p.feed("data: [DONE]").empty());
  auto out = p.finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "[DONE]");
  EXPECT_TRUE(p.finish().empty());
}

TEST(ClientSse, ABomOnlyAtTheStartIsSkipped) {
  auto out = parse_whole(
      "\xEF\xBB\xBF"
      "data: a\n\ndata: \xEF\xBB\xBF"
      "b\n\n");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, "a");
  EXPECT_EQ(out[1].data,
            "\xEF\xBB\xBF"
            "b");
}

TEST(ClientSse, APartialBomIsData) {
  // A stream that starts with the BOM's first byte but is not a BOM keeps that byte.
  auto out = parse_whole(
      "\xEF"
      "data: a\n\ndata: b\n\n");
  // "\xEFdata: a" is a line of an unknown field, so only the second event is data.
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "b");
}

}  // namespace
}  // namespace cairn::ai
