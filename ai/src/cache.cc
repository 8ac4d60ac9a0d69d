// ResponseCache: Redis reads and writes over one hiredis 0.14 context (guarded by a mutex), the
// reconnect backoff, and in-process single flight. Redis trouble never fails a call: it is
// counted and the call goes on without the cache. Stored values are versioned JSON of the
// ChatResult (persisted in Redis: keep readers of older "v" values or bump the key version).
#include "cairn/ai/cache.h"

#include <algorithm>
#include <atomic>

#include <hiredis/hiredis.h>

#include "cairn/errors.h"

namespace cairn::ai {

namespace {
constexpr int kValueVersion = 1;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(std::chrono::milliseconds d) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

ChatResult as_hit(ChatResult r) {
  r.cache_hit = true;
  r.cost_micros = 0;
  return r;
}
}  // namespace

struct ResponseCache::Counters {
  std::atomic<int64_t> hits{0}, misses{0}, bypasses{0}, errors{0}, computes{0}, stores{0};
};

// One computation in progress. Followers wait on `cv` (with mu_) until `done`.
struct ResponseCache::Flight {
  bool done = false;
  bool failed = false;
  ChatResult result;
  size_t waiters = 0;
  std::condition_variable cv;
};

const char* cache_outcome_name(CacheOutcome outcome) {
  switch (outcome) {
    case CacheOutcome::kHit:
      return "hit";
    case CacheOutcome::kMiss:
      return "miss";
    case CacheOutcome::kBypass:
      return "bypass";
  }
  return "bypass";
}

ResponseCache::ResponseCache(CacheOptions options)
    : options_(std::move(options)), counters_(std::make_unique<Counters>()) {
  auto bad = [](const std::string& field, const std::string& problem) {
    throw OptionsError("response cache options: " + field + " " + problem, field);
  };
  if (options_.host.empty()) {
    bad("host", "must name the Redis host (e.g. 127.0.0.1)");
  }
  if (options_.port < 1 || options_.port > 65535) {
    bad("port", "must be 1..65535 (got " + std::to_string(options_.port) + ")");
  }
  if (options_.ttl.count() < 1) {
    bad("ttl", "must be at least 1 s: every key expires");
  }
  if (options_.timeout.count() <= 0) {
    bad("timeout", "must be positive");
  }
  if (options_.key_prefix.empty()) {
    bad("key_prefix", "must not be empty (keys would mix with other data in Redis)");
  }
  if (options_.reconnect_backoff.count() <= 0) {
    bad("reconnect_backoff", "must be positive");
  }
  if (options_.reconnect_backoff_max < options_.reconnect_backoff) {
    bad("reconnect_backoff_max", "must not be below reconnect_backoff");
  }
}

ResponseCache::~ResponseCache() {
  if (redis_ != nullptr) {
    redisFree(redis_);
  }
}

ResponseCache::TimePoint ResponseCache::now() const {
  return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
}

void ResponseCache::back_off_locked(TimePoint t) {
  backoff_ = backoff_.count() == 0 ? options_.reconnect_backoff
                                   : std::min(backoff_ * 2, options_.reconnect_backoff_max);
  next_connect_ = t + backoff_;
}

void ResponseCache::drop_connection_locked() {
  if (redis_ != nullptr) {
    redisFree(redis_);  // a context that saw an I/O error cannot be used again
    redis_ = nullptr;
  }
  back_off_locked(now());
}

bool ResponseCache::ensure_connected_locked() {
  if (redis_ != nullptr) {
    return true;
  }
  const TimePoint t = now();
  if (t < next_connect_) {
    return false;  // backing off: bypass without touching the network
  }
  const timeval tv = to_timeval(options_.timeout);
  redisContext* c = redisConnectWithTimeout(options_.host.c_str(), options_.port, tv);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) {
      redisFree(c);
    }
    back_off_locked(t);
    return false;
  }
  redisSetTimeout(c, tv);
  if (options_.set_lru_policy) {
    Reply r(static_cast<redisReply*>(redisCommand(c, "CONFIG SET maxmemory-policy allkeys-lru")));
    if (!r) {
      redisFree(c);
      back_off_locked(t);
      return false;
    }
    if (r->type == REDIS_REPLY_ERROR) {
      counters_->errors++;  // e.g. CONFIG disabled on a managed Redis: cache without it
    }
  }
  // The backoff is reset by the first command that gets an answer, not here: a server that
  // accepts connections but never answers must still be backed off from.
  redis_ = c;
  return true;
}

