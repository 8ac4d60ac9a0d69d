// cairnctl: schedule create | describe | list | update | pause | unpause | trigger | backfill |
// delete, through the SDK's schedule calls (cairn/schedule.h). Flags are turned into
// ScheduleOptions and checked with the server's own rules before anything is sent, so bad input
// (a cron expression wrong at some column, an unknown time zone, an interval of zero, an end
// before the start) exits 2 and changes nothing. update reads the schedule, changes what the
// flags give and writes it back under the conflict token.
#include "cli/schedule.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <date/tz.h>
#include <nlohmann/json.hpp>

#include "cairn/client.h"
#include "cairn/payload.h"
#include "cairn/schedule.h"
#include "cli/flags.h"
#include "proto/schedule_spec.h"

namespace cairnctl {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Overlap = cairn::ScheduleOverlap;

const std::vector<std::pair<std::string, Overlap>>& overlap_names() {
  static const std::vector<std::pair<std::string, Overlap>> kNames = {
      {"skip", Overlap::kSkip},
      {"buffer-one", Overlap::kBufferOne},
      {"buffer-all", Overlap::kBufferAll},
      {"cancel-other", Overlap::kCancelOther},
      {"terminate-other", Overlap::kTerminateOther},
      {"allow-all", Overlap::kAllowAll}};
  return kNames;
}

std::vector<std::string> overlap_words() {
  std::vector<std::string> out;
  for (const auto& [name, o] : overlap_names()) {
    out.push_back(name);
  }
  return out;
}

Overlap overlap_of(const std::string& name) {
  for (const auto& [n, o] : overlap_names()) {
    if (n == name) {
      return o;
    }
  }
  usage_error("--overlap " + name +
              ": expected skip, buffer-one, buffer-all, cancel-other, terminate-other or "
              "allow-all");
}

std::string overlap_name(Overlap o) {
  for (const auto& [n, v] : overlap_names()) {
    if (v == o) {
      return n;
    }
  }
  return "skip";
}

std::string cause_name(cairn::ScheduleActionCause c) {
  switch (c) {
    case cairn::ScheduleActionCause::kScheduled:
      return "scheduled";
    case cairn::ScheduleActionCause::kTrigger:
      return "trigger";
    case cairn::ScheduleActionCause::kBackfill:
      return "backfill";
    default:
      return "-";
  }
}

// "1h30m", "90s", "500ms", "2d" to milliseconds; nullopt when malformed.
std::optional<int64_t> duration_ms(const std::string& text) {
  static const std::regex part("([0-9]+)(ms|s|m|h|d)");
  if (text.empty()) {
    return std::nullopt;
  }
  int64_t total = 0;
  size_t at = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), part), end; it != end; ++it) {
    if (static_cast<size_t>(it->position()) != at) {
      return std::nullopt;
    }
    at += it->length();
    const std::string unit = (*it)[2].str();
    int64_t scale = unit == "ms"  ? 1
                    : unit == "s" ? 1000
                    : unit == "m" ? 60'000
                    : unit == "h" ? 3'600'000
                                  : 86'400'000;
    total += std::stoll((*it)[1].str()) * scale;
  }
  return at == text.size() ? std::optional<int64_t>(total) : std::nullopt;
}

milliseconds duration_flag(const std::string& flag, const std::string& text) {
  auto ms = duration_ms(text);
  if (!ms) {
    usage_error(flag + " " + text + " is not a duration: use e.g. 1h, 15m, 1h30m, 90s, 500ms");
  }
  return milliseconds(*ms);
}

// "1h" or "1h/15m" (every 1 h, at 15 min past).
cairn::ScheduleInterval interval_flag(const std::string& text) {
  size_t slash = text.find('/');
  cairn::ScheduleInterval i;
  i.every = duration_flag("--interval", text.substr(0, slash));
  if (slash != std::string::npos) {
    i.offset = duration_flag("--interval (offset after '/')", text.substr(slash + 1));
  }
  return i;
}

