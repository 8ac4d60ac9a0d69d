// The process tracker: detached starts, pid files with /proc start times, stops by process group.
//
// Between fork and exec only async-signal-safe calls are made (the caller may be a threaded
// worker): every string, the environment and the paths are built before the fork, and the child
// formats its pid file with its own digit writer.
#include "cairn/deploy/process.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cairn::deploy {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Stages at which the child reports a failure through the exec pipe.
enum ChildStage : int { kStageLog = 1, kStageChdir = 2, kStagePidFile = 3, kStageExec = 4 };
struct ChildFailure {
  int stage;
  int err;
};

// Async-signal-safe: writes the decimal digits of `v` at `out`, returns the count.
int format_u64(uint64_t v, char* out) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = 0; i < n; ++i) {
    out[i] = tmp[n - 1 - i];
  }
  return n;
}

// Async-signal-safe: the state letter and start time in a /proc/<pid>/stat text of `len` bytes.
// The comm field (2) may hold spaces and ')': fields are counted after its last ')'.
bool parse_stat(const char* text, ssize_t len, char* state, uint64_t* start_time) {
  ssize_t close = -1;
  for (ssize_t i = 0; i < len; ++i) {
    if (text[i] == ')') {
      close = i;
    }
  }
  if (close < 0) {
    return false;
  }
  int field = 2;  // the ')' ends field 2
  ssize_t i = close + 1;
  while (i < len) {
    while (i < len && text[i] == ' ') {
      ++i;
    }
    if (i >= len) {
      break;
    }
    ++field;
    ssize_t start = i;
    while (i < len && text[i] != ' ' && text[i] != '\n') {
      ++i;
    }
    if (field == 3) {
      *state = text[start];
    }
    if (field == 22) {
      uint64_t v = 0;
      for (ssize_t k = start; k < i; ++k) {
        if (text[k] < '0' || text[k] > '9') {
          return false;
        }
        v = v * 10 + static_cast<uint64_t>(text[k] - '0');
      }
      *start_time = v;
      return true;
    }
    if (i < len && text[i] == '\n') {
      break;
    }
  }
  return false;
}

// Async-signal-safe read of a small file into `buf`; returns the length or -1.
ssize_t read_small(const char* path, char* buf, size_t cap) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  ssize_t total = 0;
  while (static_cast<size_t>(total) < cap) {
    ssize_t n = ::read(fd, buf + total, cap - static_cast<size_t>(total));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    total += n;
  }
  ::close(fd);
  return total;
}

void close_fds_from(int first, int keep) {
#ifdef SYS_close_range
  if (keep >= first) {
    if (keep > first) {
      ::syscall(SYS_close_range, first, keep - 1, 0);
    }
    if (::syscall(SYS_close_range, keep + 1, ~0U, 0) == 0) {
      return;
    }
  } else if (::syscall(SYS_close_range, first, ~0U, 0) == 0) {
    return;
  }
#endif
  for (int fd = first; fd < 4096; ++fd) {
    if (fd != keep) {
      ::close(fd);
    }
  }
}

void reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2}) {
    sigaction(sig, &dfl, nullptr);
  }
}

// The program, argv and envp of a spec, built before the fork.
struct ExecImage {
  std::string program;
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

ExecImage build_image(const ProcessSpec& spec) {
  std::optional<std::string> program = find_program(spec.program);
  if (!program) {
    throw ProviderError(ProviderErrorKind::kInvalidInputs,
                        "command '" + spec.program + "': not found (not a path, not in PATH)");
  }
  ExecImage image;
  image.program = *program;
  image.argv_storage.push_back(spec.program);
  for (const std::string& a : spec.args) {
    image.argv_storage.push_back(a);
  }
  std::map<std::string, std::string> env;
  if (spec.inherit_env) {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string entry = *e;
      size_t eq = entry.find('=');
      if (eq != std::string::npos) {
        env[entry.substr(0, eq)] = entry.substr(eq + 1);
      }
    }
  }
  for (const auto& [k, v] : spec.env) {
    env[k] = v;
  }
  for (const auto& [k, v] : env) {
    image.env_storage.push_back(k + "=" + v);
  }
  for (std::string& a : image.argv_storage) {
    image.argv.push_back(a.data());
  }
  image.argv.push_back(nullptr);
  for (std::string& e : image.env_storage) {
    image.envp.push_back(e.data());
  }
  image.envp.push_back(nullptr);
  return image;
}

