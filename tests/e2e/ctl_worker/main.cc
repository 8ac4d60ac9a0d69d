// ctl-worker: a worker binary for cairnctl's replay tests. Workflow "steps" runs activity "one"
// then "two". CTL_WORKER_VARIANT changes the code the way a deploy would:
//   compatible  a new step behind ctx.patched(), so recorded runs replay the old path;
//   broken      "two" replaced by "three" with no patch: recorded runs no longer replay.
#include <cstdlib>
#include <string>
#include <type_traits>

#include "cairn/main.h"
#include "cairn/worker.h"

namespace {

using namespace std::chrono_literals;

std::string variant() {
  const char* v = std::getenv("CTL_WORKER_VARIANT");
  return v == nullptr ? "" : v;
}

std::string steps(cairn::WorkflowContext& ctx) {
  const cairn::ActivityOptions o{.start_to_close = 10s};
  std::string out = ctx.activity_with<std::string>("one", o).get();
  if (variant() == "broken") {
    return out + ctx.activity_with<std::string>("three", o).get();
  }
  out += ctx.activity_with<std::string>("two", o).get();
  if (variant() == "compatible" && ctx.patched("add-three")) {
    out += ctx.activity_with<std::string>("three", o).get();
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  cairn::WorkerMainOptions options;
  options.program = "ctl-worker";
  options.worker.task_queue = "ctl-replay";
  return cairn::run_worker_main(
      argc, argv,
      [](auto& registry) {
        registry.register_workflow("steps", &steps);
        if constexpr (std::is_same_v<std::decay_t<decltype(registry)>, cairn::Worker>) {
          for (const char* name : {"one", "two", "three"}) {
            registry.register_activity(name, [name] { return std::string(name) + ";"; });
          }
        }
      },
      options);
}
