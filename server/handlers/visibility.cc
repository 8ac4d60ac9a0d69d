// Handlers: ListWorkflowExecutions, CountWorkflowExecutions, AddSearchAttributes,
// ListSearchAttributes, UpdateNamespace, DescribeTaskQueue.
#include "server/handlers/handlers.h"
#include "server/list_filter.h"

namespace cairn::handlers {
namespace {

constexpr int32_t kDefaultPageSize = 100;
constexpr int32_t kMaxPageSize = 1000;
// Records one ListWorkflowExecutions call may examine before it answers with what it found and a
// token to go on (a selective filter over a big namespace then returns short pages, not a stall).
constexpr int64_t kMaxExaminedPerCall = 20'000;
constexpr int kScanBatch = 256;
constexpr size_t kMaxCustomAttributes = 100;

SearchAttributeTypes custom_types(const v1::NamespaceRecord& ns) {
  return SearchAttributeTypes(ns.search_attributes().begin(), ns.search_attributes().end());
}

void to_execution_info(const v1::VisibilityRecord& r, v1::WorkflowExecutionInfo* info) {
  info->mutable_execution()->set_workflow_id(r.workflow_id());
  info->mutable_execution()->set_run_id(r.run_id());
  info->mutable_type()->set_name(r.workflow_type());
  info->set_start_time_ms(r.start_time_ms());
  info->set_close_time_ms(r.close_time_ms());
  info->set_status(r.status());
  info->set_history_length(r.history_length());
  info->set_task_queue(r.task_queue());
  *info->mutable_memo() = r.memo();
  *info->mutable_search_attributes() = r.search_attributes();
  info->set_task_failure(r.task_failure());
  info->set_task_failure_message(r.task_failure_message());
  info->set_task_failure_attempt(r.task_failure_attempt());
}

VisibilityScan scan_for(const std::string& ns, const ListFilter& filter) {
  VisibilityScan scan;
  scan.ns = ns;
  // The smallest index that holds every run the filter can match.
  scan.index = filter.order().field == ListOrderField::kCloseTime ? VisibilityIndex::kCloseTime
               : filter.only_open_runs()                          ? VisibilityIndex::kOpenStartTime
                                                                  : VisibilityIndex::kStartTime;
  scan.descending = filter.order().descending;
  scan.limit = kScanBatch;
  return scan;
}

bool valid_attribute_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || !std::isalpha(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

Status check_search_attributes(Engine& e, const std::string& ns,
                               const google::protobuf::Map<std::string, v1::Payload>& attributes,
                               bool allow_null) {
  if (attributes.empty()) {
    return Status();
  }
  CAIRN_ASSIGN_OR_RETURN(auto rec, e.describe_namespace(ns));
  for (const auto& [name, value] : attributes) {
    if (system_search_attributes().count(name) != 0) {
      return invalid_argument("search attribute " + name +
                              " is a system attribute: the server sets it");
    }
    auto type = rec.search_attributes().find(name);
    if (type == rec.search_attributes().end()) {
      return invalid_argument("search attribute " + name + " is not registered in namespace " +
                              ns + ": add it first (cairnctl search-attribute add --name " +
                              name + " --type Keyword)");
    }
    auto encoding = value.metadata().find("encoding");
    if (allow_null && encoding != value.metadata().end() && encoding->second == "binary/null") {
      continue;
    }
    CAIRN_RETURN_IF_ERROR(check_search_attribute_value(name, type->second, value));
  }
  return Status();
}

Status list_workflows(Engine& e, const v1::ListWorkflowExecutionsRequest& req,
                      v1::ListWorkflowExecutionsResponse* resp) {
  const std::string ns = ns_or_default(req.namespace_());
  CAIRN_ASSIGN_OR_RETURN(auto rec, e.describe_namespace(ns));
  if (req.page_size() < 0 || req.page_size() > kMaxPageSize) {
    return invalid_argument("page_size must be between 1 and " + std::to_string(kMaxPageSize) +
                            " (0: " + std::to_string(kDefaultPageSize) + ")");
  }
  const int32_t page_size = req.page_size() == 0 ? kDefaultPageSize : req.page_size();
  CAIRN_ASSIGN_OR_RETURN(ListFilter filter, ListFilter::parse(req.query(), custom_types(rec)));
  VisibilityScan scan = scan_for(ns, filter);
  if (!req.next_page_token().empty()) {
    v1::ListPageToken token;
    if (!token.ParseFromString(req.next_page_token())) {
      return invalid_argument("next_page_token is malformed: pass the token of the previous page "
                              "unchanged");
    }
    if (token.query() != req.query()) {
      return invalid_argument("next_page_token belongs to another query: page with the query "
                              "that returned it");
    }
    scan.after = token.cursor();
  }
  int64_t examined = 0;
  std::string last_cursor;
  while (true) {
    CAIRN_ASSIGN_OR_RETURN(VisibilityPage page, e.store().scan_visibility(scan));
    for (size_t i = 0; i < page.records.size(); ++i) {
      ++examined;
      last_cursor = page.cursors[i];
      if (filter.matches(page.records[i])) {
        to_execution_info(page.records[i], resp->add_executions());
      }
      const bool last_record = !page.more && i + 1 == page.records.size();
      if (!last_record && (resp->executions_size() == page_size || examined >= kMaxExaminedPerCall)) {
        v1::ListPageToken token;
        token.set_query(req.query());
        token.set_cursor(last_cursor);
        resp->set_next_page_token(token.SerializeAsString());
        return Status();
      }
    }
    if (!page.more) {
      return Status();
    }
    scan.after = last_cursor;
  }
}

Status count_workflows(Engine& e, const v1::CountWorkflowExecutionsRequest& req,
                       v1::CountWorkflowExecutionsResponse* resp) {
  const std::string ns = ns_or_default(req.namespace_());
  CAIRN_ASSIGN_OR_RETURN(auto rec, e.describe_namespace(ns));
  CAIRN_ASSIGN_OR_RETURN(ListFilter filter, ListFilter::parse(req.query(), custom_types(rec)));
  VisibilityScan scan = scan_for(ns, filter);
  scan.limit = 1024;
  int64_t count = 0;
  while (true) {
    CAIRN_ASSIGN_OR_RETURN(VisibilityPage page, e.store().scan_visibility(scan));
    for (const auto& record : page.records) {
      count += filter.matches(record) ? 1 : 0;
    }
    if (!page.more || page.records.empty()) {
      break;
    }
    scan.after = page.cursors.back();
  }
  resp->set_count(count);
  return Status();
}

Status add_search_attributes(Engine& e, const v1::AddSearchAttributesRequest& req,
                             v1::AddSearchAttributesResponse* resp) {
  const std::string ns = ns_or_default(req.namespace_());
  if (req.search_attributes().empty()) {
    return invalid_argument("no search attributes given");
  }
  for (const auto& [name, type] : req.search_attributes()) {
    if (!valid_attribute_name(name)) {
      return invalid_argument("search attribute name \"" + name +
                              "\" must start with a letter and have only letters, digits and "
                              "'_' (at most 64)");
    }
    if (system_search_attributes().count(name) != 0) {
      return invalid_argument("search attribute " + name + " is a system attribute");
    }
    if (type == v1::INDEXED_VALUE_TYPE_UNSPECIFIED || !v1::IndexedValueType_IsValid(type)) {
      return invalid_argument("search attribute " + name +
                              ": type must be Keyword, Text, Int, Double, Bool, Datetime or "
                              "KeywordList");
    }
  }
  return e.update_namespace(ns, [&](v1::NamespaceRecord* rec) -> Status {
    auto* registered = rec->mutable_search_attributes();
    for (const auto& [name, type] : req.search_attributes()) {
      auto it = registered->find(name);
      if (it != registered->end() && it->second != type) {
        return already_exists("search attribute " + name + " is registered already as " +
                              indexed_value_type_name(it->second) + " in namespace " + ns +
                              "; a type cannot change");
      }
    }
    for (const auto& [name, type] : req.search_attributes()) {
      (*registered)[name] = type;
    }
    if (registered->size() > kMaxCustomAttributes) {
      return resource_exhausted("namespace " + ns + " would have " +
                                std::to_string(registered->size()) +
                                " custom search attributes; the limit is " +
                                std::to_string(kMaxCustomAttributes));
    }
    return Status();
  });
}

Status list_search_attributes(Engine& e, const v1::ListSearchAttributesRequest& req,
                              v1::ListSearchAttributesResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(auto rec, e.describe_namespace(ns_or_default(req.namespace_())));
  for (const auto& [name, type] : system_search_attributes()) {
    (*resp->mutable_system_attributes())[name] = type;
  }
  *resp->mutable_custom_attributes() = rec.search_attributes();
  return Status();
}

Status update_namespace(Engine& e, const v1::UpdateNamespaceRequest& req,
                        v1::UpdateNamespaceResponse* resp) {
  const std::string ns = ns_or_default(req.namespace_());
  if (req.has_retention_ms() && req.retention_ms() <= 0) {
    return invalid_argument("retention_ms must be positive");
  }
  if (req.has_description() && req.description().size() > 1024) {
    return invalid_argument("description must be at most 1024 bytes");
  }
  CAIRN_RETURN_IF_ERROR(e.update_namespace(ns, [&](v1::NamespaceRecord* rec) {
    if (req.has_description()) {
      rec->set_description(req.description());
    }
    if (req.has_retention_ms()) {
      rec->set_retention_ms(req.retention_ms());
    }
    return Status();
  }));
  v1::DescribeNamespaceRequest describe;
  describe.set_namespace_(ns);
  v1::DescribeNamespaceResponse described;
  CAIRN_RETURN_IF_ERROR(describe_namespace(e, describe, &described));
  *resp->mutable_namespace_info() = described.namespace_info();
  return Status();
}

Status describe_task_queue(Engine& e, const v1::DescribeTaskQueueRequest& req,
                           v1::DescribeTaskQueueResponse* resp) {
  const std::string ns = ns_or_default(req.namespace_());
  CAIRN_RETURN_IF_ERROR(e.check_namespace(ns));
  if (req.task_queue().empty()) {
    return invalid_argument("task_queue is required");
  }
  auto fill = [&](v1::TaskKind kind, google::protobuf::RepeatedPtrField<v1::TaskQueuePoller>* out,
                  int64_t* backlog) {
    QueueStats stats = e.matcher().stats(QueueKey{ns, req.task_queue(), kind});
    for (const auto& [identity, at] : stats.recent_pollers) {
      auto* p = out->Add();
      p->set_identity(identity);
      p->set_last_access_time_ms(at);
    }
    *backlog = stats.backlog;
    resp->set_last_access_time_ms(std::max(resp->last_access_time_ms(), stats.last_poll_time_ms));
  };
  int64_t backlog = 0;
  fill(v1::TASK_KIND_WORKFLOW, resp->mutable_workflow_pollers(), &backlog);
  resp->set_workflow_backlog(backlog);
  fill(v1::TASK_KIND_ACTIVITY, resp->mutable_activity_pollers(), &backlog);
  resp->set_activity_backlog(backlog);
  return Status();
}

}  // namespace cairn::handlers
