// The hello example's workflow and activities: hello.greet composes a greeting with one
// activity, waits (durably, up to 30 s) for a "punctuation" signal, and decorates the greeting
// with a second activity.
#pragma once

#include <string>

#include "cairn/replayer.h"
#include "cairn/worker.h"

namespace hello {

inline constexpr char kTaskQueue[] = "hello";
inline constexpr char kWorkflow[] = "hello.greet";
inline constexpr char kPunctuationSignal[] = "punctuation";

// The workflow: "Hello, <name>" + punctuation ("!" when no signal came within 30 s).
std::string greet(cairn::WorkflowContext& ctx, std::string name);

// Registers hello.greet, hello.compose and hello.decorate on `worker`.
void register_all(cairn::Worker& worker);
// Registers hello.greet on `replayer` (for `hello worker --replay FILE`).
void register_all(cairn::Replayer& replayer);

}  // namespace hello
