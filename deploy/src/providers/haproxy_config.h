// Private pieces of the `router` provider that are pure text: the router's inputs read into
// tiers, the HAProxy configuration generated from them, the AI batteries' router config
// (cairn/ai/router.h) pointing at the router's per-tier URLs, and HAProxy's CSV statistics read
// into per-tier figures. No I/O; thread-compatible values.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/deploy/provider.h"

namespace cairn::deploy::router {

// One server behind a tier: host and port of an http:// URL.
struct Upstream {
  std::string host;
  int port = 0;
};

struct Tier {
  std::string name;
  std::string model;
  std::vector<Upstream> upstreams;
  nlohmann::json input_per_million = 0;   // as written in the spec (dollars)
  nlohmann::json output_per_million = 0;  // as written in the spec (dollars)
  int64_t context_window = 0;
  std::vector<std::string> fallback;
  // What HAProxy's health check GETs on each replica; a replica is up while it answers 200.
  std::string health_path = "/v1/models";
};

struct RouterSpec {
  std::vector<Tier> tiers;
  std::string default_tier;
  std::string embedding_tier;
  nlohmann::json rules;  // the AI router's rules, as given (null: none)
  // How long a reload waits for the old workers to finish the requests they hold; also the
  // configuration's `hard-stop-after`, so no old worker outlives it (input drain_timeout_seconds).
  int64_t drain_timeout_ms = 30000;
};

// The problems of router inputs (field paths such as "tiers[1].urls[0]"); empty when valid.
// A url that is still {"known_after_apply": …} (a plan before its endpoint exists) passes.
std::vector<InputError> check_router_inputs(const nlohmann::json& inputs);

// The inputs read into a spec. REQUIRES: check_router_inputs(inputs) is empty and every url is
// known. Throws ProviderError(kInvalidInputs) otherwise.
RouterSpec parse_router_inputs(const nlohmann::json& inputs);

// Where things listen: the frontend (`port`) and the loopback stats / control frontend.
struct Listen {
  int port = 0;
  int stats_port = 0;
};

// The HAProxy configuration (master-worker mode, one process): the frontend on 127.0.0.1:port
// routing /tiers/<tier>/... to backend tier_<tier> with the prefix stripped, health checks on
// GET /v1/models per server, connection failures retried on another server, `hard-stop-after`
// spec.drain_timeout_ms (an old worker is stopped then, whatever it still holds), and a stats
// frontend on 127.0.0.1:stats_port answering /stats (;csv) and /generation (the text
// `generation`, so a reload is seen to have taken effect).
std::string haproxy_config(const RouterSpec& spec, const Listen& listen, int64_t generation);

// The base URL of a tier through the router: http://127.0.0.1:<port>/tiers/<tier>/v1.
std::string tier_base_url(int port, const std::string& tier);

// The AI batteries' router config (JSON, which load_router_config / parse_router_config read):
// every tier with one endpoint, the router's URL of that tier; model, prices, context window,
// fallbacks; default_tier and embedding_tier.
nlohmann::json ai_router_config(const RouterSpec& spec, int port);

// Per-tier figures from HAProxy's "show stat" CSV: {"<tier>": {"in_flight": sum of the
// servers' scur, "requests": the backend's req_tot (stot when absent), "servers_up": servers
// whose status is UP}}. Rows of other proxies are ignored. Tiers of `spec` missing from the
// CSV are reported with zeros.
nlohmann::json tier_stats_from_csv(const std::string& csv, const RouterSpec& spec);

}  // namespace cairn::deploy::router
