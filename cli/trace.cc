// cairnctl: workflow trace — a run and its children as a tree (text or JSON).
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "cli/common.h"
#include "cli/describe.h"

namespace cairnctl {
namespace {

using namespace std::chrono_literals;

// ---- trace ----------------------------------------------------------------------------------

std::string short_state(v1::PendingActivityState s) {
  std::string name = v1::PendingActivityState_Name(s);
  const std::string prefix = "PENDING_ACTIVITY_STATE_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

// One run and, below it, its pending activities, timers and children (recursively).
void trace_run(const Globals& g, cairn::Client& client, const std::string& workflow_id,
               const std::string& run_id, const std::string& indent, int depth, std::ostream& out,
               bool* root_open) {
  v1::DescribeWorkflowExecutionResponse d;
  try {
    d = client.handle(workflow_id, run_id).describe();
  } catch (const cairn::RpcError& e) {
    out << workflow_id << "  (" << e.what() << ")\n";
    return;
  }
  const auto& info = d.workflow_execution_info();
  if (root_open != nullptr) {
    *root_open = info.status() == v1::WORKFLOW_EXECUTION_STATUS_RUNNING;
  }
  out << info.execution().workflow_id() << "  " << info.type().name() << "  "
      << list_status_text(info) << "  run " << info.execution().run_id() << "\n";
  std::vector<std::string> lines;
  std::vector<const v1::PendingChildExecutionInfo*> children;
  for (const auto& a : d.pending_activities()) {
    std::string line = "activity " + a.activity_id() + "  " + a.activity_type().name() + "  " +
                       short_state(a.state()) + "  attempt " + std::to_string(a.attempt());
    if (a.has_last_failure()) {
      line += "  last failure: " + a.last_failure().message();
    }
    lines.push_back(line);
  }
  for (const auto& tm : d.pending_timers()) {
    lines.push_back("timer " + tm.timer_id() + "  fires " + time_text(tm.fire_time_ms()));
  }
  for (const auto& c : d.pending_children()) {
    children.push_back(&c);
  }
  const size_t total = lines.size() + children.size();
  size_t n = 0;
  for (const auto& line : lines) {
    ++n;
    out << indent << (n == total ? "└─ " : "├─ ") << line << "\n";
  }
  for (const auto* c : children) {
    ++n;
    const bool last = n == total;
    out << indent << (last ? "└─ " : "├─ ") << "child ";
    if (depth <= 0) {
      out << c->workflow_id() << "  " << c->workflow_type() << "  (deeper: raise --depth)\n";
      continue;
    }
    if (c->run_id().empty()) {
      out << c->workflow_id() << "  " << c->workflow_type() << "  STARTING\n";
      continue;
    }
    Globals child = g;
    if (!c->namespace_().empty()) {
      child.ns = c->namespace_();
    }
    cairn::Client child_client = connect(child);
    trace_run(child, child_client, c->workflow_id(), c->run_id(), indent + (last ? "   " : "│  "),
              depth - 1, out, nullptr);
  }
}

// One run and its children (recursively) as JSON: the describe response of each run, its
// children's trees under "children".
nlohmann::json trace_json(const Globals& g, cairn::Client& client, const std::string& workflow_id,
                          const std::string& run_id, int depth) {
  v1::DescribeWorkflowExecutionResponse d;
  try {
    d = client.handle(workflow_id, run_id).describe();
  } catch (const cairn::RpcError& e) {
    return {{"workflow_id", workflow_id}, {"run_id", run_id}, {"error", e.what()}};
  }
  nlohmann::json node = to_json_value(d);
  node["children"] = nlohmann::json::array();
  for (const auto& c : d.pending_children()) {
    if (depth <= 0 || c.run_id().empty()) {
      node["children"].push_back({{"workflow_id", c.workflow_id()},
                                  {"run_id", c.run_id()},
                                  {"note", depth <= 0 ? "deeper: raise --depth" : "starting"}});
      continue;
    }
    Globals child = g;
    if (!c.namespace_().empty()) {
      child.ns = c.namespace_();
    }
    cairn::Client child_client = connect(child);
    node["children"].push_back(
        trace_json(child, child_client, c.workflow_id(), c.run_id(), depth - 1));
  }
  return node;
}

}  // namespace

int trace(const Globals& g, const Target& t, int depth, bool follow) {
  cairn::Client client = connect(g);
  if (g.json()) {
    // One document: --follow does not redraw JSON.
    print_json(trace_json(g, client, t.workflow_id, t.run_id, depth));
    return 0;
  }
  const bool tty = isatty(STDOUT_FILENO) != 0;
  while (true) {
    std::ostringstream frame;
    bool open = false;
    trace_run(g, client, t.workflow_id, t.run_id, "", depth, frame, &open);
    if (follow && tty) {
      std::cout << "\033[H\033[2J";  // redraw in place
    }
    std::cout << frame.str() << std::flush;
    if (!follow || !open) {
      return 0;
    }
    std::this_thread::sleep_for(1s);  // a refresh interval for a person watching, not a wait
    if (!tty) {
      std::cout << "\n";
    }
  }
}

}  // namespace cairnctl
