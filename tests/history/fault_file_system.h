// FaultFileSystem: a RocksDB FileSystem for tests that models a power cut and a failing disk,
// after LevelDB's FaultInjectionTestEnv. It records, for every file written through it, how much
// was synced and whether the directory was synced since the file was created (or renamed);
// drop_unsynced() then makes everything else disappear, as a power cut would. Disk faults make
// appends and syncs of chosen files fail (an I/O error or a full disk) until cleared.
// Thread-safe (RocksDB's background threads write through it). Test-only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <rocksdb/file_system.h>

namespace cairn::store_test {

// Which files a disk fault hits, by RocksDB's file naming.
enum class FileKind {
  kAny,
  kWal,       // *.log (not the info LOG)
  kTable,     // *.sst
  kManifest,  // MANIFEST-*
};

class FaultFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  FaultFileSystem();  // over rocksdb::FileSystem::Default()
  const char* Name() const override { return "CairnFaultFileSystem"; }

  // Power cut: the `nth` write operation from now (1: the next one) and every one after it fail
  // with an I/O error, as if the machine had lost power at that instant. Write operations are
  // creating, appending to, syncing, truncating, renaming and deleting files and syncing a
  // directory; the info LOG is not counted. REQUIRES: nth >= 1.
  void power_cut_after(int64_t nth);
  // Power off now (the next write operation fails).
  void power_cut_now() { power_cut_after(1); }
  // True once the power is off.
  bool power_is_off() const;
  // Write operations seen since the last drop_unsynced() (or construction), the info LOG aside.
  int64_t write_ops() const;

  // Makes what was not durable disappear: every file written through this object is truncated to
  // its last synced size, files created since their directory was last synced are deleted, and
  // renames not yet made durable by a directory sync are undone (a replaced file gets its old
  // contents back). Power then returns, and tracking starts again. REQUIRES: no database
  // is open on these files. Returns the first file-system error, if any.
  rocksdb::IOStatus drop_unsynced();
  // What the last drop_unsynced() took away: bytes cut off files, and files deleted.
  uint64_t dropped_bytes() const;
  int64_t dropped_files() const;

  // Disk faults: appends and syncs of files of `kind` answer `error` (IOStatus::IOError(...) or
  // IOStatus::NoSpace(...)) until clear_disk_faults(); nothing of a failed append is written.
  void fail_writes(FileKind kind, rocksdb::IOStatus error);
  void clear_disk_faults();
  // Appends and syncs that a disk fault failed so far.
  int64_t failed_by_disk_faults() const;

  // Overrides: files and directories are wrapped so that their writes are recorded.
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& options,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;

  // Called by the wrapped files and directories (public for them; not for tests).
  struct FileState {
    uint64_t size = 0;         // bytes written
    uint64_t synced = 0;       // bytes known durable
    bool name_durable = true;  // the directory entry survives a cut
    // A rename replaced a file under this name and the directory was not synced since: a cut
    // puts these old contents back (undoes the rename) instead of deleting the name.
    std::optional<std::string> replaced;
  };
  // OK, or the error this write operation answers (power off, or a disk fault on `name`).
  // `disk_fault_applies`: appends and syncs; other operations only see the power cut.
  rocksdb::IOStatus before_write(const std::string& name, bool disk_fault_applies);
  void appended(const std::string& name, uint64_t end_offset);
  void truncated(const std::string& name, uint64_t size);
  void synced(const std::string& name);
  void directory_synced(const std::string& dir);

 private:
  void track_new(const std::string& name, uint64_t existing_size);

  mutable std::mutex mu_;
  std::map<std::string, FileState> files_;  // guarded by mu_: written since the last drop
  int64_t ops_ = 0;                         // guarded by mu_
  int64_t cut_at_ = 0;                      // guarded by mu_: 0: no cut armed
  bool power_off_ = false;                  // guarded by mu_
  bool disk_fault_ = false;                 // guarded by mu_
  FileKind fault_kind_ = FileKind::kAny;    // guarded by mu_
  rocksdb::IOStatus fault_error_;           // guarded by mu_
  int64_t failed_by_disk_faults_ = 0;       // guarded by mu_
  uint64_t dropped_bytes_ = 0;              // guarded by mu_
  int64_t dropped_files_ = 0;               // guarded by mu_
};

}  // namespace cairn::store_test
