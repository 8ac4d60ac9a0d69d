// The deterministic chunker of the ingestion workflow (pure: runs in workflow code).
#include <algorithm>
#include <cctype>
#include <set>

#include "cairn/ai/ingest.h"
#include "cairn/errors.h"

namespace cairn::ai {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The last good cut in (lo, hi]: after a sentence end, else after a space, else a character
// boundary at or before hi.
size_t cut_point(std::string_view text, size_t lo, size_t hi) {
  for (size_t i = hi; i > lo; --i) {
    char prev = text[i - 1];
    bool at_break = i == text.size() || is_space(text[i]);
    if (prev == '\n' || ((prev == '.' || prev == '!' || prev == '?') && at_break)) {
      return i;
    }
  }
  for (size_t i = hi; i > lo; --i) {
    if (is_space(text[i - 1])) {
      return i;
    }
  }
  size_t i = hi;
  while (i > lo + 1 && i < text.size() && is_continuation(text[i])) {
    --i;
  }
  return i;
}

// The start of the chunk after one ending at `end`: `overlap` back, moved forward past the
// rest of a word (to the next word start), never at or before `prev_start`.
size_t next_start(std::string_view text, size_t prev_start, size_t end, size_t overlap) {
  if (overlap == 0) {
    return end;
  }
  size_t s = end > overlap ? end - overlap : 0;
  s = std::max(s, prev_start + 1);
  if (s > 0 && !is_space(text[s - 1])) {
    size_t word_end = s;
    while (word_end < end && !is_space(text[word_end])) {
      ++word_end;
    }
    s = word_end < end ? word_end : s;
  }
  while (s < end && is_continuation(text[s])) {
    ++s;
  }
  return std::min(s, end);
}

void add_trimmed(std::string_view text, size_t begin, size_t end, std::vector<TextChunk>* out) {
  while (begin < end && is_space(text[begin])) {
    ++begin;
  }
  while (end > begin && is_space(text[end - 1])) {
    --end;
  }
  if (end > begin) {
    out->push_back(TextChunk{begin, std::string(text.substr(begin, end - begin))});
  }
}

}  // namespace

std::vector<TextChunk> chunk_text(std::string_view text, size_t chunk_chars, size_t overlap) {
  std::vector<TextChunk> out;
  size_t start = 0;
  while (start < text.size()) {
    if (text.size() - start <= chunk_chars) {
      add_trimmed(text, start, text.size(), &out);
      break;
    }
    size_t end = cut_point(text, start + chunk_chars / 2, start + chunk_chars);
    add_trimmed(text, start, end, &out);
    start = next_start(text, start, end, overlap);
  }
  return out;
}

std::vector<IngestChunk> chunk_documents(const IngestRequest& request) {
  std::vector<IngestChunk> out;
  for (const IngestDocument& doc : request.documents) {
    std::vector<TextChunk> pieces = chunk_text(doc.text, request.chunk_chars, request.overlap);
    for (size_t n = 0; n < pieces.size(); ++n) {
      IngestChunk chunk;
      chunk.id = doc.id + "#" + std::to_string(n);
      chunk.text = pieces[n].text;
      chunk.metadata = doc.metadata.is_object() ? doc.metadata : nlohmann::json::object();
      chunk.metadata["doc_id"] = doc.id;
      chunk.metadata["chunk"] = n;
      chunk.metadata["offset"] = pieces[n].offset;
      chunk.metadata["text"] = pieces[n].text;
      out.push_back(std::move(chunk));
    }
  }
  return out;
}

void validate(const IngestRequest& r) {
  auto bad = [](const std::string& field, const std::string& what) {
    throw OptionsError("ingest request: " + field + " " + what, field);
  };
  if (r.index.empty()) {
    bad("index", "must name a vector index");
  }
  bool name_ok = r.index.size() <= 128 && r.index[0] != '.';
  for (char c : r.index) {
    name_ok = name_ok &&
              (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  }
  if (!name_ok) {
    bad("index", "\"" + r.index + "\" is not a valid index name (1 to 128 of A-Z a-z 0-9 . _ -)");
  }
  if (r.chunk_chars < 32) {
    bad("chunk_chars", "must be at least 32 (got " + std::to_string(r.chunk_chars) + ")");
  }
  if (r.overlap >= r.chunk_chars / 2) {
    bad("overlap", "must be below chunk_chars / 2 = " + std::to_string(r.chunk_chars / 2) +
                       " (got " + std::to_string(r.overlap) + ")");
  }
  if (r.batch_size == 0 || r.batch_size > 256) {
    bad("batch_size", "must be 1 to 256 (got " + std::to_string(r.batch_size) + ")");
  }
  if (r.activity_timeout_ms <= 0) {
    bad("activity_timeout_ms", "must be positive");
  }
  if (r.max_attempts < 0) {
    bad("max_attempts", "must not be negative");
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < r.documents.size(); ++i) {
    const std::string& id = r.documents[i].id;
    std::string field = "documents[" + std::to_string(i) + "].id";
    if (id.empty() || id.size() > 512) {
      bad(field, "must be 1 to 512 bytes");
    }
    if (!ids.insert(id).second) {
      bad(field, "\"" + id + "\" is given twice");
    }
  }
}

}  // namespace cairn::ai