cairn::ScheduleTime time_flag(const std::string& flag, const std::string& text) {
  cairn::Result<int64_t> ms = cairn::schedule::parse_utc(text);
  if (!ms.ok()) {
    usage_error(flag + ": " + ms.status().message() +
                " (use RFC 3339, e.g. 2026-12-07T22:00:00Z or 2026-12-07T23:00:00+01:00)");
  }
  return cairn::from_epoch_ms(*ms);
}

// "NAME=JSON" pairs into *out (as `workflow start` reads --memo / --search-attribute).
void named_json(const std::vector<std::string>& pairs, const std::string& flag,
                bool attribute_names, cairn::PayloadMap* out) {
  for (const auto& pair : pairs) {
    auto eq = pair.find('=');
    std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
    if (eq == std::string::npos || eq == 0 || !json::accept(value)) {
      usage_error(flag + " " + pair + " is not NAME=JSON (a string needs quotes: " + flag +
                  " Stage='\"review\"')");
    }
    std::string name = pair.substr(0, eq);
    std::string problem = attribute_names ? attribute_name_problem(name) : "";
    if (!problem.empty()) {
      usage_error(flag + ": " + problem);
    }
    v1::Payload p;
    (*p.mutable_metadata())[cairn::kEncodingKey] = cairn::kEncodingJson;
    p.set_data(json::parse(value).dump());
    (*out)[name] = std::move(p);
  }
}

std::string utc(cairn::ScheduleTime t) {
  return cairn::schedule::format_utc(cairn::to_epoch_ms(t));
}

// The wall-clock time of `t` in `zone` ("2026-12-07 23:00:00 CET"); empty for UTC or an
// unknown zone.
std::string local_text(cairn::ScheduleTime t, const std::string& zone) {
  if (zone.empty() || zone == "UTC") {
    return "";
  }
  try {
    auto zoned =
        date::make_zoned(date::locate_zone(zone), std::chrono::floor<std::chrono::seconds>(t));
    return date::format("%Y-%m-%d %H:%M:%S %Z", zoned);
  } catch (const std::exception&) {
    return "";
  }
}

// ---- flags to options ------------------------------------------------------------------------

struct Flags {
  std::string id;
  std::vector<std::string> cron;
  std::vector<std::string> intervals;
  std::string time_zone;
  std::string start_time;
  std::string end_time;
  std::string jitter;
  std::string workflow_type;
  std::string task_queue;
  std::string workflow_id;
  InputFlags input;
  std::string execution_timeout;
  std::string run_timeout;
  std::vector<std::string> memo;
  std::vector<std::string> attributes;
  std::vector<std::string> schedule_memo;
  std::vector<std::string> schedule_attributes;
  std::string overlap;
  std::string catchup_window;
  bool pause_on_failure = false;
  bool paused = false;
  std::string note;
  std::string remaining_actions;
  // backfill
  std::string start;
  std::string end;
  // list
  std::string query;
  // Which flags were given (update changes only those).
  std::map<std::string, CLI::Option*> options;

  bool given(const std::string& name) const {
    auto it = options.find(name);
    return it != options.end() && it->second->count() > 0;
  }
};

// The --flag a field of ScheduleOptions comes from ("spec.cron[1]" -> "--cron").
std::string flag_of(const std::string& field) {
  static const std::vector<std::pair<std::string, std::string>> kFlags = {
      {"spec.cron", "--cron"},
      {"spec.intervals", "--interval"},
      {"spec.time_zone", "--time-zone"},
      {"spec.start_at", "--start-time"},
      {"spec.end_at", "--end-time"},
      {"spec.jitter", "--jitter"},
      {"action.workflow_type", "--workflow-type"},
      {"action.workflow.task_queue", "--task-queue"},
      {"action.workflow.workflow_id", "--workflow-id"},
      {"action.workflow.execution_timeout", "--execution-timeout"},
      {"action.workflow.run_timeout", "--run-timeout"},
      {"action.workflow.memo", "--memo"},
      {"action.workflow.search_attributes", "--search-attribute"},
      {"search_attributes", "--schedule-search-attribute"},
      {"memo", "--schedule-memo"},
      {"catchup_window", "--catchup-window"},
      {"remaining_actions", "--remaining-actions"},
      {"schedule_id", "--schedule-id"},
  };
  for (const auto& [prefix, flag] : kFlags) {
    if (field.rfind(prefix, 0) == 0) {
      return flag;
    }
  }
  return field;
}

