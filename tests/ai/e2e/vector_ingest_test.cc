// Ingestion and search end to end: a real cairn-server, a real cairn-model-endpoint (hashed
// bag-of-words embeddings) and the ai-worker-vector process. Ingestion through the endpoint then
// search finds the related chunk first; a kill -9 of the worker mid-ingestion resumes without
// embedding the finished batches again, and the chunks upserted before the kill are still found.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <signal.h>

#include "cairn/ai/ingest.h"
#include "cairn/ai/vector_store.h"
#include "e2e/fixture.h"
#include "tests/ai/support/endpoint_process.h"

namespace cairn::testing {
namespace {

using ai::IngestDocument;
using ai::IngestRequest;
using ai::IngestResult;
using ai::VectorHit;
using nlohmann::json;

constexpr char kQueue[] = "vector";

std::vector<IngestDocument> knowledge_base() {
  return {
      {"refunds",
       "Refunds are paid back to the original card within five business days. A refund needs "
       "the order number and the reason for the return. Refunds for gift cards become store "
       "credit.",
       {{"topic", "billing"}}},
      {"shipping",
       "Parcels ship from our warehouse every weekday. Express shipping arrives the next day "
       "in most cities. International parcels may be held at customs for inspection.",
       {{"topic", "logistics"}}},
      {"passwords",
       "To reset a forgotten password open the login page and press the reset link. The reset "
       "email expires after one hour. Two-factor codes come from the authenticator app.",
       {{"topic", "account"}}},
      {"warranty",
       "Every laptop carries a two year warranty covering hardware faults. Batteries are "
       "covered for one year. Water damage is not covered by the warranty.",
       {{"topic", "support"}}},
  };
}

class VectorIngestTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    endpoint_ = std::make_unique<EndpointProcess>(endpoint_args());
    std::string error;
    ASSERT_TRUE(endpoint_->start(&error)) << error;
  }

  void TearDown() override {
    if (worker_) {
      worker_->stop();
      worker_.reset();
    }
    E2eTest::TearDown();
  }

  virtual std::vector<std::string> endpoint_args() { return {}; }

  void start_worker() {
    worker_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{CAIRN_AI_WORKER_DIR "/ai-worker-vector", "--server",
                                 server_->address(), "--task-queue", kQueue, "--vector-dir",
                                 dir_.path() + "/vectors", "--endpoint", endpoint_->base_url()},
        dir_.path() + "/worker-" + std::to_string(++workers_started_) + ".log");
  }

  void kill9_worker() {
    ::kill(worker_->pid(), SIGKILL);
    ASSERT_NE(worker_->wait(std::chrono::seconds(10)), -1);
    worker_.reset();
  }

  std::vector<VectorHit> search(const std::string& text, size_t k, json filter = nullptr) {
    auto h = client_->start("vector-test.search", {.task_queue = kQueue},
                            json{{"index", "kb"}, {"text", text}, {"k", k}, {"filter", filter}});
    return h.result<std::vector<VectorHit>>(std::chrono::seconds(60));
  }

  // Completed activities of `type` in the run's history.
  int completed(WorkflowHandle& h, const std::string& type) {
    std::map<int64_t, std::string> scheduled;
    int n = 0;
    for (const auto& e : h.history()) {
      if (e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
        scheduled[e.event_id()] =
            e.activity_task_scheduled_event_attributes().activity_type().name();
      } else if (e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
        n += scheduled[e.activity_task_completed_event_attributes().scheduled_event_id()] == type;
      }
    }
    return n;
  }

  std::unique_ptr<EndpointProcess> endpoint_;
  std::unique_ptr<ChildProcess> worker_;
  int workers_started_ = 0;
};

TEST_F(VectorIngestTest, IngestedDocumentsAreFoundByRelatedText) {
  start_worker();
  IngestRequest request;
  request.index = "kb";
  request.documents = knowledge_base();
  request.chunk_chars = 120;
  request.overlap = 20;
  request.batch_size = 3;
  auto h = client_->start(ai::kIngestWorkflow, {.id = "ingest-kb", .task_queue = kQueue}, request);
  auto result = h.result<IngestResult>(std::chrono::seconds(120));
  size_t expected_chunks = ai::chunk_documents(request).size();
  ASSERT_GT(expected_chunks, 4u) << "each document is cut into more than one chunk";
  EXPECT_EQ(result.chunks, expected_chunks);
  EXPECT_EQ(result.batches, (expected_chunks + 2) / 3);
  EXPECT_EQ(result.index_size, expected_chunks);
  EXPECT_GT(result.usage.prompt_tokens, 0);
  EXPECT_EQ(endpoint_->stats().at("embedding_requests"), static_cast<int64_t>(result.batches))
      << "one embedding call per batch";

  auto hits = search("how many days until my refund is paid back to the card", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].metadata.at("doc_id"), "refunds") << hits[0].metadata.dump();
  EXPECT_NE(hits[0].metadata.at("text").get<std::string>().find("five business days"),
            std::string::npos);
  EXPECT_EQ(search("reset link for a forgotten password", 1)[0].metadata.at("doc_id"), "passwords");
  EXPECT_EQ(search("is water damage covered by the laptop warranty", 1)[0].metadata.at("doc_id"),
            "warranty");
  // A metadata filter restricts the hits to one topic even for an unrelated question.
  for (const VectorHit& hit : search("express shipping", 5, {{"topic", "account"}})) {
    EXPECT_EQ(hit.metadata.at("doc_id"), "passwords");
  }
}

