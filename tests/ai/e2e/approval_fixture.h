// ApprovalTest: a real cairn-server with the approval search attributes registered, a worker
// whose workflow "approval.demo" calls cairn::ai::request_approval with the request given as
// its JSON input, and helpers to run cairnctl with -o json and to wait for an approval's state.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/ai/approval.h"
#include "cairn/replayer.h"
#include "e2e/ctl_fixture.h"

namespace cairn::testing {

namespace ai = cairn::ai;
using nlohmann::json;

// "approval.demo": request_approval with the request given as JSON; returns the decision.
// With "hold", waits for the signal "done" afterwards (the run stays open for late answers).
inline ai::ApprovalDecision approval_demo(WorkflowContext& ctx, const json& in) {
  ai::ApprovalRequest r;
  r.id = in.value("id", "");
  r.what = in.value("what", "");
  r.details = in.value("details", json());
  r.approvers = in.value("approvers", std::vector<std::string>{});
  r.timeout = std::chrono::milliseconds(in.value("timeout_ms", 60'000));
  r.escalation.approvers = in.value("escalation", std::vector<std::string>{});
  r.escalation.timeout = std::chrono::milliseconds(in.value("escalation_timeout_ms", 0));
  r.webhook_url = in.value("webhook_url", "");
  ai::ApprovalDecision d = ai::request_approval(ctx, r);
  if (in.value("hold", false)) {
    ctx.signal<std::string>("done").wait();
  }
  return d;
}

class ApprovalTest : public CtlTest {
 protected:
  void SetUp() override {
    CtlTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    ai::register_approval_search_attributes(*client_);
    Worker& w = new_worker("approvals");
    w.register_workflow("approval.demo", approval_demo);
    ai::ApprovalActivityOptions o;
    o.on_decided = [this](double wait_seconds, const ai::ApprovalDecision& d) {
      std::lock_guard lock(mu_);
      waits_.push_back(wait_seconds);
      decided_.push_back(d);
    };
    ai::register_approval_activities(w, o);
    w.start();
  }

  // Starts "approval.demo" as workflow `id` with `request` (defaults: alice and bob approve,
  // one minute).
  WorkflowHandle start_approval(const std::string& id, json request) {
    if (!request.contains("approvers")) {
      request["approvers"] = {"alice", "bob"};
    }
    if (!request.contains("what")) {
      request["what"] = "refund $420 to customer c-17";
    }
    return client_->start("approval.demo", start_options(id, "approvals"), request);
  }

  // The approval's status once `done(status)` holds (polling the query), or the last one seen.
  ai::ApprovalStatus await_status(const std::string& id,
                                  const std::function<bool(const ai::ApprovalStatus&)>& done,
                                  std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    ai::ApprovalStatus last;
    eventually(
        [&] {
          try {
            last = ai::approval_status(*client_, id);
            return done(last);
          } catch (const std::exception&) {
            return false;  // the first workflow task has not run yet
          }
        },
        limit);
    return last;
  }

  ai::ApprovalStatus await_state(const std::string& id, const std::string& state,
                                 std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    return await_status(
        id, [&](const ai::ApprovalStatus& s) { return s.state == state; }, limit);
  }

  // cairnctl -o json ARGS: its stdout parsed; the exit code must be `expected_exit`.
  json ctl_json(std::vector<std::string> args, int expected_exit = 0) {
    std::string shown;
    for (const auto& a : args) {
      shown += a + " ";
    }
    args.insert(args.begin(), {"-o", "json"});
    Run r = ctl_split(args);
    EXPECT_EQ(r.exit, expected_exit) << shown << "\n" << r.output << r.errors;
    json j = json::parse(r.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << shown << ": stdout is not JSON:\n" << r.output;
    return j;
  }

  // The closed run `id` replays against the same code without the server's answers: the
  // same commands, so the same decision.
  void expect_replays(const std::string& id) {
    Replayer replayer;
    replayer.register_workflow("approval.demo", approval_demo);
    ReplayVerdict v = replayer.replay_from_server(*client_, id);
    EXPECT_TRUE(v.ok()) << id << ": " << v.message;
    EXPECT_GT(v.event_count, 5u);
  }

  std::vector<std::string> awaiting_ids() {
    std::vector<std::string> ids;
    for (const auto& info : list_runs("AwaitingApproval = true")) {
      ids.push_back(info.execution().workflow_id());
    }
    return ids;
  }

  std::vector<double> waits() {
    std::lock_guard lock(mu_);
    return waits_;
  }

  std::mutex mu_;
  std::vector<double> waits_;
  std::vector<ai::ApprovalDecision> decided_;
};

}  // namespace cairn::testing
