// The endpoint's simulated provider prompt cache (--prompt-cache): a request whose leading
// messages were all sent before reports their tokens as usage.prompt_tokens_details.
// cached_tokens, as providers with prompt caching do, so cached-token pricing can be tested
// end to end. Thread-safe; one per endpoint process, emptied by /control/reset.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_set>

#include "cairn/ai/types.h"

namespace cairn::ai::endpoint {

class PromptCache {
 public:
  // The tokens of the longest leading run of `request`'s messages (the last one excluded) that
  // an earlier request began with or consisted of — each message counted as in
  // count_prompt_tokens, without the reply overhead and the tools; then remembers every
  // leading run of this request, itself included.
  int64_t cached_tokens(const ChatRequest& request);
  void clear();

 private:
  std::mutex mu_;
  std::unordered_set<uint64_t> prefixes_;  // GUARDED_BY(mu_): hashes of leading message runs
};

}  // namespace cairn::ai::endpoint
