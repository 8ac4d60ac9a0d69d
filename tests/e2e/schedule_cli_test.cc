// End to end: cairnctl schedule against a real cairn-server with a worker — create, describe
// (next fire times in UTC and in the schedule's zone, recent actions with their runs), list with
// a --query, update, pause / unpause, trigger, backfill across a DST change, delete, each as
// JSON and as text; and bad input (a cron wrong at some column, an unknown time zone, an
// interval of zero, an end before the start) refused with exit 2 and nothing created.
#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>

#include "e2e/ctl_fixture.h"
#include "proto/schedule_spec.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;

class ScheduleCliTest : public CtlTest {
 protected:
  // A worker on "sched-q": scale_down(pool) returns "scaled <pool>".
  void start_worker() {
    Worker& w = new_worker("sched-q");
    w.register_workflow("scale_down",
                        [](WorkflowContext&, const std::string& pool) { return "scaled " + pool; });
    w.register_workflow("reindex", [](WorkflowContext&) { return std::string("reindexed"); });
    w.start();
  }

  // cairnctl -o json ARGS: the exit code must be `expected_exit` and stdout one JSON document.
  json run_json(const std::vector<std::string>& args, int expected_exit = 0) {
    std::vector<std::string> all = {"-o", "json", "schedule"};
    all.insert(all.end(), args.begin(), args.end());
    Run r = ctl_split(all);
    std::string shown;
    for (const auto& a : all) {
      shown += a + " ";
    }
    EXPECT_EQ(r.exit, expected_exit) << shown << "\n" << r.output << r.errors;
    json j = json::parse(r.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << shown << ": stdout is not JSON:\n" << r.output;
    return j;
  }

  Run run_text(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"schedule"};
    all.insert(all.end(), args.begin(), args.end());
    return ctl_split(all);
  }

  // The recent action of schedule `id` whose workflow id is `workflow_id`, once it has closed.
  json closed_action(const std::string& id, const std::string& workflow_id) {
    json found;
    EXPECT_TRUE(eventually([&] {
      json d = run_json({"describe", "-s", id});
      for (const auto& a : d["recent_actions"]) {
        if (a["workflow_id"] == workflow_id && a["status"] != "RUNNING" &&
            a["status"] != "STARTING") {
          found = a;
          return true;
        }
      }
      return false;
    })) << "no closed action "
        << workflow_id << " in " << id;
    return found;
  }
};

