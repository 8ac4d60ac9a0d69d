// Claim check: FileBlobStore (content-addressed files, atomic rename + fsync), reference
// helpers, and the blob activities.
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/ai/claim_check.h"
#include "cairn/worker.h"
#include "cairn/workflow.h"

namespace cairn::ai {
namespace {

constexpr size_t kHexDigits = 64;

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string errno_text() { return std::strerror(errno); }

// The hex part of a well-formed reference; throws InvalidBlobRef otherwise.
std::string hex_of(const std::string& ref) {
  if (!is_blob_ref(ref)) {
    std::string shown = ref.size() > 80 ? ref.substr(0, 80) + "..." : ref;
    throw InvalidBlobRef("invalid blob reference \"" + shown +
                         "\": expected \"blob:sha256:\" followed by 64 lowercase hex digits");
  }
  return ref.substr(sizeof(kBlobRefPrefix) - 1);
}

// Writes all of `data` to `fd`; false on error (errno set).
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

std::string blob_ref_for(std::string_view data) { return kBlobRefPrefix + sha256_hex(data); }

bool is_blob_ref(std::string_view ref) {
  std::string_view prefix = kBlobRefPrefix;
  if (ref.size() != prefix.size() + kHexDigits || ref.substr(0, prefix.size()) != prefix) {
    return false;
  }
  for (char c : ref.substr(prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

FileBlobStore::FileBlobStore(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) {
    throw cairn::OptionsError("FileBlobStore: dir must not be empty", "dir");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec || !std::filesystem::is_directory(dir_)) {
    throw BlobStoreError("blob store " + dir_ + ": cannot create the directory: " +
                         (ec ? ec.message() : std::string("not a directory")));
  }
}

std::string FileBlobStore::path_of(const std::string& hex) const {
  return dir_ + "/" + hex.substr(0, 2) + "/" + hex;
}

std::string FileBlobStore::put(std::string_view data) {
  std::string hex = sha256_hex(data);
  std::string path = path_of(hex);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && static_cast<size_t>(st.st_size) == data.size()) {
    return kBlobRefPrefix + hex;  // content-addressed: already stored
  }
  std::string sub = dir_ + "/" + hex.substr(0, 2);
  if (::mkdir(sub.c_str(), 0755) != 0 && errno != EEXIST) {
    throw BlobStoreError("blob store " + dir_ + ": cannot create " + sub + ": " + errno_text());
  }
  // A temporary name unique across threads and processes sharing the directory.
  static std::atomic<uint64_t> counter{0};
  std::string tmp = sub + "/.tmp-" + hex.substr(0, 16) + "-" + std::to_string(::getpid()) + "-" +
                    std::to_string(counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw BlobStoreError("blob store " + dir_ + ": cannot create " + tmp + ": " + errno_text());
  }
  // Durability before visibility: the bytes reach the disk before the name does, so a reader
  // (or a crash) never sees a partial blob under its final name.
  bool ok = write_all(fd, data) && ::fsync(fd) == 0;
  std::string error = ok ? "" : errno_text();
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (error.empty()) {
      error = errno_text();
    }
    ::unlink(tmp.c_str());
    throw BlobStoreError("blob store " + dir_ + ": cannot write blob " + hex + ": " + error);
  }
  fsync_dir(sub);
  return kBlobRefPrefix + hex;
}

std::string FileBlobStore::get(const std::string& ref) {
  std::string hex = hex_of(ref);
  std::string path = path_of(hex);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      throw BlobNotFound("blob " + ref + " not found in blob store " + dir_ +
                         " (the store must be shared by every worker of the task queue)");
    }
    throw BlobStoreError("blob store " + dir_ + ": cannot open " + path + ": " + errno_text());
  }
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      std::string error = errno_text();
      ::close(fd);
      throw BlobStoreError("blob store " + dir_ + ": cannot read " + path + ": " + error);
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (sha256_hex(out) != hex) {
    throw BlobStoreError("blob store " + dir_ + ": blob " + ref +
                         " is corrupted (its content no longer matches its hash)");
  }
  return out;
}

void resolve_ref(BlobStore& store, Message& message) {
  if (message.content_ref.empty()) {
    return;
  }
  message.content = store.get(message.content_ref);
  message.content_ref.clear();
}

void resolve_refs(BlobStore& store, ChatRequest& request) {
  for (size_t i = 0; i < request.messages.size(); ++i) {
    try {
      resolve_ref(store, request.messages[i]);
    } catch (const BlobNotFound& e) {
      throw BlobNotFound("message " + std::to_string(i) + ": " + e.what());
    } catch (const InvalidBlobRef& e) {
      throw InvalidBlobRef("message " + std::to_string(i) + ": " + e.what());
    } catch (const BlobStoreError& e) {
      throw BlobStoreError("message " + std::to_string(i) + ": " + e.what());
    }
  }
}

bool offload_large(BlobStore& store, Message& message, size_t threshold) {
  if (threshold == 0 || !message.content_ref.empty() || message.content.size() <= threshold) {
    return false;
  }
  message.content_ref = store.put(message.content);
  message.content.clear();
  return true;
}

size_t offload_large(BlobStore& store, ChatRequest& request, size_t threshold) {
  size_t n = 0;
  for (auto& m : request.messages) {
    n += offload_large(store, m, threshold) ? 1 : 0;
  }
  return n;
}

void register_blob_activities(Worker& worker, std::shared_ptr<BlobStore> store) {
  if (!store) {
    throw cairn::OptionsError("register_blob_activities: store must not be null", "store");
  }
  worker.register_activity("cairn.ai.blob.put",
                           [store](const std::string& data) { return store->put(data); });
  worker.register_activity("cairn.ai.blob.get",
                           [store](const std::string& ref) { return store->get(ref); });
}

namespace {

cairn::LocalActivityOptions blob_activity_options() {
  cairn::LocalActivityOptions o;
  o.start_to_close = std::chrono::seconds(5);
  o.retry.maximum_attempts = 3;
  o.retry.initial_interval = std::chrono::milliseconds(200);
  o.retry.non_retryable_error_types = {"BlobNotFound", "InvalidBlobRef"};
  return o;
}

}  // namespace

std::string put_blob(WorkflowContext& ctx, const std::string& data) {
  return ctx.local_activity<std::string>("cairn.ai.blob.put", data, blob_activity_options()).get();
}

std::string get_blob(WorkflowContext& ctx, const std::string& ref) {
  return ctx.local_activity<std::string>("cairn.ai.blob.get", ref, blob_activity_options()).get();
}

}  // namespace cairn::ai
