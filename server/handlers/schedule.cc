// Handlers: CreateSchedule, DescribeSchedule, UpdateSchedule, PatchSchedule, DeleteSchedule,
// ListSchedules. A schedule is an entity run (history/schedule_rules.h); each call is one
// transition on it, validated before anything is written.
#include <spdlog/spdlog.h>

#include "history/schedule_rules.h"
#include "proto/schedule_spec.h"
#include "server/handlers/handlers.h"
#include "server/list_filter.h"

#include <nlohmann/json.hpp>

namespace cairn::handlers {
namespace {

constexpr int32_t kDefaultFutureActions = 10;
constexpr int32_t kMaxFutureActions = 100;
constexpr int32_t kDefaultPageSize = 100;
constexpr int32_t kMaxPageSize = 1000;
constexpr int kScanBatch = 256;

std::string schedule_name(const std::string& ns, const std::string& id) {
  return "schedule " + id + " (namespace " + ns + ")";
}

Status not_found_schedule(const std::string& ns, const std::string& id) {
  return not_found(schedule_name(ns, id) +
                   " not found: cairnctl schedule list shows the schedules that exist");
}

// The current entity run of a schedule that exists. kNotFound otherwise.
Result<RunKey> resolve_schedule(Engine& e, const std::string& ns, const std::string& id) {
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns));
  CAIRN_RETURN_IF_ERROR(schedule::validate_schedule_id(id));
  auto key = e.resolve(ns, schedule::entity_workflow_id(id), "");
  if (!key.ok()) {
    if (key.status().code() == StatusCode::kNotFound) {
      return not_found_schedule(ns, id);
    }
    return key.status();
  }
  return *key;
}

// Everything CreateSchedule and UpdateSchedule check before writing: the schedule (spec with
// positions, action, policies), search attributes, and the start request each fire will send.
Result<schedule::CompiledSpec> check_schedule(Engine& e, const std::string& ns,
                                              const std::string& id, const v1::Schedule& sch) {
  CAIRN_RETURN_IF_ERROR(schedule::validate_schedule_id(id));
  CAIRN_RETURN_IF_ERROR(schedule::validate_schedule(sch));
  CAIRN_ASSIGN_OR_RETURN(auto spec, schedule::CompiledSpec::compile(sch.spec()));
  auto prefixed = [](const Status& st, const std::string& field) {
    return st.ok() ? st : Status(st.code(), field + ": " + st.message());
  };
  CAIRN_RETURN_IF_ERROR(prefixed(
      check_search_attributes(e, ns, sch.action().search_attributes(), /*allow_null=*/false),
      "action.search_attributes"));
  // The request a fire sends, as the start handler will check it (ids, timeouts, sizes).
  v1::StartWorkflowExecutionRequest probe;
  probe.set_namespace_(ns);
  probe.set_workflow_id(schedule::derived_workflow_id(id, sch.action(), 0));
  *probe.mutable_workflow_type() = sch.action().workflow_type();
  probe.set_task_queue(sch.action().task_queue());
  *probe.mutable_input() = sch.action().input();
  probe.set_workflow_execution_timeout_ms(sch.action().workflow_execution_timeout_ms());
  probe.set_workflow_run_timeout_ms(sch.action().workflow_run_timeout_ms());
  probe.set_workflow_task_timeout_ms(sch.action().workflow_task_timeout_ms());
  if (sch.action().has_retry_policy()) {
    *probe.mutable_retry_policy() = sch.action().retry_policy();
  }
  *probe.mutable_memo() = sch.action().memo();
  CAIRN_RETURN_IF_ERROR(prefixed(validate_start_request(probe, e.options().limits), "action"));
  if (sch.action().workflow_id().rfind(schedule::kEntityPrefix, 0) == 0) {
    return invalid_argument(std::string("action.workflow_id: the prefix ") +
                            schedule::kEntityPrefix + " is reserved for schedules");
  }
  return spec;
}

