#include "tests/history/fault_file_system.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

namespace cairn::store_test {
namespace {

std::string normal(const std::string& name) {
  std::string out = std::filesystem::path(name).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  return out;
}

std::string base_name(const std::string& name) {
  return std::filesystem::path(name).filename().string();
}

std::string parent_of(const std::string& name) {
  return std::filesystem::path(name).parent_path().string();
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// RocksDB's info log: not database state, so neither tracked, counted nor failed.
bool is_info_log(const std::string& name) {
  const std::string base = base_name(name);
  return base == "LOG" || base.rfind("LOG.old", 0) == 0;
}

bool is_kind(const std::string& name, FileKind kind) {
  const std::string base = base_name(name);
  switch (kind) {
    case FileKind::kAny:
      return true;
    case FileKind::kWal:
      return ends_with(base, ".log");
    case FileKind::kTable:
      return ends_with(base, ".sst");
    case FileKind::kManifest:
      return base.rfind("MANIFEST-", 0) == 0;
  }
  return false;
}

// The whole file; nullopt when it cannot be read.
std::optional<std::string> read_whole(const std::string& name) {
  std::ifstream in(name, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Records each write of one file with the file system before passing it on.
class RecordingFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  RecordingFile(std::unique_ptr<rocksdb::FSWritableFile> file, FaultFileSystem* fs,
                std::string name, uint64_t size)
      : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs), name_(std::move(name)), size_(size) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    return append(data.size(),
                  [&] { return FSWritableFileOwnerWrapper::Append(data, options, dbg); });
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    return append(data.size(),
                  [&] { return FSWritableFileOwnerWrapper::Append(data, options, info, dbg); });
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->before_write(name_, true);
    if (!s.ok()) {
      return s;
    }
    s = FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
    if (s.ok()) {
      size_ = std::max(size_, offset + data.size());
      fs_->appended(name_, size_);
    }
    return s;
  }
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->before_write(name_, false);
    if (!s.ok()) {
      return s;
    }
    s = FSWritableFileOwnerWrapper::Truncate(size, options, dbg);
    if (s.ok()) {
      size_ = size;
      fs_->truncated(name_, size);
    }
    return s;
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return sync([&] { return FSWritableFileOwnerWrapper::Sync(options, dbg); });
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return sync([&] { return FSWritableFileOwnerWrapper::Fsync(options, dbg); });
  }
  // A range sync promises nothing about durability: it is passed on and not recorded.

 private:
  template <typename Op>
  rocksdb::IOStatus append(size_t n, Op op) {
    rocksdb::IOStatus s = fs_->before_write(name_, true);
    if (!s.ok()) {
      return s;
    }
    s = op();
    if (s.ok()) {
      size_ += n;
      fs_->appended(name_, size_);
    }
    return s;
  }
  template <typename Op>
  rocksdb::IOStatus sync(Op op) {
    rocksdb::IOStatus s = fs_->before_write(name_, true);
    if (!s.ok()) {
      return s;
    }
    s = op();
    if (s.ok()) {
      fs_->synced(name_);
    }
    return s;
  }

  FaultFileSystem* const fs_;
  const std::string name_;
  uint64_t size_;
};

class RecordingDirectory final : public rocksdb::FSDirectoryWrapper {
 public:
  RecordingDirectory(std::unique_ptr<rocksdb::FSDirectory> dir, FaultFileSystem* fs,
                     std::string name)
      : FSDirectoryWrapper(std::move(dir)), fs_(fs), name_(std::move(name)) {}

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return sync([&] { return FSDirectoryWrapper::Fsync(options, dbg); });
  }
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& options,
                                        rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions& dir_options) override {
    return sync([&] { return FSDirectoryWrapper::FsyncWithDirOptions(options, dbg, dir_options); });
  }

 private:
  template <typename Op>
  rocksdb::IOStatus sync(Op op) {
    rocksdb::IOStatus s = fs_->before_write(name_, false);
    if (!s.ok()) {
      return s;
    }
    s = op();
    if (s.ok()) {
      fs_->directory_synced(name_);
    }
    return s;
  }

  FaultFileSystem* const fs_;
  const std::string name_;
};

}  // namespace

FaultFileSystem::FaultFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

void FaultFileSystem::power_cut_after(int64_t nth) {
  std::lock_guard lock(mu_);
  cut_at_ = ops_ + nth;
}

bool FaultFileSystem::power_is_off() const {
  std::lock_guard lock(mu_);
  return power_off_;
}

