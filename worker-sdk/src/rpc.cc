// gRPC call helpers.
#include "rpc.h"

#include <unistd.h>

#include <random>

#include "proto/uuid.h"

namespace cairn::detail {

std::unique_ptr<grpc::ClientContext> make_context(std::chrono::milliseconds timeout,
                                                  bool wait_for_ready) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  ctx->set_wait_for_ready(wait_for_ready);
  return ctx;
}

std::string status_code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

void check(const grpc::Status& status, const std::string& what) {
  if (!status.ok()) {
    throw RpcError(status.error_code(), what + ": " + status_code_name(status.error_code()) +
                                            ": " + status.error_message());
  }
}

std::string default_identity() {
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  return std::to_string(::getpid()) + "@" + host;
}

std::string random_uuid() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  uint64_t hi = rng();
  uint64_t lo = rng();
  return format_uuid_v4(hi, lo);
}

}  // namespace cairn::detail
