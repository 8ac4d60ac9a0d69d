// Local activities: run by this worker inside the workflow task, once the workflow code is
// blocked, all due ones concurrently (one thread each). A round of attempts retries in-process
// while the backoff is short (local_retry_threshold) and the task's budget (80% of the workflow
// task timeout) allows; it ends in a "LocalActivity" marker with the outcome: a result, a final
// failure, or a failure plus a backoff, which becomes a durable timer followed by the next round.
// Replay reads each round from its marker and never runs the function again.
//
// Limit: there is no workflow-task heartbeat in the protocol, so an attempt still running when
// the budget runs out is abandoned (its thread finishes on its own, its context reports
// cancel_requested on heartbeat) and counts as a start-to-close timeout.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "failure.h"
#include "options_check.h"
#include "replayer.h"

namespace cairn::detail {
namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr double kTaskBudget = 0.8;
constexpr milliseconds kDefaultRetryThreshold{1000};

// Marker details keys (besides kMarkerIdKey).
constexpr char kTypeKey[] = "type";
constexpr char kAttemptKey[] = "attempt";
constexpr char kResultKey[] = "result";
constexpr char kBackoffKey[] = "backoff_ms";
constexpr char kRetryStateKey[] = "retry_state";
constexpr char kFirstStartKey[] = "first_start_ms";

int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How one round of attempts ended.
struct Round {
  int attempt = 1;  // the last attempt run
  bool ok = false;
  v1::Payloads result;
  v1::Failure failure;
  v1::RetryState retry_state = v1::RETRY_STATE_UNSPECIFIED;
  milliseconds backoff{0};  // > 0: retry after a durable timer
  int64_t first_start_ms = 0;
};

// What the thread of one attempt shares with the round that waits for it (and may give up).
struct Attempt {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  v1::Payloads result;
  std::exception_ptr error;
  std::atomic<bool> abandoned{false};
};

class AbandonHeartbeater final : public Heartbeater {
 public:
  explicit AbandonHeartbeater(std::shared_ptr<Attempt> a) : a_(std::move(a)) {}
  bool heartbeat(const v1::Payloads&) override { return a_->abandoned.load(); }

 private:
  std::shared_ptr<Attempt> a_;
};

template <class T>
T detail_or(const google::protobuf::Map<std::string, v1::Payloads>& d, const char* key, T dflt) {
  auto it = d.find(key);
  if (it == d.end()) {
    return dflt;
  }
  try {
    return from_payloads<T>(it->second);
  } catch (const std::exception&) {
    return dflt;
  }
}

Round round_from_marker(const v1::MarkerRecordedEventAttributes& m) {
  const auto& d = m.details();
  Round r;
  r.attempt = detail_or<int>(d, kAttemptKey, 1);
  r.backoff = milliseconds(detail_or<int64_t>(d, kBackoffKey, 0));
  r.retry_state = static_cast<v1::RetryState>(detail_or<int>(d, kRetryStateKey, 0));
  r.first_start_ms = detail_or<int64_t>(d, kFirstStartKey, 0);
  r.ok = !m.has_failure();
  if (r.ok) {
    auto it = d.find(kResultKey);
    if (it != d.end()) {
      r.result = it->second;
    }
  } else {
    r.failure = m.failure();
  }
  return r;
}

bool non_retryable(const v1::Failure& f, const RetryPolicy& policy) {
  if (f.application_failure_info().non_retryable()) {
    return true;
  }
  const auto& types = policy.non_retryable_error_types;
  return std::find(types.begin(), types.end(), f.application_failure_info().type()) != types.end();
}

}  // namespace

struct Replayer::LocalActivityRecord {
  std::string type;
  std::string id;
  v1::Payloads input;
  LocalActivityOptions options;
  std::shared_ptr<ScopeState> scope;
  std::shared_ptr<FutureState> state;
  int attempt = 1;                       // the next attempt to run
  int64_t first_start_ms = 0;            // wall time of the first attempt; 0: not run yet
  std::shared_ptr<FutureState> backoff;  // the durable backoff timer in flight
};

