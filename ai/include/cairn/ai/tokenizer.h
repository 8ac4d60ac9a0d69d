// The token rule and the text embedding of the AI batteries: what the deterministic endpoint
// (cairn-model-endpoint) counts as usage and returns as embeddings, exposed so that routing
// (prompt-size rules), budgets (the maximum cost of a call) and tests compute the same figures
// without a model. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/ai/types.h"

namespace cairn::ai {

// Fixed cost of one chat message (role and framing), as OpenAI-style models count it.
inline constexpr int64_t kTokensPerMessage = 4;
// Fixed cost of priming the assistant's reply, added once per chat prompt.
inline constexpr int64_t kTokensPerReply = 3;
// Default dimension of hashed_embedding (and of the endpoint's /v1/embeddings).
inline constexpr size_t kDefaultEmbeddingDim = 384;

// Tokens in `text` under the rule: a run of letters and digits (non-ASCII UTF-8 characters
// count as letters) is one token per started 4 characters ("the" 1, "question" 2,
// "knowledge" 3, "café" 1); every other non-space byte is one token; whitespace is free.
// Empty text: 0.
int64_t count_tokens(std::string_view text);

// `text` cut into the pieces count_tokens counts, each with the whitespace before it, so the
// pieces concatenate back to `text` (trailing whitespace joins the last piece) and each piece
// counts as one token (whitespace-only text: one piece that counts 0). Pieces never split a
// UTF-8 character. The endpoint streams a completion as these pieces.
std::vector<std::string_view> token_pieces(std::string_view text);

// Prompt tokens of a chat request: kTokensPerReply + for each message kTokensPerMessage +
// tokens of its content, name and tool calls (name and arguments) + for each tool the tokens
// of its name, description and parameters (compact JSON). This is the endpoint's
// usage.prompt_tokens for the same request.
int64_t count_prompt_tokens(const ChatRequest& request);

// The lowercased words of `text` (runs of letters and digits), in order; the unit the endpoint
// matches questions to sentences with.
std::vector<std::string> words(std::string_view text);

// A light English stem, so word forms meet: "refunds" → "refund", "policies" → "policy",
// "shipping" → "ship", "issued" → "issue", "takes" → "take". `word` is lowercase.
std::string stem_word(std::string_view word);

// True for a common English function word ("the", "is", "how", ...), which carries no topic:
// left out of embeddings and of the endpoint's question matching. `word` is lowercase.
bool is_stop_word(std::string_view word);

// A deterministic embedding: a hashed bag of the lowercased, crudely stemmed words ("refunds"
// and "refund" alike; common stop words left
// out) plus their character trigrams, L2-normalised, so texts sharing words or word parts are
// near in cosine similarity. `dim` > 0 (REQUIRES). A text with no words gives the zero vector.
std::vector<float> hashed_embedding(std::string_view text, size_t dim = kDefaultEmbeddingDim);

}  // namespace cairn::ai
