#include "cairn/ai/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace cairn::ai {
namespace {

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// FNV-1a, 64 bit: stable across platforms and runs (std::hash is neither).
uint64_t fnv1a(std::string_view s, uint64_t seed = 14695981039346656037ull) {
  uint64_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void add_feature(std::vector<float>& v, std::string_view feature, float weight) {
  uint64_t h = fnv1a(feature);
  size_t index = static_cast<size_t>(h % v.size());
  // The sign bit is taken from high bits, independent of the index: collisions then cancel
  // on average instead of piling up.
  float sign = ((h >> 63) & 1u) != 0 ? -1.0f : 1.0f;
  v[index] += sign * weight;
}

// The end of the word-run piece that starts at `i`: after 4 characters (a UTF-8 character is
// its lead byte and the continuation bytes after it, so pieces never split one) or at the end
// of the run.
size_t piece_end(std::string_view text, size_t i) {
  for (int chars = 0;
       chars < 4 && i < text.size() && is_word_byte(static_cast<unsigned char>(text[i])); ++chars) {
    ++i;
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) {
      ++i;
    }
  }
  return i;
}

}  // namespace

std::vector<std::string_view> token_pieces(std::string_view text) {
  std::vector<std::string_view> pieces;
  size_t start = 0;  // where the current piece begins (its leading whitespace included)
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (is_space(c)) {
      ++i;
      continue;
    }
    size_t end = is_word_byte(c) ? piece_end(text, i) : i + 1;
    pieces.push_back(text.substr(start, end - start));
    start = end;
    i = end;
  }
  if (start < text.size()) {
    if (pieces.empty()) {
      pieces.push_back(text.substr(start));
    } else {
      std::string_view last = pieces.back();
      pieces.back() = text.substr(static_cast<size_t>(last.data() - text.data()));
    }
  }
  return pieces;
}

int64_t count_tokens(std::string_view text) {
  int64_t tokens = 0;
  for (std::string_view piece : token_pieces(text)) {
    for (char c : piece) {
      if (!is_space(static_cast<unsigned char>(c))) {
        ++tokens;  // every piece but trailing whitespace is one token
        break;
      }
    }
  }
  return tokens;
}

int64_t count_prompt_tokens(const ChatRequest& request) {
  int64_t tokens = kTokensPerReply;
  for (const Message& m : request.messages) {
    tokens += kTokensPerMessage + count_tokens(m.content) + count_tokens(m.name);
    for (const ToolCall& call : m.tool_calls) {
      tokens += count_tokens(call.name) + count_tokens(call.arguments);
    }
  }
  for (const ToolSpec& tool : request.tools) {
    tokens += count_tokens(tool.name) + count_tokens(tool.description) +
              count_tokens(tool.parameters.dump());
  }
  return tokens;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    if (!is_word_byte(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    std::string word;
    while (i < text.size() && is_word_byte(static_cast<unsigned char>(text[i]))) {
      char c = text[i++];
      word.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    out.push_back(std::move(word));
  }
  return out;
}

namespace {

bool ends_with(const std::string& w, std::string_view suffix) {
  return w.size() >= suffix.size() &&
         w.compare(w.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

// After "-ed" / "-ing" came off: "shipp" → "ship", "issu" → "issue", "packag" → "package".
std::string repair_stem(std::string w) {
  size_t n = w.size();
  if (n >= 3 && w[n - 1] == w[n - 2] && !is_vowel(w[n - 1]) && w[n - 1] != 'l' && w[n - 1] != 's' &&
      w[n - 1] != 'z') {
    w.pop_back();
    return w;
  }
  for (std::string_view e : {"v", "u", "z", "c", "at", "ag", "iz", "bl", "ir", "ur", "rg", "os"}) {
    if (ends_with(w, e)) {
      return w + "e";
    }
  }
  return w;
}

}  // namespace

std::string stem_word(std::string_view word) {
  std::string w(word);
  if (w.size() <= 3) {
    return w;
  }
  if (ends_with(w, "ies") && w.size() > 4) {
    return w.substr(0, w.size() - 3) + "y";
  }
  if (ends_with(w, "sses") || ends_with(w, "ches") || ends_with(w, "shes") || ends_with(w, "xes") ||
      ends_with(w, "zes")) {
    return w.substr(0, w.size() - 2);
  }
  if (ends_with(w, "s") && !ends_with(w, "ss") && !ends_with(w, "us") && !ends_with(w, "is")) {
    return w.substr(0, w.size() - 1);
  }
  if (ends_with(w, "ing") && w.size() > 5) {
    return repair_stem(w.substr(0, w.size() - 3));
  }
  if (ends_with(w, "ed") && w.size() > 4) {
    return repair_stem(w.substr(0, w.size() - 2));
  }
  return w;
}

bool is_stop_word(std::string_view word) {
  static const std::unordered_set<std::string_view> kStop = {
      "a",    "an",    "and",   "are",  "as",   "at",    "be",     "been", "but",    "by",
      "can",  "could", "did",   "do",   "does", "for",   "from",   "had",  "has",    "have",
      "how",  "i",     "if",    "in",   "into", "is",    "it",     "its",  "me",     "my",
      "no",   "not",   "of",    "on",   "or",   "our",   "please", "s",    "should", "so",
      "that", "the",   "their", "them", "then", "there", "these",  "they", "this",   "to",
      "was",  "we",    "were",  "what", "when", "where", "which",  "who",  "why",    "will",
      "with", "would", "you",   "your", "am",   "any",   "about",  "all",  "also",   "t",
      "than", "too",   "very",  "just", "get",  "got",   "us",     "he",   "she",    "his",
      "her",  "him",   "yes",   "one",  "some", "such",  "only",   "own",  "same",   "each"};
  return kStop.count(word) != 0;
}

std::vector<float> hashed_embedding(std::string_view text, size_t dim) {
  std::vector<float> v(dim == 0 ? 1 : dim, 0.0f);
  for (const std::string& word : words(text)) {
    if (is_stop_word(word)) {
      continue;
    }
    add_feature(v, "w:" + stem_word(word), 1.0f);
    // Trigrams of the padded word: "refund" and "refunds" share most of them.
    std::string padded = "^" + word + "$";
    for (size_t i = 0; i + 3 <= padded.size(); ++i) {
      add_feature(v, "t:" + padded.substr(i, 3), 0.35f);
    }
  }
  double norm = 0;
  for (float x : v) {
    norm += static_cast<double>(x) * x;
  }
  if (norm > 0) {
    auto inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& x : v) {
      x *= inv;
    }
  }
  return v;
}

}  // namespace cairn::ai
