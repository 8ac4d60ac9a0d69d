// cairn-loadgen: the load generator for the benchmark workloads of docs/performance.md, run as its
// own process against a running cairn-server (loopback), with the workers in-process by default.
//
//   hello  the hello example end to end (start, signal, wait for the result), sequential
//   w1a    three sequential activities, one caller: 30 warm-up then N sequential runs
//   w1b    the same workflow, C concurrent callers, N runs in all: workflows/s
//   w2     N workflows each sleeping 2 s on a durable timer: time until all complete
//   wft    workflow-task round trips: N sequential updates into one run on a short history, then
//          again after signals have grown it past --history-events (--cache-runs 0: no sticky
//          execution, every task replays the whole history)
//   rpc    the floor: sequential GetSystemInfo, Describe and Signal round trips
//   w3     W1b while the server is killed -9 and restarted by whoever runs this (cairn-bench):
//          starts are retried with their request id until acknowledged, then every
//          acknowledged workflow is checked to have completed exactly once
//   w4-fill    N runs (ids <prefix>-<i>) that each wait for a signal, C concurrent starters;
//              returns once every run's first workflow task is done
//   w4-signal  signal --count of those runs one at a time (spread over the N): signal to
//              completion latency
//
// Prints a human summary on stderr and one JSON object on stdout. Bounded in count and time.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cairn/client.h"
#include "cairn/worker.h"
#include "greet.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kTaskQueue[] = "bench";

struct Config {
  std::string address = "127.0.0.1:7233";
  std::string workload = "w1a";
  int count = 300;
  int warmup = 30;
  int concurrency = 64;
  int sleep_ms = 2000;
  int server_pid = 0;
  bool worker = true;
  int pollers = 4;
  int cache_runs = 1000;
  int history_events = 1000;
  std::string id_prefix;  // w4: names the runs across the fill and signal invocations
  int runs = 0;           // w4-signal: how many runs w4-fill started
};

// Latency samples in microseconds, summarised as percentiles.
struct Samples {
  std::vector<double> us;
  double percentile(double p) const {
    if (us.empty()) {
      return 0;
    }
    std::vector<double> s = us;
    std::sort(s.begin(), s.end());
    size_t i = std::min(s.size() - 1, static_cast<size_t>(p / 100.0 * (s.size() - 1) + 0.5));
    return s[i];
  }
  nlohmann::json summary_ms() const {
    return {{"count", us.size()},
            {"p50_ms", percentile(50) / 1000},
            {"p90_ms", percentile(90) / 1000},
            {"p99_ms", percentile(99) / 1000},
            {"max_ms", percentile(100) / 1000}};
  }
};

// Peak resident set of a process in MiB (VmHWM), 0 when unknown.
double peak_rss_mib(int pid) {
  if (pid <= 0) {
    return 0;
  }
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stod(line.substr(6)) / 1024.0;
    }
  }
  return 0;
}

void register_workloads(cairn::Worker& w) {
  w.register_activity("bench.step", [](std::string input) { return input + "+"; });
  w.register_workflow("bench.three_steps", [](cairn::WorkflowContext& ctx, std::string input) {
    cairn::ActivityOptions o{.start_to_close = 10s};
    for (int i = 0; i < 3; ++i) {
      input = ctx.activity<std::string>("bench.step", input, o).get();
    }
    return input;
  });
  w.register_workflow("bench.sleep", [](cairn::WorkflowContext& ctx, int ms) {
    ctx.sleep(std::chrono::milliseconds(ms));
    return ms;
  });
  w.register_workflow("bench.counter", [](cairn::WorkflowContext& ctx, int n) {
    int total = 0;
    ctx.set_update_handler("add", [&total](int x) { return total += x; });
    ctx.await_condition([&] { return total >= n; });
    return total;
  });
  w.register_workflow("bench.wait_signal", [](cairn::WorkflowContext& ctx, int n) {
    return ctx.signal<int>("go").wait() + n;
  });
  hello::register_all(w);
}

