#include "tests/history/rules_test_util.h"

namespace cairn::rules_test {

v1::RunState event_derived(v1::RunState s) { return event_derived_state(std::move(s)); }

RulesTest::RulesTest() : key_{ShardId{kShard}, "default", "wf-1", RunId{"run-1"}} {}

v1::StartWorkflowExecutionRequest RulesTest::start_request() {
  v1::StartWorkflowExecutionRequest r;
  r.set_namespace_("default");
  r.set_workflow_id("wf-1");
  r.mutable_workflow_type()->set_name("order");
  r.set_task_queue("orders");
  *r.mutable_input() = payloads("hello");
  r.set_identity("client-1");
  r.set_request_id("req-1");
  return r;
}

Status RulesTest::transact(const Body& body) {
  MutableState next = ms_;
  Effects out;
  Status st = body(&next, env(), &out);
  if (!st.ok()) {
    return st;
  }
  check_commit(next, out);
  ms_ = std::move(next);
  for (const auto& e : out.events) {
    history_.push_back(e);
  }
  for (const auto& t : out.remove_tasks) {
    EXPECT_EQ(tasks_.erase(t.task_id()), 1u) << "removed a task that was not pending";
  }
  for (const auto& t : out.add_tasks) {
    tasks_[t.task_id()] = t;
  }
  for (const auto& t : out.remove_timers) {
    timers_.erase(t.timer_seq());
  }
  for (const auto& t : out.add_timers) {
    timers_[t.timer_seq()] = t;
  }
  last_ = std::move(out);
  return Status();
}

void RulesTest::check_commit(const MutableState& next, const Effects& out) {
  int64_t expected = static_cast<int64_t>(history_.size()) + 1;
  for (const auto& e : out.events) {
    EXPECT_EQ(e.event_id(), expected) << e.DebugString();
    EXPECT_LE(e.event_time_ms(), now_);  // flushed events keep their arrival time
    ++expected;
  }
  EXPECT_EQ(next.next_event_id(), expected);
  for (const auto& t : out.add_tasks) {
    EXPECT_EQ(t.shard(), kShard);
    EXPECT_GE(t.task_id(), 1);
  }
  for (const auto& t : out.add_timers) {
    EXPECT_EQ(t.shard(), kShard);
    EXPECT_GE(t.timer_seq(), 1);
    EXPECT_GE(t.fire_time_ms(), now_);
  }
  if (next.state().buffered_events_size() != 0) {
    return;  // buffered effects are applied ahead of their place in history
  }
  std::vector<v1::HistoryEvent> all = history_;
  all.insert(all.end(), out.events.begin(), out.events.end());
  auto rebuilt = rebuild_from_events(all, key_.ns, key_.workflow_id, key_.run_id.value);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().to_string();
  v1::RunState want = event_derived(next.state());
  v1::RunState got = event_derived(rebuilt->state());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(want, got))
      << "live:\n" << want.DebugString() << "rebuilt:\n" << got.DebugString();
}

void RulesTest::start(const v1::StartWorkflowExecutionRequest& request) {
  ASSERT_TRUE(validate_start_request(request, limits_).ok());
  Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
    return start_workflow(request, key_, std::nullopt, nullptr, env, ms, out);
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
}

v1::TaskRecord RulesTest::pending_task(v1::TaskKind kind, int64_t scheduled_event_id) const {
  for (const auto& [id, t] : tasks_) {
    if (t.kind() == kind && (scheduled_event_id == 0 || t.scheduled_event_id() == scheduled_event_id)) {
      return t;
    }
  }
  ADD_FAILURE() << "no pending " << v1::TaskKind_Name(kind) << " task for event "
                << scheduled_event_id;
  return v1::TaskRecord();
}

int RulesTest::count_tasks(v1::TaskKind kind) const {
  int n = 0;
  for (const auto& [id, t] : tasks_) {
    n += t.kind() == kind ? 1 : 0;
  }
  return n;
}

std::optional<v1::TimerRecord> RulesTest::find_timer(v1::TimerKind kind, int64_t event_id) const {
  std::optional<v1::TimerRecord> best;
  for (const auto& [seq, t] : timers_) {
    if (t.kind() == kind && (event_id < 0 || t.event_id() == event_id) &&
        (!best || t.fire_time_ms() < best->fire_time_ms())) {
      best = t;
    }
  }
  return best;
}

v1::TaskToken RulesTest::start_wft(const std::string& identity) {
  v1::TaskRecord task = pending_task(v1::TASK_KIND_WORKFLOW);
  v1::TaskToken token;
  Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
    auto r = start_workflow_task(ms, task, identity, "poll-1", env, out);
    if (r.ok()) {
      token = *r;
    }
    return r.status();
  });
  EXPECT_TRUE(st.ok()) << st.to_string();
  return token;
}

Status RulesTest::complete_wft(const v1::TaskToken& token, const std::vector<v1::Command>& commands) {
  google::protobuf::RepeatedPtrField<v1::Command> list(commands.begin(), commands.end());
  return transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
    return complete_workflow_task(ms, token, list, "worker-1", env, out);
  });
}

void RulesTest::run_wft(const std::vector<v1::Command>& commands) {
  v1::TaskToken token = start_wft();
  Status st = complete_wft(token, commands);
  ASSERT_TRUE(st.ok()) << st.to_string();
}

ActivityStart RulesTest::start_activity(int64_t scheduled_event_id, const std::string& identity) {
  v1::TaskRecord task = pending_task(v1::TASK_KIND_ACTIVITY, scheduled_event_id);
  ActivityStart start;
  Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
    auto r = start_activity_task(ms, task, identity, env, out);
    if (r.ok()) {
      start = *r;
    }
    return r.status();
  });
  EXPECT_TRUE(st.ok()) << st.to_string();
  return start;
}

Result<bool> RulesTest::fire(const v1::TimerRecord& timer) {
  now_ = std::max(now_, timer.fire_time_ms());
  bool applied = false;
  MutableState before = ms_;
  Status st = transact([&](MutableState* ms, const TransitionEnv& env, Effects* out) {
    auto r = fire_timer(ms, timer, env, out);
    if (!r.ok()) {
      return r.status();
    }
    applied = *r;
    bool removed = false;
    for (const auto& t : out->remove_timers) {
      removed = removed || t.timer_seq() == timer.timer_seq();
    }
    EXPECT_TRUE(removed) << "a fired timer must be in remove_timers";
    if (!applied) {
      EXPECT_TRUE(out->events.empty());
      EXPECT_TRUE(out->add_tasks.empty());
      EXPECT_TRUE(out->add_timers.empty());
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(ms->state(), before.state()))
          << "a stale timer changed the state";
    }
    return Status();
  });
  if (!st.ok()) {
    return st;
  }
  return applied;
}

}  // namespace cairn::rules_test