namespace {

// Runs one attempt on its own thread, waiting until `deadline` at most.
void run_attempt(const ActivityFunction& fn, const ActivityInfo& info, const v1::Payloads& input,
                 SteadyTime deadline, v1::Payloads* result, std::exception_ptr* error) {
  auto a = std::make_shared<Attempt>();
  std::thread([a, fn, info, input] {
    AbandonHeartbeater heartbeater(a);
    ActivityContext ctx(info, v1::Payloads(), &heartbeater);
    v1::Payloads r;
    std::exception_ptr e;
    try {
      r = fn(ctx, input);
    } catch (...) {
      e = std::current_exception();
    }
    std::lock_guard lock(a->mu);
    a->result = std::move(r);
    a->error = e;
    a->done = true;
    a->cv.notify_all();
  }).detach();  // detached: an attempt past its deadline is left to finish on its own
  std::unique_lock lock(a->mu);
  if (!a->cv.wait_until(lock, deadline, [&] { return a->done; })) {
    a->abandoned = true;
    *error = std::make_exception_ptr(TimeoutError(
        "local activity " + info.activity_type + " attempt " + std::to_string(info.attempt) +
            " timed out",
        v1::TIMEOUT_TYPE_START_TO_CLOSE));
    return;
  }
  *result = std::move(a->result);
  *error = a->error;
}

// What a round needs to know about its local activity.
struct RoundInput {
  std::string type;
  std::string id;
  const v1::Payloads* input;
  const LocalActivityOptions* options;
  int attempt;
  int64_t first_start_ms;
};

// Runs attempts from `in.attempt` on, retrying in-process while the backoff is short and the
// task's budget allows; see the top of the file.
Round run_round(const RoundInput& in, const ActivityFunction* fn, const WorkflowInfo& wf,
                SteadyTime budget_end) {
  const LocalActivityOptions& o = *in.options;
  Round r;
  r.attempt = in.attempt;
  r.first_start_ms = in.first_start_ms != 0 ? in.first_start_ms : wall_ms();
  if (fn == nullptr) {
    r.failure = to_failure(std::make_exception_ptr(
        ApplicationError("local activity type " + in.type + " is not registered on this worker",
                         "ActivityNotRegistered", /*non_retryable=*/true)));
    r.retry_state = v1::RETRY_STATE_NON_RETRYABLE_FAILURE;
    return r;
  }
  milliseconds initial =
      o.retry.initial_interval.count() > 0 ? o.retry.initial_interval : milliseconds(1000);
  double coefficient = o.retry.backoff_coefficient > 0 ? o.retry.backoff_coefficient : 2.0;
  milliseconds maximum =
      o.retry.maximum_interval.count() > 0 ? o.retry.maximum_interval : initial * 100;
  milliseconds threshold =
      o.local_retry_threshold.count() > 0 ? o.local_retry_threshold : kDefaultRetryThreshold;
  for (;;) {
    int64_t now = wall_ms();
    SteadyTime steady_now = std::chrono::steady_clock::now();
    SteadyTime deadline = budget_end;
    if (o.start_to_close.count() > 0) {
      deadline = std::min(deadline, steady_now + o.start_to_close);
    }
    if (o.schedule_to_close.count() > 0) {
      deadline = std::min(deadline, steady_now + milliseconds(r.first_start_ms +
                                                              o.schedule_to_close.count() - now));
    }
    ActivityInfo info;
    info.namespace_ = wf.namespace_;
    info.workflow_id = wf.workflow_id;
    info.run_id = wf.run_id;
    info.workflow_type = wf.workflow_type;
    info.activity_id = in.id;
    info.activity_type = in.type;
    info.task_queue = wf.task_queue;
    info.attempt = r.attempt;
    info.schedule_to_close = o.schedule_to_close;
    info.start_to_close = o.start_to_close;
    info.scheduled_time = std::chrono::system_clock::time_point(milliseconds(r.first_start_ms));
    info.started_time = std::chrono::system_clock::time_point(milliseconds(now));
    std::exception_ptr error;
    run_attempt(*fn, info, *in.input, deadline, &r.result, &error);
    if (!error) {
      r.ok = true;
      return r;
    }
    r.failure = to_failure(error);
    if (non_retryable(r.failure, o.retry)) {
      r.retry_state = v1::RETRY_STATE_NON_RETRYABLE_FAILURE;
      return r;
    }
    if (o.retry.maximum_attempts > 0 && r.attempt >= o.retry.maximum_attempts) {
      r.retry_state = v1::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED;
      return r;
    }
    double scaled = static_cast<double>(initial.count()) * std::pow(coefficient, r.attempt - 1);
    milliseconds backoff = milliseconds(static_cast<int64_t>(
        std::min(scaled, static_cast<double>(maximum.count()))));
    if (o.schedule_to_close.count() > 0 &&
        wall_ms() + backoff.count() >= r.first_start_ms + o.schedule_to_close.count()) {
      r.retry_state = v1::RETRY_STATE_TIMEOUT;
      return r;
    }
    r.retry_state = v1::RETRY_STATE_IN_PROGRESS;
    if (backoff > threshold || std::chrono::steady_clock::now() + backoff >= budget_end) {
      r.backoff = std::max(backoff, milliseconds(1));
      return r;  // the next attempt after a durable timer, in a later workflow task
    }
    std::this_thread::sleep_for(backoff);  // a short local backoff, on this round's thread
    ++r.attempt;
  }
}

}  // namespace

std::shared_ptr<FutureState> Replayer::schedule_local_activity(const std::string& type,
                                                               v1::Payloads input,
                                                               const LocalActivityOptions& o) {
  check_local_activity_options(type, o);
  auto state = std::make_shared<FutureState>();
  if (scope_->is_canceled()) {
    state->ready = true;
    state->error = std::make_exception_ptr(
        CanceledError("local activity " + type + " not run: its scope is canceled"));
    return state;
  }
  auto la = std::make_shared<LocalActivityRecord>();
  la->type = type;
  la->id = o.activity_id.empty() ? std::to_string(++seq_) : o.activity_id;
  la->input = std::move(input);
  la->options = o;
  la->scope = scope_;
  la->state = state;
  local_activities_.push_back(std::move(la));
  return state;
}