ResponseCache::Lookup ResponseCache::lookup(const std::string& key, ChatResult* out) {
  const std::string rkey = redis_key(key);
  std::string value;
  {
    std::lock_guard<std::mutex> lock(redis_mu_);
    if (!ensure_connected_locked()) {
      counters_->bypasses++;
      return Lookup::kUnavailable;
    }
    Reply r(static_cast<redisReply*>(redisCommand(redis_, "GET %b", rkey.data(), rkey.size())));
    if (!r) {
      drop_connection_locked();
      counters_->errors++;
      counters_->bypasses++;
      return Lookup::kUnavailable;
    }
    backoff_ = std::chrono::milliseconds(0);
    if (r->type == REDIS_REPLY_NIL) {
      counters_->misses++;
      return Lookup::kMiss;
    }
    if (r->type != REDIS_REPLY_STRING) {  // an error reply (LOADING, ...)
      counters_->errors++;
      counters_->bypasses++;
      return Lookup::kUnavailable;
    }
    value.assign(r->str, r->len);
  }
  try {
    nlohmann::json j = nlohmann::json::parse(value);
    if (j.value("v", 0) != kValueVersion) {
      throw std::runtime_error("version");
    }
    *out = as_hit(j.at("result").get<ChatResult>());
  } catch (const std::exception&) {
    counters_->errors++;  // unreadable: computed again and overwritten
    counters_->misses++;
    return Lookup::kMiss;
  }
  counters_->hits++;
  return Lookup::kHit;
}

std::optional<ChatResult> ResponseCache::get(const std::string& key) {
  ChatResult r;
  if (lookup(key, &r) == Lookup::kHit) {
    return r;
  }
  return std::nullopt;
}

void ResponseCache::put(const std::string& key, const ChatResult& result) {
  try {
    store(key, result);
  } catch (const std::exception&) {
    counters_->errors++;  // a store that cannot be made is a miss next time, never a failure
  }
}

void ResponseCache::store(const std::string& key, const ChatResult& result) {
  ChatResult stored = result;
  stored.cache_hit = false;
  // Invalid UTF-8 in a model's output is stored replaced (U+FFFD) rather than not at all.
  const std::string value = nlohmann::json{{"v", kValueVersion}, {"result", stored}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string rkey = redis_key(key);
  const std::string ttl = std::to_string(options_.ttl.count());
  std::lock_guard<std::mutex> lock(redis_mu_);
  if (!ensure_connected_locked()) {
    return;
  }
  Reply r(
      static_cast<redisReply*>(redisCommand(redis_, "SETEX %b %b %b", rkey.data(), rkey.size(),
                                            ttl.data(), ttl.size(), value.data(), value.size())));
  if (!r) {
    drop_connection_locked();
    counters_->errors++;
    return;
  }
  backoff_ = std::chrono::milliseconds(0);
  if (r->type == REDIS_REPLY_ERROR) {  // e.g. OOM under maxmemory with noeviction
    counters_->errors++;
    return;
  }
  counters_->stores++;
}

ChatResult ResponseCache::get_or_compute(const std::string& key,
                                         const std::function<ChatResult()>& compute,
                                         CacheOutcome* outcome) {
  for (;;) {
    std::shared_ptr<Flight> flight;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto it = flights_.find(key);
      if (it != flights_.end()) {
        flight = it->second;
        ++flight->waiters;
        flight->cv.wait(lock, [&] { return flight->done; });
        --flight->waiters;
        if (flight->failed) {
          continue;  // the leader's call failed: try again (one of the waiters leads)
        }
        counters_->hits++;
        if (outcome != nullptr) {
          *outcome = CacheOutcome::kHit;
        }
        return as_hit(flight->result);
      }
      flight = std::make_shared<Flight>();
      flights_.emplace(key, flight);
    }
    // This caller leads the flight: whatever happens, the flight ends and waiters wake.
    auto finish = [&](bool failed, const ChatResult* result) {
      std::lock_guard<std::mutex> lock(mu_);
      flight->done = true;
      flight->failed = failed;
      if (result != nullptr) {
        flight->result = *result;
      }
      flights_.erase(key);
      flight->cv.notify_all();
    };
    ChatResult result;
    Lookup found = Lookup::kUnavailable;
    try {
      found = lookup(key, &result);
      if (found == Lookup::kHit) {
        finish(false, &result);
        if (outcome != nullptr) {
          *outcome = CacheOutcome::kHit;
        }
        return result;
      }
      counters_->computes++;
      result = compute();
      if (found == Lookup::kMiss) {
        put(key, result);  // before the flight ends, so a later caller finds it in Redis
      }
    } catch (...) {
      finish(true, nullptr);
      throw;
    }
    finish(false, &result);
    if (outcome != nullptr) {
      *outcome = found == Lookup::kMiss ? CacheOutcome::kMiss : CacheOutcome::kBypass;
    }
    return result;
  }
}

CacheStats ResponseCache::stats() const {
  CacheStats s;
  s.hits = counters_->hits.load();
  s.misses = counters_->misses.load();
  s.bypasses = counters_->bypasses.load();
  s.errors = counters_->errors.load();
  s.computes = counters_->computes.load();
  s.stores = counters_->stores.load();
  return s;
}

bool ResponseCache::connected() const {
  std::lock_guard<std::mutex> lock(redis_mu_);
  return redis_ != nullptr;
}

size_t ResponseCache::waiters_for_testing(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = flights_.find(key);
  return it == flights_.end() ? 0 : it->second->waiters;
}

}  // namespace cairn::ai
