#include "ai/endpoint/prompt_cache.h"

#include <vector>

#include "cairn/ai/tokenizer.h"

namespace cairn::ai::endpoint {
namespace {

uint64_t mix(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= 0xff;  // field separator: ("ab", "c") and ("a", "bc") differ
  h *= 1099511628211ull;
  return h;
}

int64_t message_tokens(const Message& m) {
  ChatRequest one;
  one.messages.push_back(m);
  return count_prompt_tokens(one) - kTokensPerReply;
}

}  // namespace

int64_t PromptCache::cached_tokens(const ChatRequest& request) {
  // Leading runs: messages [0, k) for k = 1 .. n. Runs up to n - 1 are looked up (the last
  // message is the new turn); all are remembered, so the next turn of a conversation finds
  // this whole request.
  std::vector<uint64_t> hashes;
  std::vector<int64_t> tokens;
  uint64_t h = 14695981039346656037ull;
  int64_t total = 0;
  for (size_t k = 0; k < request.messages.size(); ++k) {
    const Message& m = request.messages[k];
    h = mix(mix(mix(h, m.role), m.name), m.content);
    for (const ToolCall& call : m.tool_calls) {
      h = mix(mix(mix(h, call.id), call.name), call.arguments);
    }
    h = mix(h, m.tool_call_id);
    total += message_tokens(m);
    hashes.push_back(h);
    tokens.push_back(total);
  }
  std::lock_guard<std::mutex> lock(mu_);
  int64_t cached = 0;
  for (size_t k = 0; k + 1 < hashes.size(); ++k) {
    if (prefixes_.count(hashes[k]) != 0) {
      cached = tokens[k];
    }
  }
  prefixes_.insert(hashes.begin(), hashes.end());
  return cached;
}

void PromptCache::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  prefixes_.clear();
}

}  // namespace cairn::ai::endpoint