v1::Payload bool_payload(bool v) {
  v1::Payload p;
  (*p.mutable_metadata())["encoding"] = "json/plain";
  p.set_data(v ? "true" : "false");
  return p;
}

v1::Payload keyword_payload(const std::string& v) {
  v1::Payload p;
  (*p.mutable_metadata())["encoding"] = "json/plain";
  p.set_data(nlohmann::json(v).dump());
  return p;
}

}  // namespace

Status refuse_schedule_entity(const std::string& workflow_id) {
  if (workflow_id.rfind(schedule::kEntityPrefix, 0) == 0) {
    return invalid_argument("workflow " + workflow_id + " is the entity of schedule " +
                            workflow_id.substr(std::string(schedule::kEntityPrefix).size()) +
                            ": change it with cairnctl schedule (update, pause, delete)");
  }
  return Status();
}

Status create_schedule(Engine& e, const v1::CreateScheduleRequest& raw,
                       v1::CreateScheduleResponse* resp) {
  v1::CreateScheduleRequest req = raw;
  req.set_namespace_(ns_or_default(raw.namespace_()));
  CAIRN_RETURN_IF_ERROR(e.check_namespace(req.namespace_()));
  CAIRN_ASSIGN_OR_RETURN(auto spec,
                         check_schedule(e, req.namespace_(), req.schedule_id(), req.schedule()));
  CAIRN_RETURN_IF_ERROR(
      check_search_attributes(e, req.namespace_(), req.search_attributes(), /*allow_null=*/false));
  WorkflowKey wk = e.workflow_key(req.namespace_(), schedule::entity_workflow_id(req.schedule_id()));
  auto lock = e.lock_workflow(wk);
  auto current = e.store().load_current(wk);
  if (current.ok() && current->status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
    RunKey existing{wk.shard, wk.ns, wk.workflow_id, RunId{current->run_id()}};
    if (!req.request_id().empty() && current->start_request_id() == req.request_id()) {
      CAIRN_ASSIGN_OR_RETURN(auto state, e.read_state(existing));
      resp->set_conflict_token(state.schedule().conflict_token());
      return Status();  // a retried create
    }
    return already_exists(schedule_name(req.namespace_(), req.schedule_id()) +
                          " already exists: update it (cairnctl schedule update) or delete it "
                          "first");
  }
  if (!current.ok() && current.status().code() != StatusCode::kNotFound) {
    return current.status();
  }
  RunKey key{wk.shard, wk.ns, wk.workflow_id, RunId{e.new_run_id()}};
  std::string token;
  CAIRN_RETURN_IF_ERROR(e.create_run(key, [&](Engine::Scope& s) {
    CAIRN_RETURN_IF_ERROR(cairn::create_schedule(req, key, spec, s.env, s.ms, &s.effects));
    token = s.ms->state().schedule().conflict_token();
    return Status();
  }));
  const std::optional<int64_t> next = spec.next(e.clock().now_ms());
  spdlog::info("schedule {} created in namespace {} (next fire {})", req.schedule_id(),
               req.namespace_(), next ? schedule::format_utc(*next) : std::string("none"));
  resp->set_conflict_token(token);
  return Status();
}

Status describe_schedule(Engine& e, const v1::DescribeScheduleRequest& req,
                         v1::DescribeScheduleResponse* resp) {
  const std::string ns = ns_or_default(req.namespace_());
  if (req.future_action_count() < 0 || req.future_action_count() > kMaxFutureActions) {
    return invalid_argument("future_action_count must be between 0 and " +
                            std::to_string(kMaxFutureActions));
  }
  CAIRN_ASSIGN_OR_RETURN(RunKey key, resolve_schedule(e, ns, req.schedule_id()));
  CAIRN_ASSIGN_OR_RETURN(v1::RunState state, e.read_state(key));
  if (!state.has_schedule() || state.status() != v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
    return not_found_schedule(ns, req.schedule_id());
  }
  const v1::ScheduleState& s = state.schedule();
  CAIRN_ASSIGN_OR_RETURN(auto spec, compile_schedule_spec(state));
  *resp->mutable_schedule() = s.schedule();
  *resp->mutable_info() = s.info();
  const int count = req.future_action_count() == 0 ? kDefaultFutureActions : req.future_action_count();
  for (int64_t t : schedule_future_times(s, spec, e.clock().now_ms(), count)) {
    resp->mutable_info()->add_future_action_times_ms(t);
  }
  *resp->mutable_memo() = s.memo();
  *resp->mutable_search_attributes() = s.search_attributes();
  resp->set_conflict_token(s.conflict_token());
  return Status();
}

