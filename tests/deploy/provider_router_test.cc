// The `router` provider with a real haproxy in front of real cairn-model-endpoint replicas:
// requests through /tiers/<tier>/... reach a replica with the prefix stripped, the router config
// it outputs loads in the AI batteries and works with their OpenAI client, reloads under a
// stream of requests answer every request, stats count them, a retried create adopts the
// running haproxy, drift is read and reverted, destroy frees the port.
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <signal.h>

#include "cairn/ai/openai.h"
#include "cairn/ai/router.h"
#include "cairn/deploy/process.h"
#include "cairn/deploy/provider.h"
#include "tests/deploy/provider_support.h"

namespace cairn::deploy {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::await_until;
using testing::TempStateDir;

#ifdef CAIRN_DEPLOY_HAPROXY
const char* kHaproxy = CAIRN_DEPLOY_HAPROXY;
#else
const char* kHaproxy = "/usr/sbin/haproxy";
#endif

// Live children of `parent` (a haproxy master's workers), from /proc/<pid>/stat's ppid.
std::vector<ProcessRecord> workers_of(pid_t parent) {
  std::vector<ProcessRecord> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t close = stat.rfind(')');
    if (close == std::string::npos) {
      continue;
    }
    std::istringstream fields(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    ProcessRecord r;
    r.pid = static_cast<pid_t>(std::stol(name));
    if (fields >> state >> ppid && ppid == parent) {
      if (std::optional<uint64_t> start = process_start_time(r.pid)) {
        r.start_time = *start;
        out.push_back(r);
      }
    }
  }
  return out;
}

int port_of(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

// Chat requests a replica has answered (its /control/stats).
int64_t chat_requests(const std::string& url) {
  std::string body;
  if (http_get_status(port_of(url), "/control/stats", 2s, &body) != 200) {
    return -1;
  }
  return json::parse(body).value("chat_requests", int64_t{-1});
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    LocalProviderOptions options;
    options.model_endpoint_binary = testing::kEndpointBinary;
    options.haproxy_binary = kHaproxy;
    register_local_providers(registry_, options);
  }
  Provider& router() { return registry_.get("router"); }
  Provider& endpoints() { return registry_.get("model_endpoint"); }

  // `replicas` endpoint processes serving `model`, under `key`; `args` go to each.
  ProviderState start_endpoints(const std::string& key, const std::string& model, int replicas,
                                const json& args = json::array()) {
    return endpoints().create(ctx_, key,
                              {{"model", model},
                               {"tier", "economy"},
                               {"replicas", replicas},
                               {"args", args},
                               {"startup_timeout_seconds", 20}});
  }

  static json router_inputs(const json& economy_urls, const json& premium_urls) {
    return {{"tiers",
             {{{"name", "economy"},
               {"model", "econ-model"},
               {"urls", economy_urls},
               {"input_per_million", 0.25},
               {"output_per_million", 1.25},
               {"context_window", 8000},
               {"fallback", {"premium"}}},
              {{"name", "premium"},
               {"model", "prem-model"},
               {"urls", premium_urls},
               {"input_per_million", 3},
               {"output_per_million", 15}}}},
            {"default_tier", "economy"},
            {"embedding_tier", "economy"},
            {"startup_timeout_seconds", 15}};
  }

  // The AI batteries' client for `tier`, from the router's router_config output.
  static ai::OpenAiClient client_for(const ProviderState& s, const std::string& tier) {
    ai::RouterConfig config =
        ai::parse_router_config(s.outputs["router_config"].get<std::string>(), "router_config");
    return ai::OpenAiClient(config.tier(tier)->endpoints.at(0));
  }

  static ai::ChatRequest hello() {
    ai::ChatRequest r;
    r.messages.push_back({"user", "hello through the router"});
    return r;
  }

  TempStateDir dir_;
  ProviderContext ctx_ = testing::make_context(dir_.path());
  ProviderRegistry registry_;
};

TEST_F(RouterTest, RoutesATierToItsReplicasAndItsConfigLoadsInTheAiBatteries) {
  ProviderState econ = start_endpoints("econ", "econ-model", 2);
  ProviderState prem = start_endpoints("prem", "prem-model", 1);
  json in = router_inputs(econ.outputs["urls"], prem.outputs["urls"]);
  ASSERT_TRUE(router().check(in).empty());
  ProviderState s = router().create(ctx_, "router", in);
  int port = s.outputs["port"];
  EXPECT_EQ(s.outputs["url"], "http://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(s.outputs["tier_urls"]["economy"],
            "http://127.0.0.1:" + std::to_string(port) + "/tiers/economy/v1");

  // The router config: the loader accepts it, tiers point at the router, prices and the rest
  // are the inputs'.
  ai::RouterConfig config =
      ai::parse_router_config(s.outputs["router_config"].get<std::string>(), "router_config");
  EXPECT_EQ(config.default_tier, "economy");
  EXPECT_EQ(config.embedding_tier, "economy");
  ASSERT_NE(config.tier("economy"), nullptr);
  EXPECT_EQ(config.tier("economy")->endpoints.at(0).base_url,
            s.outputs["tier_urls"]["economy"].get<std::string>());
  EXPECT_EQ(config.tier("economy")->model, "econ-model");
  EXPECT_EQ(config.tier("economy")->input_per_million, 250000);
  EXPECT_EQ(config.tier("economy")->output_per_million, 1250000);
  EXPECT_EQ(config.tier("economy")->context_window, 8000);
  EXPECT_EQ(config.tier("economy")->fallback, std::vector<std::string>{"premium"});
  EXPECT_EQ(config.tier("premium")->input_per_million, 3000000);
  // The same config is in the key's directory for load_router_config.
  EXPECT_EQ(ai::load_router_config(s.outputs["router_config_path"]), config);

  // An OpenAI client with the tier's base URL reaches /v1/chat/completions of an economy
  // replica (not a premium one), and embeddings too.
  ai::OpenAiClient economy = client_for(s, "economy");
  ai::ChatResponse answer = economy.chat(hello());
  EXPECT_FALSE(answer.message.content.empty());
  EXPECT_EQ(answer.model, "econ-model");
  economy.chat(hello());
  EXPECT_EQ(chat_requests(econ.outputs["urls"][0]) + chat_requests(econ.outputs["urls"][1]), 2);
  EXPECT_EQ(chat_requests(prem.outputs["urls"][0]), 0);
  ai::EmbeddingRequest embed;
  embed.input = {"a text to embed"};
  EXPECT_EQ(economy.embed(embed).data.size(), 1u);
  client_for(s, "premium").chat(hello());
  EXPECT_EQ(chat_requests(prem.outputs["urls"][0]), 1);

  // A path outside /tiers/<known tier>/ is a 404 from the router itself.
  EXPECT_EQ(http_get_status(port, "/tiers/unknown/v1/models", 2s), 404);
  EXPECT_EQ(http_get_status(port, "/v1/models", 2s), 404);
  EXPECT_EQ(http_get_status(port, "/tiers/economy/v1/models", 2s), 200);

  // Stats per tier from HAProxy.
  json stats;
  ASSERT_TRUE(await_until(
      [&] {
        stats = router().stats(ctx_, s);
        return stats["tiers"]["economy"]["servers_up"] == 2;
      },
      10s))
      << stats.dump();
  EXPECT_GE(stats["tiers"]["economy"]["requests"].get<int>(), 3);
  EXPECT_EQ(stats["tiers"]["economy"]["in_flight"], 0);
  EXPECT_EQ(stats["tiers"]["premium"]["servers_up"], 1);
  EXPECT_GE(stats["tiers"]["premium"]["requests"].get<int>(), 1) << stats.dump();

  ReadResult r = router().read(ctx_, s);
  EXPECT_TRUE(r.exists);
  EXPECT_TRUE(r.drift.empty());

  ProcessRecord master = process_record_from_json(s.private_state["process"]);
  router().destroy(ctx_, s);
  EXPECT_FALSE(alive(master));
  EXPECT_TRUE(await_until([&] { return port_free(port); }));
  EXPECT_TRUE(await_until([&] { return port_free(s.private_state["stats_port"]); }));
  EXPECT_FALSE(std::filesystem::exists(s.private_state["dir"].get<std::string>()));
  EXPECT_FALSE(router().read(ctx_, s).exists);
  router().destroy(ctx_, s);  // idempotent
  endpoints().destroy(ctx_, econ);
  endpoints().destroy(ctx_, prem);
}

// Blue/green under load: two callers keep sending through the router while the economy tier's
// URLs switch between two replica sets six times. Each switch is followed until the new set has
// answered requests through the router; at least 200 requests in all, every one answered 2xx.
TEST_F(RouterTest, SwitchingReplicasUnderLoadAnswersEveryRequest) {
  ProviderState blue = start_endpoints("blue", "econ-model", 2);
  ProviderState green = start_endpoints("green", "econ-model", 2);
  ProviderState prem = start_endpoints("prem", "prem-model", 1);
  ProviderState s =
      router().create(ctx_, "router", router_inputs(blue.outputs["urls"], prem.outputs["urls"]));
  const int64_t pid = s.private_state["process"]["pid"];
  auto served = [](const ProviderState& set) {
    return chat_requests(set.outputs["urls"][0]) + chat_requests(set.outputs["urls"][1]);
  };

  std::atomic<int> done{0};
  std::atomic<int> failures{0};
  std::atomic<bool> stop{false};
  std::string first_failure;
  std::mutex mu;
  auto load = [&] {
    ai::OpenAiClient client = client_for(s, "economy");
    while (!stop.load()) {
      try {
        client.chat(hello());
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        if (failures++ == 0) {
          first_failure = e.what();
        }
      }
      ++done;
    }
  };
  ProviderState current = s;
  std::string update_error;
  bool every_switch_served = true;
  {
    std::jthread a(load);
    std::jthread b(load);
    for (int i = 0; i < 6 && update_error.empty(); ++i) {
      const ProviderState& next = i % 2 == 0 ? green : blue;
      int64_t next_before = served(next);
      try {
        current = router().update(ctx_, current,
                                  router_inputs(next.outputs["urls"], prem.outputs["urls"]));
      } catch (const std::exception& e) {
        update_error = e.what();
      }
      // The switch took: the new set answers callers' requests (new connections reach the new
      // HAProxy worker; the old one closes its kept-alive connections).
      every_switch_served =
          every_switch_served &&
          await_until([&] { return served(next) >= next_before + 10; }, 20s);
    }
    EXPECT_TRUE(await_until([&] { return done.load() >= 200; }, 30s));
    stop = true;
  }  // both load threads joined
  ASSERT_EQ(update_error, "");
  EXPECT_TRUE(every_switch_served);
  EXPECT_GE(done.load(), 200);
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_EQ(current.private_state["generation"], 7);
  EXPECT_EQ(current.private_state["process"]["pid"], pid);  // reloaded, never restarted
  int64_t served_blue = served(blue);
  int64_t served_green = served(green);
  EXPECT_EQ(served_blue + served_green, done.load()) << served_blue << " + " << served_green;
  // The last switch went to blue: new requests reach blue only.
  int64_t green_before = served_green;
  client_for(current, "economy").chat(hello());
  EXPECT_EQ(chat_requests(green.outputs["urls"][0]) + chat_requests(green.outputs["urls"][1]),
            green_before);

  // An update that changes nothing reloads nothing.
  ProviderState same =
      router().update(ctx_, current, router_inputs(blue.outputs["urls"], prem.outputs["urls"]));
  EXPECT_EQ(same.private_state["generation"], 7);

  router().destroy(ctx_, current);
  for (ProviderState* e : {&blue, &green, &prem}) {
    endpoints().destroy(ctx_, *e);
  }
}

// Drain: a request the old worker proxies when the router reloads still completes, because
// update returns only once the old workers have exited — so the old replicas can be stopped
// right after it returns (what the deploy workflow does in a blue/green).
TEST_F(RouterTest, AnUpdateReturnsOnceTheOldWorkersHaveDrained) {
  ProviderState slow = start_endpoints("slow", "econ-model", 1, {"--latency-ms", "1500"});
  ProviderState fresh = start_endpoints("fresh", "econ-model", 1);
  json in = router_inputs(slow.outputs["urls"], fresh.outputs["urls"]);
  in["drain_timeout_seconds"] = 20;
  ProviderState s = router().create(ctx_, "router-drain", in);
  const pid_t master = s.private_state["process"]["pid"].get<int>();
  std::string cfg = s.private_state["dir"].get<std::string>() + "/haproxy.cfg";
  std::ifstream cfg_in(cfg);
  std::string cfg_text((std::istreambuf_iterator<char>(cfg_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(cfg_text.find("hard-stop-after 20000ms"), std::string::npos) << cfg_text;
  std::vector<ProcessRecord> old_workers = workers_of(master);
  ASSERT_EQ(old_workers.size(), 1u);

  // One slow request in flight through the current worker.
  std::string slow_error;
  std::string slow_model;
  std::thread caller([&] {
    try {
      slow_model = client_for(s, "economy").chat(hello()).model;
    } catch (const std::exception& e) {
      slow_error = e.what();
    }
  });
  ASSERT_TRUE(await_until(
      [&] { return router().stats(ctx_, s)["tiers"]["economy"]["in_flight"].get<int>() >= 1; },
      10s));

  json next = router_inputs(fresh.outputs["urls"], fresh.outputs["urls"]);
  next["drain_timeout_seconds"] = 20;
  ProviderState after = router().update(ctx_, s, next);
  // No old worker remains: the master's only child is the new generation's.
  EXPECT_FALSE(alive(old_workers[0]));
  std::vector<ProcessRecord> now = workers_of(master);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(now[0].pid, old_workers[0].pid);
  EXPECT_EQ(after.private_state["process"]["pid"].get<int>(), master);
  // The old replica goes at once, as in a blue/green; the request it served had completed.
  endpoints().destroy(ctx_, slow);
  caller.join();
  EXPECT_EQ(slow_error, "");
  EXPECT_EQ(slow_model, "econ-model");
  EXPECT_EQ(client_for(after, "economy").chat(hello()).model, "econ-model");

  router().destroy(ctx_, after);
  endpoints().destroy(ctx_, fresh);
}

// The drain is bounded: a request longer than drain_timeout_seconds is cut by hard-stop-after, and
// update returns about then rather than waiting for it.
TEST_F(RouterTest, ADrainLongerThanItsBoundEndsAtHardStopAfter) {
  ProviderState slow = start_endpoints("slower", "econ-model", 1, {"--latency-ms", "20000"});
  ProviderState fresh = start_endpoints("fresh2", "econ-model", 1);
  json in = router_inputs(slow.outputs["urls"], fresh.outputs["urls"]);
  in["drain_timeout_seconds"] = 1;
  ProviderState s = router().create(ctx_, "router-bound", in);
  const pid_t master = s.private_state["process"]["pid"].get<int>();
  std::vector<ProcessRecord> old_workers = workers_of(master);
  ASSERT_EQ(old_workers.size(), 1u);
  std::atomic<bool> answered{false};
  std::thread caller([&] {
    try {
      client_for(s, "economy").chat(hello());
      answered = true;
    } catch (const std::exception&) {
    }
  });
  ASSERT_TRUE(await_until(
      [&] { return router().stats(ctx_, s)["tiers"]["economy"]["in_flight"].get<int>() >= 1; },
      10s));
  json next = router_inputs(fresh.outputs["urls"], fresh.outputs["urls"]);
  next["drain_timeout_seconds"] = 1;
  auto start = std::chrono::steady_clock::now();
  ProviderState after = router().update(ctx_, s, next);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 10s);
  EXPECT_FALSE(alive(old_workers[0]));
  EXPECT_EQ(workers_of(master).size(), 1u);
  caller.join();
  EXPECT_FALSE(answered.load());  // cut by the old worker's hard stop, long before 20 s

  router().destroy(ctx_, after);
  endpoints().destroy(ctx_, slow);
  endpoints().destroy(ctx_, fresh);
}

TEST_F(RouterTest, ARetriedCreateAdoptsTheRunningHaproxy) {
  ProviderState econ = start_endpoints("econ", "econ-model", 1);
  json in = router_inputs(econ.outputs["urls"], econ.outputs["urls"]);
  ProviderState first = router().create(ctx_, "router-adopt", in);
  std::string cfg = first.private_state["dir"].get<std::string>() + "/haproxy.cfg";
  ProcessRecord master = process_record_from_json(first.private_state["process"]);
  // The master and its worker carry the config path on their command lines.
  ASSERT_TRUE(await_until([&] { return testing::count_processes(cfg) == 2; }));

  // The first attempt's result was lost (a crash before it was recorded): the retry finds the
  // haproxy of the key and keeps it.
  ProviderState again = router().create(ctx_, "router-adopt", in);
  EXPECT_EQ(again.private_state["process"]["pid"], master.pid);
  EXPECT_TRUE(again.private_state["adopted"].get<bool>());
  EXPECT_EQ(again.outputs["url"], first.outputs["url"]);
  EXPECT_EQ(again.private_state["generation"], 1);
  EXPECT_EQ(testing::count_processes(cfg), 2);
  EXPECT_EQ(client_for(again, "economy").chat(hello()).model, "econ-model");

  router().destroy(ctx_, again);
  EXPECT_TRUE(await_until([&] { return testing::count_processes(cfg) == 0; }));
  endpoints().destroy(ctx_, econ);
}

TEST_F(RouterTest, AHandEditedConfigIsDriftAndRevertingReloadsTheRecordedOne) {
  ProviderState econ = start_endpoints("econ", "econ-model", 1);
  ProviderState s =
      router().create(ctx_, "router-drift", router_inputs(econ.outputs["urls"], econ.outputs["urls"]));
  std::string cfg = s.private_state["dir"].get<std::string>() + "/haproxy.cfg";
  {
    std::ofstream out(cfg, std::ios::app);
    out << "# edited by hand\n";
  }
  ReadResult r = router().read(ctx_, s);
  EXPECT_TRUE(r.exists);
  ASSERT_EQ(r.drift.size(), 1u);
  EXPECT_EQ(r.drift[0].field, "config");

  ProviderState fixed = router().revert_drift(ctx_, s);
  EXPECT_EQ(fixed.private_state["generation"], 2);
  EXPECT_TRUE(router().read(ctx_, fixed).drift.empty());
  EXPECT_EQ(client_for(fixed, "economy").chat(hello()).model, "econ-model");

  // Killed: gone, not drift.
  ProcessRecord master = process_record_from_json(fixed.private_state["process"]);
  ::kill(-master.pid, SIGKILL);
  ASSERT_TRUE(await_until([&] { return !alive(master); }));
  EXPECT_FALSE(router().read(ctx_, fixed).exists);
  EXPECT_THROW(router().update(ctx_, fixed, fixed.private_state["inputs"]), ProviderError);
  router().destroy(ctx_, fixed);
  endpoints().destroy(ctx_, econ);
}

// Endpoints that require a key answer /v1/models with 401, so a tier over them checks /health:
// the replicas are up, a caller with the key is answered through the router and one without it
// gets the endpoint's 401. The router's rules reach router_config as given.
TEST_F(RouterTest, ATierOverKeyedEndpointsChecksItsHealthPathAndCarriesTheRules) {
  ProviderState keyed = endpoints().create(ctx_, "keyed",
                                           {{"model", "econ-model"},
                                            {"tier", "economy"},
                                            {"replicas", 2},
                                            {"api_key", "router-test-key"},
                                            {"startup_timeout_seconds", 20}});
  ProviderState prem = start_endpoints("prem", "prem-model", 1);
  json in = router_inputs(keyed.outputs["urls"], prem.outputs["urls"]);
  in["tiers"][0]["health_path"] = "/health";
  in["rules"] = {{"complexity", {{"low", "economy"}, {"high", "premium"}}}};
  ASSERT_TRUE(router().check(in).empty());
  ProviderState s = router().create(ctx_, "router", in);
  std::string config_text;
  {
    std::ifstream f(std::filesystem::path(s.private_state["dir"].get<std::string>()) /
                    "haproxy.cfg");
    config_text.assign(std::istreambuf_iterator<char>(f), {});
  }
  EXPECT_NE(config_text.find("option httpchk GET /health\n"), std::string::npos) << config_text;
  EXPECT_NE(config_text.find("option httpchk GET /v1/models\n"), std::string::npos)
      << "premium keeps the default";

  json stats;
  ASSERT_TRUE(await_until(
      [&] {
        stats = router().stats(ctx_, s);
        return stats["tiers"]["economy"]["servers_up"] == 2;
      },
      10s))
      << stats.dump();
  const int port = s.outputs["port"];
  EXPECT_EQ(http_get_status(port, "/tiers/economy/v1/models", 2s), 401);
  ::setenv("CAIRN_ROUTER_TEST_KEY", "router-test-key", 1);
  ai::RouterConfig config =
      ai::parse_router_config(s.outputs["router_config"].get<std::string>(), "router_config");
  ai::EndpointConfig endpoint = config.tier("economy")->endpoints.at(0);
  endpoint.api_key_env = "CAIRN_ROUTER_TEST_KEY";
  ai::ChatResponse answer = ai::OpenAiClient(endpoint).chat(hello());
  EXPECT_EQ(answer.model, "econ-model");

  json carried = json::parse(s.outputs["router_config"].get<std::string>());
  EXPECT_EQ(carried["rules"], in["rules"]) << carried.dump();

  router().destroy(ctx_, s);
  endpoints().destroy(ctx_, keyed);
  endpoints().destroy(ctx_, prem);
}

TEST_F(RouterTest, CheckNamesEveryBadInput) {
  json in = router_inputs(json::array({"http://127.0.0.1:1"}), json::array({"ftp://x"}));
  in["tiers"][0]["fallback"] = {"premum"};
  in["default_tier"] = "nope";
  in["tiers"][1]["name"] = "bad/name";
  in["colour"] = "blue";
  in["tiers"][0]["health_path"] = "/health\n  server evil 10.0.0.1:80";
  std::vector<InputError> errors = router().check(in);
  std::set<std::string> fields;
  for (const InputError& e : errors) {
    fields.insert(e.field);
  }
  EXPECT_TRUE(fields.count("tiers[1].urls[0]")) << errors.size();
  EXPECT_TRUE(fields.count("tiers[0].fallback[0]"));
  EXPECT_TRUE(fields.count("tiers[1].name"));
  EXPECT_TRUE(fields.count("default_tier"));
  EXPECT_TRUE(fields.count("colour"));
  EXPECT_TRUE(fields.count("tiers[0].health_path")) << "nothing may end the httpchk directive";
  EXPECT_TRUE(fields.count("embedding_tier") == 0);  // economy is still a tier

  // A url not known before apply passes check.
  json planned = router_inputs(json::array({{{"known_after_apply", "${econ.urls}"}}}),
                               json::array({"http://127.0.0.1:2"}));
  EXPECT_TRUE(router().check(planned).empty());

  ProviderState none;
  EXPECT_EQ(router().diff(planned, router_inputs(json::array({"http://127.0.0.1:3"}),
                                                 json::array({"http://127.0.0.1:2"})),
                          none)
                .kind,
            DiffKind::kUpdate);
  json moved = planned;
  moved["port"] = 4242;
  EXPECT_EQ(router().diff(planned, moved, none).kind, DiffKind::kReplace);
}

}  // namespace
}  // namespace cairn::deploy
