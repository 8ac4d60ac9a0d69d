// cairnctl: workflow usage, and the AI usage section of workflow describe. The figures come
// from history only (cairn::ai::usage_from_history), so they are exact and need no worker.
#include "cli/ai_usage.h"

#include <cstdio>
#include <iostream>
#include <optional>

#include "cairn/ai/cost.h"

namespace cairnctl {
namespace {

struct RunUsage {
  std::string workflow_id;
  std::string run_id;
  cairn::ai::UsageReport report;
  int64_t unreadable = 0;  // model-call results that did not parse (e.g. encrypted payloads)
};

RunUsage read_usage(cairn::Client& client, const std::string& workflow_id,
                    const std::string& run_id) {
  RunUsage u{workflow_id, run_id, {}, 0};
  auto events = client.handle(workflow_id, run_id).history();
  u.report = cairn::ai::usage_from_history(events, &u.unreadable);
  return u;
}

nlohmann::json usage_json(const RunUsage& u) {
  nlohmann::json j = u.report;
  j["unreadable"] = u.unreadable;
  return j;
}

void print_usage(const RunUsage& u, const char* indent) {
  using cairn::ai::format_dollars;
  const auto& r = u.report;
  std::printf(
      "%scalls %lld (%lld cache hits), tokens %lld prompt / %lld completion / %lld "
      "cached, cost %s%s\n",
      indent, static_cast<long long>(r.calls), static_cast<long long>(r.cache_hits),
      static_cast<long long>(r.total.prompt_tokens),
      static_cast<long long>(r.total.completion_tokens),
      static_cast<long long>(r.total.cached_tokens), format_dollars(r.cost_micros).c_str(),
      r.alert_fired ? " (cost alert fired)" : "");
  std::printf("%s%-28s %6s %5s %10s %10s %8s %12s\n", indent, "MODEL", "CALLS", "HITS", "PROMPT",
              "COMPLETION", "CACHED", "COST");
  for (const auto& [name, m] : r.by_model) {
    std::printf("%s%-28s %6lld %5lld %10lld %10lld %8lld %12s\n", indent,
                (name.empty() ? "-" : name).c_str(), static_cast<long long>(m.calls),
                static_cast<long long>(m.cache_hits), static_cast<long long>(m.usage.prompt_tokens),
                static_cast<long long>(m.usage.completion_tokens),
                static_cast<long long>(m.usage.cached_tokens),
                format_dollars(m.cost_micros).c_str());
  }
  if (u.unreadable > 0) {
    std::printf("%s(%lld model-call results could not be read: encoded payloads?)\n", indent,
                static_cast<long long>(u.unreadable));
  }
}

// describe's read: a history that cannot be read leaves the section out rather than failing
// the whole describe (what it shows came from DescribeWorkflowExecution already).
std::optional<RunUsage> try_read_usage(cairn::Client& client,
                                       const v1::DescribeWorkflowExecutionResponse& d) {
  const auto& e = d.workflow_execution_info().execution();
  try {
    return read_usage(client, e.workflow_id(), e.run_id());
  } catch (const cairn::RpcError&) {
    return std::nullopt;
  }
}

int usage(const Globals& g, const Target& t) {
  cairn::Client client = connect(g);
  // The run id read is the one the history belongs to, also when -r was left out.
  std::string run_id =
      t.run_id.empty()
          ? client.handle(t.workflow_id).describe().workflow_execution_info().execution().run_id()
          : t.run_id;
  RunUsage u = read_usage(client, t.workflow_id, run_id);
  if (g.json()) {
    nlohmann::json j = usage_json(u);
    j["workflow_id"] = u.workflow_id;
    j["run_id"] = u.run_id;
    print_json(j);
    return 0;
  }
  std::cout << "workflow id   " << u.workflow_id << "\n"
            << "run id        " << u.run_id << "\n";
  if (u.report.empty() && u.unreadable == 0) {
    std::cout << "no model calls (cairn.ai.chat / cairn.ai.embed) in this run\n";
    return 0;
  }
  print_usage(u, "");
  return 0;
}

}  // namespace

void add_ai_usage_commands(CLI::App& workflow, Globals& g, Action& action) {
  static Target t;
  auto* u = workflow.add_subcommand(
      "usage",
      "tokens and cost by model and cache hits of the run's model calls, from its history");
  add_target(u, &t);
  u->callback([&] { action = [&] { return usage(g, t); }; });
}

void print_ai_usage_section(cairn::Client& client, const v1::DescribeWorkflowExecutionResponse& d) {
  std::optional<RunUsage> u = try_read_usage(client, d);
  if (!u || (u->report.empty() && u->unreadable == 0)) {
    return;
  }
  std::cout << "AI usage:\n";
  print_usage(*u, "  ");
}

std::string with_ai_usage(cairn::Client& client, const v1::DescribeWorkflowExecutionResponse& d,
                          const std::string& describe_json) {
  std::optional<RunUsage> u = try_read_usage(client, d);
  if (!u || (u->report.empty() && u->unreadable == 0)) {
    return describe_json;
  }
  nlohmann::json j = nlohmann::json::parse(describe_json);
  j["ai_usage"] = usage_json(*u);
  return j.dump(2);
}

}  // namespace cairnctl