void Replayer::scan_local_activity_markers(const std::vector<const v1::HistoryEvent*>& events) {
  for (const auto* e : events) {
    if (e->event_type() != v1::EVENT_TYPE_MARKER_RECORDED) {
      continue;
    }
    const auto& m = e->marker_recorded_event_attributes();
    if (m.marker_name() == kLocalActivityMarker) {
      recorded_local_[detail_or<std::string>(m.details(), kMarkerIdKey, "")].push_back(m);
    }
  }
}

bool Replayer::run_local_activities() {
  bool resolved = false;
  auto resolve_canceled = [&](LocalActivityRecord& la) {
    la.state->ready = true;
    la.state->error = std::make_exception_ptr(
        CanceledError("local activity " + la.type + " (id " + la.id + ") canceled"));
    resolved = true;
  };
  std::vector<LocalActivityRecord*> due;
  for (auto& la : local_activities_) {
    if (la->state->ready) {
      continue;
    }
    if (la->backoff) {
      if (!la->backoff->ready) {
        continue;
      }
      if (la->backoff->error) {
        resolve_canceled(*la);
        continue;
      }
      la->backoff.reset();
    }
    if (la->scope->is_canceled()) {
      resolve_canceled(*la);
      continue;
    }
    due.push_back(la.get());
  }

  // Rounds recorded in history come from their markers; the others run now, concurrently.
  std::vector<Round> rounds(due.size());
  std::vector<std::thread> threads;
  SteadyTime budget_end =
      task_wall_start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             task_timeout_ * kTaskBudget);
  if (query_ != nullptr) {
    // Replaying for a query: never run an activity; what history lacks stays pending.
    due.erase(std::remove_if(due.begin(), due.end(),
                             [&](LocalActivityRecord* la) {
                               auto r = recorded_local_.find(la->id);
                               return r == recorded_local_.end() || r->second.empty();
                             }),
              due.end());
    rounds.resize(due.size());
  }
  for (size_t i = 0; i < due.size(); ++i) {
    auto recorded = recorded_local_.find(due[i]->id);
    if (recorded != recorded_local_.end() && !recorded->second.empty()) {
      rounds[i] = round_from_marker(recorded->second.front());
      recorded->second.pop_front();
      continue;
    }
    if (replaying_) {
      non_determinism(0,
                      "no LocalActivity marker for local activity " + due[i]->type + " (id " +
                          due[i]->id + ")",
                      "LocalActivity(" + due[i]->type + ")");
      return false;
    }
    const ActivityFunction* fn = nullptr;
    if (local_fns_ != nullptr) {
      auto it = local_fns_->find(due[i]->type);
      fn = it == local_fns_->end() ? nullptr : &it->second;
    }
    RoundInput in{due[i]->type,    due[i]->id,      &due[i]->input,
                  &due[i]->options, due[i]->attempt, due[i]->first_start_ms};
    threads.emplace_back([this, in, fn, budget_end, round = &rounds[i]] {
      try {
        *round = run_round(in, fn, info_, budget_end);
      } catch (const std::exception& e) {  // e.g. a thread that could not start
        round->failure = to_failure(std::current_exception());
        round->retry_state = v1::RETRY_STATE_NON_RETRYABLE_FAILURE;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }

  for (size_t i = 0; i < due.size(); ++i) {
    LocalActivityRecord& la = *due[i];
    const Round& r = rounds[i];
    v1::Command c;
    c.set_command_type(v1::COMMAND_TYPE_RECORD_MARKER);
    auto* m = c.mutable_record_marker_command_attributes();
    m->set_marker_name(kLocalActivityMarker);
    auto& d = *m->mutable_details();
    d[kMarkerIdKey] = to_payloads(la.id);
    d[kTypeKey] = to_payloads(la.type);
    d[kAttemptKey] = to_payloads(r.attempt);
    d[kFirstStartKey] = to_payloads(r.first_start_ms);
    if (r.ok) {
      d[kResultKey] = r.result;
    } else {
      *m->mutable_failure() = r.failure;
      d[kRetryStateKey] = to_payloads(static_cast<int>(r.retry_state));
      if (r.backoff.count() > 0) {
        d[kBackoffKey] = to_payloads(static_cast<int64_t>(r.backoff.count()));
      }
    }
    issue(std::move(c));
    if (!r.ok && r.backoff.count() > 0) {
      la.attempt = r.attempt + 1;
      la.first_start_ms = r.first_start_ms;
      auto previous = swap_scope(la.scope);
      la.backoff = start_timer(r.backoff);
      swap_scope(std::move(previous));
      continue;
    }
    la.state->ready = true;
    if (r.ok) {
      la.state->value = r.result;
    } else {
      la.state->error = activity_error(la.type, la.id, r.retry_state, r.failure, 0);
    }
    resolved = true;
  }
  local_activities_.erase(std::remove_if(local_activities_.begin(), local_activities_.end(),
                                         [](const auto& la) { return la->state->ready; }),
                          local_activities_.end());
  return resolved;
}

}  // namespace cairn::detail