TEST_F(ScheduleCliTest, CreateDescribeListPauseTriggerBackfillDelete) {
  start_worker();
  json created =
      run_json({"create", "-s", "nightly-scale-down", "--cron", "0 22 * * *", "--time-zone",
                "Europe/Paris", "-t", "scale_down", "-q", "sched-q", "--input", "\"pool-a\"",
                "--overlap", "allow-all", "--note", "nights only"});
  EXPECT_EQ(created["schedule_id"], "nightly-scale-down");
  EXPECT_EQ(created["created"], true);
  ASSERT_FALSE(created["next_fires"].empty()) << created;

  json other = run_json({"create", "-s", "hourly-reindex", "--interval", "1h/15m", "-t", "reindex",
                         "-q", "sched-q", "--paused"});
  EXPECT_EQ(other["paused"], true);

  // describe: the spec, the state, the next fire times — at 22:00 on Paris' wall clock, which
  // is 21:00 or 20:00 UTC depending on the season — and zero counts.
  json d = run_json({"describe", "-s", "nightly-scale-down", "--next", "5"});
  EXPECT_EQ(d["spec"]["cron"], json::array({"0 22 * * *"}));
  EXPECT_EQ(d["spec"]["time_zone"], "Europe/Paris");
  EXPECT_EQ(d["action"]["workflow_type"], "scale_down");
  EXPECT_EQ(d["action"]["task_queue"], "sched-q");
  EXPECT_EQ(d["action"]["input"], json::array({"pool-a"}));
  EXPECT_EQ(d["policies"]["overlap"], "allow-all");
  EXPECT_EQ(d["state"]["paused"], false);
  EXPECT_EQ(d["state"]["note"], "nights only");
  EXPECT_EQ(d["state"]["remaining_actions"], "unlimited");
  ASSERT_EQ(d["next_fires"].size(), 5u) << d;
  cairn::v1::ScheduleSpec spec;
  spec.add_cron_expressions("0 22 * * *");
  spec.set_time_zone("Europe/Paris");
  auto compiled = cairn::schedule::CompiledSpec::compile(spec);
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  auto first = cairn::schedule::parse_utc(d["next_fires"][0]["utc"].get<std::string>());
  ASSERT_TRUE(first.ok());
  EXPECT_GT(*first, to_epoch_ms(std::chrono::system_clock::now()));
  std::vector<int64_t> expected = compiled->next_n(*first - 1, 5);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(d["next_fires"][i]["utc"], cairn::schedule::format_utc(expected[i])) << i;
    EXPECT_THAT(d["next_fires"][i]["local"].get<std::string>(), HasSubstr(" 22:00:00 CE"));
  }
  for (const char* count :
       {"actions", "missed_catchup_window", "overlap_skipped", "buffer_dropped"}) {
    EXPECT_EQ(d["counts"][count], 0) << count;
  }
  Run text = run_text({"describe", "-s", "nightly-scale-down"});
  ASSERT_EQ(text.exit, 0) << text.output << text.errors;
  for (const char* part : {"cron \"0 22 * * *\"", "Europe/Paris", "next fires", " 22:00:00 CE",
                           "overlap skipped 0", "buffer dropped 0", "missed catch-up 0"}) {
    EXPECT_THAT(text.output, HasSubstr(part));
  }

  // list, all of them and filtered.
  json all = run_json({"list"});
  ASSERT_EQ(all.size(), 2u) << all;
  json filtered = run_json({"list", "--query", "WorkflowType = 'scale_down'"});
  ASSERT_EQ(filtered.size(), 1u) << filtered;
  EXPECT_EQ(filtered[0]["schedule_id"], "nightly-scale-down");
  EXPECT_EQ(filtered[0]["workflow_type"], "scale_down");
  json paused_ones = run_json({"list", "--query", "Paused = true"});
  ASSERT_EQ(paused_ones.size(), 1u) << paused_ones;
  EXPECT_EQ(paused_ones[0]["schedule_id"], "hourly-reindex");
  Run table = run_text({"list"});
  ASSERT_EQ(table.exit, 0) << table.errors;
  EXPECT_THAT(table.output, HasSubstr("nightly-scale-down"));
  EXPECT_THAT(table.output, HasSubstr("PAUSED"));

  // pause, with a note; trigger still acts while paused; unpause.
  json paused = run_json({"pause", "-s", "nightly-scale-down", "--note", "change freeze"});
  EXPECT_EQ(paused["paused"], true);
  d = run_json({"describe", "-s", "nightly-scale-down"});
  EXPECT_EQ(d["state"]["paused"], true);
  EXPECT_EQ(d["state"]["note"], "change freeze");

  json triggered = run_json({"trigger", "-s", "nightly-scale-down"});
  ASSERT_EQ(triggered["workflow_ids"].size(), 1u) << triggered;
  const std::string manual = triggered["workflow_ids"][0];
  EXPECT_THAT(manual, ::testing::StartsWith("nightly-scale-down-"));
  // The server starts it moments later (its transfer queue); describe shows it once closed.
  json action = closed_action("nightly-scale-down", manual);
  EXPECT_EQ(client_->handle(manual).result<std::string>(60s), "scaled pool-a");
  EXPECT_EQ(action["cause"], "trigger");
  EXPECT_EQ(action["status"], "COMPLETED");
  EXPECT_EQ(action["run_id"].get<std::string>().size(), 36u) << action;

  json unpaused = run_json({"unpause", "-s", "nightly-scale-down", "--note", "freeze over"});
  EXPECT_EQ(unpaused["paused"], false);
  EXPECT_EQ(run_json({"describe", "-s", "nightly-scale-down"})["state"]["paused"], false);

  // backfill across Europe's spring DST change: 22:00 in Paris is 21:00Z, then 20:00Z.
  json filled = run_json({"backfill", "-s", "nightly-scale-down", "--start", "2026-03-28T00:00:00Z",
                          "--end", "2026-03-30T00:00:00Z"});
  EXPECT_EQ(filled["workflow_ids"], json::array({"nightly-scale-down-2026-03-28T21:00:00Z",
                                                 "nightly-scale-down-2026-03-29T20:00:00Z"}))
      << filled;
  for (const auto& id : filled["workflow_ids"]) {
    EXPECT_EQ(closed_action("nightly-scale-down", id)["cause"], "backfill");
    EXPECT_EQ(client_->handle(id.get<std::string>()).result<std::string>(60s), "scaled pool-a");
  }
  Run described = run_text({"describe", "-s", "nightly-scale-down"});
  EXPECT_THAT(described.output, HasSubstr("nightly-scale-down-2026-03-29T20:00:00Z"));
  EXPECT_THAT(described.output, HasSubstr("COMPLETED"));
  EXPECT_GE(run_json({"describe", "-s", "nightly-scale-down"})["counts"]["actions"], 3);

  // delete: gone from describe and list; the workflows it started are kept.
  json deleted = run_json({"delete", "-s", "nightly-scale-down"});
  EXPECT_EQ(deleted["deleted"], true);
  json missing = run_json({"describe", "-s", "nightly-scale-down"}, 1);
  EXPECT_EQ(missing["error"]["code"], "NOT_FOUND");
  EXPECT_THAT(missing["error"]["message"].get<std::string>(), HasSubstr("nightly-scale-down"));
  EXPECT_TRUE(eventually([&] { return run_json({"list"}).size() == 1; }));
  EXPECT_EQ(client_->handle(manual).result<std::string>(10s), "scaled pool-a");
}

