// The ingestion chunker (deterministic, boundary-aware) and the ingest request's checks.
#include <gtest/gtest.h>

#include "cairn/ai/ingest.h"
#include "cairn/errors.h"

namespace cairn::ai {
namespace {

std::string sentences(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += "Sentence number " + std::to_string(i) + " talks about topic " + std::to_string(i % 7) +
           ". ";
  }
  return out;
}

TEST(VectorChunkerTest, ShortTextIsOneTrimmedChunk) {
  auto chunks = chunk_text("  Hello there.  \n", 100, 10);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "Hello there.");
  EXPECT_EQ(chunks[0].offset, 2u);
  EXPECT_TRUE(chunk_text("   \n\t ", 100, 10).empty());
  EXPECT_TRUE(chunk_text("", 100, 10).empty());
}

TEST(VectorChunkerTest, ChunksEndAtSentencesWithinTheLimitAndCoverTheText) {
  std::string text = sentences(40);
  auto chunks = chunk_text(text, 200, 40);
  ASSERT_GT(chunks.size(), 5u);
  for (size_t i = 0; i < chunks.size(); ++i) {
    const TextChunk& c = chunks[i];
    EXPECT_LE(c.text.size(), 200u);
    EXPECT_EQ(text.substr(c.offset, c.text.size()), c.text) << "offsets index the original";
    if (i + 1 < chunks.size()) {
      EXPECT_EQ(c.text.back(), '.') << "chunk " << i << " ends mid-sentence: " << c.text;
      // The next chunk starts inside this one (overlap) at a word start.
      EXPECT_LT(chunks[i + 1].offset, c.offset + c.text.size());
      EXPECT_GT(chunks[i + 1].offset, c.offset);
      EXPECT_EQ(text[chunks[i + 1].offset - 1], ' ');
    }
  }
  EXPECT_EQ(chunks.front().offset, 0u);
  EXPECT_EQ(chunks.back().offset + chunks.back().text.size(), text.size() - 1)
      << "the last chunk reaches the end (less the trailing space)";
}

TEST(VectorChunkerTest, WithoutSentencesItCutsAtSpacesThenAtCharacterBoundaries) {
  std::string words;
  for (int i = 0; i < 100; ++i) {
    words += "word" + std::to_string(i) + " ";
  }
  for (const TextChunk& c : chunk_text(words, 64, 0)) {
    EXPECT_LE(c.text.size(), 64u);
    EXPECT_NE(c.text.back(), ' ');
    EXPECT_TRUE(words[c.offset + c.text.size()] == ' ') << "cut inside a word: " << c.text;
  }
  // One long run of two-byte characters: never split inside a character.
  std::string umlauts;
  for (int i = 0; i < 100; ++i) {
    umlauts += "\xC3\xA4";  // ä
  }
  auto chunks = chunk_text(umlauts, 33, 0);
  size_t total = 0;
  for (const TextChunk& c : chunks) {
    EXPECT_EQ(c.text.size() % 2, 0u) << "a chunk split a character";
    EXPECT_EQ(static_cast<unsigned char>(c.text[0]), 0xC3u);
    total += c.text.size();
  }
  EXPECT_EQ(total, umlauts.size()) << "no overlap: the chunks partition the text";
}

TEST(VectorChunkerTest, SameInputSameChunks) {
  std::string text = sentences(100);
  EXPECT_EQ(chunk_text(text, 300, 50), chunk_text(text, 300, 50));
  EXPECT_NE(chunk_text(text, 300, 50), chunk_text(text, 300, 0));
}

TEST(VectorChunkerTest, DocumentChunksCarryIdsAndMetadata) {
  IngestRequest r;
  r.index = "kb";
  r.chunk_chars = 120;
  r.overlap = 20;
  r.documents = {{"refunds", sentences(10), {{"lang", "en"}, {"text", "overridden"}}},
                 {"empty", "   ", {}}};
  auto chunks = chunk_documents(r);
  ASSERT_GT(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].id, "refunds#0");
  EXPECT_EQ(chunks[1].id, "refunds#1");
  EXPECT_EQ(chunks[1].metadata.at("doc_id"), "refunds");
  EXPECT_EQ(chunks[1].metadata.at("chunk"), 1);
  EXPECT_EQ(chunks[1].metadata.at("lang"), "en");
  EXPECT_EQ(chunks[1].metadata.at("text"), chunks[1].text);
  for (const IngestChunk& c : chunks) {
    EXPECT_EQ(c.metadata.at("doc_id"), "refunds") << "a blank document has no chunks";
  }
}

void expect_field(IngestRequest r, const std::string& field) {
  try {
    validate(r);
    ADD_FAILURE() << "accepted; expected an error on " << field;
  } catch (const OptionsError& e) {
    EXPECT_EQ(e.field(), field) << e.what();
  }
}

TEST(VectorChunkerTest, BadRequestsNameTheField) {
  IngestRequest ok;
  ok.index = "kb";
  ok.documents = {{"a", "text", {}}};
  validate(ok);
  IngestRequest r = ok;
  r.index = "";
  expect_field(r, "index");
  r = ok;
  r.index = "../etc";
  expect_field(r, "index");
  r = ok;
  r.overlap = 600;
  expect_field(r, "overlap");
  r = ok;
  r.chunk_chars = 10;
  expect_field(r, "chunk_chars");
  r = ok;
  r.batch_size = 0;
  expect_field(r, "batch_size");
  r = ok;
  r.batch_size = 1000;
  expect_field(r, "batch_size");
  r = ok;
  r.documents.push_back({"a", "again", {}});
  expect_field(r, "documents[1].id");
}

TEST(VectorChunkerTest, RequestSurvivesItsJsonForm) {
  IngestRequest r;
  r.index = "kb";
  r.documents = {{"a", "alpha", {{"k", 1}}}};
  r.batch_size = 8;
  r.embed_tier = "embed";
  r.progress.next_batch = 3;
  r.progress.usage.prompt_tokens = 40;
  nlohmann::json j = r;
  IngestRequest back = j.get<IngestRequest>();
  EXPECT_EQ(nlohmann::json(back), j);
  EXPECT_EQ(back.progress.next_batch, 3u);
  EXPECT_EQ(back.documents[0].metadata.at("k"), 1);
}

}  // namespace
}  // namespace cairn::ai
