#include "cli/flags.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <unistd.h>

#include "cli/common.h"

namespace cairnctl {
namespace {

constexpr size_t kMaxIdLength = 1000;

std::string id_problem(const std::string& what, const std::string& value) {
  if (value.empty()) {
    return what + " is empty: pass a value or leave the flag out";
  }
  bool blank = true;
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (std::iscntrl(u) != 0) {
      return what + " \"" + value + "\" contains a control character";
    }
    blank = blank && std::isspace(u) != 0;
  }
  if (blank) {
    return what + " is only whitespace: pass a value or leave the flag out";
  }
  if (value.size() > kMaxIdLength) {
    return what + " is " + std::to_string(value.size()) + " characters, over the limit of " +
           std::to_string(kMaxIdLength);
  }
  return "";
}

// The whole of a stream; throws CtlError(kUsage) naming `source` on a read error.
std::string slurp(std::istream& in, const std::string& source) {
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    usage_error("cannot read " + source + ": " + std::strerror(errno));
  }
  return text.str();
}

}  // namespace

CLI::Validator id_check(const std::string& what) {
  return CLI::Validator([what](std::string& v) { return id_problem(what, v); }, "", "");
}

CLI::Validator run_id_check() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        bool ok = v.size() == 36;
        for (size_t i = 0; ok && i < v.size(); ++i) {
          const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
          ok = dash ? v[i] == '-' : std::isxdigit(static_cast<unsigned char>(v[i])) != 0;
        }
        if (ok) {
          return "";
        }
        return "run id \"" + v +
               "\" is not a run id: a UUID such as 3f2a9c1e-8b7d-4e21-9a0f-5c6d7e8f9a0b "
               "(see `workflow describe`; leave -r out for the current run)";
      },
      "UUID", "");
}

CLI::Validator namespace_check() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (v.empty() || v.size() > 255) {
          return "namespace \"" + v + "\" must be 1 to 255 characters";
        }
        for (char c : v) {
          if (!(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
                c == '.')) {
            return "namespace \"" + v + "\" may contain only letters, digits, '-', '_' and '.'";
          }
        }
        return "";
      },
      "", "");
}

std::string attribute_name_problem(const std::string& name) {
  bool ok =
      !name.empty() && name.size() <= 64 && std::isalpha(static_cast<unsigned char>(name[0])) != 0;
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_');
  }
  if (ok) {
    return "";
  }
  return "search attribute name \"" + name +
         "\" must start with a letter and have only letters, digits and '_' (at most 64)";
}

CLI::Validator attribute_name_check() {
  return CLI::Validator([](std::string& v) { return attribute_name_problem(v); }, "", "");
}

void add_input(CLI::App* cmd, InputFlags* in, const std::string& what) {
  auto* inline_opt =
      cmd->add_option("--input", in->inline_json, what + " as JSON (\"-\": read it from stdin)");
  inline_opt->each([in](const std::string&) { in->given = true; });
  cmd->add_option("--input-file", in->file, what + " as JSON, read from a file (\"-\": stdin)")
      ->excludes(inline_opt);
}

void read_input(const InputFlags& in, cairn::v1::Payloads* out) {
  std::string text = in.inline_json;
  std::string source = "--input";
  if (!in.file.empty() && in.file != "-") {
    source = "--input-file " + in.file;
    std::ifstream f(in.file, std::ios::binary);
    if (!f) {
      usage_error(source + ": cannot open the file: " + std::strerror(errno));
    }
    text = slurp(f, source);
  } else if (in.file == "-" || (in.given && in.inline_json == "-")) {
    source = in.file == "-" ? "--input-file -" : "--input -";
    if (isatty(STDIN_FILENO) != 0) {
      std::cerr << "cairnctl: reading the input from stdin (end it with Ctrl-D)\n";
    }
    text = slurp(std::cin, source + " (stdin)");
  }
  if (!in.file.empty() || in.given) {
    bool blank = true;
    for (char c : text) {
      blank = blank && std::isspace(static_cast<unsigned char>(c)) != 0;
    }
    if (blank) {
      usage_error(source + " is empty: pass a JSON value (null for none) or leave the flag out");
    }
  }
  json_payloads(text, source, out);
}

}  // namespace cairnctl
