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
  return record;
}

char visibility_index_byte(VisibilityIndex index) {
  switch (index) {
    case VisibilityIndex::kStartTime: return keys::kVisibilityByStart;
    case VisibilityIndex::kCloseTime: return keys::kVisibilityByClose;
    case VisibilityIndex::kOpenStartTime: return keys::kVisibilityOpen;
  }
  return keys::kVisibilityByStart;
}

}  // namespace cairn
