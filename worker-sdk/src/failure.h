// Conversion between SDK exceptions and the proto Failure, at the SDK boundary. Internal.
#pragma once

#include <exception>

#include "cairn/errors.h"
#include "cairn/v1/common.pb.h"

namespace cairn::detail {

inline constexpr char kFailureSource[] = "CppSDK";

// The Failure for the exception in `error`: ApplicationError keeps its type, retry flag and
// details; CanceledError becomes a canceled failure; TimeoutError a timeout failure; any other
// std::exception an application failure whose type is the exception's (demangled) class name.
v1::Failure to_failure(std::exception_ptr error);

// The exception a workflow sees for an activity that failed, timed out or was canceled.
std::exception_ptr activity_error(const std::string& activity_type, const std::string& activity_id,
                                  v1::RetryState retry_state, const v1::Failure& cause,
                                  int64_t scheduled_event_id);

}  // namespace cairn::detail
