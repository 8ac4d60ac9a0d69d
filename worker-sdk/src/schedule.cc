// Schedules on the client side: ScheduleOptions checked with the server's own rules
// (cairn_schedule_spec) and converted to the proto, and the *Schedule RPCs, each retried while
// the server is unavailable (calls that change something carry a request id the server
// deduplicates, so a retry after a restart takes effect once).
#include "cairn/schedule.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include "cairn/client.h"
#include "cairn/codec.h"
#include "options_check.h"
#include "proto/schedule_spec.h"
#include "rpc.h"

namespace cairn {
namespace {

using std::chrono::milliseconds;

std::string subject_of(const std::string& schedule_id) {
  return "schedule \"" + schedule_id + "\"";
}

[[noreturn]] void fail(const std::string& schedule_id, const std::string& field,
                       const std::string& rest) {
  throw OptionsError(subject_of(schedule_id) + " options: " + rest, field);
}

// The proto field paths the server's messages use, and the ScheduleOptions fields they come
// from. Longest first where one is a prefix of another.
constexpr std::array<std::pair<std::string_view, std::string_view>, 17> kFieldNames = {{
    {"spec.cron_expressions", "spec.cron"},
    {"spec.start_time_ms", "spec.start_at"},
    {"spec.end_time_ms", "spec.end_at"},
    {"spec.jitter_ms", "spec.jitter"},
    {".every_ms", ".every"},
    {".phase_ms", ".offset"},
    {"action.workflow_type.name", "action.workflow_type"},
    {"action.task_queue", "action.workflow.task_queue"},
    {"action.workflow_id", "action.workflow.workflow_id"},
    {"action.workflow_execution_timeout_ms", "action.workflow.execution_timeout"},
    {"action.workflow_run_timeout_ms", "action.workflow.run_timeout"},
    {"action.workflow_task_timeout_ms", "action.workflow.task_timeout"},
    {"action.retry_policy", "action.workflow.retry"},
    {"action.memo", "action.workflow.memo"},
    {"action.search_attributes", "action.workflow.search_attributes"},
    {"policies.catchup_window_ms", "catchup_window"},
    {"policies.overlap_policy", "overlap"},
}};

// A server-side message with the proto's field names replaced by the options' names.
std::string with_option_names(std::string message) {
  for (const auto& [proto_name, option_name] : kFieldNames) {
    for (size_t at = message.find(proto_name); at != std::string::npos;
         at = message.find(proto_name, at + option_name.size())) {
      message.replace(at, proto_name.size(), option_name);
    }
  }
  return message;
}

// The field a message starts with: "spec.cron[1]: ..." -> "spec.cron[1]".
std::string leading_field(const std::string& message) {
  size_t end = message.find_first_of(": ");
  return message.substr(0, end);
}

// Rethrows an OptionsError of check_start_options as one about the schedule's action: its
// fields become "action.workflow_type", "action.workflow.<field>".
[[noreturn]] void rethrow_as_action(const std::string& schedule_id, const OptionsError& e) {
  std::string field = e.field();
  std::string mapped = field == "type" ? "action.workflow_type"
                       : field == "id" ? "action.workflow.workflow_id"
                                       : "action.workflow." + field;
  std::string message = e.what();
  size_t at = message.find(" options: ");
  std::string rest = at == std::string::npos ? message : message.substr(at + 10);
  if (rest.rfind(field, 0) == 0) {
    rest = mapped + rest.substr(field.size());
  }
  fail(schedule_id, mapped, rest);
}

RetryPolicy retry_from_proto(const v1::RetryPolicy& p) {
  RetryPolicy r;
  r.initial_interval = milliseconds(p.initial_interval_ms());
  r.backoff_coefficient = p.backoff_coefficient();
  r.maximum_interval = milliseconds(p.maximum_interval_ms());
  r.maximum_attempts = p.maximum_attempts();
  r.non_retryable_error_types.assign(p.non_retryable_error_types().begin(),
                                     p.non_retryable_error_types().end());
  return r;
}

ScheduleSpec spec_from_proto(const v1::ScheduleSpec& s) {
  ScheduleSpec spec;
  spec.cron.assign(s.cron_expressions().begin(), s.cron_expressions().end());
  for (const auto& i : s.intervals()) {
    spec.intervals.push_back({milliseconds(i.every_ms()), milliseconds(i.phase_ms())});
  }
  spec.time_zone = s.time_zone();
  if (s.start_time_ms() != 0) {
    spec.start_at = from_epoch_ms(s.start_time_ms());
  }
  if (s.end_time_ms() != 0) {
    spec.end_at = from_epoch_ms(s.end_time_ms());
  }
  spec.jitter = milliseconds(s.jitter_ms());
  return spec;
}

ScheduleActionCause cause_from_proto(v1::ScheduleActionCause c) {
  switch (c) {
    case v1::SCHEDULE_ACTION_CAUSE_SCHEDULED:
      return ScheduleActionCause::kScheduled;
    case v1::SCHEDULE_ACTION_CAUSE_TRIGGER:
      return ScheduleActionCause::kTrigger;
    case v1::SCHEDULE_ACTION_CAUSE_BACKFILL:
      return ScheduleActionCause::kBackfill;
    default:
      return ScheduleActionCause::kUnspecified;
  }
}

ScheduleActionResult action_from_proto(const v1::ScheduleActionResult& a) {
  ScheduleActionResult r;
  r.nominal = from_epoch_ms(a.nominal_time_ms());
  r.actual = from_epoch_ms(a.actual_time_ms());
  r.workflow_id = a.workflow_id();
  r.run_id = a.run_id();
  r.status = a.status();
  r.cause = cause_from_proto(a.cause());
  if (a.close_time_ms() != 0) {
    r.close_time = from_epoch_ms(a.close_time_ms());
  }
  r.start_error = a.start_error();
  return r;
}

template <class Repeated>
std::vector<ScheduleActionResult> actions_from_proto(const Repeated& actions) {
  std::vector<ScheduleActionResult> out;
  for (const auto& a : actions) {
    out.push_back(action_from_proto(a));
  }
  return out;
}

template <class Repeated>
std::vector<ScheduleTime> times_from_proto(const Repeated& times) {
  std::vector<ScheduleTime> out;
  for (int64_t ms : times) {
    out.push_back(from_epoch_ms(ms));
  }
  return out;
}

PayloadMap map_from_proto(const google::protobuf::Map<std::string, v1::Payload>& m) {
  return PayloadMap(m.begin(), m.end());
}

// Calls that change something or read, retried while the server is unavailable (ClientOptions).
template <class Call>
void call_retried(const detail::ClientCore& core, const std::string& what, Call&& call) {
  detail::check(
      detail::call_until_available(std::forward<Call>(call), detail::kRpcTimeout,
                                   core.options.unavailable_retry_deadline, core.options.address),
      what);
}

v1::DescribeScheduleResponse describe_raw(const detail::ClientCore& core, const std::string& id,
                                          int count) {
  v1::DescribeScheduleRequest req;
  req.set_namespace_(core.options.ns);
  req.set_schedule_id(id);
  req.set_future_action_count(count);
  v1::DescribeScheduleResponse resp;
  call_retried(core, "describe schedule " + id, [&](grpc::ClientContext* ctx) {
    return core.stub->DescribeSchedule(ctx, req, &resp);
  });
  decode_payloads_in(core.options.codecs, &resp);
  return resp;
}

void send_update(const detail::ClientCore& core, const std::string& id,
                 const ScheduleOptions& options, const std::string& conflict_token) {
  check_schedule_options(id, options);
  v1::UpdateScheduleRequest req;
  req.set_namespace_(core.options.ns);
  req.set_schedule_id(id);
  *req.mutable_schedule() = to_proto(options);
  req.set_conflict_token(conflict_token);
  req.set_identity(core.options.identity);
  req.set_request_id(options.request_id.empty() ? detail::random_uuid() : options.request_id);
  encode_payloads_in(core.options.codecs, &req);
  v1::UpdateScheduleResponse resp;
  call_retried(core, "update schedule " + id, [&](grpc::ClientContext* ctx) {
    return core.stub->UpdateSchedule(ctx, req, &resp);
  });
}

}  // namespace

int64_t to_epoch_ms(ScheduleTime t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

ScheduleTime from_epoch_ms(int64_t ms) {
  return ScheduleTime(std::chrono::duration_cast<ScheduleTime::duration>(milliseconds(ms)));
}

v1::ScheduleOverlapPolicy to_proto(ScheduleOverlap o) {
  switch (o) {
    case ScheduleOverlap::kSkip:
      return v1::SCHEDULE_OVERLAP_POLICY_SKIP;
    case ScheduleOverlap::kBufferOne:
      return v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE;
    case ScheduleOverlap::kBufferAll:
      return v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL;
    case ScheduleOverlap::kCancelOther:
      return v1::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER;
    case ScheduleOverlap::kTerminateOther:
      return v1::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER;
    case ScheduleOverlap::kAllowAll:
      return v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL;
  }
  return v1::SCHEDULE_OVERLAP_POLICY_SKIP;
}

ScheduleOverlap overlap_from_proto(v1::ScheduleOverlapPolicy p) {
  switch (p) {
    case v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
      return ScheduleOverlap::kBufferOne;
    case v1::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
      return ScheduleOverlap::kBufferAll;
    case v1::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER:
      return ScheduleOverlap::kCancelOther;
    case v1::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER:
      return ScheduleOverlap::kTerminateOther;
    case v1::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL:
      return ScheduleOverlap::kAllowAll;
    default:  // UNSPECIFIED means SKIP
      return ScheduleOverlap::kSkip;
  }
}

v1::Schedule to_proto(const ScheduleOptions& o) {
  v1::Schedule s;
  v1::ScheduleSpec* spec = s.mutable_spec();
  for (const auto& c : o.spec.cron) {
    spec->add_cron_expressions(c);
  }
  for (const auto& i : o.spec.intervals) {
    v1::IntervalSpec* p = spec->add_intervals();
    p->set_every_ms(i.every.count());
    p->set_phase_ms(i.offset.count());
  }
  spec->set_time_zone(o.spec.time_zone);
  if (o.spec.start_at) {
    spec->set_start_time_ms(to_epoch_ms(*o.spec.start_at));
  }
  if (o.spec.end_at) {
    spec->set_end_time_ms(to_epoch_ms(*o.spec.end_at));
  }
  spec->set_jitter_ms(o.spec.jitter.count());

  v1::ScheduleAction* a = s.mutable_action();
  const ScheduleWorkflowOptions& w = o.action.workflow;
  a->set_workflow_id(w.workflow_id);
  a->mutable_workflow_type()->set_name(o.action.workflow_type);
  a->set_task_queue(w.task_queue);
  *a->mutable_input() = o.action.input;
  a->set_workflow_execution_timeout_ms(w.execution_timeout.count());
  a->set_workflow_run_timeout_ms(w.run_timeout.count());
  a->set_workflow_task_timeout_ms(w.task_timeout.count());
  if (w.retry) {
    *a->mutable_retry_policy() = to_proto(*w.retry);
  }
  a->mutable_memo()->insert(w.memo.begin(), w.memo.end());
  a->mutable_search_attributes()->insert(w.search_attributes.begin(), w.search_attributes.end());

  v1::SchedulePolicies* p = s.mutable_policies();
  p->set_overlap_policy(to_proto(o.overlap));
  p->set_catchup_window_ms(o.catchup_window.count());
  p->set_pause_on_failure(o.pause_on_failure);
  s.set_paused(o.paused);
  s.set_notes(o.note);
  s.set_limited_actions(o.remaining_actions.has_value());
  s.set_remaining_actions(o.remaining_actions.value_or(0));
  return s;
}

ScheduleOptions schedule_options_from_proto(const v1::Schedule& s) {
  ScheduleOptions o;
  o.spec = spec_from_proto(s.spec());
  const v1::ScheduleAction& a = s.action();
  o.action.workflow_type = a.workflow_type().name();
  o.action.input = a.input();
  ScheduleWorkflowOptions& w = o.action.workflow;
  w.task_queue = a.task_queue();
  w.workflow_id = a.workflow_id();
  w.execution_timeout = milliseconds(a.workflow_execution_timeout_ms());
  w.run_timeout = milliseconds(a.workflow_run_timeout_ms());
  w.task_timeout = milliseconds(a.workflow_task_timeout_ms());
  if (a.has_retry_policy()) {
    w.retry = retry_from_proto(a.retry_policy());
  }
  w.memo = map_from_proto(a.memo());
  w.search_attributes = map_from_proto(a.search_attributes());
  o.overlap = overlap_from_proto(s.policies().overlap_policy());
  o.catchup_window = milliseconds(s.policies().catchup_window_ms());
  o.pause_on_failure = s.policies().pause_on_failure();
  o.paused = s.paused();
  o.note = s.notes();
  if (s.limited_actions()) {
    o.remaining_actions = s.remaining_actions();
  }
  return o;
}

void check_schedule_options(const std::string& schedule_id, const ScheduleOptions& o) {
  if (Status st = schedule::validate_schedule_id(schedule_id); !st.ok()) {
    fail(schedule_id, "schedule_id", st.message());
  }
  // The action is a workflow start: the start's own checks, under the action's field names.
  StartWorkflowOptions start;
  start.id = o.action.workflow.workflow_id;
  start.task_queue = o.action.workflow.task_queue;
  start.execution_timeout = o.action.workflow.execution_timeout;
  start.run_timeout = o.action.workflow.run_timeout;
  start.task_timeout = o.action.workflow.task_timeout;
  start.retry = o.action.workflow.retry;
  start.memo = o.action.workflow.memo;
  start.search_attributes = o.action.workflow.search_attributes;
  try {
    detail::check_start_options(o.action.workflow_type, start);
  } catch (const OptionsError& e) {
    rethrow_as_action(schedule_id, e);
  }
  detail::check_search_attribute_names(o.search_attributes, subject_of(schedule_id),
                                       "search_attributes");
  if (o.remaining_actions && *o.remaining_actions < 0) {
    fail(schedule_id, "remaining_actions",
         "remaining_actions must be >= 0 (got " + std::to_string(*o.remaining_actions) + ")");
  }
  // Everything else (the spec above all) exactly as the server checks it.
  if (Status st = schedule::validate_schedule(to_proto(o)); !st.ok()) {
    std::string message = with_option_names(st.message());
    fail(schedule_id, leading_field(message), message);
  }
}

// ScheduleHandle.

ScheduleHandle::ScheduleHandle(std::shared_ptr<detail::ClientCore> core, std::string schedule_id)
    : core_(std::move(core)), id_(std::move(schedule_id)) {}

ScheduleDescription ScheduleHandle::describe(int next_fire_count) {
  v1::DescribeScheduleResponse resp =
      describe_raw(*core_, id_, std::clamp(next_fire_count, 1, 100));
  ScheduleDescription d;
  d.schedule_id = id_;
  d.options = schedule_options_from_proto(resp.schedule());
  d.options.memo = map_from_proto(resp.memo());
  d.options.search_attributes = map_from_proto(resp.search_attributes());
  d.paused = resp.schedule().paused();
  d.note = resp.schedule().notes();
  const v1::ScheduleInfo& info = resp.info();
  d.next_fires = times_from_proto(info.future_action_times_ms());
  d.running_actions = actions_from_proto(info.running_actions());
  d.recent_actions = actions_from_proto(info.recent_actions());
  for (const auto& b : info.buffered_starts()) {
    d.buffered_starts.push_back({from_epoch_ms(b.nominal_time_ms()),
                                 from_epoch_ms(b.actual_time_ms()), cause_from_proto(b.cause()),
                                 overlap_from_proto(b.overlap_policy())});
  }
  d.action_count = info.action_count();
  d.missed_catchup_window = info.missed_catchup_window();
  d.overlap_skipped = info.overlap_skipped();
  d.buffer_dropped = info.buffer_dropped();
  d.paused_skipped = info.paused_skipped();
  d.create_time = from_epoch_ms(info.create_time_ms());
  d.update_time = from_epoch_ms(info.update_time_ms());
  d.conflict_token = resp.conflict_token();
  d.raw = std::move(resp);
  return d;
}

void ScheduleHandle::update(const ScheduleOptions& options) {
  send_update(*core_, id_, options, /*conflict_token=*/"");
}

void ScheduleHandle::update(const std::function<void(ScheduleOptions&)>& edit) {
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    v1::DescribeScheduleResponse current = describe_raw(*core_, id_, 1);
    ScheduleOptions options = schedule_options_from_proto(current.schedule());
    edit(options);
    try {
      send_update(*core_, id_, options, current.conflict_token());
      return;
    } catch (const RpcError& e) {
      // ABORTED: someone changed the schedule between the read and the write; edit the new one.
      if (e.code() != grpc::StatusCode::ABORTED || attempt == kAttempts) {
        throw;
      }
    }
  }
}

void ScheduleHandle::patch(const v1::SchedulePatch& patch, const std::string& what,
                           v1::PatchScheduleResponse* resp) {
  v1::PatchScheduleRequest req;
  req.set_namespace_(core_->options.ns);
  req.set_schedule_id(id_);
  *req.mutable_patch() = patch;
  req.set_identity(core_->options.identity);
  req.set_request_id(detail::random_uuid());  // one per call, the same for its retries
  call_retried(*core_, what + " schedule " + id_, [&](grpc::ClientContext* ctx) {
    return core_->stub->PatchSchedule(ctx, req, resp);
  });
}

void ScheduleHandle::pause(const std::string& note) {
  v1::SchedulePatch p;
  p.set_pause(note.empty() ? "paused by " + core_->options.identity : note);
  v1::PatchScheduleResponse resp;
  patch(p, "pause", &resp);
}

void ScheduleHandle::unpause(const std::string& note) {
  v1::SchedulePatch p;
  p.set_unpause(note.empty() ? "unpaused by " + core_->options.identity : note);
  v1::PatchScheduleResponse resp;
  patch(p, "unpause", &resp);
}

std::vector<std::string> ScheduleHandle::trigger(std::optional<ScheduleOverlap> overlap) {
  v1::SchedulePatch p;
  p.set_trigger_immediately(true);
  if (overlap) {
    p.set_trigger_overlap_policy(to_proto(*overlap));
  }
  v1::PatchScheduleResponse resp;
  patch(p, "trigger", &resp);
  return {resp.workflow_ids().begin(), resp.workflow_ids().end()};
}

std::vector<std::string> ScheduleHandle::backfill(ScheduleTime start, ScheduleTime end,
                                                  std::optional<ScheduleOverlap> overlap) {
  if (end < start) {
    fail(id_, "end",
         "backfill end " + schedule::format_utc(to_epoch_ms(end)) + " is before its start " +
             schedule::format_utc(to_epoch_ms(start)));
  }
  v1::SchedulePatch p;
  v1::ScheduleBackfill* b = p.add_backfill();
  b->set_start_time_ms(to_epoch_ms(start));
  b->set_end_time_ms(to_epoch_ms(end));
  if (overlap) {
    b->set_overlap_policy(to_proto(*overlap));
  }
  v1::PatchScheduleResponse resp;
  patch(p, "backfill", &resp);
  return {resp.workflow_ids().begin(), resp.workflow_ids().end()};
}

void ScheduleHandle::remove() {
  v1::DeleteScheduleRequest req;
  req.set_namespace_(core_->options.ns);
  req.set_schedule_id(id_);
  req.set_identity(core_->options.identity);
  v1::DeleteScheduleResponse resp;
  int tries = 0;
  grpc::Status st = detail::call_until_available(
      [&](grpc::ClientContext* ctx) {
        ++tries;
        return core_->stub->DeleteSchedule(ctx, req, &resp);
      },
      detail::kRpcTimeout, core_->options.unavailable_retry_deadline, core_->options.address);
  // A delete carries no request id: NOT_FOUND on a retry means an earlier try took effect and
  // lost its answer.
  if (tries > 1 && st.error_code() == grpc::StatusCode::NOT_FOUND) {
    return;
  }
  detail::check(st, "delete schedule " + id_);
}

// Client's schedule calls.

ScheduleHandle Client::create_schedule(const std::string& schedule_id,
                                       const ScheduleOptions& options) {
  check_schedule_options(schedule_id, options);
  v1::CreateScheduleRequest req;
  req.set_namespace_(core_->options.ns);
  req.set_schedule_id(schedule_id);
  *req.mutable_schedule() = to_proto(options);
  req.set_identity(core_->options.identity);
  req.set_request_id(options.request_id.empty() ? detail::random_uuid() : options.request_id);
  req.mutable_memo()->insert(options.memo.begin(), options.memo.end());
  req.mutable_search_attributes()->insert(options.search_attributes.begin(),
                                          options.search_attributes.end());
  encode_payloads_in(core_->options.codecs, &req);
  v1::CreateScheduleResponse resp;
  call_retried(*core_, "create schedule " + schedule_id, [&](grpc::ClientContext* ctx) {
    return core_->stub->CreateSchedule(ctx, req, &resp);
  });
  return ScheduleHandle(core_, schedule_id);
}

ScheduleHandle Client::schedule_handle(const std::string& schedule_id) {
  return ScheduleHandle(core_, schedule_id);
}

std::vector<ScheduleSummary> Client::list_schedules(const std::string& query) {
  std::vector<ScheduleSummary> out;
  v1::ListSchedulesRequest req;
  req.set_namespace_(core_->options.ns);
  req.set_maximum_page_size(1000);
  req.set_query(query);
  for (;;) {
    v1::ListSchedulesResponse resp;
    call_retried(
        *core_, "list schedules" + (query.empty() ? "" : " (" + query + ")"),
        [&](grpc::ClientContext* ctx) { return core_->stub->ListSchedules(ctx, req, &resp); });
    decode_payloads_in(core_->options.codecs, &resp);
    for (const auto& e : resp.schedules()) {
      ScheduleSummary s;
      s.schedule_id = e.schedule_id();
      s.workflow_type = e.workflow_type();
      s.paused = e.paused();
      s.note = e.notes();
      s.spec = spec_from_proto(e.spec());
      s.next_fires = times_from_proto(e.future_action_times_ms());
      s.recent_actions = actions_from_proto(e.recent_actions());
      s.memo = map_from_proto(e.memo());
      s.search_attributes = map_from_proto(e.search_attributes());
      out.push_back(std::move(s));
    }
    if (resp.next_page_token().empty() || resp.schedules().empty()) {
      return out;
    }
    req.set_next_page_token(resp.next_page_token());
  }
}

}  // namespace cairn
