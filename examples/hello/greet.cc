#include "greet.h"

#include <chrono>

namespace hello {

using namespace std::chrono_literals;

std::string greet(cairn::WorkflowContext& ctx, std::string name) {
  std::string greeting =
      ctx.activity<std::string>("hello.compose", name, {.start_to_close = 10s}).get();
  std::string punctuation =
      ctx.signal<std::string>(kPunctuationSignal).wait_for(30s).value_or("!");
  return ctx
      .activity_with<std::string>("hello.decorate", {.start_to_close = 10s}, greeting, punctuation)
      .get();
}

void register_all(cairn::Replayer& replayer) { replayer.register_workflow(kWorkflow, &greet); }

void register_all(cairn::Worker& worker) {
  worker.register_workflow(kWorkflow, &greet);
  worker.register_activity("hello.compose", [](std::string name) { return "Hello, " + name; });
  worker.register_activity("hello.decorate", [](std::string greeting, std::string punctuation) {
    return greeting + punctuation;
  });
}

}  // namespace hello
