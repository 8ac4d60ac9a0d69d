// SDK exceptions <-> proto Failure.
#include "failure.h"

#include <typeinfo>

#include "cairn/payload.h"

namespace cairn {

ApplicationError& ApplicationError::set_next_retry_delay(std::chrono::milliseconds delay) {
  if (delay.count() < 0) {
    throw OptionsError("application error \"" + std::string(what()) +
                           "\": next_retry_delay must not be negative (got " +
                           std::to_string(delay.count()) + " ms)",
                       "next_retry_delay");
  }
  next_retry_delay_ = delay;
  return *this;
}

}  // namespace cairn

namespace cairn::detail {

v1::Failure to_failure(std::exception_ptr error) {
  v1::Failure f;
  f.set_source(kFailureSource);
  try {
    std::rethrow_exception(error);
  } catch (const ApplicationError& e) {
    f.set_message(e.what());
    auto* info = f.mutable_application_failure_info();
    info->set_type(e.type());
    info->set_non_retryable(e.non_retryable());
    *info->mutable_details() = e.details();
    info->set_next_retry_delay_ms(e.next_retry_delay().count());
  } catch (const CanceledError& e) {
    f.set_message(e.what());
    *f.mutable_canceled_failure_info()->mutable_details() = e.details();
  } catch (const TimeoutError& e) {
    f.set_message(e.what());
    f.mutable_timeout_failure_info()->set_timeout_type(e.timeout_type());
  } catch (const ActivityError& e) {
    f.set_message(e.what());
    auto* info = f.mutable_activity_failure_info();
    info->mutable_activity_type()->set_name(e.activity_type());
    info->set_activity_id(e.activity_id());
    info->set_retry_state(e.retry_state());
    *f.mutable_cause() = e.cause();
  } catch (const std::exception& e) {
    f.set_message(e.what());
    f.mutable_application_failure_info()->set_type(demangle(typeid(e).name()));
  } catch (...) {
    f.set_message("unknown exception (not derived from std::exception)");
    f.mutable_application_failure_info()->set_type("unknown");
  }
  return f;
}

std::exception_ptr activity_error(const std::string& activity_type, const std::string& activity_id,
                                  v1::RetryState retry_state, const v1::Failure& cause,
                                  int64_t scheduled_event_id) {
  std::string message = "activity " + activity_type + " (id " + activity_id + ", event " +
                        std::to_string(scheduled_event_id) + ") ";
  if (cause.has_timeout_failure_info()) {
    message += "timed out (" + v1::TimeoutType_Name(cause.timeout_failure_info().timeout_type()) + ")";
  } else if (cause.has_canceled_failure_info()) {
    message += "was canceled";
  } else {
    message += "failed";
  }
  if (!cause.message().empty()) {
    message += ": " + cause.message();
  }
  return std::make_exception_ptr(
      ActivityError(message, activity_type, activity_id, retry_state, cause));
}

}  // namespace cairn::detail
