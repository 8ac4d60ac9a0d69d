// FileBlobStore and the claim-check helpers: content addressing, durability layout, errors,
// resolve_refs / offload_large on chat requests.
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cairn/ai/claim_check.h"

namespace cairn::ai {
namespace {

class TempDirectory {
 public:
  TempDirectory() {
    char tmpl[] = "/tmp/cairn-blob-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDirectory() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ClaimCheckStore, PutReturnsTheContentHashAndGetReturnsTheBytes) {
  TempDirectory tmp;
  FileBlobStore store(tmp.path() + "/blobs");
  std::string data(100000, 'x');
  data += std::string("\0binary\xff", 8);
  std::string ref = store.put(data);
  // SHA-256 of "abc" is the well-known test vector.
  EXPECT_EQ(blob_ref_for("abc"),
            "blob:sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ref, blob_ref_for(data));
  EXPECT_TRUE(is_blob_ref(ref));
  EXPECT_EQ(store.get(ref), data);
  // Stored under <dir>/<2 hex>/<64 hex>, no temporary file left behind.
  std::string hex = ref.substr(std::string(kBlobRefPrefix).size());
  std::string sub = tmp.path() + "/blobs/" + hex.substr(0, 2);
  EXPECT_TRUE(std::filesystem::exists(sub + "/" + hex));
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(sub)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(ClaimCheckStore, PutIsIdempotentAndSharedAcrossInstances) {
  TempDirectory tmp;
  FileBlobStore a(tmp.path());
  FileBlobStore b(tmp.path());
  std::string ref1 = a.put("hello");
  std::string ref2 = a.put("hello");
  EXPECT_EQ(ref1, ref2);
  EXPECT_EQ(b.get(ref1), "hello");
  EXPECT_NE(a.put("hello!"), ref1);
  EXPECT_EQ(a.put(""), blob_ref_for(""));
  EXPECT_EQ(b.get(blob_ref_for("")), "");
}

TEST(ClaimCheckStore, ConcurrentPutsOfTheSameBlobAllSucceed) {
  TempDirectory tmp;
  FileBlobStore store(tmp.path());
  std::string data(50000, 'q');
  std::vector<std::thread> threads;
  std::vector<std::string> refs(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] { refs[i] = store.put(data); });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (auto& r : refs) {
    EXPECT_EQ(r, blob_ref_for(data));
  }
  EXPECT_EQ(store.get(refs[0]), data);
}

TEST(ClaimCheckStore, MissingMalformedAndCorruptedBlobsAreNamedErrors) {
  TempDirectory tmp;
  FileBlobStore store(tmp.path());
  std::string missing = blob_ref_for("never stored");
  try {
    store.get(missing);
    FAIL() << "expected BlobNotFound";
  } catch (const BlobNotFound& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_EQ(e.type(), "BlobNotFound");
    EXPECT_TRUE(e.non_retryable());
  }
  for (const std::string& bad :
       std::vector<std::string>{"", "blob:sha256:xyz", "sha256:" + std::string(64, 'a'),
                                "blob:sha256:" + std::string(64, 'A')}) {
    EXPECT_FALSE(is_blob_ref(bad)) << bad;
    EXPECT_THROW(store.get(bad), InvalidBlobRef) << bad;
  }
  std::string ref = store.put("original");
  std::string hex = ref.substr(std::string(kBlobRefPrefix).size());
  std::ofstream(tmp.path() + "/" + hex.substr(0, 2) + "/" + hex, std::ios::trunc) << "tampered";
  try {
    store.get(ref);
    FAIL() << "expected BlobStoreError";
  } catch (const BlobStoreError& e) {
    EXPECT_NE(std::string(e.what()).find("corrupted"), std::string::npos) << e.what();
    EXPECT_FALSE(e.non_retryable());
  }
}

TEST(ClaimCheckStore, EmptyDirectoryIsAnOptionsError) {
  try {
    FileBlobStore store("");
    FAIL() << "expected OptionsError";
  } catch (const cairn::OptionsError& e) {
    EXPECT_EQ(e.field(), "dir");
  }
}

TEST(ClaimCheckStore, OffloadLargeReplacesOnlyContentAboveTheThreshold) {
  TempDirectory tmp;
  FileBlobStore store(tmp.path());
  ChatRequest request;
  request.messages.push_back({.role = "system", .content = std::string(100, 's')});
  request.messages.push_back({.role = "user", .content = std::string(101, 'u')});
  request.messages.push_back({.role = "tool", .content = "", .tool_call_id = "c1"});
  ChatRequest original = request;

  EXPECT_EQ(offload_large(store, request, 100), 1u);
  EXPECT_EQ(request.messages[0], original.messages[0]);  // exactly at the threshold: inline
  EXPECT_TRUE(request.messages[1].content.empty());
  EXPECT_EQ(request.messages[1].content_ref, blob_ref_for(original.messages[1].content));
  EXPECT_EQ(request.messages[1].role, "user");
  EXPECT_EQ(request.messages[2], original.messages[2]);
  // Already offloaded: nothing more; threshold 0 means never.
  EXPECT_EQ(offload_large(store, request, 10), 1u);  // the system message now
  EXPECT_FALSE(offload_large(store, request.messages[1], 10));
  Message m{.role = "user", .content = std::string(1000, 'z')};
  EXPECT_FALSE(offload_large(store, m, 0));

  resolve_refs(store, request);
  EXPECT_EQ(request, original);
}

TEST(ClaimCheckStore, ResolveRefsNamesTheMessageOfAMissingBlob) {
  TempDirectory tmp;
  FileBlobStore store(tmp.path());
  ChatRequest request;
  request.messages.push_back({.role = "user", .content = "hi"});
  request.messages.push_back({.role = "user", .content_ref = blob_ref_for("gone")});
  try {
    resolve_refs(store, request);
    FAIL() << "expected BlobNotFound";
  } catch (const BlobNotFound& e) {
    EXPECT_NE(std::string(e.what()).find("message 1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cairn::ai
