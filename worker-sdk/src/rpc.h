// Small helpers for the SDK's gRPC calls: contexts with deadlines, status -> RpcError, and
// identity and request-id generation. Internal; thread-safe.
#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>
#include <string>

#include "cairn/errors.h"

namespace cairn::detail {

// Unary calls that should answer quickly.
inline constexpr std::chrono::seconds kRpcTimeout{10};
// Long-polls: a little past the server's ~60 s answer, so the server answers first.
inline constexpr std::chrono::seconds kLongPollTimeout{70};

// A context with a deadline `timeout` from now. wait_for_ready: wait (up to the deadline) for
// the channel to connect instead of failing at once while the server is down.
std::unique_ptr<grpc::ClientContext> make_context(std::chrono::milliseconds timeout,
                                                  bool wait_for_ready = false);

// Throws RpcError "<what>: <code name>: <message>" unless `status` is OK.
void check(const grpc::Status& status, const std::string& what);

std::string status_code_name(grpc::StatusCode code);
std::string default_identity();
// A random (non-deterministic) UUID v4, for request ids and workflow ids.
std::string random_uuid();

}  // namespace cairn::detail
