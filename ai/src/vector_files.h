// Durable file primitives of the vector store: synced writes, directory syncs, checksums and the
// write-ahead log (length + checksum framed records). Errors throw VectorStoreError
// ("StorageError" naming the path and errno text). Thread-compatible; the store serialises use.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace cairn::ai::vector_files {

// 64-bit FNV-1a of `data` (checksums of checkpoint files and log records; not cryptographic).
uint64_t fnv64(std::string_view data, uint64_t seed = 14695981039346656037ull);
std::string hex64(uint64_t v);

// The whole file; throws StorageError when it cannot be read.
std::string read_file(const std::string& path);
// Writes `data` to `path` (replacing it), then fsyncs it when `sync`.
void write_file(const std::string& path, std::string_view data, bool sync);
// fsync of an existing file or directory.
void sync_path(const std::string& path);
// Atomically replaces `path` by a file holding `data`: written to path + ".tmp", synced,
// renamed, and the directory synced (when `sync`).
void replace_file(const std::string& dir, const std::string& name, std::string_view data,
                  bool sync);
void make_dirs(const std::string& path);
bool exists(const std::string& path);
// Removes a file or a directory tree; missing is fine.
void remove_all(const std::string& path);

// Appends framed records to a log file. Record: u32 length (LE), u64 FNV-1a of the body (LE),
// body. Persisted on disk: never change the framing.
class WalWriter {
 public:
  WalWriter() = default;
  ~WalWriter();
  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;

  // Opens `path` for appending (created when missing).
  void open(const std::string& path);
  void close();
  // Appends one record and fsyncs when `sync`; durable on return.
  void append(std::string_view body, bool sync);
  // Bytes in the log.
  uint64_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  uint64_t bytes_ = 0;
  std::string path_;
};

// Calls `fn(body)` for each intact record of the log at `path`, in order, and returns the
// length of the intact prefix. A torn or corrupt tail (a crash mid-append: the write was never
// acknowledged) ends the walk. A missing file has no records.
uint64_t read_wal(const std::string& path, const std::function<void(std::string_view)>& fn);
// Cuts the log at `path` to `length` bytes (drops a torn tail) and syncs it.
void truncate_file(const std::string& path, uint64_t length);

}  // namespace cairn::ai::vector_files
