// The response cache: results of deterministic chat calls kept in a real redis-server (hiredis),
// keyed by the SHA-256 of the canonical JSON of every parameter that changes the output. It sits
// inside the chat activity, so a hit becomes that activity's recorded result and replay never
// reads Redis. Redis down is a bypass (counted) and the call goes on; the cache reconnects later
// with backoff. Identical concurrent calls in one process make one upstream call (single
// flight). Thread-safe; shared by the worker's activities (AiRuntime owns one, optionally).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cairn/ai/types.h"

struct redisContext;

namespace cairn::ai {

struct CacheOptions {
  std::string host = "127.0.0.1";
  int port = 6379;                         // 1..65535
  std::chrono::seconds ttl{3600};          // every key is written with SETEX this TTL, >= 1 s
  std::chrono::milliseconds timeout{200};  // connect and per-command timeout, > 0
  std::string key_prefix = "cairn:ai:";    // keys are "<key_prefix><64 hex digits>"
  bool set_lru_policy = true;              // on connect: CONFIG SET maxmemory-policy allkeys-lru
  // After a failed connect or command, no Redis call is tried for this long (doubling per
  // failure up to reconnect_backoff_max); calls meanwhile bypass the cache at once.
  std::chrono::milliseconds reconnect_backoff{100};
  std::chrono::milliseconds reconnect_backoff_max{5000};
  // The time source of the reconnect backoff (empty: std::chrono::steady_clock::now). Tests
  // pass a manual clock.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

// Counters since the cache was made. A single-flight follower that shares another call's
// result counts as a hit.
struct CacheStats {
  int64_t hits = 0;
  int64_t misses = 0;    // looked up, not there: computed (and stored)
  int64_t bypasses = 0;  // Redis unreachable or failing: computed without the cache
  int64_t errors = 0;    // failed Redis commands and unreadable stored values
  int64_t computes = 0;  // calls of a get_or_compute `compute` function
  int64_t stores = 0;    // values written (SETEX) successfully
};

// What one get_or_compute call did.
enum class CacheOutcome { kHit, kMiss, kBypass };
// "hit", "miss", "bypass" (the result label of cairn_ai_cache_total).
const char* cache_outcome_name(CacheOutcome outcome);

class ResponseCache {
 public:
  // Throws cairn::OptionsError naming the field (port, ttl, timeout, key_prefix,
  // reconnect_backoff) when an option is out of range. Connects lazily, on first use.
  explicit ResponseCache(CacheOptions options);
  ~ResponseCache();
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  // The cache key of a call: the SHA-256 hex (64 digits; the Redis key is key_prefix + this, see
  // redis_key) of of the canonical JSON (sorted keys, numbers
  // normalised: 0.0 == 0 == -0, 1.0 == 1) of every parameter that changes the output: the
  // endpoint or tier, the model, the request (model override, messages with roles, names, tool
  // calls and content references, temperature, max_tokens, stop, seed, tools, tool_choice,
  // response_format), `ns` and attempt.prompt_version.
  static std::string cache_key(const ChatAttempt& attempt, const std::string& endpoint_or_tier,
                               const std::string& model, const std::string& ns);
  // The canonical JSON text that cache_key hashes (for docs and debugging).
  static std::string canonical_json(const ChatAttempt& attempt, const std::string& endpoint_or_tier,
                                    const std::string& model, const std::string& ns);
  // Whether the attempt may be cached: use_cache, not streamed, and temperature 0 or
  // cache_nondeterministic (an unset temperature is the provider's default: not 0).
  static bool cacheable(const ChatAttempt& attempt);

  // The Redis key of a cache_key: key_prefix + key.
  std::string redis_key(const std::string& key) const { return options_.key_prefix + key; }

  // The stored result for `key` (a cache_key), marked cache_hit with cost_micros 0 (the usage
  // is the original call's). std::nullopt: not stored, unreadable, or Redis unreachable
  // (counted as an error / bypass; never throws for Redis trouble).
  std::optional<ChatResult> get(const std::string& key);
  // Stores `result` under `key` with SETEX ttl. Redis trouble is counted, never thrown.
  void put(const std::string& key, const ChatResult& result);

  // The stored result (a hit), else compute() — once for all concurrent callers of the same
  // key in this process; the others wait and share its result as a hit — stored with put().
  // Redis unreachable: compute() is called without the cache (bypass; single flight still
  // applies). An exception from compute() reaches its caller; waiting callers then try again
  // themselves (one of them computes). `outcome`, when given, is set to what happened.
  ChatResult get_or_compute(const std::string& key, const std::function<ChatResult()>& compute,
                            CacheOutcome* outcome = nullptr);

  CacheStats stats() const;
  // Whether a Redis connection is open now (false before first use and after a failure).
  bool connected() const;

  // Callers waiting on an in-flight computation of `key` (for single-flight tests).
  size_t waiters_for_testing(const std::string& key) const;

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Flight;
  struct Counters;
  enum class Lookup { kHit, kMiss, kUnavailable };

  Lookup lookup(const std::string& key, ChatResult* out);
  void store(const std::string& key, const ChatResult& result);  // may throw
  bool ensure_connected_locked();                                // REQUIRES: redis_mu_ held
  void drop_connection_locked();                                 // REQUIRES: redis_mu_ held
  void back_off_locked(TimePoint now);                           // REQUIRES: redis_mu_ held
  TimePoint now() const;

  const CacheOptions options_;
  const std::unique_ptr<Counters> counters_;  // atomics: read without locks

  mutable std::mutex redis_mu_;           // one hiredis context, which is not thread-safe
  redisContext* redis_ = nullptr;         // GUARDED_BY(redis_mu_)
  TimePoint next_connect_{};              // GUARDED_BY(redis_mu_)
  std::chrono::milliseconds backoff_{0};  // GUARDED_BY(redis_mu_)

  mutable std::mutex mu_;                                   // never held while redis_mu_ is taken
  std::map<std::string, std::shared_ptr<Flight>> flights_;  // GUARDED_BY(mu_)
};

}  // namespace cairn::ai
