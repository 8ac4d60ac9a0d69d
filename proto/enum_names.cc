#include "proto/enum_names.h"

#include <cctype>

namespace cairn {

std::string enum_camel_case(std::string_view enum_name, std::string_view prefix) {
  if (enum_name.substr(0, prefix.size()) == prefix) {
    enum_name.remove_prefix(prefix.size());
  }
  std::string out;
  bool word_start = true;
  for (char c : enum_name) {
    if (c == '_') {
      word_start = true;
      continue;
    }
    out.push_back(word_start ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    word_start = false;
  }
  return out;
}

std::string task_failure_name(const v1::WorkflowTaskFailureInfo& failure) {
  if (failure.timed_out()) {
    return "TimedOut";
  }
  switch (failure.cause()) {
    case v1::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR: return "NonDeterministicError";
    case v1::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE:
      return "WorkerUnhandledFailure";
    case v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND: return "BadCommand";
    case v1::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND: return "UnhandledCommand";
    case v1::WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW: return "ResetWorkflow";
    case v1::WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES: return "BadSearchAttributes";
    default: return "Unspecified";  // a worker that failed the task without saying why
  }
}

}  // namespace cairn