[[noreturn]] void child_fail(int fd, int stage) {
  ChildFailure f{stage, errno};
  ssize_t ignored = ::write(fd, &f, sizeof(f));
  (void)ignored;
  _exit(127);
}

const char* stage_name(int stage) {
  switch (stage) {
    case kStageLog:
      return "open its log";
    case kStageChdir:
      return "enter its working directory";
    case kStagePidFile:
      return "write its pid file";
    default:
      return "exec";
  }
}

std::optional<pid_t> open_pidfd_checked(const ProcessRecord& record, int* fd) {
  *fd = -1;
#ifdef SYS_pidfd_open
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, record.pid, 0));
  if (pidfd >= 0) {
    // The pidfd names whatever has this pid now: it is ours only if the start time still matches.
    std::optional<uint64_t> st = process_start_time(record.pid);
    if (!st || *st != record.start_time) {
      ::close(pidfd);
      return std::nullopt;
    }
    *fd = pidfd;
  }
#endif
  return record.pid;
}

}  // namespace

json to_json(const ProcessRecord& record) {
  return {{"pid", record.pid},
          {"start_time", record.start_time},
          {"name", record.name},
          {"pid_file", record.pid_file},
          {"log_path", record.log_path}};
}

ProcessRecord process_record_from_json(const json& j) {
  if (!j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer() ||
      !j.contains("start_time") || !j["start_time"].is_number_unsigned()) {
    throw ProviderError(ProviderErrorKind::kInvalidInputs,
                        "process record: expected {pid, start_time, …}");
  }
  ProcessRecord r;
  r.pid = j["pid"].get<pid_t>();
  r.start_time = j["start_time"].get<uint64_t>();
  r.name = j.value("name", "");
  r.pid_file = j.value("pid_file", "");
  r.log_path = j.value("log_path", "");
  return r;
}