int64_t FaultFileSystem::write_ops() const {
  std::lock_guard lock(mu_);
  return ops_;
}

void FaultFileSystem::fail_writes(FileKind kind, rocksdb::IOStatus error) {
  std::lock_guard lock(mu_);
  disk_fault_ = true;
  fault_kind_ = kind;
  fault_error_ = std::move(error);
}

void FaultFileSystem::clear_disk_faults() {
  std::lock_guard lock(mu_);
  disk_fault_ = false;
}

int64_t FaultFileSystem::failed_by_disk_faults() const {
  std::lock_guard lock(mu_);
  return failed_by_disk_faults_;
}

rocksdb::IOStatus FaultFileSystem::before_write(const std::string& name, bool disk_fault_applies) {
  if (is_info_log(name)) {
    return rocksdb::IOStatus::OK();
  }
  std::lock_guard lock(mu_);
  ++ops_;
  if (cut_at_ > 0 && ops_ >= cut_at_) {
    power_off_ = true;
  }
  if (power_off_) {
    return rocksdb::IOStatus::IOError("injected power cut: " + name);
  }
  if (disk_fault_ && disk_fault_applies && is_kind(name, fault_kind_)) {
    ++failed_by_disk_faults_;
    rocksdb::IOStatus error = fault_error_;
    return error;
  }
  return rocksdb::IOStatus::OK();
}

void FaultFileSystem::track_new(const std::string& name, uint64_t existing_size) {
  std::lock_guard lock(mu_);
  FileState& state = files_[name];
  state.size = existing_size;
  state.synced = existing_size;
  state.name_durable = existing_size > 0;  // an existing file was created before the tracking
}

void FaultFileSystem::appended(const std::string& name, uint64_t end_offset) {
  std::lock_guard lock(mu_);
  files_[name].size = end_offset;
}

void FaultFileSystem::truncated(const std::string& name, uint64_t size) {
  std::lock_guard lock(mu_);
  FileState& state = files_[name];
  state.size = size;
  state.synced = std::min(state.synced, size);
}

void FaultFileSystem::synced(const std::string& name) {
  std::lock_guard lock(mu_);
  FileState& state = files_[name];
  state.synced = state.size;
}

void FaultFileSystem::directory_synced(const std::string& dir) {
  std::lock_guard lock(mu_);
  for (auto& [name, state] : files_) {
    if (parent_of(name) == dir) {
      state.name_durable = true;
      state.replaced.reset();
    }
  }
}

rocksdb::IOStatus FaultFileSystem::NewWritableFile(const std::string& name,
                                                   const rocksdb::FileOptions& options,
                                                   std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                   rocksdb::IODebugContext* dbg) {
  const std::string path = normal(name);
  rocksdb::IOStatus s = before_write(path, false);
  if (!s.ok()) {
    return s;
  }
  s = target()->NewWritableFile(name, options, result, dbg);
  if (s.ok() && !is_info_log(path)) {
    track_new(path, 0);  // created (or truncated): nothing of it is durable yet
    *result = std::make_unique<RecordingFile>(std::move(*result), this, path, 0);
  }
  return s;
}

rocksdb::IOStatus FaultFileSystem::ReopenWritableFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  const std::string path = normal(name);
  rocksdb::IOStatus s = before_write(path, false);
  if (!s.ok()) {
    return s;
  }
  std::error_code error;
  const bool existed = std::filesystem::exists(path, error);
  s = target()->ReopenWritableFile(name, options, result, dbg);
  if (s.ok() && !is_info_log(path)) {
    uint64_t size = existed ? std::filesystem::file_size(path, error) : 0;
    {
      std::lock_guard lock(mu_);
      if (files_.count(path) > 0) {
        size = files_[path].size;
      }
    }
    {
      std::lock_guard lock(mu_);
      if (files_.count(path) == 0) {
        files_[path] = FileState{size, size, existed};
      }
    }
    *result = std::make_unique<RecordingFile>(std::move(*result), this, path, size);
  }
  return s;
}

rocksdb::IOStatus FaultFileSystem::ReuseWritableFile(
    const std::string& name, const std::string& old_name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  // Recycled logs (recycle_log_file_num) are not used by the store: a rename plus a new file.
  rocksdb::IOStatus s = RenameFile(old_name, name, rocksdb::IOOptions(), dbg);
  if (!s.ok()) {
    return s;
  }
  return NewWritableFile(name, options, result, dbg);
}

