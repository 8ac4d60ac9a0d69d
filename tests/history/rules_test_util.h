// Test harness for the transition rules: a fake sequence allocator, command builders, and a
// fixture that drives one run the way the server does (each transition on a copy of the state,
// committed only on OK) while keeping the history, the pending tasks and the pending timers, and
// checking after every commit that event ids are consecutive and that rebuilding the state from
// the history gives the live state's event-derived fields. Fixed times, no sleeps. Not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "history/transitions.h"

namespace cairn::rules_test {

class FakeSequence final : public SequenceAllocator {
 public:
  int64_t next() override { return ++last_; }

 private:
  int64_t last_ = 0;
};

inline v1::Payloads payloads(const std::string& data) {
  v1::Payloads p;
  p.add_payloads()->set_data(data);
  return p;
}

inline std::vector<v1::EventType> types_of(const std::vector<v1::HistoryEvent>& events) {
  std::vector<v1::EventType> out;
  for (const auto& e : events) {
    out.push_back(e.event_type());
  }
  return out;
}

inline v1::Failure app_failure(const std::string& message, const std::string& type = "Error",
                               bool non_retryable = false) {
  v1::Failure f;
  f.set_message(message);
  f.mutable_application_failure_info()->set_type(type);
  f.mutable_application_failure_info()->set_non_retryable(non_retryable);
  return f;
}

// A retry policy; 0 leaves a field unset (its default applies).
inline v1::RetryPolicy retry_policy(int64_t initial_ms, double coefficient,
                                    int32_t maximum_attempts) {
  v1::RetryPolicy p;
  p.set_initial_interval_ms(initial_ms);
  p.set_backoff_coefficient(coefficient);
  p.set_maximum_attempts(maximum_attempts);
  return p;
}

struct ActivityOptions {
  std::string id = "a1";
  std::string type = "echo";
  std::string input = "in";
  int64_t schedule_to_close = 0;
  int64_t schedule_to_start = 0;
  int64_t start_to_close = 10'000;
  int64_t heartbeat = 0;
  v1::RetryPolicy retry = v1::RetryPolicy();  // unset: the defaults
};

inline v1::Command schedule_activity(const ActivityOptions& o = {}) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
  auto* a = c.mutable_schedule_activity_task_command_attributes();
  a->set_activity_id(o.id);
  a->mutable_activity_type()->set_name(o.type);
  *a->mutable_input() = payloads(o.input);
  a->set_schedule_to_close_timeout_ms(o.schedule_to_close);
  a->set_schedule_to_start_timeout_ms(o.schedule_to_start);
  a->set_start_to_close_timeout_ms(o.start_to_close);
  a->set_heartbeat_timeout_ms(o.heartbeat);
  *a->mutable_retry_policy() = o.retry;
  return c;
}

inline v1::Command start_timer(const std::string& id, int64_t ms) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_START_TIMER);
  c.mutable_start_timer_command_attributes()->set_timer_id(id);
  c.mutable_start_timer_command_attributes()->set_start_to_fire_timeout_ms(ms);
  return c;
}

inline v1::Command cancel_timer(const std::string& id) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_CANCEL_TIMER);
  c.mutable_cancel_timer_command_attributes()->set_timer_id(id);
  return c;
}

inline v1::Command request_cancel_activity(int64_t scheduled_event_id) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK);
  c.mutable_request_cancel_activity_task_command_attributes()->set_scheduled_event_id(
      scheduled_event_id);
  return c;
}

inline v1::Command complete_workflow(const std::string& result) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
  *c.mutable_complete_workflow_execution_command_attributes()->mutable_result() = payloads(result);
  return c;
}

inline v1::Command fail_workflow(const std::string& message) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION);
  *c.mutable_fail_workflow_execution_command_attributes()->mutable_failure() = app_failure(message);
  return c;
}

inline v1::Command cancel_workflow() {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION);
  c.mutable_cancel_workflow_execution_command_attributes();
  return c;
}

inline v1::Command record_marker(const std::string& name) {
  v1::Command c;
  c.set_command_type(v1::COMMAND_TYPE_RECORD_MARKER);
  c.mutable_record_marker_command_attributes()->set_marker_name(name);
  return c;
}

// The event-derived part of a run's state: what rebuild_from_events() must reproduce.
v1::RunState event_derived(v1::RunState s);

class RulesTest : public ::testing::Test {
 protected:
  using Body = std::function<Status(MutableState*, const TransitionEnv&, Effects*)>;
  static constexpr int32_t kShard = 3;
  static constexpr int64_t kStartMs = 1'000'000;

  RulesTest();

  TransitionEnv env() const { return TransitionEnv{now_, &seq_, &limits_, kShard}; }

  static v1::StartWorkflowExecutionRequest start_request();

  // Runs `body` on a copy of the state; on OK commits it (state, events, tasks, timers) and checks
  // the invariants. On error the committed state is untouched.
  Status transact(const Body& body);

  // Starts the run (asserting OK).
  void start(const v1::StartWorkflowExecutionRequest& request = start_request());

  // The pending task of `kind` (for activities: of that scheduled event id). Fails the test and
  // returns an empty record when there is none.
  v1::TaskRecord pending_task(v1::TaskKind kind, int64_t scheduled_event_id = 0) const;
  int count_tasks(v1::TaskKind kind) const;

  // The earliest pending timer of `kind` (and event id, when given), if any.
  std::optional<v1::TimerRecord> find_timer(v1::TimerKind kind, int64_t event_id = -1) const;

  // Polls the pending workflow task; fails the test and returns an empty token on error.
  v1::TaskToken start_wft(const std::string& identity = "worker-1");
  Status complete_wft(const v1::TaskToken& token, const std::vector<v1::Command>& commands);
  // Starts a pending workflow task and completes it with `commands`, asserting OK.
  void run_wft(const std::vector<v1::Command>& commands);

  // Polls the activity task of `scheduled_event_id`.
  ActivityStart start_activity(int64_t scheduled_event_id, const std::string& identity = "aw-1");

  // Advances the clock to the timer's fire time (never backwards) and fires it. Stale timers must
  // change nothing; either way the record leaves the pending timers.
  Result<bool> fire(const v1::TimerRecord& timer);

  // Events appended by the last committed transition.
  const std::vector<v1::HistoryEvent>& last_events() const { return last_.events; }
  const v1::HistoryEvent& event(int64_t id) const { return history_.at(id - 1); }

  Limits limits_;
  mutable FakeSequence seq_;
  int64_t now_ = kStartMs;
  RunKey key_;
  MutableState ms_;
  std::vector<v1::HistoryEvent> history_;
  std::map<int64_t, v1::TaskRecord> tasks_;    // by task_id
  std::map<int64_t, v1::TimerRecord> timers_;  // by timer_seq
  Effects last_;

 private:
  void check_commit(const MutableState& next, const Effects& out);
};

}  // namespace cairn::rules_test
