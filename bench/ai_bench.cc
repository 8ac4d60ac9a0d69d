// The AI layer's own cost per call, next to what it wraps (docs/performance.md, "AI layer"):
//  - BM_RoutePlan: the routing decision (Router::plan) for a ~600-token prompt on three tiers;
//  - BM_CacheKey: the response-cache key (canonical JSON + SHA-256) of that request;
//  - BM_CacheHit: a cache hit on a real redis-server over loopback (GET + parse);
//  - BM_ChatActivityCacheHit / BM_ChatActivityMiss: the whole chat activity body
//    (AiRuntime::chat: resolve, cache, pick an endpoint, call, price) answered by the cache, and
//    by the deterministic endpoint over loopback HTTP with the cache off;
//  - BM_EndpointCallDirect: the bare HTTP call (OpenAiClient::chat) the activity makes;
//  - BM_LedgerReserveSettle: a shared-budget reservation and its settlement — two updates to
//    the ledger workflow on a real cairn-server (synced writes) with a worker in this process.
// main() starts redis-server, cairn-server and cairn-model-endpoint on loopback ports with
// temporary directories and stops them at exit. Figures are reported, never asserted.
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cairn/activity.h"
#include "cairn/ai/budget.h"
#include "cairn/ai/cache.h"
#include "cairn/ai/openai.h"
#include "cairn/ai/router.h"
#include "cairn/ai/runtime.h"
#include "cairn/client.h"
#include "cairn/worker.h"
#include "tests/support/process.h"

namespace {

namespace ai = cairn::ai;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Env {
  std::string dir;
  std::vector<pid_t> pids;
  int redis_port = 0;
  std::string server_address;
  std::string endpoint_url;
  std::unique_ptr<ai::AiRuntime> cached;    // cache on
  std::unique_ptr<ai::AiRuntime> uncached;  // cache off
  std::shared_ptr<ai::ResponseCache> cache;
  std::unique_ptr<cairn::Client> client;
  std::unique_ptr<cairn::Worker> worker;
};
Env* env = nullptr;

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot find a free loopback port");
  }
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

pid_t start(const std::vector<std::string>& args, const std::string& name) {
  pid_t pid = cairn::testing::spawn_process(
      args, {.out_path = env->dir + "/" + name + ".log", .err_path = env->dir + "/" + name + ".log"});
  if (pid <= 0) {
    throw std::runtime_error("cannot start " + args[0]);
  }
  env->pids.push_back(pid);
  return pid;
}

std::string wait_port_file(const std::string& path, const std::string& what) {
  for (int i = 0; i < 300; ++i) {
    std::ifstream in(path);
    std::string port;
    if (in >> port && !port.empty()) {
      return port;
    }
    std::this_thread::sleep_for(100ms);  // polling a child's start-up, not synchronisation
  }
  throw std::runtime_error(what + " did not start within 30 s (log in " + env->dir + ")");
}

ai::ChatRequest sample_request() {
  ai::ChatRequest r;
  r.temperature = 0;
  r.max_tokens = 128;
  std::string context;
  for (int i = 0; i < 40; ++i) {
    context += "Refunds of a monthly charge are made in full within 14 days of the invoice date. ";
  }
  r.messages = {{.role = "system", .content = "You are support. Context:\n" + context},
                {.role = "user", .content = "How long do I have to ask for a refund?"}};
  return r;
}

std::string router_yaml(const std::string& url) {
  return "default_tier: standard\nmax_attempts: 3\ncooldown: 1s\ntiers:\n"
         "  - name: economy\n    model: lumen-small\n    input_per_million: 0.25\n"
         "    output_per_million: 1.25\n    context_window: 8192\n    fallback: [standard]\n"
         "    endpoints:\n      - name: economy-1\n        base_url: " + url + "\n"
         "  - name: standard\n    model: lumen-medium\n    input_per_million: 0.15\n"
         "    output_per_million: 0.60\n    context_window: 16384\n    fallback: [premium]\n"
         "    endpoints:\n      - name: standard-1\n        base_url: " + url + "\n"
         "  - name: premium\n    model: lumen-large\n    input_per_million: 3\n"
         "    output_per_million: 15\n    context_window: 131072\n"
         "    endpoints:\n      - name: premium-1\n        base_url: " + url + "\n"
         "rules:\n  complexity: {low: economy, medium: standard, high: premium}\n"
         "  prompt_size:\n    - {max_prompt_tokens: 1500, tier: economy}\n";
}

