// Micro-benchmarks of the worker SDK's hot paths, no server: replaying a 1,000-event history
// (what a workflow task costs a worker without the run cached), one workflow task on a cached
// run (sticky execution), fiber create and switch, and JSON payload conversion.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cairn/payload.h"
#include "worker-sdk/src/fiber.h"  // cairn_sdk_internal_for_testing
#include "worker-sdk/src/replayer.h"

namespace cairn {
namespace {

using namespace std::chrono_literals;

// A history built the way the server would record it for an agent loop of sequential
// activities: per step WorkflowTaskCompleted, ActivityTaskScheduled, Started, Completed,
// WorkflowTaskScheduled, WorkflowTaskStarted.
class HistoryGen {
 public:
  HistoryGen() {
    auto& e = add(v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    e.mutable_workflow_execution_started_event_attributes()->mutable_workflow_type()->set_name(
        "loop");
    *e.mutable_workflow_execution_started_event_attributes()->mutable_input() =
        to_payloads(kSteps);
    task();
  }
  static constexpr int kSteps = 166;  // 3 + 166 * 6 = 999 events

  void step(int i) {
    add(v1::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    auto& s = add(v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    auto* a = s.mutable_activity_task_scheduled_event_attributes();
    a->mutable_activity_type()->set_name("llm.chat");
    a->set_activity_id(std::to_string(i + 1));
    add(v1::EVENT_TYPE_ACTIVITY_TASK_STARTED)
        .mutable_activity_task_started_event_attributes()
        ->set_scheduled_event_id(s.event_id());
    auto* c = add(v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
                  .mutable_activity_task_completed_event_attributes();
    c->set_scheduled_event_id(s.event_id());
    *c->mutable_result() = to_payloads(std::string(200, 'r'));
    task();
  }
  std::vector<v1::HistoryEvent> events;
  size_t task_end(size_t k) const { return ends_[k]; }  // events of the first k+1 tasks

 private:
  v1::HistoryEvent& add(v1::EventType type) {
    v1::HistoryEvent& e = events.emplace_back();
    e.set_event_id(static_cast<int64_t>(events.size()));
    e.set_event_type(type);
    e.set_event_time_ms(1'700'000'000'000 + e.event_id());
    return e;
  }
  void task() {
    add(v1::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    add(v1::EVENT_TYPE_WORKFLOW_TASK_STARTED);
    ends_.push_back(events.size());
  }
  std::vector<size_t> ends_;
};

detail::WorkflowFunction loop_workflow() {
  return detail::adapt<WorkflowContext>([](WorkflowContext& ctx, int steps) {
    std::string last;
    for (int i = 0; i < steps; ++i) {
      last = ctx.activity<std::string>("llm.chat", last.substr(0, 10), {.start_to_close = 30s})
                 .get();
    }
    return last.size();
  });
}

const HistoryGen& history() {
  static HistoryGen* h = [] {
    auto* g = new HistoryGen();
    for (int i = 0; i < HistoryGen::kSteps; ++i) {
      g->step(i);
    }
    return g;
  }();
  return *h;
}

WorkflowInfo info() {
  WorkflowInfo i;
  i.workflow_id = "bench";
  i.run_id = "run";
  return i;
}

// A workflow task without the run cached: replay the whole ~1,000-event history.
void BM_FullReplay1000Events(benchmark::State& state) {
  const auto& h = history();
  auto fn = loop_workflow();
  for (auto _ : state) {
    detail::Replayer r(fn, info());
    ReplayResult out = r.replay(h.events);
    if (out.task_failed || out.commands.size() != 1) {
      state.SkipWithError(out.failure.message().c_str());
      return;
    }
  }
  state.counters["events"] = static_cast<double>(h.events.size());
}
BENCHMARK(BM_FullReplay1000Events)->Unit(benchmark::kMicrosecond);

// Every task of the run on one cached Replayer (only each task's new events), per task.
void BM_CachedTaskPerTask(benchmark::State& state) {
  const auto& h = history();
  auto fn = loop_workflow();
  const size_t tasks = HistoryGen::kSteps + 1;
  for (auto _ : state) {
    detail::Replayer r(fn, info());
    size_t from = 0;
    for (size_t k = 0; k < tasks; ++k) {
      std::vector<v1::HistoryEvent> batch(h.events.begin() + static_cast<long>(from),
                                          h.events.begin() + static_cast<long>(h.task_end(k)));
      from = h.task_end(k);
      ReplayResult out = r.replay(batch);
      benchmark::DoNotOptimize(out);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(tasks));
}
BENCHMARK(BM_CachedTaskPerTask)->Unit(benchmark::kMicrosecond);

void BM_FiberCreateRunDestroy(benchmark::State& state) {
  detail::StackPool pool(64 * 1024);
  for (auto _ : state) {
    detail::Fiber f(pool, [] {});
    f.resume();
  }
}
BENCHMARK(BM_FiberCreateRunDestroy);

void BM_FiberSwitch(benchmark::State& state) {
  detail::StackPool pool(64 * 1024);
  bool done = false;
  detail::Fiber* self = nullptr;
  detail::Fiber f(pool, [&] {
    while (!done) {
      self->yield();
    }
  });
  self = &f;
  for (auto _ : state) {
    f.resume();  // in and out again: two switches
  }
  done = true;
  f.resume();
}
BENCHMARK(BM_FiberSwitch);

struct Doc {
  std::string id;
  std::string text;
  std::vector<double> embedding;
  NLOHMANN_DEFINE_TYPE_INTRUSIVE(Doc, id, text, embedding)
};

void BM_PayloadJsonRoundTrip(benchmark::State& state) {
  Doc d{"doc-42", std::string(500, 't'), std::vector<double>(64, 0.125)};
  for (auto _ : state) {
    v1::Payloads p = to_payloads(d);
    Doc back = from_payloads<Doc>(p);
    benchmark::DoNotOptimize(back);
  }
}
BENCHMARK(BM_PayloadJsonRoundTrip);

}  // namespace
}  // namespace cairn

BENCHMARK_MAIN();
