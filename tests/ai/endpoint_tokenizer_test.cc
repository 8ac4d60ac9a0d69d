// The token rule and hashed embeddings of cairn/ai/tokenizer.h.
#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "cairn/ai/tokenizer.h"

namespace cairn::ai {
namespace {

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    s += static_cast<double>(a[i]) * b[i];
  }
  return s;
}

TEST(TokenizerTest, WordsCountPerStartedFourCharactersAndPunctuationApart) {
  EXPECT_EQ(count_tokens(""), 0);
  EXPECT_EQ(count_tokens("   \n\t"), 0);
  EXPECT_EQ(count_tokens("the"), 1);
  EXPECT_EQ(count_tokens("question"), 2);
  EXPECT_EQ(count_tokens("knowledge"), 3);
  EXPECT_EQ(count_tokens("Hello, world!"), 6);
  EXPECT_EQ(count_tokens("café"), 1);  // 4 characters, 5 bytes
  EXPECT_EQ(count_tokens("Grüße, Zoë"),
            4);  // "Grüß" "e" "," "Zoë"  // "Hell" "o" "," "worl" "d" "!"
}

TEST(TokenizerTest, PiecesConcatenateBackAndCountOneEach) {
  for (std::string text : {"Refunds are issued within 5 business days.", "  leading space",
                           "trailing space  ", "a,b;c", "naïve café", "x", "日本語のテキスト"}) {
    std::vector<std::string_view> pieces = token_pieces(text);
    std::string joined;
    for (std::string_view p : pieces) {
      joined += p;
      EXPECT_EQ(count_tokens(p), 1) << "piece '" << p << "' of '" << text << "'";
    }
    EXPECT_EQ(joined, text);
    for (std::string_view p : pieces) {  // no piece starts inside a UTF-8 character
      EXPECT_NE(static_cast<unsigned char>(p.front()) & 0xC0, 0x80) << text;
    }
    EXPECT_EQ(static_cast<int64_t>(pieces.size()), count_tokens(text)) << text;
  }
}

TEST(TokenizerTest, PromptTokensAddMessageAndReplyOverhead) {
  ChatRequest r;
  r.messages = {{.role = "system", .content = "Be brief."}, {.role = "user", .content = "Hi?"}};
  int64_t expected =
      kTokensPerReply + 2 * kTokensPerMessage + count_tokens("Be brief.") + count_tokens("Hi?");
  EXPECT_EQ(count_prompt_tokens(r), expected);
  r.tools.push_back(
      {.name = "lookup", .description = "Find it", .parameters = {{"type", "object"}}});
  EXPECT_EQ(count_prompt_tokens(r), expected + count_tokens("lookup") + count_tokens("Find it") +
                                        count_tokens(R"({"type":"object"})"));
}

TEST(TokenizerTest, EmbeddingsAreUnitLengthDeterministicAndRelatedTextsAreNear) {
  std::vector<float> refund = hashed_embedding("How do I get a refund for my order?");
  ASSERT_EQ(refund.size(), kDefaultEmbeddingDim);
  double norm = std::sqrt(cosine(refund, refund));
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_EQ(refund, hashed_embedding("How do I get a refund for my order?"));
  std::vector<float> related = hashed_embedding("Refunds are issued for returned orders.");
  std::vector<float> unrelated = hashed_embedding("Reset the router to factory settings.");
  EXPECT_GT(cosine(refund, related), cosine(refund, unrelated) + 0.2);
  EXPECT_EQ(hashed_embedding("the of and", 16), std::vector<float>(16, 0.0f));
  EXPECT_EQ(hashed_embedding("refund", 64).size(), 64u);
}

TEST(TokenizerTest, WordsAreLowercasedRuns) {
  EXPECT_EQ(words("Order A-1234, please!"),
            (std::vector<std::string>{"order", "a", "1234", "please"}));
  EXPECT_TRUE(is_stop_word("the"));
  EXPECT_FALSE(is_stop_word("refund"));
}

}  // namespace
}  // namespace cairn::ai
