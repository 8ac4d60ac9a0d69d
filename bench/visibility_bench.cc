// Micro-benchmarks of visibility: parsing a list filter, evaluating it on one record, and a
// CountWorkflowExecutions-style scan (the RocksDB visibility index walked page by page, the
// filter applied to each record) over a namespace of 100,000 runs.
#include <filesystem>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "history/history_store.h"
#include "server/list_filter.h"

namespace cairn {
namespace {

constexpr int kRuns = 100'000;
const char* const kQuery =
    "ExecutionStatus = 'Running' AND CustomerId = 'c-42' AND Priority >= 2 ORDER BY StartTime DESC";

SearchAttributeTypes custom() {
  return {{"CustomerId", v1::INDEXED_VALUE_TYPE_KEYWORD},
          {"Priority", v1::INDEXED_VALUE_TYPE_INT}};
}

v1::Payload json(const std::string& text) {
  v1::Payload p;
  (*p.mutable_metadata())["encoding"] = "json/plain";
  p.set_data(text);
  return p;
}

v1::RunState run_state(int i) {
  v1::RunState s;
  s.set_namespace_("default");
  s.set_workflow_id("order-" + std::to_string(i));
  s.set_run_id("run-" + std::to_string(i));
  s.mutable_workflow_type()->set_name("order.process");
  s.set_task_queue("orders");
  s.set_status(i % 10 == 0 ? v1::WORKFLOW_EXECUTION_STATUS_COMPLETED
                           : v1::WORKFLOW_EXECUTION_STATUS_RUNNING);
  s.set_start_time_ms(1'700'000'000'000 + i);
  if (i % 10 == 0) {
    s.set_close_time_ms(1'700'000'100'000 + i);
  }
  s.set_next_event_id(2);
  (*s.mutable_search_attributes())["CustomerId"] = json("\"c-" + std::to_string(i % 1000) + "\"");
  (*s.mutable_search_attributes())["Priority"] = json(std::to_string(i % 5));
  return s;
}

void BM_ListFilterParse(benchmark::State& state) {
  const SearchAttributeTypes types = custom();
  for (auto _ : state) {
    auto filter = ListFilter::parse(kQuery, types);
    benchmark::DoNotOptimize(filter);
  }
}

void BM_ListFilterMatch(benchmark::State& state) {
  ListFilter filter = ListFilter::parse(kQuery, custom()).value();
  v1::RunState s = run_state(42);
  v1::VisibilityRecord record;
  record.set_status(s.status());
  *record.mutable_search_attributes() = s.search_attributes();
  for (auto _ : state) {
    benchmark::DoNotOptimize(filter.matches(record));
  }
}

struct VisibilityFixture {
  VisibilityFixture() {
    char tmpl[] = "/tmp/cairn-visibility-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    RocksStoreOptions so;
    so.path = dir + "/data";
    so.sync = false;  // filling only; the scan is what is measured
    store = std::move(open_rocks_store(so).value());
    for (int i = 0; i < kRuns; ++i) {
      Transition t;
      t.state = run_state(i);
      t.key = RunKey{shard_for("default", t.state.workflow_id(), store->shard_count()), "default",
                     t.state.workflow_id(), RunId{t.state.run_id()}};
      v1::HistoryEvent e;
      e.set_event_id(1);
      e.set_event_type(v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
      t.events.push_back(e);
      t.update_visibility = true;
      (void)store->commit(t);
    }
  }
  ~VisibilityFixture() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  std::string dir;
  std::unique_ptr<HistoryStore> store;
};

void BM_CountScan(benchmark::State& state) {
  static VisibilityFixture fixture;
  ListFilter filter = ListFilter::parse(kQuery, custom()).value();
  int64_t matched = 0;
  for (auto _ : state) {
    VisibilityScan scan;
    scan.ns = "default";
    scan.limit = 1024;
    matched = 0;
    while (true) {
      VisibilityPage page = fixture.store->scan_visibility(scan).value();
      for (const auto& r : page.records) {
        matched += filter.matches(r) ? 1 : 0;
      }
      if (!page.more) {
        break;
      }
      scan.after = page.cursors.back();
    }
  }
  state.counters["matched"] = static_cast<double>(matched);
  state.SetItemsProcessed(state.iterations() * kRuns);
}

}  // namespace
}  // namespace cairn

BENCHMARK(cairn::BM_ListFilterParse)->Name("visibility/filter_parse");
BENCHMARK(cairn::BM_ListFilterMatch)->Name("visibility/filter_match_one_record");
BENCHMARK(cairn::BM_CountScan)->Name("visibility/count_100k_runs")->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
