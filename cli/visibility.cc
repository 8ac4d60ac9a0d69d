// cairnctl: workflow list | count, search-attribute add | list, namespace create | update,
// task-queue describe.
#include <cstdio>
#include <iostream>
#include <map>
#include <regex>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "cli/describe.h"
#include "cli/flags.h"

namespace cairnctl {
namespace {

const std::map<std::string, v1::IndexedValueType>& type_names() {
  static const std::map<std::string, v1::IndexedValueType> names = {
      {"keyword", v1::INDEXED_VALUE_TYPE_KEYWORD},
      {"text", v1::INDEXED_VALUE_TYPE_TEXT},
      {"int", v1::INDEXED_VALUE_TYPE_INT},
      {"double", v1::INDEXED_VALUE_TYPE_DOUBLE},
      {"bool", v1::INDEXED_VALUE_TYPE_BOOL},
      {"datetime", v1::INDEXED_VALUE_TYPE_DATETIME},
      {"keywordlist", v1::INDEXED_VALUE_TYPE_KEYWORD_LIST}};
  return names;
}

std::string type_text(v1::IndexedValueType t) {
  switch (t) {
    case v1::INDEXED_VALUE_TYPE_KEYWORD:
      return "Keyword";
    case v1::INDEXED_VALUE_TYPE_TEXT:
      return "Text";
    case v1::INDEXED_VALUE_TYPE_INT:
      return "Int";
    case v1::INDEXED_VALUE_TYPE_DOUBLE:
      return "Double";
    case v1::INDEXED_VALUE_TYPE_BOOL:
      return "Bool";
    case v1::INDEXED_VALUE_TYPE_DATETIME:
      return "Datetime";
    case v1::INDEXED_VALUE_TYPE_KEYWORD_LIST:
      return "KeywordList";
    default:
      return "?";
  }
}

// "72h", "3d", "30m", "90s", "500ms" to milliseconds; -1 when malformed.
int64_t parse_duration_ms(const std::string& text) {
  static const std::regex re("^([0-9]+)(ms|s|m|h|d)$");
  std::smatch m;
  if (!std::regex_match(text, m, re)) {
    return -1;
  }
  int64_t n = std::stoll(m[1].str());
  const std::string unit = m[2].str();
  int64_t scale = unit == "ms"  ? 1
                  : unit == "s" ? 1000
                  : unit == "m" ? 60'000
                  : unit == "h" ? 3'600'000
                                : 86'400'000;
  return n * scale;
}

int list(const Globals& g, const std::string& query, int64_t limit, int page_size) {
  v1::ListWorkflowExecutionsRequest req;
  req.set_namespace_(g.ns);
  req.set_query(query);
  req.set_page_size(page_size);
  int64_t shown = 0;
  nlohmann::json all = nlohmann::json::array();
  // Column widths come from the first page (the header is printed with it, so an error prints
  // nothing but the error); later rows that are wider just push their line out.
  std::vector<size_t> widths;
  auto row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      line += cells[i];
      if (i + 1 < cells.size()) {
        line += std::string(widths[i] > cells[i].size() ? widths[i] - cells[i].size() + 2 : 2, ' ');
      }
    }
    std::cout << line << "\n";
  };
  const std::vector<std::string> header = {"WORKFLOW ID", "RUN ID",  "TYPE",
                                           "STATUS",      "STARTED", "CLOSED"};
  while (limit <= 0 || shown < limit) {
    v1::ListWorkflowExecutionsResponse resp;
    call(g, &v1::WorkflowService::Stub::ListWorkflowExecutions, req, &resp);
    std::vector<std::vector<std::string>> rows;
    for (const auto& info : resp.executions()) {
      if (limit > 0 && shown == limit) {
        break;
      }
      ++shown;
      if (g.json()) {
        all.push_back(nlohmann::json::parse(to_json(info)));
        continue;
      }
      rows.push_back({info.execution().workflow_id(), info.execution().run_id(), info.type().name(),
                      list_status_text(info), time_text(info.start_time_ms()),
                      time_text(info.close_time_ms())});
    }
    if (!g.json() && widths.empty()) {
      for (const auto& h : header) {
        widths.push_back(h.size());
      }
      for (const auto& r : rows) {
        for (size_t i = 0; i < r.size(); ++i) {
          widths[i] = std::max(widths[i], r[i].size());
        }
      }
      row(header);
    }
    for (const auto& r : rows) {
      row(r);
    }
    if (resp.next_page_token().empty()) {
      break;
    }
    req.set_next_page_token(resp.next_page_token());
  }
  if (g.json()) {
    std::cout << all.dump(2) << "\n";
  }
  return 0;
}

