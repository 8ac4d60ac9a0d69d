// Handlers: RegisterNamespace, DescribeNamespace, ListNamespaces, GetSystemInfo.
#include "server/handlers/handlers.h"

namespace cairn::handlers {
namespace {

constexpr int64_t kDefaultRetentionMs = 3LL * 24 * 3600 * 1000;

void to_info(const v1::NamespaceRecord& rec, v1::NamespaceInfo* info) {
  info->set_name(rec.name());
  info->set_description(rec.description());
  info->set_retention_ms(rec.retention_ms());
  info->set_created_time_ms(rec.created_time_ms());
  *info->mutable_search_attributes() = rec.search_attributes();
}

}  // namespace

Status register_namespace(Engine& e, const v1::RegisterNamespaceRequest& req,
                          v1::RegisterNamespaceResponse* resp) {
  const std::string& name = req.namespace_();
  if (name.empty() || name.size() > 255) {
    return invalid_argument("namespace name must be 1 to 255 characters");
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return invalid_argument("namespace name \"" + name +
                              "\" may contain only letters, digits, '-', '_' and '.'");
    }
  }
  if (req.retention_ms() < 0) {
    return invalid_argument("retention_ms must not be negative");
  }
  v1::NamespaceRecord rec;
  rec.set_name(name);
  rec.set_description(req.description());
  rec.set_retention_ms(req.retention_ms() == 0 ? kDefaultRetentionMs : req.retention_ms());
  rec.set_created_time_ms(e.clock().now_ms());
  return e.register_namespace(rec);
}

Status describe_namespace(Engine& e, const v1::DescribeNamespaceRequest& req,
                          v1::DescribeNamespaceResponse* resp) {
  CAIRN_ASSIGN_OR_RETURN(auto rec, e.describe_namespace(ns_or_default(req.namespace_())));
  to_info(rec, resp->mutable_namespace_info());
  return Status();
}

Status list_namespaces(Engine& e, const v1::ListNamespacesRequest& req,
                       v1::ListNamespacesResponse* resp) {
  for (auto& rec : e.list_namespaces()) {
    to_info(rec, resp->add_namespaces());
  }
  return Status();
}

Status get_system_info(Engine& e, const v1::GetSystemInfoRequest& req,
                       v1::GetSystemInfoResponse* resp) {
  resp->set_server_version(CAIRN_VERSION);
  resp->set_shard_count(e.shard_count());
  resp->set_serving(true);
  return Status();
}

}  // namespace cairn::handlers
