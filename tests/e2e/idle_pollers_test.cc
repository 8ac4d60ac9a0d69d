// End to end: 1,000 parked long-polls cost the server a few bytes each, not a thread each, and
// all of them are answered (empty, OK) when the server shuts down gracefully.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cairn/v1/service.grpc.pb.h"
#include "e2e/server_process.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

// The thread count of a process, from /proc/<pid>/status; -1 when unreadable.
int thread_count(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) {
      return std::stoi(line.substr(8));
    }
  }
  return -1;
}

int64_t waiting_polls(v1::WorkflowService::Stub& stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  v1::GetSystemInfoResponse resp;
  auto st = stub.GetSystemInfo(&ctx, v1::GetSystemInfoRequest(), &resp);
  return st.ok() ? resp.waiting_polls() : -1;
}

TEST(IdlePollersTest, ThousandParkedPollsDoNotCostAThreadEachAndAreAnsweredOnShutdown) {
  constexpr int kPolls = 1000;
  TempDir dir;
  ServerProcess server(dir.path() + "/data");
  std::string error;
  ASSERT_TRUE(server.start(0, 30s, &error)) << error;
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::WorkflowService::NewStub(channel);
  int threads_before = thread_count(server.pid());
  ASSERT_GT(threads_before, 0);

  // Half workflow-task polls, half activity-task polls, on 10 queues; all async on one
  // completion queue, so the test itself needs no thread per poll either.
  struct Call {
    grpc::ClientContext ctx;
    grpc::Status status;
    v1::PollWorkflowTaskQueueResponse wf;
    v1::PollActivityTaskQueueResponse act;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::PollWorkflowTaskQueueResponse>> wf_reader;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::PollActivityTaskQueueResponse>> act_reader;
  };
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < kPolls; ++i) {
    auto call = std::make_unique<Call>();
    call->ctx.set_deadline(std::chrono::system_clock::now() + 120s);
    std::string queue = "idle-" + std::to_string(i % 10);
    if (i % 2 == 0) {
      v1::PollWorkflowTaskQueueRequest req;
      req.set_task_queue(queue);
      call->wf_reader = stub->AsyncPollWorkflowTaskQueue(&call->ctx, req, &cq);
      call->wf_reader->Finish(&call->wf, &call->status, call.get());
    } else {
      v1::PollActivityTaskQueueRequest req;
      req.set_task_queue(queue);
      call->act_reader = stub->AsyncPollActivityTaskQueue(&call->ctx, req, &cq);
      call->act_reader->Finish(&call->act, &call->status, call.get());
    }
    calls.push_back(std::move(call));
  }
  ASSERT_TRUE(await_until([&] { return waiting_polls(*stub) == kPolls; }, 60s))
      << "waiting polls: " << waiting_polls(*stub);

  int threads_parked = thread_count(server.pid());
  EXPECT_LT(threads_parked - threads_before, 50)
      << "threads before: " << threads_before << ", with " << kPolls << " parked polls: "
      << threads_parked;

  // Graceful shutdown answers every parked poll with an empty response, well before its deadline.
  // The client keeps reading while the server stops (as a worker would), so SIGTERM is sent by
  // hand and the exit is reaped after the answers are in.
  auto stop_started = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
  int answered = 0;
  int empty_ok = 0;
  void* tag = nullptr;
  bool ok = false;
  while (answered < kPolls &&
         cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + 30s) ==
             grpc::CompletionQueue::GOT_EVENT) {
    auto* call = static_cast<Call*>(tag);
    ++answered;
    bool empty = call->wf_reader ? call->wf.task_token().empty() : call->act.task_token().empty();
    if (call->status.ok() && empty) {
      ++empty_ok;
    }
  }
  EXPECT_EQ(answered, kPolls);
  EXPECT_EQ(empty_ok, kPolls);
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, 30s);
  EXPECT_EQ(server.stop(), 0) << server.log();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace cairn::testing