void set_up(const std::string& bin_dir) {
  env = new Env;
  char tmpl[] = "/tmp/cairn-ai-bench-XXXXXX";
  env->dir = mkdtemp(tmpl);

  env->redis_port = free_port();
  std::ofstream(env->dir + "/redis.conf")
      << "bind 127.0.0.1\nport " << env->redis_port << "\nsave \"\"\nappendonly no\ndir "
      << env->dir << "\n";
  start({REDIS_SERVER_BINARY, env->dir + "/redis.conf"}, "redis-server");

  start({bin_dir + "/server/cairn-server", "--data-dir", env->dir + "/data", "--listen",
         "127.0.0.1:0", "--port-file", env->dir + "/server.port", "--log-level", "warn"},
        "cairn-server");
  start({bin_dir + "/ai/cairn-model-endpoint", "--listen", "127.0.0.1:0", "--port-file",
         env->dir + "/endpoint.port", "--model", "lumen-medium"},
        "cairn-model-endpoint");
  env->server_address = "127.0.0.1:" + wait_port_file(env->dir + "/server.port", "cairn-server");
  env->endpoint_url =
      "http://127.0.0.1:" + wait_port_file(env->dir + "/endpoint.port", "cairn-model-endpoint") +
      "/v1";

  ai::RouterConfig config = ai::parse_router_config(router_yaml(env->endpoint_url), "bench");
  env->cached = std::make_unique<ai::AiRuntime>(config);
  env->uncached = std::make_unique<ai::AiRuntime>(config);
  ai::CacheOptions co;
  co.port = env->redis_port;
  env->cache = std::make_shared<ai::ResponseCache>(co);
  env->cached->set_cache(env->cache);

  env->client = std::make_unique<cairn::Client>(cairn::ClientOptions{.address = env->server_address});
  if (!env->client->wait_until_ready(30s)) {
    throw std::runtime_error("cairn-server is not answering");
  }
  env->worker = std::make_unique<cairn::Worker>(*env->client,
                                                cairn::WorkerOptions{.task_queue = "ai-bench"});
  ai::register_budget_activities(*env->worker, *env->client);
  env->worker->start();
  ai::ensure_budget(*env->client, "bench", 1'000'000 * ai::kMicrosPerDollar,
                    {.task_queue = "ai-bench"});
}

void tear_down() {
  if (env == nullptr) {
    return;
  }
  if (env->worker) {
    env->worker->stop();
  }
  for (auto it = env->pids.rbegin(); it != env->pids.rend(); ++it) {
    kill(*it, SIGTERM);
    int status = 0;
    waitpid(*it, &status, 0);
  }
  std::error_code ec;
  fs::remove_all(env->dir, ec);
}

cairn::ActivityContext activity_context() {
  cairn::ActivityInfo info;
  info.activity_type = "cairn.ai.chat";
  info.workflow_id = "bench";
  info.run_id = "bench";
  info.namespace_ = "default";
  info.start_to_close = 60s;
  return cairn::ActivityContext(info, {}, nullptr);
}

void BM_RoutePlan(benchmark::State& state) {
  ai::ChatRequest r = sample_request();
  ai::RouteHints hints;
  for (auto _ : state) {
    benchmark::DoNotOptimize(env->cached->router().plan(r, hints));
  }
}
BENCHMARK(BM_RoutePlan);

void BM_CacheKey(benchmark::State& state) {
  ai::ChatAttempt a{.request = sample_request(), .tier = "standard"};
  for (auto _ : state) {
    benchmark::DoNotOptimize(ai::ResponseCache::cache_key(a, "standard", "lumen-medium", "default"));
  }
}
BENCHMARK(BM_CacheKey);

void BM_CacheHit(benchmark::State& state) {
  ai::ChatAttempt a{.request = sample_request(), .tier = "standard"};
  std::string key = ai::ResponseCache::cache_key(a, "standard", "lumen-medium", "default");
  ai::ChatResult stored;
  stored.response.message = {.role = "assistant", .content = std::string(600, 'x')};
  stored.usage = {.prompt_tokens = 600, .completion_tokens = 120};
  env->cache->put(key, stored);
  for (auto _ : state) {
    auto hit = env->cache->get(key);
    if (!hit) {
      state.SkipWithError("cache miss: is redis-server up?");
      break;
    }
    benchmark::DoNotOptimize(hit);
  }
}
BENCHMARK(BM_CacheHit)->UseRealTime();

void BM_ChatActivityCacheHit(benchmark::State& state) {
  ai::ChatAttempt a{.request = sample_request(), .tier = "standard"};
  auto ctx = activity_context();
  env->cached->chat(ctx, a);  // fills the cache
  for (auto _ : state) {
    ai::ChatResult r = env->cached->chat(ctx, a);
    if (!r.cache_hit) {
      state.SkipWithError("expected a cache hit");
      break;
    }
  }
}
BENCHMARK(BM_ChatActivityCacheHit)->UseRealTime();

void BM_ChatActivityMiss(benchmark::State& state) {
  ai::ChatAttempt a{.request = sample_request(), .tier = "standard", .use_cache = false};
  auto ctx = activity_context();
  for (auto _ : state) {
    benchmark::DoNotOptimize(env->uncached->chat(ctx, a));
  }
}
BENCHMARK(BM_ChatActivityMiss)->UseRealTime();

void BM_EndpointCallDirect(benchmark::State& state) {
  ai::EndpointConfig ec;
  ec.name = "direct";
  ec.base_url = env->endpoint_url;
  ec.model = "lumen-medium";
  ai::OpenAiClient client(ec);
  ai::ChatRequest r = sample_request();
  for (auto _ : state) {
    benchmark::DoNotOptimize(client.chat(r));
  }
}
BENCHMARK(BM_EndpointCallDirect)->UseRealTime();

void BM_LedgerReserveSettle(benchmark::State& state) {
  int64_t n = 0;
  for (auto _ : state) {
    std::string key = "bench/" + std::to_string(n++);
    ai::ledger_reserve(*env->client, "bench", key, 1000);
    ai::ledger_settle(*env->client, "bench", key, 700);
  }
}
BENCHMARK(BM_LedgerReserveSettle)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::string bin_dir = CAIRN_BIN_DIR;
  try {
    set_up(bin_dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ai_bench: set-up failed: %s\n", e.what());
    tear_down();
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  tear_down();
  return 0;
}