// Applies the flags that were given to `o` (all of them on create).
void apply(const Flags& f, bool create, cairn::ScheduleOptions* o) {
  auto set = [&](const char* name) { return create || f.given(name); };
  if (set("--cron") || set("--interval")) {
    // Together they are the calendar: given either, the spec has exactly the ones given.
    o->spec.cron = f.cron;
    o->spec.intervals.clear();
    for (const auto& i : f.intervals) {
      o->spec.intervals.push_back(interval_flag(i));
    }
  }
  if (set("--time-zone")) {
    o->spec.time_zone = f.time_zone;
  }
  if (f.given("--start-time")) {
    o->spec.start_at = f.start_time.empty()
                           ? std::nullopt
                           : std::optional(time_flag("--start-time", f.start_time));
  }
  if (f.given("--end-time")) {
    o->spec.end_at =
        f.end_time.empty() ? std::nullopt : std::optional(time_flag("--end-time", f.end_time));
  }
  if (f.given("--jitter")) {
    o->spec.jitter = duration_flag("--jitter", f.jitter);
  }
  if (set("--workflow-type")) {
    o->action.workflow_type = f.workflow_type;
  }
  if (set("--task-queue")) {
    o->action.workflow.task_queue = f.task_queue;
  }
  if (set("--workflow-id")) {
    o->action.workflow.workflow_id = f.workflow_id;
  }
  if (f.input.given || !f.input.file.empty()) {
    o->action.input.Clear();
    read_input(f.input, &o->action.input);
  }
  if (f.given("--execution-timeout")) {
    o->action.workflow.execution_timeout =
        duration_flag("--execution-timeout", f.execution_timeout);
  }
  if (f.given("--run-timeout")) {
    o->action.workflow.run_timeout = duration_flag("--run-timeout", f.run_timeout);
  }
  if (f.given("--memo")) {
    o->action.workflow.memo.clear();
    named_json(f.memo, "--memo", /*attribute_names=*/false, &o->action.workflow.memo);
  }
  if (f.given("--search-attribute")) {
    o->action.workflow.search_attributes.clear();
    named_json(f.attributes, "--search-attribute", /*attribute_names=*/true,
               &o->action.workflow.search_attributes);
  }
  if (create) {
    named_json(f.schedule_memo, "--schedule-memo", /*attribute_names=*/false, &o->memo);
    named_json(f.schedule_attributes, "--schedule-search-attribute", /*attribute_names=*/true,
               &o->search_attributes);
  }
  if (f.given("--overlap")) {
    o->overlap = overlap_of(f.overlap);
  }
  if (f.given("--catchup-window")) {
    o->catchup_window = duration_flag("--catchup-window", f.catchup_window);
  }
  if (f.given("--pause-on-failure")) {
    o->pause_on_failure = f.pause_on_failure;
  }
  if (f.given("--paused")) {
    o->paused = f.paused;
  }
  if (f.given("--note")) {
    o->note = f.note;
  }
  if (f.given("--remaining-actions")) {
    if (f.remaining_actions == "unlimited") {
      o->remaining_actions.reset();
    } else {
      static const std::regex number("^-?[0-9]{1,18}$");
      if (!std::regex_match(f.remaining_actions, number)) {
        usage_error("--remaining-actions " + f.remaining_actions +
                    " is not a number (or \"unlimited\")");
      }
      o->remaining_actions = std::stoll(f.remaining_actions);
    }
  }
}

// Checks the options as the server would: a bad field is bad usage (exit 2), naming its flag.
void check(const std::string& id, const cairn::ScheduleOptions& o) {
  try {
    cairn::check_schedule_options(id, o);
  } catch (const cairn::OptionsError& e) {
    usage_error(flag_of(e.field()) + ": " + e.what());
  }
}

// ---- output ----------------------------------------------------------------------------------

json times_json(const std::vector<cairn::ScheduleTime>& times, const std::string& zone) {
  json out = json::array();
  for (auto t : times) {
    json j = {{"utc", utc(t)}};
    std::string local = local_text(t, zone);
    if (!local.empty()) {
      j["local"] = local;
    }
    out.push_back(j);
  }
  return out;
}

