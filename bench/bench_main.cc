// cairn-bench: runs every benchmark of docs/performance.md and writes the report. For each workload
// and repetition it starts a fresh cairn-server (its own data directory, a free loopback port),
// drives it with cairn-loadgen in a separate process, and stops it by pid; W3 kills it with SIGKILL
// mid-run and restarts it on the same directory and port; W4 fills it with open runs, kills and
// restarts it, and measures signal-to-completion at that size. Then it runs the Google Benchmark
// micro-benchmarks. Writes report.json and report.md (machine, settings, medians of the
// repetitions) into --out. Bounded: every child has a deadline.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/process.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

struct Config {
  std::string bin_dir;  // holds server/cairn-server and bench/* of one build
  std::string out = "bench/results";
  std::string work_dir;  // data directories; default: a fresh one under /tmp
  int repeats = 3;
  int w1a_count = 300;
  int w1b_count = 3000;
  int w2_count = 2000;
  int w3_count = 3000;
  int w4_runs = 100'000;
  int w4_signals = 300;
  bool micro = true;
  std::vector<std::string> only;  // workloads to run; empty: all
};

void progress(const std::string& line) { std::cerr << "cairn-bench: " << line << std::endl; }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A child process with stdout to `out_path` and stderr to `err_path` (or inherited).
pid_t spawn(const std::vector<std::string>& args, const std::string& out_path,
            const std::string& err_path) {
  pid_t pid = cairn::testing::spawn_process(args, {.out_path = out_path, .err_path = err_path});
  if (pid < 0) {
    throw std::runtime_error("fork failed for " + args[0]);
  }
  return pid;
}

// Waits for `pid` up to `timeout`; SIGKILL past it. Returns the exit status (-1: killed).
int wait_for(pid_t pid, std::chrono::seconds timeout) {
  auto deadline = SteadyClock::now() + timeout;
  int status = 0;
  while (SteadyClock::now() < deadline) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(20ms);  // no child-exit event to await without a signal handler
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

long rss_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) {
      return std::stol(line.substr(std::string(field).size()));
    }
  }
  return 0;
}

uint64_t dir_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) {
      total += e.file_size(ec);
    }
  }
  return total;
}

// One cairn-server process on its own data directory.
class Server {
 public:
  Server(const Config& cfg, std::string dir) : cfg_(cfg), dir_(std::move(dir)) {
    fs::create_directories(dir_);
  }
  ~Server() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Starts on `port` (0: any free one) and waits for the port file; returns the seconds it took
  // from exec to serving.
  double start(int port = 0) {
    std::string port_file = dir_ + "/port";
    fs::remove(port_file);
    auto t0 = SteadyClock::now();
    pid_ = spawn(
        {cfg_.bin_dir + "/server/cairn-server", "--data-dir", dir_ + "/data", "--listen",
         "127.0.0.1:" + std::to_string(port), "--port-file", port_file, "--log-level", "warn"},
        dir_ + "/server.out", dir_ + "/server.log");
    auto deadline = t0 + 120s;
    while (SteadyClock::now() < deadline) {
      std::string p = read_file(port_file);
      if (!p.empty() && p.back() == '\n') {
        port_ = std::stoi(p);
        return std::chrono::duration<double>(SteadyClock::now() - t0).count();
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("cairn-server exited at start-up; see " + dir_ + "/server.log");
      }
      std::this_thread::sleep_for(5ms);  // the port file appears once it serves
    }
    throw std::runtime_error("cairn-server did not serve within 120 s; see " + dir_ +
                             "/server.log");
  }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      wait_for(pid_, 60s);
      pid_ = -1;
    }
  }
  void kill9() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }

 private:
  const Config& cfg_;
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Runs cairn-loadgen to completion; returns its JSON.
json loadgen(const Config& cfg, const Server& s, std::vector<std::string> args,
             std::chrono::seconds timeout) {
  std::vector<std::string> argv{cfg.bin_dir + "/bench/cairn-loadgen", "--address", s.address(),
                                "--server-pid", std::to_string(s.pid())};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out = s.dir() + "/loadgen.json";
  pid_t pid = spawn(argv, out, s.dir() + "/loadgen.log");
  int rc = wait_for(pid, timeout);
  if (rc != 0) {
    throw std::runtime_error("cairn-loadgen " + args[1] + " failed (exit " + std::to_string(rc) +
                             "); see " + s.dir() + "/loadgen.log");
  }
  return json::parse(read_file(out));
}