TEST_F(ScheduleCliTest, UpdateChangesTheFlagsGivenAndKeepsTheRest) {
  run_json({"create", "-s", "reconcile", "--cron", "0 * * * *", "-t", "reindex", "-q", "sched-q",
            "--catchup-window", "10m"});
  json updated =
      run_json({"update", "-s", "reconcile", "--cron", "30 6 * * mon-fri", "--time-zone",
                "America/New_York", "--overlap", "buffer-one", "--remaining-actions", "3"});
  EXPECT_EQ(updated["updated"], true);
  EXPECT_EQ(updated["changed"], true);
  json d = run_json({"describe", "-s", "reconcile"});
  EXPECT_EQ(d["spec"]["cron"], json::array({"30 6 * * mon-fri"}));
  EXPECT_EQ(d["spec"]["time_zone"], "America/New_York");
  EXPECT_EQ(d["policies"]["overlap"], "buffer-one");
  EXPECT_EQ(d["policies"]["catchup_window"], "10m") << "kept";
  EXPECT_EQ(d["action"]["task_queue"], "sched-q") << "kept";
  EXPECT_EQ(d["state"]["remaining_actions"], 3);
  for (const auto& t : d["next_fires"]) {
    EXPECT_THAT(t["local"].get<std::string>(), HasSubstr(" 06:30:00 E")) << t;  // EST / EDT
  }
  // A bad update is refused before anything is sent: the schedule keeps its spec.
  json bad = run_json({"update", "-s", "reconcile", "--cron", "30 6 * 13 *"}, 2);
  EXPECT_EQ(bad["error"]["code"], "USAGE");
  EXPECT_THAT(bad["error"]["message"].get<std::string>(), HasSubstr("--cron"));
  EXPECT_EQ(run_json({"describe", "-s", "reconcile"})["spec"]["cron"],
            json::array({"30 6 * * mon-fri"}));
}

TEST_F(ScheduleCliTest, BadInputIsRefusedAndCreatesNothing) {
  struct Case {
    std::vector<std::string> flags;
    std::string message;  // a part of the error
  };
  const std::vector<Case> cases = {
      {{"--cron", "0 25 * * *"}, "column 3"},
      {{"--cron", "0 22 * * *", "--cron", "*/0 * * * *"}, "spec.cron[1]"},
      {{"--cron", "0 22 * * *", "--time-zone", "Mars/Olympus"}, "Mars/Olympus"},
      {{"--interval", "0s"}, "--interval"},
      {{"--interval", "1h/2h"}, "offset"},
      {{"--interval", "an hour"}, "not a duration"},
      {{"--cron", "@daily", "--start-time", "2027-01-02T00:00:00Z", "--end-time",
        "2027-01-01T00:00:00Z"},
       "--end-time"},
      {{"--cron", "@daily", "--start-time", "tomorrow"}, "--start-time"},
      {{"--cron", "@daily", "--overlap", "sometimes"}, "--overlap"},
      {{"--cron", "@daily", "--catchup-window", "10ms"}, "--catchup-window"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"create", "-s", "bad", "-t", "reindex", "-q", "sched-q"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    SCOPED_TRACE(c.flags[0] + " " + c.flags[1]);
    json e = run_json(args, 2);
    EXPECT_EQ(e["error"]["code"], "USAGE");
    EXPECT_THAT(e["error"]["message"].get<std::string>(), HasSubstr(c.message));
  }
  // Without -o json: the message on stderr says where the cron is wrong.
  Run plain =
      run_text({"create", "-s", "bad", "-t", "reindex", "-q", "sched-q", "--cron", "0 25 * * *"});
  EXPECT_EQ(plain.exit, 2);
  EXPECT_EQ(plain.output, "");
  EXPECT_THAT(plain.errors, HasSubstr("hour \"25\" at column 3"));
  EXPECT_EQ(run_json({"list"}), json::array()) << "nothing was created";

  // backfill with its end before its start; an unknown schedule.
  run_json({"create", "-s", "ok", "--cron", "@daily", "-t", "reindex", "-q", "sched-q"});
  json backwards = run_json(
      {"backfill", "-s", "ok", "--start", "2026-03-02T00:00:00Z", "--end", "2026-03-01T00:00:00Z"},
      2);
  EXPECT_THAT(backwards["error"]["message"].get<std::string>(), HasSubstr("before"));
  EXPECT_EQ(run_json({"describe", "-s", "ok"})["counts"]["actions"], 0);
  json unknown = run_json({"trigger", "-s", "no-such-schedule"}, 1);
  EXPECT_EQ(unknown["error"]["code"], "NOT_FOUND");
}

}  // namespace
}  // namespace cairn::testing