Status update_schedule(Engine& e, const v1::UpdateScheduleRequest& req,
                       v1::UpdateScheduleResponse* resp) {
  const std::string ns = ns_or_default(req.namespace_());
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns));
  CAIRN_ASSIGN_OR_RETURN(auto spec, check_schedule(e, ns, req.schedule_id(), req.schedule()));
  CAIRN_ASSIGN_OR_RETURN(RunKey key, resolve_schedule(e, ns, req.schedule_id()));
  std::string token;
  CAIRN_RETURN_IF_ERROR(e.run_transition(key, [&](Engine::Scope& s) -> Status {
    if (!req.request_id().empty() && s.ms->seen_request_id(req.request_id())) {
      s.skip_commit = true;  // a retried update
      token = s.ms->state().schedule().conflict_token();
      return Status();
    }
    CAIRN_RETURN_IF_ERROR(cairn::update_schedule(s.ms, req, spec, s.env, &s.effects));
    s.ms->remember_request_id(req.request_id(), s.env.limits->max_recent_request_ids);
    token = s.ms->state().schedule().conflict_token();
    return Status();
  }));
  resp->set_conflict_token(token);
  return Status();
}

Status patch_schedule(Engine& e, const v1::PatchScheduleRequest& req,
                      v1::PatchScheduleResponse* resp) {
  const std::string ns = ns_or_default(req.namespace_());
  CAIRN_ASSIGN_OR_RETURN(RunKey key, resolve_schedule(e, ns, req.schedule_id()));
  const v1::SchedulePatch& p = req.patch();
  if (!p.trigger_immediately() && p.backfill().empty() && p.pause().empty() &&
      p.unpause().empty()) {
    return invalid_argument("patch is empty: set trigger_immediately, backfill, pause or unpause");
  }
  std::vector<std::string> ids;
  CAIRN_RETURN_IF_ERROR(e.run_transition(key, [&](Engine::Scope& s) -> Status {
    if (!s.ms->state().has_schedule()) {
      return not_found_schedule(ns, req.schedule_id());
    }
    if (!req.request_id().empty() && s.ms->seen_request_id(req.request_id())) {
      s.skip_commit = true;  // a retried patch: a trigger must not fire twice
      return Status();
    }
    CAIRN_ASSIGN_OR_RETURN(auto spec, compile_schedule_spec(s.ms->state()));
    CAIRN_RETURN_IF_ERROR(cairn::patch_schedule(s.ms, p, spec, s.env, &s.effects, &ids));
    s.ms->remember_request_id(req.request_id(), s.env.limits->max_recent_request_ids);
    return Status();
  }));
  for (auto& id : ids) {
    resp->add_workflow_ids(id);
  }
  return Status();
}

Status delete_schedule(Engine& e, const v1::DeleteScheduleRequest& req,
                       v1::DeleteScheduleResponse*) {
  const std::string ns = ns_or_default(req.namespace_());
  CAIRN_ASSIGN_OR_RETURN(RunKey key, resolve_schedule(e, ns, req.schedule_id()));
  Status st = e.run_transition(key, [&](Engine::Scope& s) -> Status {
    if (!s.ms->state().has_schedule() || !s.ms->is_open()) {
      return not_found_schedule(ns, req.schedule_id());
    }
    return cairn::delete_schedule(s.ms, s.env, &s.effects);
  });
  if (st.ok()) {
    spdlog::info("schedule {} deleted from namespace {}", req.schedule_id(), ns);
  }
  return st;
}

