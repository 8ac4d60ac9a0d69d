// ensure_running() and the shared input helpers of the local providers.
#include "providers/local_process.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace cairn::deploy::local {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::string substitute(std::string text, int port) {
  const std::string needle = "{port}";
  const std::string value = std::to_string(port);
  size_t at = 0;
  while ((at = text.find(needle, at)) != std::string::npos) {
    text.replace(at, needle.size(), value);
    at += value.size();
  }
  return text;
}

std::filesystem::path meta_path(const std::filesystem::path& dir, const std::string& name) {
  return dir / (name + ".json");
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

int read_meta_port(const std::filesystem::path& dir, const std::string& name) {
  std::ifstream in(meta_path(dir, name));
  if (!in) {
    return 0;
  }
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j.value("port", 0) : 0;
}

void remove_files(const std::filesystem::path& dir, const std::string& name) {
  std::error_code ec;
  std::filesystem::remove(dir / (name + ".pid"), ec);
  std::filesystem::remove(meta_path(dir, name), ec);
}

[[noreturn]] void fail_with_log(ProviderContext& ctx, ProviderErrorKind kind,
                                const std::string& what, const ProcessRecord& record) {
  std::string tail = log_tail(record.log_path, 1024);
  throw ProviderError(kind, ctx.redact(what + (tail.empty() ? "" : "; its log ends:\n" + tail)));
}

}  // namespace

KeyLock::KeyLock(const std::filesystem::path& dir) {
  fd_ = ::open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw ProviderError(ProviderErrorKind::kFailed, "lock " + (dir / ".lock").string() + " failed");
  }
  while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
  }
}

KeyLock::~KeyLock() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

json running_to_json(const RunningProcess& p) {
  json j = to_json(p.record);
  j["port"] = p.port;
  return j;
}

RunningProcess running_from_json(const json& j) {
  RunningProcess p;
  p.record = process_record_from_json(j);
  p.port = j.value("port", 0);
  return p;
}

RunningProcess ensure_running(ProviderContext& ctx, const LocalProcessSpec& spec) {
  // Adopt: a live process under this key (a retry after a crash before or after its record).
  if (std::optional<ProcessRecord> existing = read_process_record(spec.dir, spec.name)) {
    if (alive(*existing)) {
      RunningProcess p{*existing, read_meta_port(spec.dir, spec.name), true};
      ctx.log(LogLevel::kInfo, "adopting " + spec.name + " pid " + std::to_string(p.record.pid));
      HealthResult h = await_healthy(ctx, p.record, p.port, spec.health, spec.startup_timeout);
      if (h == HealthResult::kHealthy) {
        return p;
      }
      // Not healthy in time: it is ours, so it is stopped and started again below.
      stop(p.record, milliseconds(2000));
    }
    remove_files(spec.dir, spec.name);
  }
  const bool allocate = spec.port == 0;
  for (int attempt = 1;; ++attempt) {
    int port = allocate ? ctx.ports->allocate() : spec.port;
    // The port is recorded before the start, so an adopter knows it.
    write_file_atomic(meta_path(spec.dir, spec.name), json{{"port", port}}.dump() + "\n");
    ProcessSpec ps;
    ps.program = spec.program;
    for (const std::string& a : spec.args) {
      ps.args.push_back(substitute(a, port));
    }
    for (const auto& [k, v] : spec.env) {
      ps.env[k] = substitute(v, port);
    }
    ps.dir = spec.dir;
    ps.working_dir = spec.working_dir;
    ps.name = spec.name;
    ProcessRecord record = start_process(ps);
    ctx.log(LogLevel::kInfo, "started " + spec.name + " pid " + std::to_string(record.pid) +
                                 " port " + std::to_string(port));
    HealthResult h = await_healthy(ctx, record, port, spec.health, spec.startup_timeout);
    switch (h) {
      case HealthResult::kHealthy:
        return RunningProcess{record, port, false};
      case HealthResult::kExited:
        remove_files(spec.dir, spec.name);
        // Someone else bound the port between our probe and the child's bind: another port.
        if (allocate && attempt < 3 && !port_free(port)) {
          ctx.log(LogLevel::kWarn, spec.name + ": port " + std::to_string(port) +
                                       " was taken; retrying on another port");
          continue;
        }
        fail_with_log(ctx, ProviderErrorKind::kFailed,
                      spec.name + " (" + spec.program + ") exited during startup", record);
      case HealthResult::kTimedOut:
        stop(record, milliseconds(2000));
        remove_files(spec.dir, spec.name);
        fail_with_log(ctx, ProviderErrorKind::kTimeout,
                      spec.name + " (" + spec.program + ") not healthy within " +
                          std::to_string(spec.startup_timeout.count()) + " ms",
                      record);
      case HealthResult::kCanceled:
        stop(record, milliseconds(2000));
        remove_files(spec.dir, spec.name);
        throw ProviderError(ProviderErrorKind::kCanceled, spec.name + ": start canceled");
    }
  }
}