double median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Medians over repetitions of every numeric field (nested one level for w4's phases).
json medians(const std::vector<json>& runs) {
  json out = json::object();
  if (runs.empty()) {
    return out;
  }
  for (auto& [key, value] : runs.front().items()) {
    if (value.is_number()) {
      std::vector<double> xs;
      for (auto& r : runs) {
        xs.push_back(r.value(key, 0.0));
      }
      out[key] = median(xs);
    } else if (value.is_object()) {
      std::vector<json> inner;
      for (auto& r : runs) {
        inner.push_back(r[key]);
      }
      out[key] = medians(inner);
    } else {
      out[key] = value;
    }
  }
  return out;
}

json run_w3(const Config& cfg, const std::string& dir) {
  Server s(cfg, dir);
  s.start();
  std::vector<std::string> argv{
      cfg.bin_dir + "/bench/cairn-loadgen", "--address", s.address(), "--workload", "w3", "--count",
      std::to_string(cfg.w3_count)};
  std::string log = dir + "/loadgen.log";
  pid_t pid = spawn(argv, dir + "/loadgen.json", log);
  // Kill the server once about half the starts are in: the loadgen logs every 500.
  std::string half = "w3: " + std::to_string(cfg.w3_count / 1000 * 500) + " started";
  auto deadline = SteadyClock::now() + 300s;
  while (read_file(log).find(half) == std::string::npos && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(10ms);  // the log is the loadgen's only signal
  }
  int port = s.port();
  progress("w3: kill -9 of cairn-server (pid " + std::to_string(s.pid()) + ") mid-run");
  s.kill9();
  double restart = s.start(port);
  int rc = wait_for(pid, 600s);
  if (rc != 0) {
    throw std::runtime_error("cairn-loadgen w3 failed (exit " + std::to_string(rc) + "); see " +
                             log);
  }
  json out = json::parse(read_file(dir + "/loadgen.json"));
  out["restart_seconds"] = restart;
  s.stop();
  return out;
}

json run_w4(const Config& cfg, const std::string& dir) {
  Server s(cfg, dir);
  s.start();
  std::string prefix = "w4-" + std::to_string(time(nullptr));
  progress("w4: starting " + std::to_string(cfg.w4_runs) + " runs that wait for a signal");
  json fill = loadgen(cfg, s,
                      {"--workload", "w4-fill", "--count", std::to_string(cfg.w4_runs),
                       "--id-prefix", prefix, "--concurrency", "64"},
                      3600s);
  json out;
  out["runs"] = cfg.w4_runs;
  out["fill"] = fill;
  out["server_rss_mib"] = rss_kib(s.pid(), "VmRSS:") / 1024.0;
  out["server_peak_rss_mib"] = rss_kib(s.pid(), "VmHWM:") / 1024.0;
  out["disk_mib"] = dir_bytes(dir + "/data") / 1048576.0;
  int port = s.port();
  progress("w4: kill -9 and restart with " + std::to_string(cfg.w4_runs) + " open runs");
  s.kill9();
  out["restart_to_serving_seconds"] = s.start(port);
  json sig = loadgen(cfg, s,
                     {"--workload", "w4-signal", "--count", std::to_string(cfg.w4_signals),
                      "--id-prefix", prefix, "--runs", std::to_string(cfg.w4_runs)},
                     600s);
  out["signal_to_completion"] = sig;
  out["server_rss_after_restart_mib"] = rss_kib(s.pid(), "VmRSS:") / 1024.0;
  s.stop();
  return out;
}

// A Google Benchmark binary: medians of --repeats repetitions, per benchmark name.
json run_micro(const Config& cfg, const std::string& binary, const std::string& filter,
               const std::string& dir) {
  fs::create_directories(dir);
  std::string out = dir + "/" + binary + ".json";
  pid_t pid = spawn({cfg.bin_dir + "/bench/" + binary, "--benchmark_format=json",
                     "--benchmark_repetitions=" + std::to_string(cfg.repeats),
                     "--benchmark_report_aggregates_only=true", "--benchmark_filter=" + filter},
                    out, dir + "/" + binary + ".log");
  if (wait_for(pid, 1200s) != 0) {
    throw std::runtime_error(binary + " failed; see " + dir + "/" + binary + ".log");
  }
  json report = json::parse(read_file(out));
  json results = json::object();
  for (auto& b : report["benchmarks"]) {
    if (b.value("aggregate_name", "") != "median") {
      continue;
    }
    const std::string unit = b.value("time_unit", "ns");
    const double to_ns = unit == "s" ? 1e9 : unit == "ms" ? 1e6 : unit == "us" ? 1e3 : 1;
    json r{{"real_time_ns", b["real_time"].get<double>() * to_ns},
           {"cpu_time_ns", b["cpu_time"].get<double>() * to_ns}};
    if (b.contains("items_per_second")) {
      r["items_per_second"] = b["items_per_second"];
    }
    results[b.value("run_name", b.value("name", ""))] = r;
  }
  return results;
}

json machine() {
  json m;
  utsname u{};
  uname(&u);
  m["kernel"] = std::string(u.sysname) + " " + u.release;
  m["cores"] = std::thread::hardware_concurrency();
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      m["cpu"] = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ifstream mem("/proc/meminfo");
  while (std::getline(mem, line)) {
    if (line.rfind("MemTotal:", 0) == 0) {
      m["memory_gib"] = std::stol(line.substr(9)) / 1048576.0;
    }
  }
  char date[64];
  time_t now = time(nullptr);
  strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
  m["date"] = date;
  return m;
}

std::string fmt(double v, int digits = 2) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// The markdown report: one table of the DESIGN workloads against the targets, one of the
// micro-benchmarks.
std::string markdown(const json& r) {
  std::ostringstream md;
  const json& m = r["machine"];
  md << "# Cairn benchmark report\n\n";
  md << "Machine: " << m.value("cpu", "?") << ", " << m.value("cores", 0) << " cores, "
     << fmt(m.value("memory_gib", 0.0), 1) << " GiB, " << m.value("kernel", "?") << "; "
     << m.value("date", "") << ".\n";
  md << "Server, worker (in the load generator) and load generator on this one machine, loopback; "
        "every acknowledged transition fsync'd. Medians of "
     << r["settings"].value("repeats", 0)
     << " repetitions, each on a fresh server and data "
        "directory.\n\n";
  md << "| workload | measured (median) | target |\n|---|---|---|\n";
  const json& w = r["workloads"];
  if (w.contains("w1a")) {
    const json& x = w["w1a"];
    md << "| W1a three-step, sequential (" << x.value("count", 0.0) << " runs) | p50 "
       << fmt(x.value("p50_ms", 0.0)) << " ms, p90 " << fmt(x.value("p90_ms", 0.0)) << " ms, p99 "
       << fmt(x.value("p99_ms", 0.0)) << " ms, max " << fmt(x.value("max_ms", 0.0))
       << " ms | p50 ≤ 2 ms, p99 ≤ 8 ms |\n";
  }
  if (w.contains("w1b")) {
    const json& x = w["w1b"];
    md << "| W1b three-step, 64 concurrent (" << x.value("count", 0.0) << " runs) | "
       << fmt(x.value("workflows_per_s", 0.0), 0) << " workflows/s, p50 "
       << fmt(x.value("p50_ms", 0.0)) << " ms, p99 " << fmt(x.value("p99_ms", 0.0))
       << " ms | ≥ 2,000 workflows/s |\n";
  }
  if (w.contains("w2")) {
    const json& x = w["w2"];
    md << "| W2 " << x.value("count", 0.0) << " workflows sleeping 2 s | all complete "
       << fmt(x.value("all_complete_seconds", 0.0)) << " s after the first start, server peak RSS "
       << fmt(x.value("server_peak_rss_mib", 0.0), 0) << " MiB | ≤ 3.5 s; RSS ≤ 256 MB |\n";
  }
  if (w.contains("w3")) {
    const json& x = w["w3"];
    md << "| W3 W1b with a kill -9 of the server mid-run | " << x.value("acknowledged", 0.0)
       << " acknowledged, " << x.value("completed_exactly_once", 0.0) << " completed exactly once, "
       << x.value("wrong", 0.0) << " wrong; restart " << fmt(x.value("restart_seconds", 0.0))
       << " s | every acknowledged workflow exactly once |\n";
  }
  if (w.contains("w4")) {
    const json& x = w["w4"];
    const json& sig = x["signal_to_completion"];
    md << "| W4 " << x.value("runs", 0.0) << " open runs waiting on a signal | server RSS "
       << fmt(x.value("server_rss_mib", 0.0), 0) << " MiB, disk "
       << fmt(x.value("disk_mib", 0.0), 0) << " MiB, restart to serving "
       << fmt(x.value("restart_to_serving_seconds", 0.0)) << " s, signal→completion p50 "
       << fmt(sig.value("p50_ms", 0.0)) << " ms, p99 " << fmt(sig.value("p99_ms", 0.0))
       << " ms; filled at " << fmt(x["fill"].value("starts_per_s", 0.0), 0)
       << " starts/s | at 1,000,000: RSS ≤ 2 GB, restart ≤ 10 s, p50 ≤ 5 ms |\n";
  }
  if (r.contains("micro")) {
    md << "\n## Micro-benchmarks (Google Benchmark, median of repetitions)\n\n";
    md << "| benchmark | time per op | CPU per op | items/s |\n|---|---|---|---|\n";
    for (auto& [binary, results] : r["micro"].items()) {
      for (auto& [name, b] : results.items()) {
        md << "| " << binary << ": " << name << " | " << fmt(b.value("real_time_ns", 0.0) / 1000, 1)
           << " µs | " << fmt(b.value("cpu_time_ns", 0.0) / 1000, 1) << " µs | "
           << (b.contains("items_per_second") ? fmt(b["items_per_second"].get<double>(), 0) : "")
           << " |\n";
      }
    }
  }
  if (r.contains("failures")) {
    md << "\n## Failed\n\n";
    for (auto& [name, why] : r["failures"].items()) {
      md << "- " << name << ": " << why.get<std::string>() << "\n";
    }
  }
  md << "\nRaw figures of every repetition: `report.json`. How they are measured and what the "
        "profiles show: `docs/performance.md`.\n";
  return md.str();
}

bool wanted(const Config& cfg, const std::string& name) {
  return cfg.only.empty() || std::find(cfg.only.begin(), cfg.only.end(), name) != cfg.only.end();
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{
      "cairn-bench: runs the workloads of docs/performance.md and the micro-benchmarks, writes a report"};
  app.add_option("--bin-dir", cfg.bin_dir, "build directory holding server/ and bench/")
      ->required();
  app.add_option("--out", cfg.out, "where report.json and report.md go")->capture_default_str();
  app.add_option("--work-dir", cfg.work_dir, "data directories (default: a fresh one in /tmp)");
  app.add_option("--repeats", cfg.repeats, "repetitions of each workload")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  app.add_option("--w1a-count", cfg.w1a_count)->capture_default_str();
  app.add_option("--w1b-count", cfg.w1b_count)->capture_default_str();
  app.add_option("--w2-count", cfg.w2_count)->capture_default_str();
  app.add_option("--w3-count", cfg.w3_count)
      ->check(CLI::Range(1000, 1'000'000))
      ->capture_default_str();
  app.add_option("--w4-runs", cfg.w4_runs, "open runs of W4 (docs/performance.md: 1,000,000)")
      ->check(CLI::Range(100, 10'000'000))
      ->capture_default_str();
  app.add_option("--only", cfg.only, "run only these: w1a w1b w2 w3 w4 micro");
  CLI11_PARSE(app, argc, argv);
  if (!fs::exists(cfg.bin_dir + "/server/cairn-server") ||
      !fs::exists(cfg.bin_dir + "/bench/cairn-loadgen")) {
    std::cerr << "cairn-bench: " << cfg.bin_dir << " has no server/cairn-server or "
              << "bench/cairn-loadgen: build with -DCAIRN_BUILD_BENCH=ON (scripts/bench.sh does)\n";
    return 2;
  }
  if (cfg.work_dir.empty()) {
    char tmpl[] = "/tmp/cairn-bench-XXXXXX";
    cfg.work_dir = mkdtemp(tmpl);
  }
  fs::create_directories(cfg.out);
  json report;
  report["machine"] = machine();
  report["settings"] = {{"repeats", cfg.repeats},
                        {"w1a_count", cfg.w1a_count},
                        {"w1b_count", cfg.w1b_count},
                        {"w2_count", cfg.w2_count},
                        {"w3_count", cfg.w3_count},
                        {"w4_runs", cfg.w4_runs},
                        {"durability", "WAL fsync on every acknowledged transition"}};
  json raw = json::object();
  json workloads = json::object();
  int n = 0;
  auto dir = [&](const std::string& name) {
    return cfg.work_dir + "/" + name + "-" + std::to_string(++n);
  };
  json failures = json::object();
  // One workload failing (a timeout, a crash) is reported and the others still run.
  auto guarded = [&](const std::string& name, const std::function<void()>& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      progress(name + " FAILED: " + e.what());
      failures[name] = e.what();
    }
  };
  {
    struct Simple {
      std::string name;
      std::vector<std::string> args;
    };
    std::vector<Simple> simple{
        {"w1a", {"--workload", "w1a", "--count", std::to_string(cfg.w1a_count)}},
        {"w1b", {"--workload", "w1b", "--count", std::to_string(cfg.w1b_count)}},
        {"w2", {"--workload", "w2", "--count", std::to_string(cfg.w2_count)}},
    };
    for (auto& w : simple) {
      if (!wanted(cfg, w.name)) {
        continue;
      }
      guarded(w.name, [&] {
        std::vector<json> runs;
        for (int r = 1; r <= cfg.repeats; ++r) {
          progress(w.name + ": repetition " + std::to_string(r) + " of " +
                   std::to_string(cfg.repeats));
          Server s(cfg, dir(w.name));
          s.start();
          runs.push_back(loadgen(cfg, s, w.args, 900s));
          s.stop();
          progress(w.name + ": " + runs.back().dump());
        }
        raw[w.name] = runs;
        workloads[w.name] = medians(runs);
      });
    }
  }
  if (wanted(cfg, "w3")) {
    guarded("w3", [&] {
      std::vector<json> runs;
      for (int r = 1; r <= cfg.repeats; ++r) {
        progress("w3: repetition " + std::to_string(r) + " of " + std::to_string(cfg.repeats));
        runs.push_back(run_w3(cfg, dir("w3")));
        progress("w3: " + runs.back().dump());
      }
      raw["w3"] = runs;
      workloads["w3"] = medians(runs);
    });
  }
  if (wanted(cfg, "w4")) {
    guarded("w4", [&] {
      json w4 = run_w4(cfg, dir("w4"));  // once: filling it is the expensive part
      progress("w4: " + w4.dump());
      raw["w4"] = json::array({w4});
      workloads["w4"] = w4;
    });
  }
  if (cfg.micro && wanted(cfg, "micro")) {
    json micro = json::object();
    const std::vector<std::pair<std::string, std::string>> binaries{
        {"store_bench", "."},
        {"transition_bench", "threads:(1|16)$"},
        {"sdk_bench", "."},
        {"visibility_bench", "."},
        {"ai_bench", "."}};
    for (const auto& [binary, filter] : binaries) {
      guarded(binary, [&] {
        progress("micro-benchmarks: " + binary);
        micro[binary] = run_micro(cfg, binary, filter, cfg.work_dir + "/micro");
      });
    }
    report["micro"] = micro;
  }
  if (!failures.empty()) {
    report["failures"] = failures;
  }
  report["workloads"] = workloads;
  report["raw"] = raw;
  std::ofstream(cfg.out + "/report.json") << report.dump(2) << "\n";
  std::ofstream(cfg.out + "/report.md") << markdown(report);
  progress("wrote " + cfg.out + "/report.json and " + cfg.out + "/report.md");
  std::cout << markdown(report);
  return failures.empty() ? 0 : 1;
}
