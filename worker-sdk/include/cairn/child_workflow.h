// Child workflows from workflow code: ChildWorkflowOptions and the ChildWorkflow<R> handle that
// WorkflowContext::child() returns. Like every workflow future, a handle belongs to one workflow
// fiber. Included by cairn/workflow.h.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "cairn/options.h"
#include "cairn/workflow.h"

namespace cairn {

// What happens to a child when its parent closes first (Temporal's ParentClosePolicy).
enum class ParentClosePolicy {
  kTerminate,      // the child is terminated (the default)
  kRequestCancel,  // the child is asked to cancel
  kAbandon,        // the child runs on
};

// Which closed run of the same workflow id a child may follow (Temporal's reuse policy).
enum class WorkflowIdReusePolicy {
  kAllowDuplicate,
  kAllowDuplicateFailedOnly,
  kRejectDuplicate,
};

// Zero / empty means "unset": the server applies its defaults. ctx.child() throws OptionsError
// (nothing is started) for a negative timeout, a task_timeout over 120 s, a bad retry policy
// (the rules of ActivityOptions::retry), an id or task_queue over 1000 bytes or not printable
// UTF-8, a namespace_ with characters other than letters, digits, '-', '_' and '.', or a search
// attribute name that cannot be registered.
struct ChildWorkflowOptions {
  std::string id;          // empty: "<parent run id>-child-<n>" (deterministic)
  std::string task_queue;  // empty: the parent's task queue
  std::string namespace_;  // empty: the parent's namespace
  std::chrono::milliseconds execution_timeout{0};
  std::chrono::milliseconds run_timeout{0};
  std::chrono::milliseconds task_timeout{0};
  std::optional<RetryPolicy> retry;  // unset: the child is not retried
  ParentClosePolicy parent_close_policy = ParentClosePolicy::kTerminate;
  WorkflowIdReusePolicy id_reuse_policy = WorkflowIdReusePolicy::kAllowDuplicate;
  PayloadMap memo;
  PayloadMap search_attributes;
};

// A started (or starting) child workflow.
template <class R>
class ChildWorkflow {
 public:
  ChildWorkflow(detail::WorkflowCore* core, detail::ChildStart start)
      : core_(core), start_(std::move(start)) {}

  const std::string& workflow_id() const { return start_.workflow_id; }

  // Whether the server reported the child's start (or its failure to start).
  bool started_ready() const { return start_.started->ready; }

  // Waits until the child has started and returns its run id. Throws ChildWorkflowError when it
  // could not start (its workflow id is taken).
  std::string started() {
    core_->await(*start_.started);
    if (start_.started->error) {
      std::rethrow_exception(start_.started->error);
    }
    return from_payloads<std::string>(start_.started->value);
  }

  bool ready() const { return start_.result->ready; }

  // Waits for the child's result. Throws ChildWorkflowError when the child failed, was canceled,
  // terminated or timed out, or could not start.
  R get() { return result().get(); }

  // The result as a plain Future (for combinators).
  Future<R> result() const { return Future<R>(core_, start_.result); }

 private:
  detail::WorkflowCore* core_;
  detail::ChildStart start_;
};

}  // namespace cairn
