// RawProtocolTest: E2eTest plus a raw WorkflowService stub, for tests that speak the worker
// protocol themselves (poll, complete, fail) to check what the server does without an SDK.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>

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

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkflowService::Stub> stub_;
};

}  // namespace cairn::testing
