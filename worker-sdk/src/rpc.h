// Small helpers for the SDK's gRPC calls: contexts with deadlines, status -> RpcError, and
// identity and request-id generation. Internal; thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

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

// The retry loop of the two calls below: runs call(context_for(remaining)) while it answers
// UNAVAILABLE, sleeping `first_backoff` doubling up to `max_backoff` between tries, until
// `retry_for` since the first try is spent (0: one try). `remaining` is the time left until that
// deadline (at least 1 ms). With `try_at_deadline` a backoff that would pass the deadline is cut
// short for one last try there; without, the loop ends instead. Returns the last status; *tries
// counts the calls.
template <class Call, class ContextFor>
grpc::Status retry_while_unavailable(Call&& call, ContextFor&& context_for,
                                     std::chrono::milliseconds retry_for,
                                     std::chrono::milliseconds first_backoff,
                                     std::chrono::milliseconds max_backoff, bool try_at_deadline,
                                     int* tries) {
  using std::chrono::milliseconds;
  const auto deadline = std::chrono::steady_clock::now() + retry_for;
  milliseconds backoff = first_backoff;
  for (;;) {
    auto remaining =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    auto ctx = context_for(std::max(remaining, milliseconds(1)));
    grpc::Status st = call(ctx.get());
    ++*tries;
    auto now = std::chrono::steady_clock::now();
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE || now >= deadline ||
        (!try_at_deadline && now + backoff >= deadline)) {
      return st;
    }
    std::this_thread::sleep_for(
        std::min(backoff, std::chrono::duration_cast<milliseconds>(deadline - now)));
    backoff = std::min(backoff * 2, max_backoff);
  }
}

// Runs call(context) until it returns something other than UNAVAILABLE or `budget` is spent,
// each try waiting for the channel to be ready for the rest of the budget. For task answers:
// after a server restart the task token is usually still valid, and a duplicate answer is
// refused with NOT_FOUND, so retrying beats waiting for the task timeout.
template <class Call>
grpc::Status call_with_retry(Call&& call, std::chrono::milliseconds budget = kRpcTimeout) {
  int tries = 0;
  return retry_while_unavailable(
      std::forward<Call>(call),
      [](std::chrono::milliseconds remaining) {
        return make_context(remaining, /*wait_for_ready=*/true);
      },
      budget, std::chrono::milliseconds(50), std::chrono::milliseconds(1000),
      /*try_at_deadline=*/false, &tries);
}

// The backoff of call_until_available: 100 ms, doubling, at most 2 s between tries.
inline constexpr std::chrono::milliseconds kUnavailableFirstBackoff{100};
inline constexpr std::chrono::milliseconds kUnavailableMaxBackoff{2'000};

// For client calls that carry an id the server deduplicates (start and signal request ids,
// update ids): runs call(context) — a fresh fail-fast context of `timeout` per try — again
// while it answers UNAVAILABLE, with backoff, until `retry_for` since the first try is spent
// (0: one try). The caller sends the same request every time, so a server that took a request
// and died before answering sees the retry as a duplicate. After retries are spent the status
// is UNAVAILABLE with a message saying how long it tried and against `address`.
template <class Call>
grpc::Status call_until_available(Call&& call, std::chrono::milliseconds timeout,
                                  std::chrono::milliseconds retry_for, const std::string& address) {
  using std::chrono::milliseconds;
  const auto start = std::chrono::steady_clock::now();
  int tries = 0;
  grpc::Status st = retry_while_unavailable(
      std::forward<Call>(call), [timeout](milliseconds) { return make_context(timeout); },
      retry_for, kUnavailableFirstBackoff, kUnavailableMaxBackoff, /*try_at_deadline=*/true,
      &tries);
  if (st.error_code() != grpc::StatusCode::UNAVAILABLE || retry_for.count() <= 0) {
    return st;
  }
  auto spent = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      st.error_message() + " (server " + address + " unavailable; tried " +
                          std::to_string(tries) + " times over " + std::to_string(spent.count()) +
                          " ms, the client's unavailable_retry_deadline of " +
                          std::to_string(retry_for.count()) + " ms)");
}

std::string default_identity();
// A random (non-deterministic) UUID v4, for request ids and workflow ids.
std::string random_uuid();

}  // namespace cairn::detail
