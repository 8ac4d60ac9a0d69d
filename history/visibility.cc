#include "history/visibility.h"

#include "history/history_store.h"
#include "history/keys.h"

namespace cairn {

v1::VisibilityRecord visibility_record(const v1::RunState& state, ShardId shard) {
  v1::VisibilityRecord record;
  record.set_namespace_(state.namespace_());
  record.set_workflow_id(state.workflow_id());
  record.set_run_id(state.run_id());
  record.set_workflow_type(state.workflow_type().name());
  record.set_task_queue(state.task_queue());
  record.set_status(state.status());
  record.set_start_time_ms(state.start_time_ms());
  if (state.status() != v1::WORKFLOW_EXECUTION_STATUS_RUNNING) {
    record.set_close_time_ms(state.close_time_ms());
  }
  record.set_history_length(state.next_event_id() > 0 ? state.next_event_id() - 1 : 0);
  *record.mutable_memo() = state.memo();
  *record.mutable_search_attributes() = state.search_attributes();
  record.set_shard(shard.value);
  if (state.has_schedule()) {
    const v1::ScheduleState& s = state.schedule();
    record.set_schedule_id(s.schedule_id());
    record.set_schedule_paused(s.schedule().paused());
    record.set_schedule_next_fire_ms(s.next_fire_ms());
    record.set_workflow_type(s.schedule().action().workflow_type().name());
    record.set_task_queue(s.schedule().action().task_queue());
    *record.mutable_search_attributes() = s.search_attributes();
  }
  if (state.has_workflow_task_failure()) {
    const v1::WorkflowTaskFailureInfo& f = state.workflow_task_failure();
    record.set_task_failure(task_failure_name(f));
    record.set_task_failure_message(f.failure().message());
    record.set_task_failure_attempt(f.attempt());
  }
  return record;
}

bool task_failure_visibility_changed(const v1::RunState& before, const v1::RunState& after) {
  // The failure info is set whole from one event, so a new event id is a new failure.
  return before.has_workflow_task_failure() != after.has_workflow_task_failure() ||
         before.workflow_task_failure().event_id() != after.workflow_task_failure().event_id();
}

char visibility_index_byte(VisibilityIndex index) {
  switch (index) {
    case VisibilityIndex::kStartTime: return keys::kVisibilityByStart;
    case VisibilityIndex::kCloseTime: return keys::kVisibilityByClose;
    case VisibilityIndex::kOpenStartTime: return keys::kVisibilityOpen;
    case VisibilityIndex::kSchedules: return keys::kVisibilitySchedules;
  }
  return keys::kVisibilityByStart;
}

}  // namespace cairn