json action_json(const cairn::ScheduleActionResult& a) {
  return {{"nominal_time", utc(a.nominal)},
          {"actual_time", utc(a.actual)},
          {"workflow_id", a.workflow_id},
          {"run_id", a.run_id},
          {"status", a.status == v1::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED ? "STARTING"
                                                                           : status_text(a.status)},
          {"cause", cause_name(a.cause)},
          {"close_time", a.close_time ? json(utc(*a.close_time)) : json(nullptr)},
          {"start_error", a.start_error}};
}

json actions_json(const std::vector<cairn::ScheduleActionResult>& actions) {
  json out = json::array();
  for (const auto& a : actions) {
    out.push_back(action_json(a));
  }
  return out;
}

json map_json(const cairn::PayloadMap& m) {
  json out = json::object();
  for (const auto& [k, v] : m) {
    out[k] = payload_json(v);
  }
  return out;
}

json spec_json(const cairn::ScheduleSpec& s) {
  json intervals = json::array();
  for (const auto& i : s.intervals) {
    intervals.push_back(
        {{"every", duration_text(i.every.count())}, {"offset", duration_text(i.offset.count())}});
  }
  return {{"cron", s.cron},
          {"intervals", intervals},
          {"time_zone", s.time_zone.empty() ? "UTC" : s.time_zone},
          {"start_time", s.start_at ? json(utc(*s.start_at)) : json(nullptr)},
          {"end_time", s.end_at ? json(utc(*s.end_at)) : json(nullptr)},
          {"jitter", duration_text(s.jitter.count())}};
}

std::string spec_text(const cairn::ScheduleSpec& s) {
  std::string out;
  for (const auto& c : s.cron) {
    out += (out.empty() ? "" : "; ") + std::string("cron \"") + c + "\"";
  }
  for (const auto& i : s.intervals) {
    out += (out.empty() ? "" : "; ") + std::string("every ") + duration_text(i.every.count()) +
           (i.offset.count() ? " at +" + duration_text(i.offset.count()) : "");
  }
  return out.empty() ? "(no calendar: triggers and backfills only)" : out;
}

std::string time_or_dash(const std::optional<cairn::ScheduleTime>& t) { return t ? utc(*t) : "-"; }

void print_table(const std::vector<std::vector<std::string>>& table, const std::string& indent) {
  std::vector<size_t> widths(table[0].size(), 0);
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : table) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
    }
    std::cout << line << "\n";
  }
}

json describe_json(const cairn::ScheduleDescription& d) {
  const cairn::ScheduleOptions& o = d.options;
  const cairn::ScheduleWorkflowOptions& w = o.action.workflow;
  json input = json::array();
  for (const auto& p : o.action.input.payloads()) {
    input.push_back(payload_json(p));
  }
  return {
      {"schedule_id", d.schedule_id},
      {"spec", spec_json(o.spec)},
      {"action",
       {{"workflow_type", o.action.workflow_type},
        {"task_queue", w.task_queue},
        {"workflow_id", w.workflow_id.empty() ? d.schedule_id : w.workflow_id},
        {"input", input},
        {"execution_timeout", duration_text(w.execution_timeout.count())},
        {"run_timeout", duration_text(w.run_timeout.count())},
        {"memo", map_json(w.memo)},
        {"search_attributes", map_json(w.search_attributes)}}},
      {"policies",
       {{"overlap", overlap_name(o.overlap)},
        {"catchup_window",
         o.catchup_window.count() == 0 ? "1y (default)" : duration_text(o.catchup_window.count())},
        {"pause_on_failure", o.pause_on_failure}}},
      {"state",
       {{"paused", d.paused},
        {"note", d.note},
        {"remaining_actions",
         o.remaining_actions ? json(*o.remaining_actions) : json("unlimited")}}},
      {"next_fires", times_json(d.next_fires, o.spec.time_zone)},
      {"running_actions", actions_json(d.running_actions)},
      {"recent_actions", actions_json(d.recent_actions)},
      {"buffered_starts", d.buffered_starts.size()},
      {"counts",
       {{"actions", d.action_count},
        {"missed_catchup_window", d.missed_catchup_window},
        {"overlap_skipped", d.overlap_skipped},
        {"buffer_dropped", d.buffer_dropped},
        {"paused_skipped", d.paused_skipped}}},
      {"memo", map_json(o.memo)},
      {"search_attributes", map_json(o.search_attributes)},
      {"create_time", utc(d.create_time)},
      {"update_time", utc(d.update_time)},
      {"conflict_token", d.conflict_token}};
}

