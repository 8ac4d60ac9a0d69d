#include "summary.h"

#include <cstdio>
#include <string>

namespace support {
namespace {

using cairn::ai::format_dollars;

struct Totals {
  int64_t tickets = 0, calls = 0, cache_hits = 0, prompt = 0, completion = 0, approvals = 0;
  cairn::ai::Micros cost = 0;
};

Totals totals_of(const PassSummary& s) {
  Totals t;
  for (const auto& a : s.answers) {
    ++t.tickets;
    t.calls += a.calls;
    t.cache_hits += a.cache_hits;
    t.prompt += a.prompt_tokens;
    t.completion += a.completion_tokens;
    t.cost += a.cost_micros;
    t.approvals += a.approval.empty() ? 0 : 1;
  }
  return t;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : "+") + s;
  }
  return out.empty() ? "-" : out;
}

}  // namespace

void to_json(nlohmann::json& j, const PassSummary& v) {
  j = {{"pass", v.pass},
       {"answers", v.answers},
       {"budget",
        {{"scope", v.budget.scope},
         {"limit", v.budget.limit},
         {"spent", v.budget.spent},
         {"reserved", v.budget.reserved},
         {"settled", v.budget.settled}}}};
}

void from_json(const nlohmann::json& j, PassSummary& v) {
  v.pass = j.at("pass").get<int>();
  v.answers = j.at("answers").get<std::vector<TicketAnswer>>();
  const auto& b = j.at("budget");
  v.budget.scope = b.value("scope", "");
  v.budget.limit = b.value("limit", int64_t{0});
  v.budget.spent = b.value("spent", int64_t{0});
  v.budget.reserved = b.value("reserved", int64_t{0});
  v.budget.settled = b.value("settled", int64_t{0});
}

void print_pass(std::ostream& out, const PassSummary& s) {
  char line[256];
  out << "\n   pass " << s.pass << "\n";
  std::snprintf(line, sizeof line, "   %-7s %-26s %5s %7s %7s %11s  %-6s %s\n", "ticket",
                "model (tier)", "turns", "prompt", "output", "cost", "cache", "approval");
  out << line;
  for (const auto& a : s.answers) {
    std::string cache = a.cache_hits == 0 ? "miss" : a.cache_hits == a.calls ? "hit" : "part";
    std::snprintf(line, sizeof line, "   %-7s %-26s %5d %7lld %7lld %11s  %-6s %s\n",
                  a.id.c_str(), join(a.models).c_str(), a.steps,
                  static_cast<long long>(a.prompt_tokens),
                  static_cast<long long>(a.completion_tokens),
                  format_dollars(a.cost_micros).c_str(), cache.c_str(),
                  a.approval.empty() ? "-" : a.approval.c_str());
    out << line;
    std::string tools = a.tools.empty() ? "" : "  [tools: " + join(a.tools) + "]";
    char conf[32];
    std::snprintf(conf, sizeof conf, "%.2f", a.confidence);
    out << "           answer: " << a.answer << tools << "  (retrieval score " << conf << ")\n";
  }
  Totals t = totals_of(s);
  out << "   total: " << t.tickets << " tickets, " << t.calls << " model calls (" << t.cache_hits
      << " from the cache), " << t.prompt << " prompt + " << t.completion << " output tokens, "
      << format_dollars(t.cost) << "; " << t.approvals << " approved by a person\n";
  out << "   shared budget " << s.budget.scope << ": " << format_dollars(s.budget.spent)
      << " spent of " << format_dollars(s.budget.limit) << " (" << format_dollars(s.budget.reserved)
      << " reserved by calls in flight)\n";
  out.flush();
}

void print_totals(std::ostream& out, const std::vector<PassSummary>& passes) {
  out << "\n== summary\n";
  Totals all;
  for (const auto& p : passes) {
    Totals t = totals_of(p);
    out << "   pass " << p.pass << ": " << t.tickets << " tickets, " << t.calls << " calls, "
        << t.cache_hits << " cache hits, " << format_dollars(t.cost) << "\n";
    all.tickets += t.tickets;
    all.calls += t.calls;
    all.cache_hits += t.cache_hits;
    all.cost += t.cost;
  }
  out << "   all passes: " << all.tickets << " tickets, " << all.calls << " model calls ("
      << all.cache_hits << " answered by the cache), " << format_dollars(all.cost) << " in total\n";
  if (!passes.empty()) {
    out << "   shared budget " << passes.back().budget.scope << ": "
        << format_dollars(passes.back().budget.spent) << " spent of "
        << format_dollars(passes.back().budget.limit) << "\n";
  }
  out.flush();
}

}  // namespace support