std::string run_id_prefix() {
  return std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
}

cairn::StartWorkflowOptions options(const std::string& id, const std::string& queue) {
  cairn::StartWorkflowOptions o;
  o.id = id;
  o.task_queue = queue;
  return o;
}

// One three-step workflow, start to result; returns the latency in microseconds.
double three_steps(cairn::Client& client, const std::string& id) {
  auto t0 = Clock::now();
  auto h = client.start("bench.three_steps", options(id, kTaskQueue), std::string(100, 'x'));
  auto out = h.result<std::string>(60s);
  if (out.size() != 103) {
    throw std::runtime_error("unexpected result of " + id + ": " + out);
  }
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

nlohmann::json run_sequential(cairn::Client& client, const Config& cfg, const std::string& kind) {
  std::string prefix = kind + "-" + run_id_prefix() + "-";
  auto one = [&](int i) -> double {
    std::string id = prefix + std::to_string(i);
    if (kind == "hello") {
      auto t0 = Clock::now();
      auto h = client.start(hello::kWorkflow, options(id, hello::kTaskQueue), std::string("Ada"));
      h.signal(hello::kPunctuationSignal, std::string("!"));
      h.result<std::string>(60s);
      return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    }
    return three_steps(client, id);
  };
  for (int i = 0; i < cfg.warmup; ++i) {
    one(-1 - i);
  }
  Samples s;
  for (int i = 0; i < cfg.count; ++i) {
    s.us.push_back(one(i));
    if ((i + 1) % 100 == 0) {
      spdlog::info("{}: {}/{} done", kind, i + 1, cfg.count);
    }
  }
  return s.summary_ms();
}

// Runs fn(i) for i in [0, count) on `threads` threads, each taking the next index. The first
// exception stops the others at their next index and is rethrown here, after every thread has
// joined (an exception escaping a std::thread would end the process).
void parallel_for(int threads, int count, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first;
  std::mutex mu;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < count && !failed; i = next++) {
        try {
          fn(i);
        } catch (...) {
          std::lock_guard lock(mu);
          if (!failed.exchange(true)) {
            first = std::current_exception();
          }
        }
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  if (first) {
    std::rethrow_exception(first);
  }
}

nlohmann::json run_w1b(cairn::Client& client, const Config& cfg) {
  std::string prefix = "w1b-" + run_id_prefix() + "-";
  std::mutex mu;
  Samples s;
  auto t0 = Clock::now();
  parallel_for(cfg.concurrency, cfg.count, [&](int i) {
    double us = three_steps(client, prefix + std::to_string(i));
    std::lock_guard lock(mu);
    s.us.push_back(us);
  });
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  auto out = s.summary_ms();
  out["seconds"] = secs;
  out["workflows_per_s"] = cfg.count / secs;
  out["concurrency"] = cfg.concurrency;
  return out;
}

nlohmann::json run_w2(cairn::Client& client, const Config& cfg) {
  std::string prefix = "w2-" + run_id_prefix() + "-";
  auto t0 = Clock::now();
  // Started by --concurrency callers, as many clients would: the timers, not one caller's
  // round trips, are what this workload measures.
  std::vector<std::optional<cairn::WorkflowHandle>> handles(cfg.count);
  parallel_for(cfg.concurrency, cfg.count, [&](int i) {
    handles[i] =
        client.start("bench.sleep", options(prefix + std::to_string(i), kTaskQueue), cfg.sleep_ms);
  });
  double started = std::chrono::duration<double>(Clock::now() - t0).count();
  spdlog::info("w2: {} workflows started in {:.2f} s; waiting for them", cfg.count, started);
  parallel_for(32, cfg.count, [&](int i) { handles[i]->result<int>(120s); });
  double all = std::chrono::duration<double>(Clock::now() - t0).count();
  return {{"count", cfg.count},
          {"sleep_ms", cfg.sleep_ms},
          {"concurrency", cfg.concurrency},
          {"start_seconds", started},
          {"all_complete_seconds", all},
          {"server_peak_rss_mib", peak_rss_mib(cfg.server_pid)}};
}

// Workflow-task round trips at two history lengths: N sequential updates into a fresh run
// (each is one workflow task: scheduled, started, completed, update accepted and completed),
// then signals until the run's history passes --history-events, then N updates again.
nlohmann::json run_wft(cairn::Client& client, const Config& cfg) {
  std::string id = "wft-" + run_id_prefix();
  auto h = client.start("bench.counter", options(id, kTaskQueue), 2 * cfg.count);
  int total = 0;
  auto updates = [&](Samples* s) {
    for (int i = 0; i < cfg.count; ++i) {
      auto t0 = Clock::now();
      int now = h.update<int>("add", 1);
      s->us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      if (now != ++total) {
        throw std::runtime_error("update returned " + std::to_string(now) + ", expected " +
                                 std::to_string(total));
      }
    }
  };
  Samples early;
  updates(&early);
  int64_t events = static_cast<int64_t>(h.history().size());
  int signals = 0;
  while (events < cfg.history_events) {
    for (int i = 0; i < 50; ++i, ++signals) {
      h.signal("pad", signals);
    }
    events = static_cast<int64_t>(h.history().size());
  }
  std::cerr << "wft: " << signals << " signals sent, history at " << events << " events\n";
  Samples late;
  updates(&late);
  h.result<int>(60s);
  std::cerr << "wft (cache-runs " << cfg.cache_runs << "): update p50 "
            << early.percentile(50) / 1000 << " ms on a short history, "
            << late.percentile(50) / 1000 << " ms at ~" << events << " events\n";
  return {{"cache_runs", cfg.cache_runs},
          {"history_events", events},
          {"early", early.summary_ms()},
          {"late", late.summary_ms()}};
}

// The floor under every workflow step: sequential round trips of GetSystemInfo (answered on the
// gRPC thread), DescribeWorkflowExecution (a read on the transition pool) and
// SignalWorkflowExecution (a transition: one synced write).
nlohmann::json run_rpc(cairn::Client& client, const Config& cfg) {
  std::string id = "rpc-" + run_id_prefix();
  // On a queue no worker polls: the signals only append to the history.
  auto h = client.start("bench.counter", options(id, "rpc-no-worker"), 1);
  auto measure = [&](auto&& call) {
    Samples s;
    for (int i = 0; i < cfg.warmup + cfg.count; ++i) {
      auto t0 = Clock::now();
      call();
      if (i >= cfg.warmup) {
        s.us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    }
    return s.summary_ms();
  };
  auto info = measure([&] {
    cairn::v1::GetSystemInfoRequest req;
    cairn::v1::GetSystemInfoResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = client.stub().GetSystemInfo(&ctx, req, &resp);
    if (!st.ok()) {
      throw std::runtime_error("GetSystemInfo: " + st.error_message());
    }
  });
  auto describe = measure([&] { h.describe(); });
  int n = 0;
  auto signal = measure([&] { h.signal("pad", n++); });
  h.terminate("rpc workload done");
  return {{"system_info", info}, {"describe", describe}, {"signal", signal}};
}

// W3: W1b through a kill -9 of the server. A start is retried with the same request id until
// the server acknowledges it (the retry of a start that did commit returns the same run), then
// every acknowledged workflow must end with exactly one completion and the right result.
nlohmann::json run_w3(cairn::Client& client, const Config& cfg) {
  std::string prefix = "w3-" + run_id_prefix() + "-";
  std::atomic<int> start_retries{0};
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> acknowledged;  // workflow id, run id
  auto t0 = Clock::now();
  parallel_for(cfg.concurrency, cfg.count, [&](int i) {
    auto o = options(prefix + std::to_string(i), kTaskQueue);
    o.request_id = o.id + "-start";
    for (int attempt = 0;; ++attempt) {
      try {
        auto h = client.start("bench.three_steps", o, std::string(100, 'x'));
        std::lock_guard lock(mu);
        acknowledged.emplace_back(h.workflow_id(), h.run_id());
        break;
      } catch (const std::exception& e) {
        if (attempt >= 600) {
          throw;
        }
        ++start_retries;
        std::this_thread::sleep_for(50ms);  // the server is restarting
      }
    }
    if ((i + 1) % 500 == 0) {
      spdlog::info("w3: {} started", i + 1);
    }
  });
  // Every acknowledged run: exactly one close event, a completion, the right result.
  int exactly_once = 0;
  int wrong = 0;
  for (auto& [id, run] : acknowledged) {
    auto h = client.handle(id, run);
    std::string out = h.result<std::string>(120s);
    auto events = h.history();
    int closes = 0;
    int steps = 0;
    for (auto& e : events) {
      closes += e.event_type() == cairn::v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED ? 1 : 0;
      steps += e.event_type() == cairn::v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED ? 1 : 0;
    }
    if (closes == 1 && steps == 3 && out.size() == 103) {
      ++exactly_once;
    } else {
      ++wrong;
      spdlog::error("w3: {} ({}): {} completions, {} activity completions, result of {} bytes", id,
                    run, closes, steps, out.size());
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  return {{"count", cfg.count},
          {"acknowledged", acknowledged.size()},
          {"completed_exactly_once", exactly_once},
          {"wrong", wrong},
          {"start_retries", start_retries.load()},
          {"seconds", secs}};
}

// W4, first half: --count runs each waiting for a signal.
nlohmann::json run_w4_fill(cairn::Client& client, const Config& cfg,
                           const std::vector<std::unique_ptr<cairn::Worker>>& workers) {
  auto t0 = Clock::now();
  parallel_for(cfg.concurrency, cfg.count, [&](int i) {
    client.start("bench.wait_signal", options(cfg.id_prefix + "-" + std::to_string(i), kTaskQueue),
                 i);
    if ((i + 1) % 50'000 == 0) {
      spdlog::info("w4: {} of {} runs started", i + 1, cfg.count);
    }
  });
  double started = std::chrono::duration<double>(Clock::now() - t0).count();
  // Waiting means the first workflow task ran: the code is blocked on the signal.
  auto tasks = [&] {
    int64_t n = 0;
    for (auto& w : workers) {
      n += w->stats().workflow_tasks;
    }
    return n;
  };
  auto deadline = Clock::now() + std::chrono::seconds(600 + cfg.count / 1000);
  while (tasks() < cfg.count && Clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);  // polling a counter of this process: no event to await
  }
  double waiting = std::chrono::duration<double>(Clock::now() - t0).count();
  if (tasks() < cfg.count) {
    throw std::runtime_error("only " + std::to_string(tasks()) + " of " +
                             std::to_string(cfg.count) + " runs reached their signal wait");
  }
  return {{"count", cfg.count},
          {"start_seconds", started},
          {"all_waiting_seconds", waiting},
          {"starts_per_s", cfg.count / started}};
}

// W4, second half: signal --count runs spread over the --runs filled ones, one at a time.
nlohmann::json run_w4_signal(cairn::Client& client, const Config& cfg) {
  Samples s;
  int64_t stride = std::max<int64_t>(1, cfg.runs / std::max(1, cfg.count));
  for (int i = 0; i < cfg.count && i * stride < cfg.runs; ++i) {
    int64_t n = i * stride;
    auto h = client.handle(cfg.id_prefix + "-" + std::to_string(n));
    auto t0 = Clock::now();
    h.signal("go", 1);
    int out = h.result<int>(60s);
    s.us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (out != n + 1) {
      throw std::runtime_error("run " + std::to_string(n) + " returned " + std::to_string(out));
    }
  }
  return s.summary_ms();
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"cairn-loadgen: runs a benchmark workload against a cairn-server"};
  app.add_option("--address", cfg.address, "cairn-server address")->capture_default_str();
  app.add_option("--workload", cfg.workload,
                 "hello | w1a | w1b | w2 | w3 | w4-fill | w4-signal | wft | rpc")
      ->check(
          CLI::IsMember({"hello", "w1a", "w1b", "w2", "w3", "w4-fill", "w4-signal", "wft", "rpc"}))
      ->capture_default_str();
  app.add_option("--count", cfg.count, "measured workflows")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--warmup", cfg.warmup, "warm-up workflows (w1a, hello)")
      ->check(CLI::Range(0, 10'000))
      ->capture_default_str();
  app.add_option("--concurrency", cfg.concurrency,
                 "concurrent callers (w1b, w2 starts, w3, w4-fill)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--sleep-ms", cfg.sleep_ms, "timer duration (w2)")->capture_default_str();
  app.add_option("--server-pid", cfg.server_pid, "reads the server's peak RSS (w2)");
  app.add_option("--pollers", cfg.pollers, "in-process worker pollers per kind")
      ->capture_default_str();
  app.add_option("--history-events", cfg.history_events, "history length of the late phase (wft)")
      ->check(CLI::Range(10, 50'000))
      ->capture_default_str();
  app.add_option("--cache-runs", cfg.cache_runs,
                 "in-process workers' cached runs (0: no sticky execution)")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  app.add_option("--id-prefix", cfg.id_prefix, "workflow id prefix of the W4 runs (w4-*)");
  app.add_option("--runs", cfg.runs, "how many runs w4-fill started (w4-signal)");
  app.add_flag("!--no-worker", cfg.worker, "use workers started elsewhere");
  CLI11_PARSE(app, argc, argv);
  // stdout carries only the JSON result: every log line (the SDK's too) goes to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("cairn-loadgen"));
  if (cfg.workload.rfind("w4", 0) == 0 && cfg.id_prefix.empty()) {
    std::cerr << "cairn-loadgen: " << cfg.workload << " needs --id-prefix (the same for w4-fill "
              << "and w4-signal)\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);

  cairn::ClientOptions co;
  co.address = cfg.address;
  cairn::Client client(co);
  if (!client.wait_until_ready(10s)) {
    std::cerr << "cairn-loadgen: no cairn-server answers at " << cfg.address
              << "; start one (cairn-server --listen " << cfg.address << ") or pass --address\n";
    return 2;
  }
  std::vector<std::unique_ptr<cairn::Worker>> workers;
  if (cfg.worker) {
    for (const char* queue : {kTaskQueue, hello::kTaskQueue}) {
      cairn::WorkerOptions wo;
      wo.task_queue = queue;
      wo.workflow_pollers = cfg.pollers;
      wo.activity_pollers = cfg.pollers;
      wo.max_cached_workflows = static_cast<size_t>(cfg.cache_runs);
      workers.push_back(std::make_unique<cairn::Worker>(client, wo));
      register_workloads(*workers.back());
      workers.back()->start();
    }
  }
  spdlog::set_level(spdlog::level::info);
  nlohmann::json result;
  try {
    if (cfg.workload == "hello" || cfg.workload == "w1a") {
      result = run_sequential(client, cfg, cfg.workload);
    } else if (cfg.workload == "w1b") {
      result = run_w1b(client, cfg);
    } else if (cfg.workload == "wft") {
      result = run_wft(client, cfg);
    } else if (cfg.workload == "rpc") {
      result = run_rpc(client, cfg);
    } else if (cfg.workload == "w3") {
      result = run_w3(client, cfg);
    } else if (cfg.workload == "w4-fill") {
      result = run_w4_fill(client, cfg, workers);
    } else if (cfg.workload == "w4-signal") {
      result = run_w4_signal(client, cfg);
    } else {
      result = run_w2(client, cfg);
    }
  } catch (const std::exception& e) {
    std::cerr << "cairn-loadgen: " << cfg.workload << " failed: " << e.what() << "\n";
    return 1;
  }
  for (auto& w : workers) {
    w->stop();
  }
  result["workload"] = cfg.workload;
  std::cout << result.dump() << std::endl;
  return 0;
}