std::optional<std::string> find_program(const std::string& program) {
  if (program.empty()) {
    return std::nullopt;
  }
  if (program.find('/') != std::string::npos) {
    if (::access(program.c_str(), X_OK) == 0) {
      return program;
    }
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::stringstream ss(dirs);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

ProcessRecord start_process(const ProcessSpec& spec) {
  ExecImage image = build_image(spec);
  std::error_code ec;
  std::filesystem::create_directories(spec.dir, ec);
  ProcessRecord record;
  record.name = spec.name;
  record.pid_file = (spec.dir / (spec.name + ".pid")).string();
  record.log_path = (spec.dir / (spec.name + ".log")).string();
  const std::string pid_tmp = record.pid_file + ".tmp";
  const std::string workdir = (spec.working_dir.empty() ? spec.dir : spec.working_dir).string();
  std::filesystem::remove(record.pid_file, ec);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    throw ProviderError(ProviderErrorKind::kUnavailable,
                        std::string("start ") + spec.name + ": pipe: " + std::strerror(errno));
  }
  pid_t middle = ::fork();
  if (middle < 0) {
    int err = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    throw ProviderError(ProviderErrorKind::kUnavailable,
                        std::string("start ") + spec.name + ": fork: " + std::strerror(err));
  }
  if (middle == 0) {
    // The middle child forks the real one and exits, so that the real child is re-parented (no
    // one has to reap it, and our exit never signals it).
    ::close(pipefd[0]);
    pid_t child = ::fork();
    if (child < 0) {
      child_fail(pipefd[1], kStageExec);
    }
    if (child > 0) {
      _exit(0);
    }
    // The real child leads a new session and process group (pgid == pid): stop() signals the
    // group. It cannot already lead a group (its pid is new), so setsid succeeds.
    if (::setsid() < 0) {
      child_fail(pipefd[1], kStageExec);
    }
    reset_signals();
    int devnull = ::open("/dev/null", O_RDONLY);
    int log = ::open(record.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log < 0 || devnull < 0) {
      child_fail(pipefd[1], kStageLog);
    }
    ::dup2(devnull, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    close_fds_from(3, pipefd[1]);
    if (::chdir(workdir.c_str()) != 0) {
      child_fail(pipefd[1], kStageChdir);
    }
    // The pid file, written by the process itself before it becomes the program.
    char stat_buf[1024];
    ssize_t n = read_small("/proc/self/stat", stat_buf, sizeof(stat_buf));
    char state = 0;
    uint64_t start_time = 0;
    if (n <= 0 || !parse_stat(stat_buf, n, &state, &start_time)) {
      child_fail(pipefd[1], kStagePidFile);
    }
    char line[64];
    int len = format_u64(static_cast<uint64_t>(::getpid()), line);
    line[len++] = ' ';
    len += format_u64(start_time, line + len);
    line[len++] = '\n';
    int fd = ::open(pid_tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::write(fd, line, static_cast<size_t>(len)) != len || ::fsync(fd) != 0 ||
        ::close(fd) != 0 || ::rename(pid_tmp.c_str(), record.pid_file.c_str()) != 0) {
      child_fail(pipefd[1], kStagePidFile);
    }
    ::execve(image.program.c_str(), image.argv.data(), image.envp.data());
    child_fail(pipefd[1], kStageExec);
  }
  ::close(pipefd[1]);
  int status = 0;
  while (::waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  // EOF once the real child has exec'd (the pipe is close-on-exec) or exited.
  ChildFailure failure{0, 0};
  ssize_t got = 0;
  while (true) {
    ssize_t n = ::read(pipefd[0], reinterpret_cast<char*>(&failure) + got,
                       sizeof(failure) - static_cast<size_t>(got));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += n;
    if (static_cast<size_t>(got) == sizeof(failure)) {
      break;
    }
  }
  ::close(pipefd[0]);
  if (got == sizeof(failure)) {
    std::filesystem::remove(record.pid_file, ec);
    throw ProviderError(ProviderErrorKind::kFailed, "start " + spec.program + ": could not " +
                                                        stage_name(failure.stage) + ": " +
                                                        std::strerror(failure.err));
  }
  std::optional<ProcessRecord> written = read_process_record(spec.dir, spec.name);
  if (!written) {
    throw ProviderError(
        ProviderErrorKind::kFailed,
        "start " + spec.program + ": no pid file after exec (" + record.pid_file + ")");
  }
  return *written;
}

std::optional<ProcessRecord> read_process_record(const std::filesystem::path& dir,
                                                 const std::string& name) {
  ProcessRecord record;
  record.name = name;
  record.pid_file = (dir / (name + ".pid")).string();
  record.log_path = (dir / (name + ".log")).string();
  std::ifstream in(record.pid_file);
  long long pid = 0;
  unsigned long long start = 0;
  if (!(in >> pid >> start) || pid <= 0) {
    return std::nullopt;
  }
  record.pid = static_cast<pid_t>(pid);
  record.start_time = start;
  return record;
}

std::optional<uint64_t> process_start_time(pid_t pid) {
  if (pid <= 0) {
    return std::nullopt;
  }
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  char buf[1024];
  ssize_t n = read_small(path, buf, sizeof(buf));
  char state = 0;
  uint64_t start = 0;
  if (n <= 0 || !parse_stat(buf, n, &state, &start)) {
    return std::nullopt;
  }
  if (state == 'Z' || state == 'X' || state == 'x') {
    return std::nullopt;
  }
  return start;
}

bool alive(const ProcessRecord& record) {
  std::optional<uint64_t> st = process_start_time(record.pid);
  return st && *st == record.start_time;
}

bool wait_exit(const ProcessRecord& record, milliseconds timeout) {
  int pidfd = -1;
  if (!open_pidfd_checked(record, &pidfd)) {
    return true;
  }
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    auto deadline = Clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
      if (r < 0 && errno == EINTR) {
        continue;
      }
      ::close(pidfd);
      return r > 0 || !alive(record);
    }
  }
  // No pidfd (old kernel): poll /proc.
  auto deadline = Clock::now() + timeout;
  while (alive(record)) {
    if (Clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

StopResult stop(const ProcessRecord& record, milliseconds grace) {
  if (!alive(record)) {
    return StopResult::kNotRunning;
  }
  // The process leads its own group (setsid): signal the group, so its children go too.
  ::kill(-record.pid, SIGTERM);
  if (wait_exit(record, grace)) {
    // Helpers it left in its group (the leader's pid stays reserved while the group lives).
    if (::kill(-record.pid, 0) == 0) {
      ::kill(-record.pid, SIGKILL);
    }
    return StopResult::kStopped;
  }
  if (alive(record)) {
    ::kill(-record.pid, SIGKILL);
    ::kill(record.pid, SIGKILL);
  }
  if (!wait_exit(record, milliseconds(10000))) {
    throw ProviderError(ProviderErrorKind::kFailed,
                        "process " + std::to_string(record.pid) + " survived SIGKILL for 10 s");
  }
  return StopResult::kKilled;
}

std::string log_tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "";
  }
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  std::streamoff from = size > static_cast<std::streamoff>(max_bytes)
                            ? size - static_cast<std::streamoff>(max_bytes)
                            : 0;
  in.seekg(from);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text;
}

CommandResult run_command(const ProcessSpec& spec, const std::string& input, milliseconds timeout) {
  ExecImage image = build_image(spec);
  const std::string workdir = spec.working_dir.empty() ? std::string() : spec.working_dir.string();
  int in_pair[2], out_pipe[2], err_pipe[2], exec_pipe[2];
  // stdin is a socket pair, so that writing to a child that stopped reading fails with EPIPE
  // (MSG_NOSIGNAL) instead of raising SIGPIPE in the worker.
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0) {
    throw ProviderError(ProviderErrorKind::kUnavailable, "run: socketpair failed");
  }
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    throw ProviderError(ProviderErrorKind::kUnavailable, "run: pipe failed");
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    throw ProviderError(ProviderErrorKind::kUnavailable, "run: fork failed");
  }
  if (pid == 0) {
    ::setsid();
    reset_signals();
    ::dup2(in_pair[1], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    close_fds_from(3, exec_pipe[1]);
    if (!workdir.empty() && ::chdir(workdir.c_str()) != 0) {
      child_fail(exec_pipe[1], kStageChdir);
    }
    ::execve(image.program.c_str(), image.argv.data(), image.envp.data());
    child_fail(exec_pipe[1], kStageExec);
  }
  ::close(in_pair[1]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(exec_pipe[1]);

  CommandResult result;
  size_t written = 0;
  int in_fd = in_pair[0];
  if (input.empty()) {
    ::shutdown(in_fd, SHUT_WR);
  }
  ::fcntl(in_fd, F_SETFL, O_NONBLOCK);
  bool out_open = true, err_open = true, in_open = !input.empty();
  auto deadline = Clock::now() + timeout;
  char buf[8192];
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out_open) {
      fds[n] = {out_pipe[0], POLLIN, 0};
      out_i = n++;
    }
    if (err_open) {
      fds[n] = {err_pipe[0], POLLIN, 0};
      err_i = n++;
    }
    if (in_open) {
      fds[n] = {in_fd, POLLOUT, 0};
      in_i = n++;
    }
    int r = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(left));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::send(in_fd, input.data() + written, input.size() - written, MSG_NOSIGNAL);
      if (w > 0) {
        written += static_cast<size_t>(w);
      }
      if (w < 0 && errno != EAGAIN && errno != EINTR) {
        written = input.size();
      }
      if (written == input.size()) {
        ::shutdown(in_fd, SHUT_WR);
        in_open = false;
      }
    }
    for (auto [idx, fd, open, sink] : {std::tuple{out_i, out_pipe[0], &out_open, &result.out},
                                       std::tuple{err_i, err_pipe[0], &err_open, &result.err}}) {
      if (idx >= 0 && (fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t got = ::read(fd, buf, sizeof(buf));
        if (got > 0) {
          sink->append(buf, static_cast<size_t>(got));
        } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
          *open = false;
        }
      }
    }
  }
  ::close(in_fd);
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ChildFailure failure{0, 0};
  ssize_t got = ::read(exec_pipe[0], &failure, sizeof(failure));
  ::close(exec_pipe[0]);
  if (got == sizeof(failure)) {
    throw ProviderError(ProviderErrorKind::kFailed, "run " + spec.program + ": could not " +
                                                        stage_name(failure.stage) + ": " +
                                                        std::strerror(failure.err));
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  return result;
}