void print_actions(const char* title, const std::vector<cairn::ScheduleActionResult>& actions) {
  if (actions.empty()) {
    std::cout << title << "-\n";
    return;
  }
  std::cout << title << "\n";
  std::vector<std::vector<std::string>> table = {
      {"NOMINAL", "CAUSE", "WORKFLOW ID", "RUN ID", "STATUS"}};
  for (const auto& a : actions) {
    json j = action_json(a);
    std::string status = j["status"];
    if (!a.start_error.empty()) {
      status = "NOT STARTED: " + a.start_error;
    }
    table.push_back(
        {j["nominal_time"], j["cause"], a.workflow_id, a.run_id.empty() ? "-" : a.run_id, status});
  }
  print_table(table, "  ");
}

void print_description(const cairn::ScheduleDescription& d) {
  const cairn::ScheduleOptions& o = d.options;
  const cairn::ScheduleWorkflowOptions& w = o.action.workflow;
  const std::string zone = o.spec.time_zone.empty() ? "UTC" : o.spec.time_zone;
  std::cout << "schedule        " << d.schedule_id << "\n"
            << "state           " << (d.paused ? "PAUSED" : "ACTIVE")
            << (d.note.empty() ? "" : " (" + d.note + ")") << "\n"
            << "spec            " << spec_text(o.spec) << "\n"
            << "time zone       " << zone << "\n"
            << "bounds          " << time_or_dash(o.spec.start_at) << " .. "
            << time_or_dash(o.spec.end_at) << "\n";
  if (o.spec.jitter.count() > 0) {
    std::cout << "jitter          " << duration_text(o.spec.jitter.count()) << "\n";
  }
  std::cout << "action          start " << o.action.workflow_type << " on " << w.task_queue
            << " as " << (w.workflow_id.empty() ? d.schedule_id : w.workflow_id)
            << "-<nominal time>\n";
  if (o.action.input.payloads_size() > 0) {
    std::cout << "input           " << describe_json(d)["action"]["input"].dump() << "\n";
  }
  std::cout << "overlap         " << overlap_name(o.overlap) << "\n"
            << "catch-up window "
            << (o.catchup_window.count() == 0 ? "1y (default)"
                                              : duration_text(o.catchup_window.count()))
            << "\n"
            << "pause on fail   " << (o.pause_on_failure ? "yes" : "no") << "\n"
            << "remaining       "
            << (o.remaining_actions ? std::to_string(*o.remaining_actions) : "unlimited") << "\n";
  if (d.next_fires.empty()) {
    std::cout << "next fires      - (none: paused, past the end, or no calendar)\n";
  }
  for (size_t i = 0; i < d.next_fires.size(); ++i) {
    std::string local = local_text(d.next_fires[i], o.spec.time_zone);
    std::cout << (i == 0 ? "next fires      " : "                ") << utc(d.next_fires[i])
              << (local.empty() ? "" : "   " + local) << "\n";
  }
  print_actions("running         ", d.running_actions);
  print_actions("recent actions  ", d.recent_actions);
  if (!d.buffered_starts.empty()) {
    std::cout << "buffered        " << d.buffered_starts.size() << " waiting to start\n";
  }
  std::cout << "counts          actions " << d.action_count << ", missed catch-up "
            << d.missed_catchup_window << ", overlap skipped " << d.overlap_skipped
            << ", buffer dropped " << d.buffer_dropped << ", paused skipped " << d.paused_skipped
            << "\n"
            << "created         " << utc(d.create_time) << "\n"
            << "updated         " << utc(d.update_time) << "\n";
}

