// The `router` provider: HAProxy in master-worker mode in front of each tier's replicas.
//   inputs:  tiers [{name, model, urls, input_per_million, output_per_million, context_window,
//            fallback}], default_tier, embedding_tier, port (0: allocate), cost_per_hour,
//            startup_timeout_seconds (15), stop_grace_seconds (5), drain_timeout_seconds (30) — the
//            schema's (types.cc router_type)
//   outputs: url (http://127.0.0.1:PORT), port, router_config (the AI batteries' router config,
//            JSON text), router_config_path (the same in the key's directory), tier_urls
//            ({tier: http://127.0.0.1:PORT/tiers/<tier>/v1})
// Files in the key's directory: haproxy.cfg (generated), router.json (ports and generation,
// written before the start so an adopter knows them), router-config.json, haproxy.pid / .log.
// update() rewrites haproxy.cfg, checks it with `haproxy -c`, and sends SIGUSR2 to the master:
// it re-executes itself with the new file, new workers take over the listening sockets, the
// old ones stop accepting and finish the requests they hold. The stats frontend's /generation
// answers the generation of the configuration serving, which is how a reload is known done.
// update() then drains: it returns once the old workers have exited (at most drain_timeout_seconds,
// which is also the configuration's hard-stop-after), so what the caller stops next (the old
// replicas of a blue/green) no longer has a request proxied to it.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "cairn/ai/router.h"
#include "cairn/deploy/process.h"
#include "cairn/deploy/provider.h"
#include "providers/haproxy_config.h"
#include "providers/local_process.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr char kProcessName[] = "haproxy";

std::string fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    return "";
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_file_atomic(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) {
      throw ProviderError(ProviderErrorKind::kFailed, "write " + path.string() + " failed");
    }
  }
  std::filesystem::rename(tmp, path);
}

// What router.json records: where the router listens and the configuration generation.
struct Meta {
  router::Listen listen;
  int64_t generation = 0;
};

std::optional<Meta> read_meta(const std::filesystem::path& dir) {
  json j = json::parse(read_file(dir / "router.json"), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("port") || !j.contains("stats_port")) {
    return std::nullopt;
  }
  Meta m;
  m.listen.port = j.value("port", 0);
  m.listen.stats_port = j.value("stats_port", 0);
  m.generation = j.value("generation", int64_t{0});
  return m;
}

void write_meta(const std::filesystem::path& dir, const Meta& m) {
  write_file_atomic(dir / "router.json", json{{"port", m.listen.port},
                                              {"stats_port", m.listen.stats_port},
                                              {"generation", m.generation}}
                                                 .dump() +
                                             "\n");
}

// The generation the serving workers were configured with; 0 when the stats frontend does not
// answer.
int64_t serving_generation(int stats_port) {
  std::string body;
  if (http_get_status(stats_port, "/generation", milliseconds(1000), &body) != 200) {
    return 0;
  }
  size_t start = body.find_first_of("0123456789");
  return start == std::string::npos ? 0 : std::atoll(body.c_str() + start);
}

// The live children of `parent` (its haproxy workers), oldest first: /proc/<pid>/stat's ppid
// (field 4, after the command name's closing parenthesis), with their start times.
std::vector<ProcessRecord> children_of(pid_t parent) {
  std::vector<ProcessRecord> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::string stat = read_file(entry.path() / "stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) {
      continue;
    }
    std::istringstream fields(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    if (!(fields >> state >> ppid) || ppid != parent) {
      continue;
    }
    ProcessRecord child;
    child.pid = static_cast<pid_t>(std::stol(name));
    std::optional<uint64_t> start = process_start_time(child.pid);
    if (!start) {
      continue;  // exited (a zombie the master has not reaped yet)
    }
    child.start_time = *start;
    out.push_back(child);
  }
  std::sort(out.begin(), out.end(), [](const ProcessRecord& a, const ProcessRecord& b) {
    return a.start_time != b.start_time ? a.start_time < b.start_time : a.pid < b.pid;
  });
  return out;
}

