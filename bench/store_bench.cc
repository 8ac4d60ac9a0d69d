// Micro-benchmarks below the engine: HistoryStore::commit of a small transition straight to
// RocksDB (synced; 1 to 64 committing threads sharing fsyncs through the GroupCommitter, and
// the same without it), and MutableState::apply of a three-step workflow's events.
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "history/history_store.h"
#include "history/mutable_state.h"

namespace cairn {
namespace {

struct StoreFixture {
  explicit StoreFixture(bool group_commit) {
    char tmpl[] = "/tmp/cairn-store-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    RocksStoreOptions so;
    so.path = dir + "/data";
    so.group_commit = group_commit;
    store = std::move(open_rocks_store(so).value());
  }
  ~StoreFixture() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  std::string dir;
  std::unique_ptr<HistoryStore> store;
};

std::unique_ptr<StoreFixture> g_store;
std::atomic<int64_t> g_runs{0};

void setup_grouped(const benchmark::State&) { g_store = std::make_unique<StoreFixture>(true); }
void setup_ungrouped(const benchmark::State&) { g_store = std::make_unique<StoreFixture>(false); }
void teardown(const benchmark::State&) { g_store.reset(); }

// One signal-sized transition per iteration: the run's state (~300 bytes) and one 100-byte
// event, on a run of this thread's own, as a signal to a waiting workflow writes.
void BM_StoreCommit(benchmark::State& state) {
  std::string run = "run-" + std::to_string(g_runs.fetch_add(1));
  Transition t;
  t.key =
      RunKey{ShardId{static_cast<int32_t>(g_runs.load() % 16)}, "default", "wf-" + run, RunId{run}};
  t.state.set_workflow_id(t.key.workflow_id);
  t.state.set_run_id(run);
  t.state.set_task_queue("bench");
  t.state.mutable_workflow_type()->set_name("bench.workflow");
  t.events.resize(1);
  int64_t id = 0;
  for (auto _ : state) {
    ++id;
    v1::HistoryEvent& e = t.events[0];
    e.set_event_id(id);
    e.set_event_type(v1::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
    e.set_event_time_ms(1'700'000'000'000 + id);
    auto* a = e.mutable_workflow_execution_signaled_event_attributes();
    a->set_signal_name("tick");
    a->mutable_input()->clear_payloads();
    a->mutable_input()->add_payloads()->set_data(std::string(100, 'x'));
    t.state.set_next_event_id(id + 1);
    Status s = g_store->store->commit(t);
    if (!s.ok()) {
      state.SkipWithError(s.message().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// The events of a three-step workflow (start, four workflow tasks, three activities, close).
std::vector<v1::HistoryEvent> three_step_events() {
  std::vector<v1::HistoryEvent> out;
  auto add = [&](v1::EventType type) -> v1::HistoryEvent& {
    v1::HistoryEvent& e = out.emplace_back();
    e.set_event_id(static_cast<int64_t>(out.size()));
    e.set_event_type(type);
    e.set_event_time_ms(1'700'000'000'000 + e.event_id());
    return e;
  };
  auto* start = add(v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
                    .mutable_workflow_execution_started_event_attributes();
  start->mutable_workflow_type()->set_name("bench.three_steps");
  start->set_task_queue("bench");
  start->mutable_input()->add_payloads()->set_data(std::string(100, 'x'));
  start->set_attempt(1);
  auto workflow_task = [&] {
    auto& sched = add(v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    sched.mutable_workflow_task_scheduled_event_attributes()->set_task_queue("bench");
    int64_t scheduled = sched.event_id();
    add(v1::EVENT_TYPE_WORKFLOW_TASK_STARTED)
        .mutable_workflow_task_started_event_attributes()
        ->set_scheduled_event_id(scheduled);
    auto* done = add(v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
                     .mutable_workflow_task_completed_event_attributes();
    done->set_scheduled_event_id(scheduled);
    done->set_started_event_id(scheduled + 1);
  };
  for (int i = 1; i <= 3; ++i) {
    workflow_task();
    auto& scheduled = add(v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    auto* a = scheduled.mutable_activity_task_scheduled_event_attributes();
    a->set_activity_id(std::to_string(i));
    a->mutable_activity_type()->set_name("bench.step");
    a->set_task_queue("bench");
    a->set_start_to_close_timeout_ms(10'000);
    a->mutable_input()->add_payloads()->set_data(std::string(100 + i, 'x'));
    add(v1::EVENT_TYPE_ACTIVITY_TASK_STARTED)
        .mutable_activity_task_started_event_attributes()
        ->set_scheduled_event_id(scheduled.event_id());
    auto* c = add(v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
                  .mutable_activity_task_completed_event_attributes();
    c->set_scheduled_event_id(scheduled.event_id());
    c->set_started_event_id(scheduled.event_id() + 1);
    c->mutable_result()->add_payloads()->set_data(std::string(101 + i, 'x'));
  }
  workflow_task();
  add(v1::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
      .mutable_workflow_execution_completed_event_attributes()
      ->mutable_result()
      ->add_payloads()
      ->set_data(std::string(103, 'x'));
  return out;
}

// Rebuilding a run's state from its events (what a cache miss on a closed-over run costs).
void BM_MutableStateApply(benchmark::State& state) {
  const std::vector<v1::HistoryEvent> events = three_step_events();
  for (auto _ : state) {
    MutableState ms;
    for (const auto& e : events) {
      Status s = ms.apply(e);
      if (!s.ok()) {
        state.SkipWithError(s.message().c_str());
        return;
      }
    }
    benchmark::DoNotOptimize(ms.state().next_event_id());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events.size()));
  state.SetLabel(std::to_string(events.size()) + " events per iteration");
}

}  // namespace
}  // namespace cairn

BENCHMARK(cairn::BM_StoreCommit)
    ->Name("store_commit/synced")
    ->ThreadRange(1, 64)
    ->UseRealTime()
    ->Setup(cairn::setup_grouped)
    ->Teardown(cairn::teardown);
BENCHMARK(cairn::BM_StoreCommit)
    ->Name("store_commit/synced_rocksdb_groups")
    ->ThreadRange(1, 64)
    ->UseRealTime()
    ->Setup(cairn::setup_ungrouped)
    ->Teardown(cairn::teardown);
BENCHMARK(cairn::BM_MutableStateApply)->Name("mutable_state/apply_three_steps");

BENCHMARK_MAIN();