// ---- commands --------------------------------------------------------------------------------

int create(const Globals& g, const Flags& f) {
  cairn::ScheduleOptions o;
  apply(f, /*create=*/true, &o);
  check(f.id, o);
  cairn::Client client = connect(g);
  cairn::ScheduleHandle h = client.create_schedule(f.id, o);
  cairn::ScheduleDescription d = h.describe(3);
  if (g.json()) {
    print_json({{"schedule_id", f.id},
                {"created", true},
                {"paused", d.paused},
                {"next_fires", times_json(d.next_fires, o.spec.time_zone)}});
    return 0;
  }
  std::cout << "created schedule " << f.id << (d.paused ? " (paused)" : "");
  if (!d.next_fires.empty()) {
    std::cout << "; next fire " << utc(d.next_fires[0]);
  }
  std::cout << "\n";
  return 0;
}

int update(const Globals& g, const Flags& f) {
  cairn::Client client = connect(g);
  bool changed = false;
  client.schedule_handle(f.id).update([&](cairn::ScheduleOptions& o) {
    cairn::ScheduleOptions before = o;
    apply(f, /*create=*/false, &o);
    check(f.id, o);
    changed = cairn::to_proto(before).SerializeAsString() != cairn::to_proto(o).SerializeAsString();
  });
  if (g.json()) {
    print_json({{"schedule_id", f.id}, {"updated", true}, {"changed", changed}});
  } else {
    std::cout << "updated schedule " << f.id << (changed ? "" : " (nothing changed)") << "\n";
  }
  return 0;
}

int describe(const Globals& g, const std::string& id, int count) {
  cairn::Client client = connect(g);
  cairn::ScheduleDescription d = client.schedule_handle(id).describe(count);
  if (g.json()) {
    print_json(describe_json(d));
  } else {
    print_description(d);
  }
  return 0;
}

int list(const Globals& g, const std::string& query) {
  cairn::Client client = connect(g);
  std::vector<cairn::ScheduleSummary> all = client.list_schedules(query);
  if (g.json()) {
    json rows = json::array();
    for (const auto& s : all) {
      rows.push_back({{"schedule_id", s.schedule_id},
                      {"workflow_type", s.workflow_type},
                      {"paused", s.paused},
                      {"note", s.note},
                      {"spec", spec_json(s.spec)},
                      {"next_fires", times_json(s.next_fires, s.spec.time_zone)},
                      {"recent_actions", actions_json(s.recent_actions)},
                      {"search_attributes", map_json(s.search_attributes)}});
    }
    print_json(rows);
    return 0;
  }
  std::vector<std::vector<std::string>> table = {
      {"SCHEDULE ID", "WORKFLOW TYPE", "STATE", "SPEC", "NEXT FIRE"}};
  for (const auto& s : all) {
    table.push_back({s.schedule_id, s.workflow_type, s.paused ? "PAUSED" : "ACTIVE",
                     spec_text(s.spec), s.next_fires.empty() ? "-" : utc(s.next_fires[0])});
  }
  print_table(table, "");
  return 0;
}

int pause(const Globals& g, const std::string& id, bool paused, const std::string& note) {
  cairn::Client client = connect(g);
  cairn::ScheduleHandle h = client.schedule_handle(id);
  if (paused) {
    h.pause(note);
  } else {
    h.unpause(note);
  }
  if (g.json()) {
    print_json({{"schedule_id", id}, {"paused", paused}, {"note", note}});
  } else {
    std::cout << "schedule " << id << (paused ? " paused" : " unpaused") << "\n";
  }
  return 0;
}

void print_started(const Globals& g, const std::string& id, const char* what,
                   const std::vector<std::string>& workflow_ids) {
  if (g.json()) {
    print_json({{"schedule_id", id}, {what, true}, {"workflow_ids", workflow_ids}});
    return;
  }
  if (workflow_ids.empty()) {
    std::cout << "schedule " << id << ": " << what << " took no action (skipped by the overlap "
              << "policy, or no time of the spec in the range)\n";
  }
  for (const auto& w : workflow_ids) {
    std::cout << "schedule " << id << ": " << what << " " << w << "\n";
  }
}