int count_alive(const std::vector<ProcessRecord>& records) {
  return static_cast<int>(std::count_if(records.begin(), records.end(),
                                        [](const ProcessRecord& r) { return alive(r); }));
}

class RouterProvider : public Provider {
 public:
  explicit RouterProvider(LocalProviderOptions options) : options_(std::move(options)) {}

  std::string type() const override { return "router"; }

  std::vector<InputError> check(const json& inputs) const override {
    return router::check_router_inputs(inputs);
  }

  Diff diff(const json& old_inputs, const json& new_inputs,
            const ProviderState& recorded) const override {
    return diff_by_schema(*find_type("router"), old_inputs, new_inputs);
  }

  ProviderState create(ProviderContext& ctx, const std::string& key, const json& inputs) override {
    router::RouterSpec spec = router::parse_router_inputs(inputs);
    std::filesystem::path dir = ctx.key_dir(key);
    local::KeyLock lock(dir);
    std::optional<ProcessRecord> record = read_process_record(dir, kProcessName);
    std::optional<Meta> meta = read_meta(dir);
    if (record && meta && alive(*record)) {
      // A retry after a crash (before or after the first attempt recorded its result): the
      // running haproxy is ours; bring it to these inputs.
      ctx.log(LogLevel::kInfo, "router: adopting haproxy pid " + std::to_string(record->pid));
      Meta m = converge(ctx, dir, *record, *meta, spec, inputs);
      return state_of(dir, *record, m, spec, inputs, /*adopted=*/true);
    }
    if (record) {
      stop(*record, milliseconds(2000));  // not alive or unknown ports: start over
      local::stop_named(dir, kProcessName, milliseconds(2000));
    }
    return start(ctx, dir, spec, inputs);
  }

  ReadResult read(ProviderContext& ctx, const ProviderState& recorded) override {
    ReadResult result;
    ProcessRecord record = process_record_from_json(recorded.private_state.at("process"));
    if (!alive(record)) {
      return result;
    }
    result.exists = true;
    result.outputs = recorded.outputs;
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    std::string want_hash = recorded.private_state.value("config_hash", "");
    std::string file_hash = fnv1a(read_file(dir / "haproxy.cfg"));
    if (file_hash != want_hash) {
      result.drift.push_back({"config", want_hash, file_hash});
    }
    int64_t want_gen = recorded.private_state.value("generation", int64_t{0});
    int64_t serving = serving_generation(recorded.private_state.value("stats_port", 0));
    if (serving != want_gen) {
      result.drift.push_back({"generation", want_gen, serving});
    }
    return result;
  }

  ProviderState update(ProviderContext& ctx, const ProviderState& recorded,
                       const json& new_inputs) override {
    router::RouterSpec spec = router::parse_router_inputs(new_inputs);
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    if (dir.empty()) {
      throw ProviderError(ProviderErrorKind::kInvalidInputs,
                          "router " + recorded.provider_id + ": no directory recorded");
    }
    local::KeyLock lock(dir);
    ProcessRecord record = process_record_from_json(recorded.private_state.at("process"));
    std::optional<Meta> meta = read_meta(dir);
    if (!alive(record) || !meta) {
      throw ProviderError(
          ProviderErrorKind::kUnavailable,
          "router " + recorded.provider_id + ": haproxy is not running (recreate it)");
    }
    Meta m = converge(ctx, dir, record, *meta, spec, new_inputs);
    return state_of(dir, record, m, spec, new_inputs, /*adopted=*/false);
  }

  // Rewrites the recorded configuration and reloads.
  ProviderState revert_drift(ProviderContext& ctx, const ProviderState& recorded) override {
    return update(ctx, recorded, recorded.private_state.value("inputs", json::object()));
  }