Status list_schedules(Engine& e, const v1::ListSchedulesRequest& req,
                      v1::ListSchedulesResponse* resp) {
  const std::string ns = ns_or_default(req.namespace_());
  CAIRN_ASSIGN_OR_RETURN(auto rec, e.describe_namespace(ns));
  if (req.maximum_page_size() < 0 || req.maximum_page_size() > kMaxPageSize) {
    return invalid_argument("maximum_page_size must be between 1 and " +
                            std::to_string(kMaxPageSize) + " (0: " +
                            std::to_string(kDefaultPageSize) + ")");
  }
  const int32_t page_size = req.maximum_page_size() == 0 ? kDefaultPageSize : req.maximum_page_size();
  // The filter sees the schedule's own attributes plus ScheduleId and Paused.
  SearchAttributeTypes types(rec.search_attributes().begin(), rec.search_attributes().end());
  types["ScheduleId"] = v1::INDEXED_VALUE_TYPE_KEYWORD;
  types["Paused"] = v1::INDEXED_VALUE_TYPE_BOOL;
  CAIRN_ASSIGN_OR_RETURN(ListFilter filter, ListFilter::parse(req.query(), types));
  VisibilityScan scan;
  scan.ns = ns;
  scan.index = VisibilityIndex::kSchedules;
  scan.descending = filter.order().descending;
  scan.limit = kScanBatch;
  if (!req.next_page_token().empty()) {
    v1::ListPageToken token;
    if (!token.ParseFromString(req.next_page_token()) || token.query() != req.query()) {
      return invalid_argument("next_page_token is malformed or belongs to another query: pass "
                              "the token of the previous page unchanged, with the same query");
    }
    scan.after = token.cursor();
  }
  const int64_t now = e.clock().now_ms();
  while (true) {
    CAIRN_ASSIGN_OR_RETURN(VisibilityPage page, e.store().scan_visibility(scan));
    for (size_t i = 0; i < page.records.size(); ++i) {
      v1::VisibilityRecord r = page.records[i];
      (*r.mutable_search_attributes())["ScheduleId"] = keyword_payload(r.schedule_id());
      (*r.mutable_search_attributes())["Paused"] = bool_payload(r.schedule_paused());
      r.set_workflow_id(r.schedule_id());
      if (filter.matches(r)) {
        RunKey key{ShardId{r.shard()}, r.namespace_(), schedule::entity_workflow_id(r.schedule_id()),
                   RunId{r.run_id()}};
        auto state = e.read_state(key);
        if (state.ok() && state->has_schedule() &&
            state->status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
          const v1::ScheduleState& s = state->schedule();
          v1::ScheduleListEntry* entry = resp->add_schedules();
          entry->set_schedule_id(s.schedule_id());
          entry->set_workflow_type(s.schedule().action().workflow_type().name());
          entry->set_paused(s.schedule().paused());
          entry->set_notes(s.schedule().notes());
          *entry->mutable_spec() = s.schedule().spec();
          *entry->mutable_search_attributes() = s.search_attributes();
          *entry->mutable_memo() = s.memo();
          auto spec = compile_schedule_spec(*state);
          if (spec.ok()) {
            for (int64_t t : schedule_future_times(s, *spec, now, 3)) {
              entry->add_future_action_times_ms(t);
            }
          }
          const int n = s.info().recent_actions_size();
          for (int k = std::max(0, n - 3); k < n; ++k) {
            *entry->add_recent_actions() = s.info().recent_actions(k);
          }
        }
      }
      const bool last_record = !page.more && i + 1 == page.records.size();
      if (!last_record && resp->schedules_size() == page_size) {
        v1::ListPageToken token;
        token.set_query(req.query());
        token.set_cursor(page.cursors[i]);
        resp->set_next_page_token(token.SerializeAsString());
        return Status();
      }
    }
    if (!page.more) {
      return Status();
    }
    scan.after = page.cursors.back();
  }
}

}  // namespace cairn::handlers