int trigger(const Globals& g, const std::string& id, const std::string& overlap) {
  std::optional<Overlap> o;
  if (!overlap.empty()) {
    o = overlap_of(overlap);
  }
  cairn::Client client = connect(g);
  print_started(g, id, "triggered", client.schedule_handle(id).trigger(o));
  return 0;
}

int backfill(const Globals& g, const Flags& f) {
  cairn::ScheduleTime start = time_flag("--start", f.start);
  cairn::ScheduleTime end = time_flag("--end", f.end);
  if (end < start) {
    usage_error("--end " + f.end + " is before --start " + f.start);
  }
  std::optional<Overlap> o;
  if (!f.overlap.empty()) {
    o = overlap_of(f.overlap);
  }
  cairn::Client client = connect(g);
  print_started(g, f.id, "backfilled", client.schedule_handle(f.id).backfill(start, end, o));
  return 0;
}

int remove(const Globals& g, const std::string& id) {
  cairn::Client client = connect(g);
  client.schedule_handle(id).remove();
  if (g.json()) {
    print_json({{"schedule_id", id}, {"deleted", true}});
  } else {
    std::cout << "schedule " << id << " deleted (the workflows it started are not touched)\n";
  }
  return 0;
}

// ---- registration ----------------------------------------------------------------------------

void add_id(CLI::App* cmd, Flags* f) {
  cmd->add_option("-s,--schedule-id", f->id, "schedule id")
      ->required()
      ->check(id_check("schedule id"));
}

// The flags of create and update (update: only those given change the schedule).
void add_spec_flags(CLI::App* cmd, Flags* f, bool create) {
  auto keep = [&](const char* name, CLI::Option* o) { f->options[name] = o; };
  const std::string upd = create ? "" : " (given: replaces the current one)";
  keep("--cron", cmd->add_option("--cron", f->cron,
                                 "cron expression, repeatable: \"0 22 * * *\", \"*/15 * * * *\", "
                                 "\"0 7 * * mon-fri\", @daily" +
                                     upd));
  keep("--interval", cmd->add_option("--interval", f->intervals,
                                     "every DURATION[/OFFSET], repeatable: 1h, 1h/15m" + upd));
  keep("--time-zone", cmd->add_option("--time-zone", f->time_zone,
                                      "IANA zone of the cron fields (default UTC): Europe/Paris"));
  keep("--start-time",
       cmd->add_option("--start-time", f->start_time, "RFC 3339: no fire before (\"\": no bound)"));
  keep("--end-time",
       cmd->add_option("--end-time", f->end_time, "RFC 3339: no fire after (\"\": no bound)"));
  keep("--jitter", cmd->add_option("--jitter", f->jitter, "delay each fire by up to this: 30s"));
  auto* type = cmd->add_option("-t,--workflow-type", f->workflow_type, "workflow type to start")
                   ->check(id_check("workflow type"));
  auto* queue = cmd->add_option("-q,--task-queue", f->task_queue, "its task queue")
                    ->check(id_check("task queue"));
  if (create) {
    type->required();
    queue->required();
  }
  keep("--workflow-type", type);
  keep("--task-queue", queue);
  keep("--workflow-id",
       cmd->add_option("-w,--workflow-id", f->workflow_id,
                       "base of the started workflows' ids (default: the schedule id); each is "
                       "<base>-<nominal time>")
           ->check(id_check("workflow id")));
  add_input(cmd, &f->input, "the workflow's argument");
  keep("--execution-timeout", cmd->add_option("--execution-timeout", f->execution_timeout,
                                              "each workflow's execution timeout: 1h"));
  keep("--run-timeout",
       cmd->add_option("--run-timeout", f->run_timeout, "each workflow's run timeout: 30m"));
  keep("--memo", cmd->add_option("--memo", f->memo, "NAME=JSON, repeatable: the workflows' memo"));
  keep("--search-attribute",
       cmd->add_option("-a,--search-attribute", f->attributes,
                       "NAME=JSON, repeatable: the workflows' search attributes"));
  if (create) {
    cmd->add_option("--schedule-memo", f->schedule_memo, "NAME=JSON, repeatable: the schedule's");
    cmd->add_option("--schedule-search-attribute", f->schedule_attributes,
                    "NAME=JSON, repeatable: the schedule's own (for list --query)");
  }
  keep("--overlap", cmd->add_option("--overlap", f->overlap,
                                    "while an action runs: skip (default), buffer-one, "
                                    "buffer-all, cancel-other, terminate-other, allow-all")
                        ->check(CLI::IsMember(overlap_words())));
  keep("--catchup-window",
       cmd->add_option("--catchup-window", f->catchup_window,
                       "after downtime, run missed fires up to this old (default 1y; >= 1s)"));
  keep("--pause-on-failure", cmd->add_flag("--pause-on-failure,!--no-pause-on-failure",
                                           f->pause_on_failure, "pause when an action fails"));
  keep("--paused", cmd->add_flag("--paused,!--unpaused", f->paused,
                                 create ? "create it paused" : "pause or unpause it"));
  keep("--note", cmd->add_option("--note", f->note, "a note (why it is paused)"));
  keep("--remaining-actions",
       cmd->add_option("--remaining-actions", f->remaining_actions,
                       "only this many more scheduled fires (\"unlimited\": no limit)"));
}

}  // namespace