rocksdb::IOStatus FaultFileSystem::NewDirectory(const std::string& name,
                                                const rocksdb::IOOptions& options,
                                                std::unique_ptr<rocksdb::FSDirectory>* result,
                                                rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->NewDirectory(name, options, result, dbg);
  if (s.ok()) {
    *result = std::make_unique<RecordingDirectory>(std::move(*result), this, normal(name));
  }
  return s;
}

rocksdb::IOStatus FaultFileSystem::DeleteFile(const std::string& name,
                                              const rocksdb::IOOptions& options,
                                              rocksdb::IODebugContext* dbg) {
  const std::string path = normal(name);
  rocksdb::IOStatus s = before_write(path, false);
  if (!s.ok()) {
    return s;
  }
  s = target()->DeleteFile(name, options, dbg);
  if (s.ok()) {
    // A delete is not undone by a cut (LevelDB's model does the same): RocksDB deletes only
    // files that durable metadata no longer needs.
    std::lock_guard lock(mu_);
    files_.erase(path);
  }
  return s;
}

rocksdb::IOStatus FaultFileSystem::RenameFile(const std::string& from, const std::string& to,
                                              const rocksdb::IOOptions& options,
                                              rocksdb::IODebugContext* dbg) {
  const std::string src = normal(from);
  const std::string dst = normal(to);
  rocksdb::IOStatus s = before_write(dst, false);
  if (!s.ok()) {
    return s;
  }
  std::error_code error;
  const bool replaces = std::filesystem::exists(dst, error);
  std::optional<std::string> old_contents;
  if (replaces) {
    old_contents = read_whole(dst);
  }
  s = target()->RenameFile(from, to, options, dbg);
  if (s.ok() && !is_info_log(dst)) {
    std::lock_guard lock(mu_);
    FileState state;
    auto it = files_.find(src);
    if (it != files_.end()) {
      state = it->second;
      files_.erase(it);
    } else {
      const uint64_t size = std::filesystem::file_size(dst, error);
      state = FileState{size, size, true};
    }
    // A new name is durable only once the directory is synced. Until then a cut undoes the
    // rename: a replaced file (CURRENT) gets its old contents back, a new name disappears. The
    // old CURRENT still names a MANIFEST that exists, since RocksDB deletes that one only after
    // it has synced the directory.
    const auto previous = files_.find(dst);
    state.replaced.reset();
    if (previous != files_.end() && !previous->second.name_durable) {
      state.replaced = previous->second.replaced;  // what survives is older than that file
    } else if (old_contents) {
      state.replaced = std::move(old_contents);
    }
    state.name_durable = false;
    files_[dst] = state;
  }
  return s;
}

rocksdb::IOStatus FaultFileSystem::drop_unsynced() {
  std::map<std::string, FileState> files;
  {
    std::lock_guard lock(mu_);
    files.swap(files_);
    ops_ = 0;
    cut_at_ = 0;
    power_off_ = false;
  }
  rocksdb::IOStatus first;
  uint64_t bytes = 0;
  int64_t deleted = 0;
  for (const auto& [name, state] : files) {
    std::error_code error;
    if (!std::filesystem::exists(name, error)) {
      continue;
    }
    const uint64_t size = std::filesystem::file_size(name, error);
    if (!state.name_durable && state.replaced) {
      std::ofstream out(name, std::ios::binary | std::ios::trunc);
      out << *state.replaced;
      bytes += size;
      if (!out.good() && first.ok()) {
        first = rocksdb::IOStatus::IOError("drop_unsynced: cannot restore " + name);
      }
    } else if (!state.name_durable) {
      std::filesystem::remove(name, error);
      bytes += size;
      ++deleted;
    } else if (size > state.synced) {
      std::filesystem::resize_file(name, state.synced, error);
      bytes += size - state.synced;
    }
    if (error && first.ok()) {
      first = rocksdb::IOStatus::IOError("drop_unsynced " + name + ": " + error.message());
    }
  }
  std::lock_guard lock(mu_);
  dropped_bytes_ = bytes;
  dropped_files_ = deleted;
  return first;
}

uint64_t FaultFileSystem::dropped_bytes() const {
  std::lock_guard lock(mu_);
  return dropped_bytes_;
}

int64_t FaultFileSystem::dropped_files() const {
  std::lock_guard lock(mu_);
  return dropped_files_;
}

}  // namespace cairn::store_test