int count(const Globals& g, const std::string& query) {
  v1::CountWorkflowExecutionsRequest req;
  req.set_namespace_(g.ns);
  req.set_query(query);
  v1::CountWorkflowExecutionsResponse resp;
  call(g, &v1::WorkflowService::Stub::CountWorkflowExecutions, req, &resp,
       std::chrono::seconds(300));
  if (g.json()) {
    std::cout << nlohmann::json{{"count", resp.count()}}.dump() << "\n";
  } else {
    std::cout << resp.count() << "\n";
  }
  return 0;
}

int add_attribute(const Globals& g, const std::string& name, const std::string& type) {
  std::string lower;
  for (char c : type) {
    if (c != '_' && c != '-') {
      lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  auto it = type_names().find(lower);
  if (it == type_names().end()) {
    usage_error("--type " + type +
                " is not a search attribute type: use Keyword, Text, Int, Double, Bool, "
                "Datetime or KeywordList");
  }
  v1::AddSearchAttributesRequest req;
  req.set_namespace_(g.ns);
  (*req.mutable_search_attributes())[name] = it->second;
  v1::AddSearchAttributesResponse resp;
  call(g, &v1::WorkflowService::Stub::AddSearchAttributes, req, &resp);
  if (g.json()) {
    print_json(
        {{"namespace", g.ns}, {"name", name}, {"type", type_text(it->second)}, {"added", true}});
  } else {
    std::cout << "search attribute " << name << " (" << type_text(it->second) << ") added to "
              << g.ns << "\n";
  }
  return 0;
}

int list_attributes(const Globals& g) {
  v1::ListSearchAttributesRequest req;
  req.set_namespace_(g.ns);
  v1::ListSearchAttributesResponse resp;
  call(g, &v1::WorkflowService::Stub::ListSearchAttributes, req, &resp);
  if (g.json()) {
    std::cout << to_json(resp) << "\n";
    return 0;
  }
  std::printf("%-28s %-12s %s\n", "NAME", "TYPE", "KIND");
  for (const auto* group : {&resp.system_attributes(), &resp.custom_attributes()}) {
    std::map<std::string, v1::IndexedValueType> sorted(group->begin(), group->end());
    for (const auto& [name, t] : sorted) {
      std::printf("%-28s %-12s %s\n", name.c_str(), type_text(t).c_str(),
                  group == &resp.system_attributes() ? "system" : "custom");
    }
  }
  return 0;
}

int create_namespace(const Globals& g, const std::string& name, const std::string& description,
                     const std::string& retention) {
  v1::RegisterNamespaceRequest req;
  req.set_namespace_(name);
  req.set_description(description);
  if (!retention.empty()) {
    int64_t ms = parse_duration_ms(retention);
    if (ms <= 0) {
      usage_error("--retention " + retention + " is not a duration: use e.g. 72h, 3d, 30m");
    }
    req.set_retention_ms(ms);
  }
  v1::RegisterNamespaceResponse resp;
  call(g, &v1::WorkflowService::Stub::RegisterNamespace, req, &resp);
  if (g.json()) {
    // The namespace as it was stored, defaults filled in (like `namespace describe`).
    v1::DescribeNamespaceRequest dreq;
    dreq.set_namespace_(name);
    v1::DescribeNamespaceResponse dresp;
    call(g, &v1::WorkflowService::Stub::DescribeNamespace, dreq, &dresp);
    print_namespace(g, dresp.namespace_info());
  } else {
    std::cout << "namespace " << name << " created\n";
  }
  return 0;
}

int update_namespace(const Globals& g, const std::string& name, const std::string* description,
                     const std::string* retention) {
  v1::UpdateNamespaceRequest req;
  req.set_namespace_(name);
  if (description != nullptr) {
    req.set_description(*description);
  }
  if (retention != nullptr) {
    int64_t ms = parse_duration_ms(*retention);
    if (ms <= 0) {
      usage_error("--retention " + *retention + " is not a duration: use e.g. 72h, 3d, 30m");
    }
    req.set_retention_ms(ms);
  }
  if (description == nullptr && retention == nullptr) {
    usage_error("nothing to update: pass --description and/or --retention");
  }
  v1::UpdateNamespaceResponse resp;
  call(g, &v1::WorkflowService::Stub::UpdateNamespace, req, &resp);
  print_namespace(g, resp.namespace_info());
  return 0;
}

int describe_task_queue(const Globals& g, const std::string& queue) {
  v1::DescribeTaskQueueRequest req;
  req.set_namespace_(g.ns);
  req.set_task_queue(queue);
  v1::DescribeTaskQueueResponse resp;
  call(g, &v1::WorkflowService::Stub::DescribeTaskQueue, req, &resp);
  if (g.json()) {
    std::cout << to_json(resp) << "\n";
    return 0;
  }
  std::cout << "task queue        " << queue << "\n"
            << "workflow backlog  " << resp.workflow_backlog() << "\n"
            << "activity backlog  " << resp.activity_backlog() << "\n"
            << "last access       " << time_text(resp.last_access_time_ms()) << "\n";
  std::printf("%-10s %-40s %s\n", "POLLER", "IDENTITY", "LAST ACCESS");
  for (const auto& p : resp.workflow_pollers()) {
    std::printf("%-10s %-40s %s\n", "workflow", p.identity().c_str(),
                time_text(p.last_access_time_ms()).c_str());
  }
  for (const auto& p : resp.activity_pollers()) {
    std::printf("%-10s %-40s %s\n", "activity", p.identity().c_str(),
                time_text(p.last_access_time_ms()).c_str());
  }
  return 0;
}

}  // namespace

std::string duration_text(int64_t ms) {
  if (ms % 86'400'000 == 0)
    return std::to_string(ms / 86'400'000) + "d";
  if (ms % 3'600'000 == 0)
    return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0)
    return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0)
    return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

