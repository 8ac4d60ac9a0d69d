// The client side of the stack workflow: submit a request (starting the entity when it is not
// running), read its status, wait for a deploy, and plan against the recorded state.
#include <thread>

#include "cairn/ai/approval.h"
#include "cairn/deploy/stack.h"
#include "stack_internal.h"

namespace cairn::deploy {

using nlohmann::json;
using namespace stack_detail;

namespace {

void register_stack_attribute(Client& client) {
  v1::AddSearchAttributesRequest req;
  req.set_namespace_(client.options().ns);
  (*req.mutable_search_attributes())[kStackAttribute] = v1::INDEXED_VALUE_TYPE_KEYWORD;
  v1::AddSearchAttributesResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status st = client.stub().AddSearchAttributes(&ctx, req, &resp);
  if (!st.ok()) {
    throw RpcError(st.error_code(), "registering the search attribute " +
                                        std::string(kStackAttribute) + " in namespace " +
                                        client.options().ns + ": " + st.error_message());
  }
}

// A refusal by the workflow's validator, with its type, or nullopt.
std::optional<StackRequestError> refusal_of(const std::string& message) {
  for (const std::string& type : refusal_types()) {
    size_t at = message.find(type + ": ");
    if (at != std::string::npos) {
      return StackRequestError(message.substr(at + type.size() + 2), type);
    }
  }
  return std::nullopt;
}

}  // namespace

StackAccepted submit_stack_request(Client& client, const std::string& stack,
                                   const StackRequest& request,
                                   const StackClientOptions& options) {
  if (stack.empty()) {
    throw OptionsError("stack request: stack: must name the stack", "stack");
  }
  std::string problem = request_problem(request);
  if (!problem.empty()) {
    throw OptionsError("stack request: " + problem, problem.substr(0, problem.find(':')));
  }
  ai::register_approval_search_attributes(client);
  register_stack_attribute(client);
  StartWorkflowOptions so;
  so.id = stack_workflow_id(stack);
  so.task_queue = options.task_queue;
  so.id_conflict_policy = v1::WORKFLOW_ID_CONFLICT_POLICY_FAIL;
  so.search_attributes[kStackAttribute] = to_payload(stack);
  EntityState initial;
  initial.status.stack = stack;
  try {
    client.start(kStackWorkflow, so, initial);
  } catch (const RpcError& e) {
    if (e.code() != grpc::StatusCode::ALREADY_EXISTS) {
      throw;
    }
    // Already running: the request goes to that run.
  }
  try {
    v1::Payloads p = client.handle(stack_workflow_id(stack))
                         .update_payloads(options.update_id, kStackRequestUpdate,
                                          to_payloads(request), options.timeout);
    return from_payloads<StackAccepted>(p);
  } catch (const ApplicationError& e) {
    if (auto r = refusal_of(e.what())) {
      throw *r;
    }
    throw;
  }
}

StackStatus stack_status(Client& client, const std::string& stack) {
  return client.handle(stack_workflow_id(stack)).query<StackStatus>(kStackStatusQuery);
}

DeployRecord wait_for_deploy(Client& client, const std::string& stack,
                             const std::string& deploy_id, std::chrono::milliseconds timeout,
                             const std::function<void(const DeployRecord&)>& on_progress,
                             std::chrono::milliseconds poll) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  json last;
  for (;;) {
    std::optional<DeployRecord> found;
    try {
      StackStatus s = stack_status(client, stack);
      if (s.running && s.running->deploy_id == deploy_id) {
        found = s.running;
      }
      for (const auto& d : s.queued) {
        if (d.deploy_id == deploy_id) {
          found = d;
        }
      }
      for (const auto& d : s.recent) {
        if (d.deploy_id == deploy_id) {
          found = d;
        }
      }
    } catch (const RpcError& e) {
      // The server restarting, or no worker answering for a moment: poll again.
      if (e.code() != grpc::StatusCode::UNAVAILABLE &&
          e.code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
          e.code() != grpc::StatusCode::NOT_FOUND) {
        throw;
      }
    }
    if (found) {
      json now = *found;
      if (now != last) {
        last = now;
        if (on_progress) {
          on_progress(*found);
        }
      }
      if (found->finished()) {
        return *found;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw TimeoutError("deploy " + deploy_id + " of stack " + stack + " did not finish within " +
                             std::to_string(timeout.count()) + " ms" +
                             (found ? " (state " + found->state + ", phase " + found->phase + ")"
                                    : ""),
                         v1::TIMEOUT_TYPE_UNSPECIFIED);
    }
    std::this_thread::sleep_for(poll);
  }
}

Plan plan_against_recorded(Client& client, const StackSpec& spec) {
  StackState current;
  try {
    current = stack_status(client, spec.name).stack_state();
  } catch (const RpcError& e) {
    if (e.code() != grpc::StatusCode::NOT_FOUND) {
      throw;
    }
  }
  return make_plan(spec, current);
}

}  // namespace cairn::deploy
