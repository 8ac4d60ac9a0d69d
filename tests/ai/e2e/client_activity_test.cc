// The "cairn.ai.chat" / "cairn.ai.embed" activities of AiRuntime with a real cairn-server and a
// real cairn-model-endpoint: the activity's retry policy is the only retry owner (exactly N
// HTTP requests for N attempts, none for non-retryable errors), a Retry-After is the server's
// next attempt time, one past the cap fails fast, streams heartbeat and are cancelled within a
// second, and a stream that broke after its first token is not retried.
#include <chrono>
#include <ctime>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "ai/e2e/client_workflow.h"
#include "ai/support/endpoint_process.h"
#include "ai/support/redis_process.h"
#include "cairn/ai/cache.h"
#include "cairn/ai/claim_check.h"
#include "cairn/ai/openai.h"
#include "cairn/ai/router.h"
#include "cairn/ai/runtime.h"
#include "e2e/fixture.h"

namespace cairn::ai {
namespace {

using namespace std::chrono_literals;
using cairn::testing::EndpointProcess;
using Clock = std::chrono::steady_clock;

using cairn::ai::client_testing::chat_workflow;
using cairn::ai::client_testing::ChatCall;

ChatRequest question() {
  ChatRequest r;
  r.messages = {
      {.role = "system",
       .content = "Cairn keeps the history of every run in RocksDB. Workers run workflow code on "
                  "fibers, and each fiber has a small stack. The server retries activities by "
                  "their retry policy and honours the delay a provider asks for."},
      {.role = "user", .content = "Where does Cairn keep the history of every run?"}};
  r.temperature = 0;
  return r;
}

class ClientActivityTest : public cairn::testing::E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    endpoint_ = std::make_unique<EndpointProcess>(endpoint_args());
    std::string error;
    ASSERT_TRUE(endpoint_->start(&error)) << error;
  }

  virtual std::vector<std::string> endpoint_args() { return {}; }

  RouterConfig router_config() {
    RouterConfig c;
    TierConfig t;
    t.name = "standard";
    t.model = "cairn-echo";
    t.input_per_million = 3'000'000;
    t.output_per_million = 15'000'000;
    t.price_set = true;
    EndpointConfig e;
    e.name = "standard-1";
    e.base_url = endpoint_->base_url();
    e.request_timeout = 30s;
    t.endpoints = {e};
    c.tiers = {t};
    c.default_tier = "standard";
    c.embedding_tier = "standard";
    c.cooldown = 0ms;  // one endpoint: a cooldown would make the next attempt wait for it
    return c;
  }

  // A worker on "ai-client" with the runtime's activities and the test workflow.
  void start_worker(RouterConfig config) {
    runtime_ = std::make_unique<AiRuntime>(std::move(config));
    Worker& w = new_worker("ai-client");
    runtime_->register_activities(w);
    w.register_workflow("client.chat", &chat_workflow);
    w.start();
  }

  WorkflowHandle start(const std::string& id, const ChatCall& call) {
    return client_->start("client.chat", start_options(id, "ai-client"), call);
  }

  // Runs the workflow to its failure and returns the ActivityTaskFailed event's attributes.
  v1::ActivityTaskFailedEventAttributes run_to_failure(const std::string& id,
                                                       const ChatCall& call) {
    WorkflowHandle h = start(id, call);
    EXPECT_THROW(h.result<ChatResult>(60s), WorkflowFailedError) << id;
    auto events = h.history();
    const v1::HistoryEvent* failed = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_FAILED);
    if (failed == nullptr) {
      ADD_FAILURE() << id << ": no ActivityTaskFailed event";
      return {};
    }
    return failed->activity_task_failed_event_attributes();
  }

  // The server's next attempt time (ms since the epoch) of the run's pending activity, once it
  // waits for a retry; -1 when it never does.
  int64_t next_attempt_time(WorkflowHandle& h) {
    int64_t at = -1;
    eventually([&] {
      v1::DescribeWorkflowExecutionResponse d = h.describe();
      for (const auto& a : d.pending_activities()) {
        if (a.next_attempt_schedule_time_ms() > 0) {
          at = a.next_attempt_schedule_time_ms();
          return true;
        }
      }
      return false;
    });
    return at;
  }

  static int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  int64_t stat(const char* name) { return endpoint_->stats()[name].get<int64_t>(); }

  std::unique_ptr<EndpointProcess> endpoint_;
  std::unique_ptr<AiRuntime> runtime_;
};