void print_namespace(const Globals& g, const v1::NamespaceInfo& info) {
  if (g.json()) {
    std::cout << to_json(info) << "\n";
    return;
  }
  std::cout << "name         " << info.name() << "\n"
            << "description  " << info.description() << "\n"
            << "retention    " << duration_text(info.retention_ms()) << "\n"
            << "created      " << time_text(info.created_time_ms()) << "\n";
  if (!info.search_attributes().empty()) {
    std::map<std::string, v1::IndexedValueType> sorted(info.search_attributes().begin(),
                                                       info.search_attributes().end());
    std::cout << "search attributes:\n";
    for (const auto& [name, t] : sorted) {
      std::cout << "  " << name << "  " << type_text(t) << "\n";
    }
  }
}

void add_visibility_commands(CLI::App& app, CLI::App& workflow, CLI::App& ns, Globals& g,
                             Action& action) {
  struct Args {
    std::string query;
    int64_t limit = 0;
    int page_size = 100;
    std::string name;
    std::string type;
    std::string description;
    std::string retention;
    std::string queue;
  };
  static Args a;
  const char* query_help =
      "filter, e.g. \"ExecutionStatus = 'Running' AND CustomerId = 'c-7'\" (docs/visibility.md)";
  auto* l = workflow.add_subcommand("list", "runs matching a filter, newest first");
  l->add_option("-q,--query", a.query, query_help);
  l->add_option("--limit", a.limit, "at most this many (0: all)")->capture_default_str();
  l->add_option("--page-size", a.page_size, "runs per request")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  l->callback([&] { action = [&] { return list(g, a.query, a.limit, a.page_size); }; });
  auto* c = workflow.add_subcommand("count", "how many runs match a filter");
  c->add_option("-q,--query", a.query, query_help);
  c->callback([&] { action = [&] { return count(g, a.query); }; });

  auto* sa = app.add_subcommand("search-attribute", "custom search attributes of a namespace")
                 ->require_subcommand(1);
  auto* add = sa->add_subcommand("add", "register one (its type cannot change later)");
  add->add_option("--name", a.name, "attribute name")->required()->check(attribute_name_check());
  add->add_option("--type", a.type, "Keyword, Text, Int, Double, Bool, Datetime, KeywordList")
      ->required();
  add->callback([&] { action = [&] { return add_attribute(g, a.name, a.type); }; });
  sa->add_subcommand("list", "system and custom attributes with their types")->callback([&] {
    action = [&] { return list_attributes(g); };
  });

  auto* create = ns.add_subcommand("create", "register a namespace");
  create->add_option("name", a.name, "namespace name")->required()->check(namespace_check());
  create->add_option("--description", a.description, "what it is for");
  create->add_option("--retention", a.retention,
                     "how long closed runs are kept, e.g. 72h, 7d (default 3d)");
  create->callback(
      [&] { action = [&] { return create_namespace(g, a.name, a.description, a.retention); }; });
  auto* update = ns.add_subcommand("update", "change a namespace's description or retention");
  update->add_option("name", a.name, "namespace name")->required()->check(namespace_check());
  auto* desc_opt = update->add_option("--description", a.description, "what it is for");
  auto* ret_opt = update->add_option("--retention", a.retention, "e.g. 72h, 7d");
  update->callback([&, desc_opt, ret_opt] {
    action = [&, desc_opt, ret_opt] {
      return update_namespace(g, a.name, desc_opt->count() > 0 ? &a.description : nullptr,
                              ret_opt->count() > 0 ? &a.retention : nullptr);
    };
  });

  auto* tq = app.add_subcommand("task-queue", "task queues")->require_subcommand(1);
  auto* tqd = tq->add_subcommand("describe", "pollers, backlog and last access of a queue");
  tqd->add_option("-q,--task-queue", a.queue, "task queue name")
      ->required()
      ->check(id_check("task queue"));
  tqd->callback([&] { action = [&] { return describe_task_queue(g, a.queue); }; });
}

}  // namespace cairnctl
