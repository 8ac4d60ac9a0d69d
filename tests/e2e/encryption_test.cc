// End to end with the AES-256-GCM codec: a secret sent through client, worker, activity and
// signal is unreadable in the server's RocksDB files (and in every value RocksDB holds), yet
// round-trips through the SDK; a worker with the wrong key fails its workflow task with a
// clear error and a correctly configured worker then finishes the run.
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "cairn/codec.h"
#include "cairn/replayer.h"
#include "e2e/fixture.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kKeyHex[] = "8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
constexpr char kWrongKeyHex[] = "0000000000000000000000000000000000000000000000000000000000000001";

// A string that cannot occur in the data directory by accident.
std::string unique_secret(const std::string& tag) {
  std::random_device rd;
  std::ostringstream s;
  s << "cairn-secret-" << tag << "-" << std::hex << rd() << rd() << rd();
  return s.str();
}

CodecChain encrypting_chain(const char* key_hex) {
  return {std::make_shared<ZlibCodec>(),
          std::make_shared<AesGcmCodec>(AesGcmCodec::parse_key(key_hex, "test key"), "e2e-key")};
}

// The workflow under test: the input goes through an activity, a signal is awaited, and the
// result carries both.
std::string secret_flow(WorkflowContext& ctx, std::string input) {
  std::string echoed = ctx.activity<std::string>("echo", input, {.start_to_close = 10s}).get();
  std::string extra = ctx.signal<std::string>("extra").wait_for(60s).value_or("no signal");
  return echoed + "|" + extra;
}

void register_secret_flow(Worker& w) {
  w.register_workflow("secret.flow", &secret_flow);
  w.register_activity("echo", [](std::string s) { return "echo:" + s; });
}

// Every regular file under `dir`, raw bytes: WAL, SST, MANIFEST, logs.
bool files_contain(const std::string& dir, const std::string& needle, std::string* where) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) {
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) {
      *where = entry.path().string();
      return true;
    }
  }
  return false;
}

// Enough of a merge operator to replay the server's WAL; the merged values are not examined.
class KeepLastMerge final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice*, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    new_value->assign(value.data(), value.size());
    return true;
  }
  const char* Name() const override { return "cairn.MaxU64"; }
};

// Every key and value of every column family of every RocksDB under `dir`, as RocksDB returns
// them (decompressed, WAL replayed): sound even where SST blocks are compressed on disk.
bool rocksdb_contains(const std::string& dir, const std::string& needle, int* dbs_scanned) {
  bool found = false;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.path().filename() != "CURRENT") {
      continue;
    }
    std::string db_dir = entry.path().parent_path().string();
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), db_dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    rocksdb::ColumnFamilyOptions cf_options;
    // The server writes merge records (its meta family); WAL recovery stops at the first one
    // it cannot apply, which would hide every later write from this scan.
    cf_options.merge_operator = std::make_shared<KeepLastMerge>();
    for (const auto& n : names) {
      families.emplace_back(n, cf_options);
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status st =
        rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), db_dir, families, &handles, &raw);
    EXPECT_TRUE(st.ok()) << db_dir << ": " << st.ToString();
    if (!st.ok()) {
      continue;
    }
    std::unique_ptr<rocksdb::DB> db(raw);
    ++*dbs_scanned;
    for (auto* h : handles) {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (it->key().ToString().find(needle) != std::string::npos ||
            it->value().ToString().find(needle) != std::string::npos) {
          found = true;
        }
      }
      EXPECT_TRUE(it->status().ok()) << it->status().ToString();
      EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    }
  }
  return found;
}

class EncryptionTest : public E2eTest {
 protected:
  Client encrypted_client(const char* key_hex) {
    ClientOptions o;
    o.address = server_->address();
    o.codecs = encrypting_chain(key_hex);
    return Client(o);
  }
};

