// cairnctl's flag checks and input sources: validators for the ids a command sends (refused
// before anything is sent, as bad usage), and --input / --input-file / --input - read into the
// payloads of a call. Not thread-safe: one command runs per process.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cairn/v1/common.pb.h"

namespace cairnctl {

// Validators for CLI11's `->check()`. Each runs only when the flag is given, so an omitted
// optional flag keeps its meaning (e.g. no -w on start: a random id); an explicitly empty one
// is refused. CLI11 prefixes the message with the flag's name; the exit code is 2.
//
// A workflow id, task queue, or signal / query / update name: not empty, not only whitespace,
// no control characters, at most 1000 characters (the server's default id limit).
CLI::Validator id_check(const std::string& what);
// A run id: a UUID as the server makes them (8-4-4-4-12 hex digits).
CLI::Validator run_id_check();
// A namespace: 1 to 255 letters, digits, '-', '_' or '.'.
CLI::Validator namespace_check();
// A search attribute name: a letter, then letters, digits or '_', at most 64 in all.
CLI::Validator attribute_name_check();
// The message of attribute_name_check() for `name`; empty when it is a valid name.
std::string attribute_name_problem(const std::string& name);

// --input, --input-file, and --input - (stdin) of one command. The three are exclusive.
struct InputFlags {
  std::string inline_json;
  std::string file;
  bool given = false;  // --input was passed (possibly empty)
};

// Adds --input JSON (or "-": read stdin) and --input-file PATH to `cmd`; `what` ends the help
// ("the signal's argument").
void add_input(CLI::App* cmd, InputFlags* in, const std::string& what);

// The JSON text of the input (empty: no argument) as the payloads of a call. Throws
// CtlError(kUsage) naming the flag when a file cannot be read or the text is not JSON: nothing
// is sent then.
void read_input(const InputFlags& in, cairn::v1::Payloads* out);

}  // namespace cairnctl