  void destroy(ProviderContext& ctx, const ProviderState& recorded) override {
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    milliseconds grace(recorded.private_state.value("stop_grace_ms", 5000));
    if (recorded.private_state.contains("process")) {
      stop(process_record_from_json(recorded.private_state["process"]), grace);
    }
    if (!dir.empty() && std::filesystem::exists(dir)) {
      {
        local::KeyLock lock(dir);
        local::stop_recorded(dir, "", grace);
      }
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }

  json stats(ProviderContext& ctx, const ProviderState& recorded) override {
    router::RouterSpec spec =
        router::parse_router_inputs(recorded.private_state.value("inputs", json::object()));
    int stats_port = recorded.private_state.value("stats_port", 0);
    std::string body;
    int status = http_get_status(stats_port, "/stats;csv", milliseconds(2000), &body);
    if (status != 200) {
      throw ProviderError(ProviderErrorKind::kUnavailable,
                          "router " + recorded.provider_id +
                              ": stats on 127.0.0.1:" + std::to_string(stats_port) +
                              " did not answer (status " + std::to_string(status) + ")");
    }
    return {{"tiers", router::tier_stats_from_csv(body, spec)}};
  }

 private:
  std::string haproxy_binary() const {
    if (!options_.haproxy_binary.empty()) {
      return options_.haproxy_binary;
    }
    if (const char* env = std::getenv("CAIRN_HAPROXY")) {
      return env;
    }
    if (std::optional<std::string> found = find_program("haproxy")) {
      return *found;
    }
    return "/usr/sbin/haproxy";  // Debian's, outside a non-root PATH
  }

  // `haproxy -c`: the file is refused before any running router sees it.
  void validate_config(ProviderContext& ctx, const std::filesystem::path& file) const {
    ProcessSpec check;
    check.program = haproxy_binary();
    check.args = {"-c", "-q", "-f", file.string()};
    CommandResult r = run_command(check, "", milliseconds(10000));
    if (r.exit_code != 0) {
      throw ProviderError(ProviderErrorKind::kFailed,
                          ctx.redact("router: haproxy refused the generated configuration " +
                                     file.string() + ": " + r.err + r.out));
    }
  }

  // Writes the configuration of `generation`, checked, and the AI router config beside it.
  void write_configs(ProviderContext& ctx, const std::filesystem::path& dir,
                     const router::RouterSpec& spec, const Meta& m) const {
    std::filesystem::path next = dir / "haproxy.cfg.next";
    {
      std::ofstream out(next, std::ios::trunc);
      out << router::haproxy_config(spec, m.listen, m.generation);
    }
    validate_config(ctx, next);
    std::filesystem::rename(next, dir / "haproxy.cfg");
    json ai_config = router::ai_router_config(spec, m.listen.port);
    try {
      // What the agent will load: refused here rather than by the agent.
      (void)cairn::ai::parse_router_config(ai_config.dump(), "router_config");
    } catch (const cairn::ai::ConfigError& e) {
      throw ProviderError(ProviderErrorKind::kInvalidInputs, std::string("router: ") + e.what());
    }
    write_file_atomic(dir / "router-config.json", ai_config.dump(2) + "\n");
  }

  // Polls until the workers of `generation` serve, the master exits, or the timeout.
  enum class Wait { kServing, kExited, kTimedOut, kCanceled };
  Wait await_generation(ProviderContext& ctx, const ProcessRecord& record, const Meta& m,
                        milliseconds timeout) const {
    auto start = Clock::now();
    for (;;) {
      if (!alive(record)) {
        return Wait::kExited;
      }
      if (serving_generation(m.listen.stats_port) == m.generation &&
          tcp_open(m.listen.port, milliseconds(500))) {
        return Wait::kServing;
      }
      if (ctx.cancel_requested()) {
        return Wait::kCanceled;
      }
      auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
      if (elapsed >= timeout) {
        return Wait::kTimedOut;
      }
      ctx.report({{"waiting_for", "router generation " + std::to_string(m.generation)},
                  {"elapsed_ms", elapsed.count()}});
      std::this_thread::sleep_for(milliseconds(20));
    }
  }

  ProviderState start(ProviderContext& ctx, const std::filesystem::path& dir,
                      const router::RouterSpec& spec, const json& inputs) {
    const int fixed_port = inputs.value("port", 0);
    milliseconds timeout = local::seconds_input(inputs, "startup_timeout_seconds", 15);
    for (int attempt = 1;; ++attempt) {
      Meta m;
      m.listen.port = fixed_port != 0 ? fixed_port : ctx.ports->allocate();
      m.listen.stats_port = ctx.ports->allocate();
      m.generation = 1;
      write_configs(ctx, dir, spec, m);
      write_meta(dir, m);  // before the start: an adopter knows the ports
      ProcessSpec ps;
      ps.program = haproxy_binary();
      ps.args = {"-W", "-db", "-f", (dir / "haproxy.cfg").string()};
      ps.dir = dir;
      ps.name = kProcessName;
      ProcessRecord record = start_process(ps);
      ctx.log(LogLevel::kInfo, "router: started haproxy pid " + std::to_string(record.pid) +
                                   " on port " + std::to_string(m.listen.port));
      Wait w = await_generation(ctx, record, m, timeout);
      if (w == Wait::kServing) {
        return state_of(dir, record, m, spec, inputs, /*adopted=*/false);
      }
      std::string tail = log_tail(record.log_path, 1024);
      stop(record, milliseconds(2000));
      local::stop_named(dir, kProcessName, milliseconds(2000));
      if (w == Wait::kCanceled) {
        throw ProviderError(ProviderErrorKind::kCanceled, "router: start canceled");
      }
      bool taken =
          !port_free(m.listen.stats_port) || (fixed_port == 0 && !port_free(m.listen.port));
      if (w == Wait::kExited && taken && attempt < 3) {
        ctx.log(LogLevel::kWarn, "router: a port was taken; retrying on other ports");
        continue;
      }
      throw ProviderError(
          w == Wait::kExited ? ProviderErrorKind::kFailed : ProviderErrorKind::kTimeout,
          ctx.redact(std::string("router: haproxy ") +
                     (w == Wait::kExited
                          ? "exited during startup"
                          : "not serving within " + std::to_string(timeout.count()) + " ms") +
                     (tail.empty() ? "" : "; its log ends:\n" + tail)));
    }
  }

  // Brings a running haproxy to `spec`: nothing when its file and serving generation already
  // are; else the next generation written, checked and reloaded (SIGUSR2 to the master).
  // Idempotent, so a retry after a crash in the middle finishes the reload.
  Meta converge(ProviderContext& ctx, const std::filesystem::path& dir, const ProcessRecord& record,
                Meta m, const router::RouterSpec& spec, const json& inputs) {
    milliseconds timeout = local::seconds_input(inputs, "startup_timeout_seconds", 15);
    const int fixed_port = inputs.value("port", 0);
    if (fixed_port != 0 && fixed_port != m.listen.port) {
      throw ProviderError(ProviderErrorKind::kInvalidInputs,
                          "router: port " + std::to_string(fixed_port) + " differs from the " +
                              "running router's " + std::to_string(m.listen.port) +
                              " (a port change is a replace)");
    }
    std::string current = read_file(dir / "haproxy.cfg");
    if (current == router::haproxy_config(spec, m.listen, m.generation) &&
        serving_generation(m.listen.stats_port) == m.generation) {
      write_file_atomic(dir / "router-config.json",
                        router::ai_router_config(spec, m.listen.port).dump(2) + "\n");
      // A retry after a crash in the middle of a drain finishes it: every worker but the
      // newest is an old generation's.
      std::vector<ProcessRecord> workers = children_of(record.pid);
      if (workers.size() > 1) {
        workers.pop_back();
        drain(ctx, m, workers, spec.drain_timeout_ms);
      }
      return m;
    }
    m.generation += 1;
    write_configs(ctx, dir, spec, m);
    write_meta(dir, m);
    // The workers serving now: after the reload they only finish what they hold.
    std::vector<ProcessRecord> old_workers = children_of(record.pid);
    if (!alive(record) || ::kill(record.pid, SIGUSR2) != 0) {
      throw ProviderError(ProviderErrorKind::kUnavailable,
                          "router: haproxy pid " + std::to_string(record.pid) +
                              " is gone; cannot reload (recreate it)");
    }
    Wait w = await_generation(ctx, record, m, timeout);
    if (w == Wait::kServing) {
      ctx.log(LogLevel::kInfo, "router: generation " + std::to_string(m.generation) + " serving");
      drain(ctx, m, old_workers, spec.drain_timeout_ms);
      return m;
    }
    if (w == Wait::kCanceled) {
      throw ProviderError(ProviderErrorKind::kCanceled, "router: reload canceled");
    }
    throw ProviderError(
        w == Wait::kExited ? ProviderErrorKind::kFailed : ProviderErrorKind::kTimeout,
        ctx.redact("router: reload to generation " + std::to_string(m.generation) +
                   (w == Wait::kExited ? " stopped haproxy" : " not serving in time") +
                   "; its log ends:\n" + log_tail(record.log_path, 1024)));
  }

  // Waits until the old workers have exited: they finish the requests they proxy, to replicas
  // the caller may stop next. haproxy's hard-stop-after (the same bound) ends a worker held by
  // a kept-alive or slow connection; the margin covers its exit. A worker still alive after
  // that is logged, not an error: the new generation serves.
  void drain(ProviderContext& ctx, const Meta& m, const std::vector<ProcessRecord>& old_workers,
             int64_t bound_ms) const {
    constexpr int64_t kMarginMs = 5000;
    auto start = Clock::now();
    for (;;) {
      int left = count_alive(old_workers);
      if (left == 0) {
        if (!old_workers.empty()) {
          ctx.log(LogLevel::kInfo,
                  "router: generation " + std::to_string(m.generation) + ": old workers drained");
        }
        return;
      }
      auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
      if (elapsed.count() >= bound_ms + kMarginMs) {
        ctx.log(LogLevel::kWarn,
                "router: " + std::to_string(left) + " old worker(s) still running " +
                    std::to_string(elapsed.count()) + " ms after the reload (hard-stop-after " +
                    std::to_string(bound_ms) + " ms)");
        return;
      }
      if (ctx.cancel_requested()) {
        throw ProviderError(ProviderErrorKind::kCanceled, "router: drain canceled");
      }
      ctx.report(
          {{"draining", "old workers (generation " + std::to_string(m.generation) + " serving)"},
           {"old_workers", left},
           {"elapsed_ms", elapsed.count()},
           {"drain_timeout_ms", bound_ms}});
      std::this_thread::sleep_for(milliseconds(50));
    }
  }

  ProviderState state_of(const std::filesystem::path& dir, const ProcessRecord& record,
                         const Meta& m, const router::RouterSpec& spec, const json& inputs,
                         bool adopted) const {
    json tier_urls = json::object();
    for (const router::Tier& t : spec.tiers) {
      tier_urls[t.name] = router::tier_base_url(m.listen.port, t.name);
    }
    ProviderState s;
    s.provider_id = "router:" + dir.filename().string();
    s.outputs = {{"url", "http://127.0.0.1:" + std::to_string(m.listen.port)},
                 {"port", m.listen.port},
                 {"router_config", router::ai_router_config(spec, m.listen.port).dump()},
                 {"router_config_path", (dir / "router-config.json").string()},
                 {"tier_urls", tier_urls}};
    s.private_state = {
        {"dir", dir.string()},
        {"process", to_json(record)},
        {"port", m.listen.port},
        {"stats_port", m.listen.stats_port},
        {"generation", m.generation},
        {"config_hash", fnv1a(read_file(dir / "haproxy.cfg"))},
        {"adopted", adopted},
        {"stop_grace_ms", local::seconds_input(inputs, "stop_grace_seconds", 5).count()},
        {"inputs", inputs}};
    return s;
  }

  LocalProviderOptions options_;
};

}  // namespace

std::unique_ptr<Provider> make_router_provider(const LocalProviderOptions& options) {
  return std::make_unique<RouterProvider>(options);
}

}  // namespace cairn::deploy
