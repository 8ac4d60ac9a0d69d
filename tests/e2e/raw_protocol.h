// RawProtocolTest: E2eTest plus a raw WorkflowService stub, for tests that speak the worker
// protocol themselves (poll, complete, fail) to check what the server does without an SDK.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cairn/v1/service.grpc.pb.h"
#include "e2e/fixture.h"

namespace cairn::testing {

class RawProtocolTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::WorkflowService::NewStub(channel_);
  }

  // A context for one call, with a deadline `timeout` from now.
  static std::unique_ptr<grpc::ClientContext> ctx(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + timeout);
    return c;
  }

  // One long poll of `tq` as "raw-poller" (an empty task token: nothing came within 20 s).
  v1::PollWorkflowTaskQueueResponse poll_workflow_task(const std::string& tq) {
    v1::PollWorkflowTaskQueueRequest req;
    req.set_task_queue(tq);
    req.set_identity("raw-poller");
    v1::PollWorkflowTaskQueueResponse resp;
    auto status = stub_->PollWorkflowTaskQueue(ctx(std::chrono::seconds(20)).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  // The current run's history (one page: these tests' runs are short).
  std::vector<v1::HistoryEvent> history(const std::string& id) {
    v1::GetWorkflowExecutionHistoryRequest req;
    req.mutable_execution()->set_workflow_id(id);
    v1::GetWorkflowExecutionHistoryResponse resp;
    auto status = stub_->GetWorkflowExecutionHistory(ctx().get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {resp.history().events().begin(), resp.history().events().end()};
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkflowService::Stub> stub_;
};

}  // namespace cairn::testing