TEST_F(VectorIngestTest, SnapshotDeleteAndRestoreThroughActivities) {
  start_worker();
  IngestRequest request;
  request.index = "kb";
  request.documents = knowledge_base();
  request.chunk_chars = 120;
  request.overlap = 20;
  auto chunks = ai::chunk_documents(request);
  client_->start(ai::kIngestWorkflow, {.task_queue = kQueue}, request)
      .result<IngestResult>(std::chrono::seconds(120));
  std::vector<std::string> refunds;
  for (const auto& c : chunks) {
    if (c.metadata.at("doc_id") == "refunds") {
      refunds.push_back(c.id);
    }
  }
  ASSERT_GE(refunds.size(), 2u);

  std::string question = "how many days until my refund is paid back to the card";
  auto out = client_
                 ->start("vector-test.backup", {.task_queue = kQueue},
                         json{{"index", "kb"},
                              {"path", "before-cleanup"},
                              {"remove", refunds},
                              {"text", question}})
                 .result<json>(std::chrono::seconds(120));
  EXPECT_EQ(out.at("snapshot").at("size"), chunks.size());
  EXPECT_EQ(out.at("snapshot").at("path"), dir_.path() + "/vectors/.snapshots/before-cleanup");
  EXPECT_EQ(out.at("removed"), refunds.size());
  EXPECT_EQ(out.at("size_after_delete"), chunks.size() - refunds.size());
  for (const json& hit : out.at("hits_during")) {
    EXPECT_NE(hit.at("metadata").at("doc_id"), "refunds") << "a deleted chunk was found";
  }
  EXPECT_EQ(out.at("restored_size"), chunks.size());
  ASSERT_FALSE(out.at("hits_after").empty());
  EXPECT_EQ(out.at("hits_after")[0].at("metadata").at("doc_id"), "refunds");
}

TEST_F(VectorIngestTest, SearchOfAnUnknownIndexFailsNamingIt) {
  start_worker();
  auto h = client_->start("vector-test.search", {.task_queue = kQueue},
                          json{{"index", "missing"}, {"text", "anything"}, {"k", 3}});
  try {
    h.result<json>(std::chrono::seconds(60));
    FAIL() << "a search of a missing index succeeded";
  } catch (const WorkflowFailedError& e) {
    const v1::Failure& cause = e.failure().cause();
    EXPECT_EQ(cause.application_failure_info().type(), "IndexNotFound")
        << e.failure().DebugString();
    EXPECT_NE(cause.message().find("\"missing\""), std::string::npos) << cause.message();
  }
  // Non-retryable: the search failed on its first attempt, not after retries with backoff.
  int last_attempt = 0;
  for (const auto& e : h.history()) {
    if (e.event_type() == v1::EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      last_attempt = e.activity_task_started_event_attributes().attempt();
    }
  }
  EXPECT_EQ(last_attempt, 1);
}

class VectorIngestCrashTest : public VectorIngestTest {
 protected:
  // Slow embeddings, so the kill lands mid-ingestion.
  std::vector<std::string> endpoint_args() override { return {"--latency-ms", "300"}; }
};

TEST_F(VectorIngestCrashTest, Kill9MidIngestionResumesWithoutReEmbeddingDoneBatches) {
  start_worker();
  IngestRequest request;
  request.index = "kb";
  for (int copy = 0; copy < 3; ++copy) {
    for (IngestDocument doc : knowledge_base()) {
      doc.id += "-" + std::to_string(copy);
      doc.text = "Edition " + std::to_string(copy) + ". " + doc.text;
      request.documents.push_back(doc);
    }
  }
  request.chunk_chars = 120;
  request.overlap = 20;
  request.batch_size = 2;
  request.activity_timeout_ms = 3000;  // the killed worker's attempt times out quickly
  size_t chunks = ai::chunk_documents(request).size();
  size_t batches = (chunks + 1) / 2;
  ASSERT_GE(batches, 10u);
  auto h =
      client_->start(ai::kIngestWorkflow, {.id = "ingest-crash", .task_queue = kQueue}, request);
  ASSERT_TRUE(eventually([&] { return completed(h, "cairn.ai.vector.upsert") >= 3; },
                         std::chrono::seconds(60)));
  kill9_worker();
  int embedded_before = completed(h, "cairn.ai.embed");
  int64_t calls_at_kill = endpoint_->stats().at("embedding_requests");
  ASSERT_LT(static_cast<size_t>(embedded_before), batches) << "the kill came too late to matter";

  start_worker();  // the same vector directory: the store reopens from its files
  auto result = h.result<IngestResult>(std::chrono::seconds(180));
  EXPECT_EQ(result.batches, batches);
  EXPECT_EQ(result.index_size, chunks);
  EXPECT_EQ(completed(h, "cairn.ai.embed"), static_cast<int>(batches));

  // Every batch is embedded once, except that the one in flight at the kill (its answer lost
  // with the worker) may be embedded a second time.
  int64_t calls = endpoint_->stats().at("embedding_requests");
  RecordProperty("batches", static_cast<int>(batches));
  RecordProperty("embedded_before_kill", embedded_before);
  RecordProperty("embedding_calls_at_kill", static_cast<int>(calls_at_kill));
  RecordProperty("embedding_calls", static_cast<int>(calls));
  EXPECT_GE(calls, static_cast<int64_t>(batches));
  EXPECT_LE(calls, static_cast<int64_t>(batches) + 1);
  EXPECT_LE(calls - calls_at_kill, static_cast<int64_t>(batches) - embedded_before + 1)
      << "after the restart only the unfinished batches were embedded";

  // Chunks upserted by the killed worker survived in its store.
  auto first_chunk = ai::chunk_documents(request).front();
  auto hits = search(first_chunk.text, 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, first_chunk.id);
}

}  // namespace
}  // namespace cairn::testing
