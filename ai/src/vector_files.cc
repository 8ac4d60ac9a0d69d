#include "vector_files.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/ai/vector_store.h"

namespace cairn::ai::vector_files {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw VectorStoreError("vector store: " + what + " " + path + ": " + std::strerror(errno),
                         "StorageError");
}

void write_all(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("cannot write", path);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}
uint64_t get_le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  }
  return v;
}

constexpr size_t kHeaderBytes = 12;

}  // namespace

uint64_t fnv64(std::string_view data, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail("cannot open", path);
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      int saved = errno;
      ::close(fd);
      errno = saved;
      fail("cannot read", path);
    }
    if (r == 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return out;
}

void write_file(const std::string& path, std::string_view data, bool sync) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fail("cannot create", path);
  }
  write_all(fd, data.data(), data.size(), path);
  if (sync && ::fsync(fd) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    fail("cannot sync", path);
  }
  ::close(fd);
}

void sync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail("cannot open", path);
  }
  if (::fsync(fd) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    fail("cannot sync", path);
  }
  ::close(fd);
}

void replace_file(const std::string& dir, const std::string& name, std::string_view data,
                  bool sync) {
  std::string path = dir + "/" + name;
  std::string tmp = path + ".tmp";
  write_file(tmp, data, sync);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    fail("cannot rename to", path);
  }
  if (sync) {
    sync_path(dir);
  }
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    errno = ec.value();
    fail("cannot create directory", path);
  }
}

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

void remove_all(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

WalWriter::~WalWriter() { close(); }

void WalWriter::open(const std::string& path) {
  close();
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    fail("cannot open log", path);
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    fail("cannot stat log", path);
  }
  bytes_ = static_cast<uint64_t>(st.st_size);
  path_ = path;
}

void WalWriter::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void WalWriter::append(std::string_view body, bool sync) {
  std::string record;
  record.reserve(kHeaderBytes + body.size());
  put_u32(record, static_cast<uint32_t>(body.size()));
  put_u64(record, fnv64(body));
  record.append(body);
  // A crash mid-append leaves a prefix of the record, which read_wal drops. A failed append
  // is cut off again, so that later records never follow a torn one.
  try {
    write_all(fd_, record.data(), record.size(), path_);
    if (sync && ::fdatasync(fd_) != 0) {
      fail("cannot sync log", path_);
    }
  } catch (...) {
    int saved = errno;
    (void)::ftruncate(fd_, static_cast<off_t>(bytes_));
    errno = saved;
    throw;
  }
  bytes_ += record.size();
}

uint64_t read_wal(const std::string& path, const std::function<void(std::string_view)>& fn) {
  if (!exists(path)) {
    return 0;
  }
  std::string data = read_file(path);
  size_t pos = 0;
  while (data.size() - pos >= kHeaderBytes) {
    uint64_t len = get_le(data.data() + pos, 4);
    uint64_t sum = get_le(data.data() + pos + 4, 8);
    if (len > data.size() - pos - kHeaderBytes) {
      break;
    }
    std::string_view body(data.data() + pos + kHeaderBytes, len);
    if (fnv64(body) != sum) {
      break;
    }
    fn(body);
    pos += kHeaderBytes + len;
  }
  return pos;
}

void truncate_file(const std::string& path, uint64_t length) {
  if (::truncate(path.c_str(), static_cast<off_t>(length)) != 0) {
    fail("cannot truncate", path);
  }
  sync_path(path);
}

}  // namespace cairn::ai::vector_files
