// The `vector_index` provider, built in process (no cluster in the context) from a small
// directory of documents with embeddings from a real cairn-model-endpoint: search finds the
// right document, a retried create adopts the built index, a snapshot taken before a change
// brings the old content back, a lost item is drift and reverting rebuilds, destroy leaves
// nothing.
#include <gtest/gtest.h>

#include <fstream>

#include "cairn/ai/openai.h"
#include "cairn/ai/vector_store.h"
#include "cairn/deploy/process.h"
#include "cairn/deploy/provider.h"
#include "tests/deploy/provider_support.h"

namespace cairn::deploy {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::TempStateDir;

constexpr int kDim = 64;

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

class VectorIndexTest : public ::testing::Test {
 protected:
  VectorIndexTest() {
    LocalProviderOptions options;
    options.model_endpoint_binary = testing::kEndpointBinary;
    register_local_providers(registry_, options);
    embedder_ = registry_.get("model_endpoint")
                    .create(ctx_, "embed",
                            {{"model", "embed-model"},
                             {"tier", "embed"},
                             {"embedding_dim", kDim},
                             {"startup_timeout_seconds", 20}});
    source_ = docs_.path() / "kb";
    write(source_ / "refunds.md",
          "Refunds are issued within fourteen days of the return. A refund goes back to the "
          "card that paid.");
    write(source_ / "shipping" / "europe.md",
          "Parcels to Europe travel by road and arrive in three to five working days.");
    write(source_ / "passwords.txt",
          "To reset a password, open the account page and choose forgot password.");
    write(source_ / ".git" / "config", "hidden files are not documents");
    write(source_ / "logo.png", std::string("\x89PNG\0\0binary", 12));
  }
  ~VectorIndexTest() override { registry_.get("model_endpoint").destroy(ctx_, embedder_); }

  Provider& provider() { return registry_.get("vector_index"); }

  json inputs() const {
    return {{"dim", kDim},
            {"source", source_.string()},
            {"embedding_endpoint", embedder_.outputs["url"]},
            {"chunk_chars", 200},
            {"overlap", 20}};
  }

  int64_t embedding_requests() const {
    std::string body;
    std::string url = embedder_.outputs["url"];
    http_get_status(std::stoi(url.substr(url.rfind(':') + 1)), "/control/stats", 2s, &body);
    return json::parse(body).value("embedding_requests", int64_t{-1});
  }

  // The document path of the best hit for `text` in the built index.
  std::string best_document(const ProviderState& s, const std::string& text) const {
    ai::EndpointConfig e;
    e.name = "embed";
    e.base_url = embedder_.outputs["url"].get<std::string>() + "/v1";
    ai::OpenAiClient client(e);
    ai::EmbeddingRequest request;
    request.input = {text};
    std::vector<float> query = client.embed(request).data.at(0);
    ai::HnswVectorStore store(s.outputs["path"].get<std::string>(), kDim);
    std::vector<ai::VectorHit> hits = store.search(query, 1);
    return hits.empty() ? "" : hits[0].metadata.value("path", "");
  }