void stop_named(const std::filesystem::path& dir, const std::string& name, milliseconds grace) {
  if (std::optional<ProcessRecord> r = read_process_record(dir, name)) {
    stop(*r, grace);
  }
  remove_files(dir, name);
}

void stop_recorded(const std::filesystem::path& dir, const std::string& prefix,
                   milliseconds grace) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string file = entry.path().filename().string();
    if (file.size() > 4 && file.compare(file.size() - 4, 4, ".pid") == 0 &&
        file.rfind(prefix, 0) == 0) {
      names.push_back(file.substr(0, file.size() - 4));
    }
  }
  for (const std::string& name : names) {
    stop_named(dir, name, grace);
  }
}

void destroy_recorded(const ProviderState& recorded, const json& recorded_processes,
                      const std::string& prefix) {
  std::filesystem::path dir = recorded.private_state.value("dir", "");
  milliseconds grace(recorded.private_state.value("stop_grace_ms", 10000));
  for (const json& p : recorded_processes) {
    stop(running_from_json(p).record, grace);
  }
  if (!dir.empty() && std::filesystem::exists(dir)) {
    {
      KeyLock lock(dir);
      stop_recorded(dir, prefix, grace);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}

void note_secret_env(ProviderContext& ctx, const std::map<std::string, std::string>& env) {
  static const char* kMarkers[] = {"SECRET",  "TOKEN",  "PASSWORD",   "PASSWD",
                                   "API_KEY", "APIKEY", "CREDENTIAL", "PRIVATE"};
  for (const auto& [name, value] : env) {
    std::string upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    for (const char* marker : kMarkers) {
      if (upper.find(marker) != std::string::npos && !value.empty()) {
        ctx.secrets.push_back(value);
        break;
      }
    }
  }
}

std::vector<InputError> schema_errors(const std::string& type, const json& inputs) {
  const TypeSchema* schema = find_type(type);
  if (schema == nullptr) {
    return {{"", "no schema for type " + type}};
  }
  return check_inputs(*schema, inputs);
}

std::filesystem::path directory_input(const json& inputs, const std::string& field,
                                      const std::string& who) {
  if (!inputs.contains(field) || !inputs[field].is_string()) {
    return {};
  }
  std::filesystem::path dir = inputs[field].get<std::string>();
  if (dir.is_relative()) {
    throw ProviderError(ProviderErrorKind::kInvalidInputs,
                        who + ": " + field + " " + dir.string() +
                            " is relative: the stack workflow resolves it against the spec's "
                            "base_dir before the provider runs");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw ProviderError(ProviderErrorKind::kInvalidInputs,
                        who + ": " + field + " " + dir.string() + " is not a directory");
  }
  return dir;
}

std::vector<std::string> string_list(const json& inputs, const std::string& field) {
  std::vector<std::string> out;
  if (inputs.contains(field) && inputs[field].is_array()) {
    for (const json& v : inputs[field]) {
      out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  return out;
}

std::map<std::string, std::string> string_map(const json& inputs, const std::string& field) {
  std::map<std::string, std::string> out;
  if (inputs.contains(field) && inputs[field].is_object()) {
    for (auto it = inputs[field].begin(); it != inputs[field].end(); ++it) {
      out[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
    }
  }
  return out;
}

milliseconds seconds_input(const json& inputs, const std::string& field, double default_s) {
  double s = default_s;
  if (inputs.contains(field) && inputs[field].is_number()) {
    s = inputs[field].get<double>();
  }
  return milliseconds(static_cast<long long>(s * 1000));
}

}  // namespace cairn::deploy::local