HealthCheck health_from_json(const json& j) {
  HealthCheck check;
  if (j.is_null()) {
    return check;
  }
  if (j.is_object() && j.size() == 1 && j.contains("http") && j["http"].is_string() &&
      j["http"].get<std::string>().rfind('/', 0) == 0) {
    check.kind = HealthCheck::Kind::kHttp;
    check.path = j["http"].get<std::string>();
    return check;
  }
  if (j.is_object() && j.size() == 1 && j.contains("tcp") && j["tcp"].is_boolean()) {
    check.kind = j["tcp"].get<bool>() ? HealthCheck::Kind::kTcp : HealthCheck::Kind::kNone;
    return check;
  }
  throw ProviderError(ProviderErrorKind::kInvalidInputs,
                      "health: expected {http: \"/path\"} or {tcp: true}");
}

json to_json(const HealthCheck& check) {
  switch (check.kind) {
    case HealthCheck::Kind::kHttp:
      return {{"http", check.path}};
    case HealthCheck::Kind::kTcp:
      return {{"tcp", true}};
    default:
      return nullptr;
  }
}

HealthResult await_healthy(ProviderContext& ctx, const ProcessRecord& record, int port,
                           const HealthCheck& check, milliseconds timeout) {
  auto start = Clock::now();
  auto deadline = start + timeout;
  milliseconds interval(20);
  auto last_report = start;
  while (true) {
    if (!alive(record)) {
      return HealthResult::kExited;
    }
    bool ok = false;
    milliseconds probe(500);
    switch (check.kind) {
      case HealthCheck::Kind::kNone:
        ok = true;
        break;
      case HealthCheck::Kind::kTcp:
        ok = tcp_open(port, probe);
        break;
      case HealthCheck::Kind::kHttp: {
        int status = http_get_status(port, check.path, probe);
        ok = status >= 200 && status < 300;
        break;
      }
    }
    if (ok) {
      return HealthResult::kHealthy;
    }
    auto now = Clock::now();
    if (now >= deadline) {
      return HealthResult::kTimedOut;
    }
    if (ctx.cancel_requested()) {
      return HealthResult::kCanceled;
    }
    if (now - last_report >= milliseconds(1000)) {
      last_report = now;
      ctx.report({{"waiting_for", record.name},
                  {"port", port},
                  {"elapsed_ms", std::chrono::duration_cast<milliseconds>(now - start).count()}});
    }
    // Waiting on the process's exit, not a plain sleep: a crash during startup ends the wait.
    wait_exit(record, std::min(interval, std::chrono::duration_cast<milliseconds>(deadline - now)));
    interval = std::min(interval * 2, milliseconds(200));
  }
}

}  // namespace cairn::deploy