TEST_F(ClientActivityTest, AnswersWithTierEndpointModelUsageAndCost) {
  start_worker(router_config());
  ChatResult r = start("wf-ok", {.attempt = {.request = question()}}).result<ChatResult>(30s);
  EXPECT_NE(r.response.message.content.find("RocksDB"), std::string::npos)
      << r.response.message.content;
  EXPECT_EQ(r.tier, "standard");
  EXPECT_EQ(r.endpoint, "standard-1");
  EXPECT_EQ(r.model, "cairn-echo");
  EXPECT_FALSE(r.cache_hit);
  EXPECT_GT(r.usage.prompt_tokens, 0);
  EXPECT_EQ(r.usage, r.response.usage);
  // $3 / $15 per 1M tokens, rounded up once.
  int64_t exact = r.usage.prompt_tokens * 3'000'000 + r.usage.completion_tokens * 15'000'000;
  EXPECT_EQ(r.cost_micros, (exact + 999'999) / 1'000'000);
  EXPECT_EQ(stat("chat_requests"), 1);
}

TEST_F(ClientActivityTest, RetryableStatusesMakeExactlyOneRequestPerAttempt) {
  start_worker(router_config());
  const std::pair<nlohmann::json, const char*> faults[] = {
      {{{"mode", "status"}, {"status", 408}}, kTimeout},
      {{{"mode", "status"}, {"status", 409}}, kConflict},
      {{{"mode", "rate_limit"}}, kRateLimited},
      {{{"mode", "status"}, {"status", 500}}, kServerError},
      {{{"mode", "status"}, {"status", 503}}, kServerError},
  };
  int n = 0;
  for (const auto& [fault, type] : faults) {
    endpoint_->reset();
    nlohmann::json f = fault;
    f["count"] = -1;
    endpoint_->set_fault(f);
    auto failed = run_to_failure("wf-retryable-" + std::to_string(n++),
                                 {.attempt = {.request = question()}, .max_attempts = 3});
    EXPECT_EQ(failed.attempt(), 3) << f.dump();
    EXPECT_EQ(failed.retry_state(), v1::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED) << f.dump();
    EXPECT_EQ(failed.failure().application_failure_info().type(), type) << f.dump();
    EXPECT_EQ(stat("chat_requests"), 3) << f.dump() << ": N attempts, N HTTP requests";
  }
}

TEST_F(ClientActivityTest, NonRetryableErrorsMakeOneRequest) {
  start_worker(router_config());
  const std::pair<nlohmann::json, const char*> faults[] = {
      {{{"mode", "status"}, {"status", 400}}, kInvalidRequest},
      {{{"mode", "status"}, {"status", 401}}, kAuthenticationFailed},
      {{{"mode", "status"}, {"status", 403}}, kPermissionDenied},
      {{{"mode", "status"}, {"status", 404}}, kNotFound},
      {{{"mode", "status"}, {"status", 429}, {"error_code", "insufficient_quota"}},
       kInsufficientQuota},
      {{{"mode", "refuse"}}, kContentFiltered},
  };
  int n = 0;
  for (const auto& [fault, type] : faults) {
    endpoint_->reset();
    nlohmann::json f = fault;
    f["count"] = -1;
    endpoint_->set_fault(f);
    auto failed = run_to_failure("wf-final-" + std::to_string(n++),
                                 {.attempt = {.request = question()}, .max_attempts = 5});
    EXPECT_EQ(failed.attempt(), 1) << f.dump();
    EXPECT_EQ(failed.retry_state(), v1::RETRY_STATE_NON_RETRYABLE_FAILURE) << f.dump();
    EXPECT_EQ(failed.failure().application_failure_info().type(), type) << f.dump();
    EXPECT_TRUE(failed.failure().application_failure_info().non_retryable()) << f.dump();
    EXPECT_EQ(stat("chat_requests"), 1) << f.dump();
  }
}

TEST_F(ClientActivityTest, RetryAfterSecondsDelaysTheNextAttempt) {
  start_worker(router_config());
  endpoint_->set_fault({{"mode", "rate_limit"}, {"retry_after", "2"}, {"count", 1}});
  WorkflowHandle h = start("wf-retry-after", {.attempt = {.request = question()}});
  ChatResult r = h.result<ChatResult>(30s);
  EXPECT_FALSE(r.response.message.content.empty());
  auto events = h.history();
  const v1::HistoryEvent* scheduled = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  const v1::HistoryEvent* started = find(events, v1::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  ASSERT_NE(scheduled, nullptr);
  ASSERT_NE(started, nullptr);
  EXPECT_EQ(started->activity_task_started_event_attributes().attempt(), 2);
  EXPECT_EQ(started->activity_task_started_event_attributes()
                .last_failure()
                .application_failure_info()
                .next_retry_delay_ms(),
            2000);
  // The policy's backoff is 50 ms: only the Retry-After explains two seconds.
  EXPECT_GE(started->event_time_ms() - scheduled->event_time_ms(), 2000);
  EXPECT_EQ(stat("chat_requests"), 2);
}

TEST_F(ClientActivityTest, RetryAfterMillisecondsIsTheServersNextAttemptTime) {
  start_worker(router_config());
  endpoint_->set_fault({{"mode", "rate_limit"}, {"retry_after_ms", 20000}, {"count", 1}});
  const int64_t before = now_ms();
  WorkflowHandle h = start("wf-retry-after-ms", {.attempt = {.request = question()}});
  int64_t at = next_attempt_time(h);
  const int64_t seen = now_ms();
  // The attempt failed after `before` and before `seen`; the next one is 20 s after that (the
  // policy's backoff would be 50 ms).
  EXPECT_GE(at, before + 20000);
  EXPECT_LE(at, seen + 20000);
  h.terminate("checked");
}

std::string http_date(std::time_t t) {
  char buf[64];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

TEST_F(ClientActivityTest, RetryAfterHttpDateIsTheServersNextAttemptTime) {
  start_worker(router_config());
  std::time_t date = std::time(nullptr) + 30;
  endpoint_->set_fault({{"mode", "rate_limit"}, {"retry_after", http_date(date)}, {"count", 1}});
  WorkflowHandle h = start("wf-retry-after-date", {.attempt = {.request = question()}});
  int64_t at = next_attempt_time(h);
  // The next attempt is at the date the provider named (to its one-second resolution).
  EXPECT_NEAR(static_cast<double>(at), static_cast<double>(date) * 1000, 1500);
  h.terminate("checked");
}

TEST_F(ClientActivityTest, ARetryAfterPastTheCapFailsFast) {
  RouterConfig config = router_config();
  config.max_retry_after = 5s;
  start_worker(std::move(config));
  endpoint_->set_fault({{"mode", "rate_limit"}, {"retry_after", "30"}, {"count", -1}});
  Clock::time_point begin = Clock::now();
  auto failed = run_to_failure("wf-retry-after-capped",
                               {.attempt = {.request = question()}, .max_attempts = 5});
  EXPECT_LT(Clock::now() - begin, 5s) << "the activity waited for the Retry-After";
  EXPECT_EQ(failed.attempt(), 1);
  EXPECT_EQ(failed.retry_state(), v1::RETRY_STATE_NON_RETRYABLE_FAILURE);
  EXPECT_EQ(failed.failure().application_failure_info().type(), kRateLimited);
  EXPECT_NE(failed.failure().message().find("longer than max_retry_after 5s"), std::string::npos)
      << failed.failure().message();
  EXPECT_EQ(stat("chat_requests"), 1);
}

TEST_F(ClientActivityTest, AStreamBrokenAfterItsFirstTokenIsNotRetried) {
  start_worker(router_config());
  endpoint_->set_fault({{"mode", "stream_error"}, {"after_tokens", 3}, {"count", -1}});
  auto failed = run_to_failure(
      "wf-stream-broken", {.attempt = {.request = question(), .stream = true}, .max_attempts = 3});
  EXPECT_EQ(failed.attempt(), 1);
  EXPECT_EQ(failed.failure().application_failure_info().type(), kStreamInterrupted);
  EXPECT_EQ(stat("stream_requests"), 1) << "the output would have been sent twice";
}

class ClientSlowStreamTest : public ClientActivityTest {
 protected:
  std::vector<std::string> endpoint_args() override { return {"--tokens-per-second", "5"}; }
};

TEST_F(ClientSlowStreamTest, AStreamHeartbeatsWhileTokensArrive) {
  start_worker(router_config());
  // A heartbeat timeout of 1 s on a stream of several seconds: only heartbeats keep it alive.
  WorkflowHandle h = start("wf-stream", {.attempt = {.request = question(), .stream = true},
                                         .max_attempts = 1,
                                         .heartbeat_ms = 1000});
  ChatResult r = h.result<ChatResult>(60s);
  EXPECT_GT(r.duration_ms, 2000) << "the stream was too short to need a heartbeat";
  EXPECT_NE(r.response.message.content.find("RocksDB"), std::string::npos);
  EXPECT_GT(r.usage.completion_tokens, 0) << "usage from the stream's usage chunk";
  EXPECT_EQ(stat("stream_requests"), 1);
}

TEST_F(ClientActivityTest, CancellingTheWorkflowClosesTheConnectionWithinASecond) {
  start_worker(router_config());
  for (bool stream : {true, false}) {
    endpoint_->reset();
    endpoint_->set_fault({{"mode", "hang"}, {"count", 1}});
    // At rest the endpoint counts one connection: the stats request's own.
    const int64_t idle = 1;
    ASSERT_TRUE(eventually([&] { return stat("open_connections") == idle; }));
    WorkflowHandle h = start(std::string("wf-cancel-") + (stream ? "stream" : "plain"),
                             {.attempt = {.request = question(), .stream = stream}});
    ASSERT_TRUE(eventually([&] { return stat("open_connections") == idle + 1; }))
        << endpoint_->stats().dump();
    Clock::time_point at = Clock::now();
    h.cancel("the user left");
    ASSERT_TRUE(eventually([&] { return stat("open_connections") == idle; }, 5s));
    EXPECT_LT(Clock::now() - at, 1s) << "stream " << stream;
    EXPECT_THROW(h.result<ChatResult>(10s), WorkflowFailedError);
    EXPECT_EQ(stat("chat_requests"), 1);
    if (stream) {
      EXPECT_TRUE(eventually([&] { return stat("cancelled_streams") == 1; }, 5s))
          << endpoint_->stats().dump();
    }
  }
}

TEST_F(ClientActivityTest, ACachedAnswerIsTheRecordedResultWithoutARequest) {
  cairn::testing::RedisProcess redis;
  std::string error;
  ASSERT_TRUE(redis.start(&error)) << error;
  runtime_ = std::make_unique<AiRuntime>(router_config());
  CacheOptions co;
  co.port = redis.port();
  runtime_->set_cache(std::make_shared<ResponseCache>(co));
  Worker& w = new_worker("ai-client");
  runtime_->register_activities(w);
  w.register_workflow("client.chat", &chat_workflow);
  w.start();
  ChatCall call{.attempt = {.request = question()}};
  ChatResult first = start("wf-cache-1", call).result<ChatResult>(30s);
  ChatResult second = start("wf-cache-2", call).result<ChatResult>(30s);
  EXPECT_FALSE(first.cache_hit);
  EXPECT_GT(first.cost_micros, 0);
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(second.cost_micros, 0) << "a hit costs nothing";
  EXPECT_EQ(second.response, first.response);
  EXPECT_EQ(second.usage, first.usage) << "the original call's usage";
  EXPECT_EQ(stat("chat_requests"), 1);
  // Streamed and non-deterministic attempts are never served from the cache.
  ChatCall streamed = call;
  streamed.attempt.stream = true;
  EXPECT_FALSE(start("wf-cache-stream", streamed).result<ChatResult>(30s).cache_hit);
  ChatCall warm = call;
  warm.attempt.request.temperature = 0.7;
  EXPECT_FALSE(start("wf-cache-warm", warm).result<ChatResult>(30s).cache_hit);
  EXPECT_EQ(stat("chat_requests"), 3);
}

TEST_F(ClientActivityTest, EmbeddingsAreSplitIntoRequestsOfAtMost2048Inputs) {
  RouterConfig config = router_config();
  config.tiers[0].input_per_million = 20'000;
  runtime_ = std::make_unique<AiRuntime>(std::move(config));
  ActivityContext ctx({}, {}, nullptr);
  EmbedAttempt a;
  for (int i = 0; i < 2049; ++i) {
    a.request.input.push_back("document " + std::to_string(i));
  }
  EmbedResult r = runtime_->embed(ctx, a);
  ASSERT_EQ(r.response.data.size(), 2049u);
  EXPECT_EQ(stat("embedding_requests"), 2);
  EXPECT_NE(r.response.data[0], r.response.data[2048]);
  EXPECT_EQ(r.tier, "standard");
  EXPECT_EQ(r.endpoint, "standard-1");
  EXPECT_GT(r.usage.prompt_tokens, 2049);
  EXPECT_EQ(r.cost_micros, (r.usage.prompt_tokens * 20'000 + 999'999) / 1'000'000);
}

TEST_F(ClientActivityTest, TheTiersMaxOutputTokensBoundsTheRequest) {
  RouterConfig config = router_config();
  config.tiers[0].max_output_tokens = 3;
  runtime_ = std::make_unique<AiRuntime>(std::move(config));
  ActivityContext ctx({}, {}, nullptr);
  ChatAttempt a{.request = question()};
  a.request.max_tokens = 500;
  ChatResult r = runtime_->chat(ctx, a);
  EXPECT_LE(r.usage.completion_tokens, 3);
  EXPECT_EQ(r.response.finish_reason, "length");
}

TEST_F(ClientActivityTest, ReferencesAreResolvedAndLargeAnswersStoredByReference) {
  RouterConfig config = router_config();
  config.blob_threshold_bytes = 16;
  runtime_ = std::make_unique<AiRuntime>(std::move(config));
  ActivityContext ctx({}, {}, nullptr);
  ChatAttempt a{.request = question()};
  auto blobs = std::make_shared<FileBlobStore>(dir_.path() + "/blobs");
  a.request.messages[0].content_ref = blobs->put(a.request.messages[0].content);
  a.request.messages[0].content.clear();
  try {
    runtime_->chat(ctx, a);
    FAIL() << "a reference was sent without a blob store";
  } catch (const ApplicationError& e) {
    EXPECT_EQ(e.type(), kNoBlobStore);
    EXPECT_TRUE(e.non_retryable());
  }
  EXPECT_EQ(stat("chat_requests"), 0);
  runtime_->set_blob_store(blobs);
  ChatResult r = runtime_->chat(ctx, a);
  EXPECT_TRUE(r.response.message.content.empty());
  ASSERT_TRUE(is_blob_ref(r.response.message.content_ref)) << r.response.message.content_ref;
  EXPECT_NE(blobs->get(r.response.message.content_ref).find("RocksDB"), std::string::npos)
      << "the answer used the context behind the reference";
}

TEST_F(ClientActivityTest, AnUnknownTierIsNotRetryable) {
  runtime_ = std::make_unique<AiRuntime>(router_config());
  ActivityContext ctx({}, {}, nullptr);
  try {
    runtime_->chat(ctx, {.request = question(), .tier = "premum"});
    FAIL() << "an unknown tier was served";
  } catch (const ApplicationError& e) {
    EXPECT_EQ(e.type(), "UnknownTier");
    EXPECT_TRUE(e.non_retryable());
    EXPECT_NE(std::string(e.what()).find("standard"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cairn::ai
