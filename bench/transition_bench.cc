// Micro-benchmarks of one transition on the server's write path, below gRPC: a signal to a cached
// run (load from cache, rules, one synced RocksDB write, dispatch) and a workflow start (the same,
// plus the current-run pointer). Threads > 1 show how concurrent transitions share fsyncs.
// Runs on a fresh data directory under $TMPDIR; sync can be turned off only through the
// `nosync` variants, which are labelled as such. `synced_rocksdb_groups` turns the GroupCommitter
// off, leaving concurrent syncs to RocksDB's own write groups: the committer's comparison.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "history/history_store.h"
#include "scheduler/clock.h"
#include "server/engine.h"
#include "server/handlers/handlers.h"

namespace cairn {
namespace {

// One engine on a fresh RocksDB directory, shared by the threads of one benchmark run.
struct Fixture {
  Fixture(bool sync, bool group_commit) {
    char tmpl[] = "/tmp/cairn-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    RocksStoreOptions so;
    so.path = dir + "/data";
    so.sync = sync;
    so.group_commit = group_commit;
    store = std::move(open_rocks_store(so).value());
    EngineOptions eo;
    engine = std::make_unique<Engine>(store.get(), &clock, eo);
    CAIRN_CHECK(engine->start().ok());
  }
  ~Fixture() {
    engine->stop();
    engine.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }

  std::string start(const std::string& id) {
    v1::StartWorkflowExecutionRequest req;
    req.set_workflow_id(id);
    req.mutable_workflow_type()->set_name("bench");
    req.set_task_queue("bench");
    v1::StartWorkflowExecutionResponse resp;
    Status s = handlers::start_workflow(*engine, req, &resp);
    CAIRN_CHECK(s.ok());
    return resp.run_id();
  }

  std::string dir;
  SystemClock clock;
  std::unique_ptr<HistoryStore> store;
  std::unique_ptr<Engine> engine;
};

std::unique_ptr<Fixture> g_fixture;
std::atomic<int64_t> g_ids{0};

// Setup/Teardown run once per benchmark run, before and after all its threads.
void setup_synced(const benchmark::State&) { g_fixture = std::make_unique<Fixture>(true, true); }
void setup_nosync(const benchmark::State&) { g_fixture = std::make_unique<Fixture>(false, true); }
// RocksDB's own write groups only (no GroupCommitter): the comparison for the committer.
void setup_rocksdb_groups(const benchmark::State&) {
  g_fixture = std::make_unique<Fixture>(true, false);
}
void teardown(const benchmark::State&) { g_fixture.reset(); }

void BM_SignalTransition(benchmark::State& state) {
  // Each thread signals its own run: transitions of different runs run in parallel.
  // A fresh run every 10,000 signals keeps the history far below its event limit.
  constexpr int64_t kSignalsPerRun = 10'000;
  v1::SignalWorkflowExecutionRequest req;
  req.set_signal_name("tick");
  req.mutable_input()->add_payloads()->set_data(std::string(100, 'x'));
  v1::SignalWorkflowExecutionResponse resp;
  int64_t sent = 0;
  for (auto _ : state) {
    if (sent++ % kSignalsPerRun == 0) {
      state.PauseTiming();
      std::string id = "signal-" + std::to_string(g_ids.fetch_add(1));
      g_fixture->start(id);
      req.mutable_workflow_execution()->set_workflow_id(id);
      state.ResumeTiming();
    }
    Status s = handlers::signal_workflow(*g_fixture->engine, req, &resp);
    if (!s.ok()) {
      state.SkipWithError(s.message().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_StartTransition(benchmark::State& state) {
  for (auto _ : state) {
    g_fixture->start("start-" + std::to_string(g_ids.fetch_add(1)));
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace
}  // namespace cairn

BENCHMARK(cairn::BM_SignalTransition)
    ->Name("signal/synced")
    ->ThreadRange(1, 16)
    ->UseRealTime()
    ->Setup(cairn::setup_synced)
    ->Teardown(cairn::teardown);
BENCHMARK(cairn::BM_SignalTransition)
    ->Name("signal/synced_rocksdb_groups")
    ->ThreadRange(1, 16)
    ->UseRealTime()
    ->Setup(cairn::setup_rocksdb_groups)
    ->Teardown(cairn::teardown);
BENCHMARK(cairn::BM_SignalTransition)
    ->Name("signal/nosync")
    ->Threads(1)
    ->UseRealTime()
    ->Setup(cairn::setup_nosync)
    ->Teardown(cairn::teardown);
BENCHMARK(cairn::BM_StartTransition)
    ->Name("start/synced")
    ->ThreadRange(1, 16)
    ->UseRealTime()
    ->Setup(cairn::setup_synced)
    ->Teardown(cairn::teardown);

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // the engine logs its start-up at info
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