TEST_F(EncryptionTest, EncryptedPayloadIsUnreadableInRocksDbAndRoundTripsThroughTheSdk) {
  const std::string secret_in = unique_secret("input");
  const std::string secret_sig = unique_secret("signal");
  const std::string plain_in = unique_secret("plain-input");
  const std::string plain_sig = unique_secret("plain-signal");

  Client client = encrypted_client(kKeyHex);
  {
    Worker worker(client, {.task_queue = "encrypted"});
    register_secret_flow(worker);
    worker.start();
    auto h = client.start("secret.flow", start_options("enc-1", "encrypted"), secret_in);
    h.signal("extra", secret_sig);
    EXPECT_EQ(h.result<std::string>(60s), "echo:" + secret_in + "|" + secret_sig);
    // The server holds ciphertext: the raw history shows encrypted payloads only.
    auto events = h.history();
    const auto* started = find(events, v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    ASSERT_NE(started, nullptr);
    const auto& input = started->workflow_execution_started_event_attributes().input();
    ASSERT_EQ(input.payloads_size(), 1);
    EXPECT_EQ(input.payloads(0).metadata().at("encoding"), kEncodingEncrypted);
    // ... and the replayer, given the client's codecs, reads it.
    Replayer replayer;
    replayer.register_workflow("secret.flow", &secret_flow);
    ReplayVerdict v = replayer.replay_from_server(client, "enc-1");
    EXPECT_TRUE(v.ok()) << v.message;
    worker.stop();
  }

  // The control: the same workflow without a codec, so the scans below are shown to see
  // plaintext when it is there.
  Worker& plain_worker = new_worker("plain");
  register_secret_flow(plain_worker);
  plain_worker.start();
  auto p = client_->start("secret.flow", start_options("plain-1", "plain"), plain_in);
  p.signal("extra", plain_sig);
  EXPECT_EQ(p.result<std::string>(60s), "echo:" + plain_in + "|" + plain_sig);
  plain_worker.stop();

  ASSERT_EQ(server_->stop(), 0) << server_->log();
  const std::string data_dir = dir_.path() + "/data";
  std::string where;
  int dbs = 0;
  EXPECT_TRUE(files_contain(data_dir, plain_in, &where)) << "the file scan cannot see plaintext";
  EXPECT_TRUE(files_contain(data_dir, plain_sig, &where));
  EXPECT_TRUE(rocksdb_contains(data_dir, plain_in, &dbs)) << "the value scan cannot see plaintext";
  EXPECT_TRUE(rocksdb_contains(data_dir, plain_sig, &dbs));
  ASSERT_GT(dbs, 0) << "no RocksDB found under " << data_dir;
  for (const std::string& secret : {secret_in, secret_sig}) {
    EXPECT_FALSE(files_contain(data_dir, secret, &where)) << secret << " in " << where;
    EXPECT_FALSE(rocksdb_contains(data_dir, secret, &dbs)) << secret << " readable in RocksDB";
  }
}

TEST_F(EncryptionTest, WrongKeyFailsTheTaskClearlyAndTheRightKeyFinishesTheRun) {
  Client right = encrypted_client(kKeyHex);
  Client wrong = encrypted_client(kWrongKeyHex);
  auto h = right.start("secret.flow", start_options("wrong-key-1", "keys"), std::string("s3"));
  const v1::HistoryEvent* failed = nullptr;
  std::vector<v1::HistoryEvent> events;
  {
    Worker bad(wrong, {.task_queue = "keys"});
    register_secret_flow(bad);
    bad.start();
    ASSERT_TRUE(await_until([&] {
      events = h.history();
      failed = find(events, v1::EVENT_TYPE_WORKFLOW_TASK_FAILED);
      return failed != nullptr;
    }, 30s));
    bad.stop();
  }
  EXPECT_NE(failed->workflow_task_failed_event_attributes().failure().message().find(
                "payload decryption failed (wrong key or corrupted payload)"),
            std::string::npos)
      << failed->DebugString();
  Worker good(right, {.task_queue = "keys"});
  register_secret_flow(good);
  good.start();
  h.signal("extra", std::string("sig"));
  EXPECT_EQ(h.result<std::string>(60s), "echo:s3|sig");
  good.stop();
}

}  // namespace
}  // namespace cairn::testing