void add_schedule_commands(CLI::App& app, Globals& g, Action& action) {
  // create and update each have their own (their options record which flags were given).
  static Flags fc;
  static Flags fu;
  static Flags f;
  static int count = 10;
  auto* group = app.add_subcommand("schedule", "cron and interval schedules that start workflows")
                    ->require_subcommand(1);

  auto* c = group->add_subcommand("create", "create a schedule");
  add_id(c, &fc);
  add_spec_flags(c, &fc, /*create=*/true);
  c->callback([&] { action = [&] { return create(g, fc); }; });

  auto* u = group->add_subcommand("update", "change the flags given, keep the rest");
  add_id(u, &fu);
  add_spec_flags(u, &fu, /*create=*/false);
  u->callback([&] { action = [&] { return update(g, fu); }; });

  auto* d = group->add_subcommand(
      "describe", "spec, state, next fire times, running and recent actions, counts");
  add_id(d, &f);
  d->add_option("--next", count, "how many next fire times (1-100)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  d->callback([&] { action = [&] { return describe(g, f.id, count); }; });

  auto* l = group->add_subcommand("list", "every schedule, or those matching --query");
  l->add_option("--query", f.query,
                "filter: ScheduleId, WorkflowType, TaskQueue, Paused, StartTime and the "
                "schedule's search attributes, e.g. \"WorkflowType = 'scale_down'\"");
  l->callback([&] { action = [&] { return list(g, f.query); }; });

  for (bool paused : {true, false}) {
    auto* p = group->add_subcommand(
        paused ? "pause" : "unpause",
        paused ? "stop scheduled fires (trigger still works)" : "resume scheduled fires");
    add_id(p, &f);
    p->add_option("--note", f.note, "why");
    p->callback([&, paused] { action = [&, paused] { return pause(g, f.id, paused, f.note); }; });
  }

  auto* t = group->add_subcommand("trigger", "take one action now, paused or not");
  add_id(t, &f);
  t->add_option("--overlap", f.overlap, "overlap policy of this action (default: the schedule's)")
      ->check(CLI::IsMember(overlap_words()));
  t->callback([&] { action = [&] { return trigger(g, f.id, f.overlap); }; });

  auto* b = group->add_subcommand("backfill",
                                  "take the actions the spec gives in [--start, --end], in order");
  add_id(b, &f);
  b->add_option("--start", f.start, "RFC 3339, inclusive")->required();
  b->add_option("--end", f.end, "RFC 3339, inclusive")->required();
  b->add_option("--overlap", f.overlap,
                "overlap policy of these actions (default: the "
                "schedule's)")
      ->check(CLI::IsMember(overlap_words()));
  b->callback([&] { action = [&] { return backfill(g, f); }; });

  auto* del = group->add_subcommand("delete", "delete it (its workflows are not touched)");
  add_id(del, &f);
  del->callback([&] { action = [&] { return remove(g, f.id); }; });
}

}  // namespace cairnctl