  TempStateDir dir_;
  TempStateDir docs_;
  ProviderContext ctx_ = testing::make_context(dir_.path());
  ProviderRegistry registry_;
  ProviderState embedder_;
  std::filesystem::path source_;
};

TEST_F(VectorIndexTest, BuildsSearchesSnapshotsRestoresAndDestroys) {
  ASSERT_TRUE(provider().check(inputs()).empty());
  ProviderState s = provider().create(ctx_, "kb-index", inputs());
  // Three text documents, each one chunk of at most 200 bytes; the hidden and binary files are
  // not indexed.
  EXPECT_EQ(s.outputs["count"], 3);
  EXPECT_EQ(s.outputs["index"], "kb-index");
  EXPECT_TRUE(std::filesystem::exists(s.outputs["path"].get<std::string>() + "/MANIFEST"));
  EXPECT_EQ(best_document(s, "when are refunds issued after a return"), "refunds.md");
  EXPECT_EQ(best_document(s, "parcels to Europe arrive in days"), "shipping/europe.md");
  // The output names a registry root the AI batteries open the index from by name.
  ai::VectorRegistry registry(s.outputs["registry_root"]);
  EXPECT_EQ(registry.get("kb-index")->size(), 3u);

  ReadResult r = provider().read(ctx_, s);
  EXPECT_TRUE(r.exists);
  EXPECT_TRUE(r.drift.empty());

  json snap = provider().snapshot(ctx_, s);
  std::string snap_path = snap["path"];
  EXPECT_EQ(snap_path.rfind(s.private_state["dir"].get<std::string>(), 0), 0u) << snap_path;
  EXPECT_TRUE(std::filesystem::exists(snap_path));
  EXPECT_EQ(snap["count"], 3);

  // The documents change: read sees it, an update rebuilds with the new one.
  write(source_ / "warranty.md", "Every kettle carries a warranty of two years against faults.");
  ReadResult changed = provider().read(ctx_, s);
  ASSERT_EQ(changed.drift.size(), 1u);
  EXPECT_EQ(changed.drift[0].field, "source");
  ProviderState bigger = provider().update(ctx_, s, inputs());
  EXPECT_EQ(bigger.outputs["count"], 4);
  EXPECT_EQ(best_document(bigger, "kettle warranty of two years"), "warranty.md");

  // Rollback: the snapshot's content is back.
  ProviderState restored = provider().restore(ctx_, bigger, snap);
  EXPECT_EQ(restored.outputs["count"], 3);
  EXPECT_NE(best_document(restored, "kettle warranty of two years"), "warranty.md");
  EXPECT_EQ(best_document(restored, "when are refunds issued after a return"), "refunds.md");

  std::filesystem::path dir = restored.private_state["dir"].get<std::string>();
  provider().destroy(ctx_, restored);
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_FALSE(provider().read(ctx_, restored).exists);
  provider().destroy(ctx_, restored);  // idempotent
}

TEST_F(VectorIndexTest, ARetriedCreateAdoptsTheBuiltIndexWithoutEmbeddingAgain) {
  ProviderState first = provider().create(ctx_, "kb-adopt", inputs());
  int64_t calls = embedding_requests();
  ProviderState again = provider().create(ctx_, "kb-adopt", inputs());
  EXPECT_TRUE(again.private_state["adopted"].get<bool>());
  EXPECT_EQ(again.outputs, first.outputs);
  EXPECT_EQ(embedding_requests(), calls);
  provider().destroy(ctx_, again);
}

TEST_F(VectorIndexTest, ALostItemIsDriftAndRevertingRebuilds) {
  ProviderState s = provider().create(ctx_, "kb-drift", inputs());
  {
    ai::HnswVectorStore store(s.outputs["path"].get<std::string>(), kDim);
    ASSERT_EQ(store.remove({"refunds.md#0"}), 1u);
  }
  ReadResult r = provider().read(ctx_, s);
  ASSERT_EQ(r.drift.size(), 1u);
  EXPECT_EQ(r.drift[0].field, "count");
  EXPECT_EQ(r.drift[0].expected, 3);
  EXPECT_EQ(r.drift[0].actual, 2);
  ProviderState fixed = provider().revert_drift(ctx_, s);
  EXPECT_EQ(fixed.outputs["count"], 3);
  EXPECT_TRUE(provider().read(ctx_, fixed).drift.empty());
  EXPECT_EQ(best_document(fixed, "when are refunds issued after a return"), "refunds.md");
  provider().destroy(ctx_, fixed);
}

TEST_F(VectorIndexTest, BadInputsAreRefusedAndARelativeSourceIsNamed) {
  json bad = inputs();
  bad.erase("dim");
  bad["overlap"] = 150;
  bad["chunk_chars"] = 200;
  bad["index"] = ".hidden";
  std::set<std::string> fields;
  for (const InputError& e : provider().check(bad)) {
    fields.insert(e.field);
  }
  EXPECT_TRUE(fields.count("dim"));
  EXPECT_TRUE(fields.count("overlap"));
  EXPECT_TRUE(fields.count("index"));

  json relative = inputs();
  relative["source"] = "kb";
  EXPECT_TRUE(provider().check(relative).empty());  // valid in a spec: relative to it
  try {
    provider().create(ctx_, "kb-relative", relative);
    FAIL() << "a relative source was accepted";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind(), ProviderErrorKind::kInvalidInputs);
    EXPECT_NE(std::string(e.what()).find("base_dir"), std::string::npos) << e.what();
  }

  json wrong_dim = inputs();
  wrong_dim["dim"] = 32;  // the endpoint answers 64
  EXPECT_THROW(provider().create(ctx_, "kb-dim", wrong_dim), ProviderError);

  ProviderState none;
  EXPECT_EQ(provider().diff(inputs(), wrong_dim, none).kind, DiffKind::kReplace);
  json moved = inputs();
  moved["source"] = "/elsewhere";
  EXPECT_EQ(provider().diff(inputs(), moved, none).kind, DiffKind::kUpdate);
}

}  // namespace
}  // namespace cairn::deploy
