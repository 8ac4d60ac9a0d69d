// The stack spec's schedule blocks: the top-level `reconcile:` and a model_endpoint's `scaling:`
// (calendar windows and target tracking). Cron expressions and time zones are checked with the
// Schedules' own rules (proto/schedule_spec.h), so the spec refuses what the server would.
// Format and errors: docs/deploy.md "Reconcile and scaling".
#include <algorithm>
#include <regex>

#include "proto/schedule_spec.h"
#include "spec_internal.h"

namespace cairn::deploy::spec_internal {
namespace {

using nlohmann::json;

void check_keys(const json& object, const std::string& pointer, const std::string& what,
                const std::vector<std::string>& allowed, ParseContext& ctx) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      ctx.error(ctx.key_at(pointer + "/" + pointer_token(it.key())),
                "unknown field \"" + it.key() + "\" in " + what + suggestion(it.key(), allowed));
    }
  }
}

// An integer field of `object`, or nullopt after reporting why (absent: `fallback`).
std::optional<int> int_field(const json& object, const std::string& pointer,
                             const std::string& what, const char* key, std::optional<int> fallback,
                             ParseContext& ctx) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (!fallback) {
      ctx.error(ctx.key_at(pointer), what + " needs " + key);
    }
    return fallback;
  }
  if (!it->is_number_integer()) {
    ctx.error(ctx.value_at(pointer + "/" + key),
              what + "." + key + " must be an integer, not " + describe(*it));
    return std::nullopt;
  }
  return static_cast<int>(it->get<int64_t>());
}

// A duration field ("90s", "10m", "1h", "500ms"), or nullopt after reporting why.
std::optional<std::chrono::milliseconds> duration_field(const json& object,
                                                        const std::string& pointer,
                                                        const std::string& what, const char* key,
                                                        std::chrono::milliseconds fallback,
                                                        ParseContext& ctx) {
  auto it = object.find(key);
  if (it == object.end()) {
    return fallback;
  }
  auto ms = it->is_string() ? parse_duration_ms(it->get<std::string>()) : std::nullopt;
  if (!ms || *ms < 1000) {
    ctx.error(ctx.value_at(pointer + "/" + key),
              what + "." + key +
                  " must be a duration of at least 1s (\"30s\", \"10m\", \"1h\"), not " +
                  (it->is_string() ? "\"" + it->get<std::string>() + "\"" : describe(*it)));
    return std::nullopt;
  }
  return std::chrono::milliseconds(*ms);
}

void parse_target(const json& t, const std::string& pointer, const std::string& what,
                  const ResourceSpec& endpoint, const std::vector<ResourceSpec>& resources,
                  ScalingSpec& out, ParseContext& ctx) {
  if (!t.is_object()) {
    ctx.error(ctx.value_at(pointer), what + " must be a map, not " + describe(t));
    return;
  }
  check_keys(t, pointer, what, {"in_flight_per_replica", "router", "cooldown", "every"}, ctx);
  TargetTracking tt;
  auto per = int_field(t, pointer, what, "in_flight_per_replica", std::nullopt, ctx);
  if (per && *per <= 0) {
    ctx.error(ctx.value_at(pointer + "/in_flight_per_replica"),
              what + ".in_flight_per_replica must be at least 1, not " + std::to_string(*per));
  }
  auto cooldown = duration_field(t, pointer, what, "cooldown", tt.cooldown, ctx);
  auto every = duration_field(t, pointer, what, "every", tt.every, ctx);
  auto r = t.find("router");
  if (r == t.end() || !r->is_string()) {
    ctx.error(
        r == t.end() ? ctx.key_at(pointer) : ctx.value_at(pointer + "/router"),
        what + ".router must name the router resource whose tier serves \"" + endpoint.name + "\"");
    return;
  }
  const std::string router = r->get<std::string>();
  auto found = std::find_if(resources.begin(), resources.end(),
                            [&](const ResourceSpec& s) { return s.name == router; });
  if (found == resources.end() || found->type != "router") {
    ctx.error(ctx.value_at(pointer + "/router"),
              what + ".router: \"" + router + "\" is not a router resource of this stack");
    return;
  }
  // The tier whose urls reference this endpoint: its name is the router's stats key.
  for (const json& tier : found->inputs.value("tiers", json::array())) {
    for (const Reference& ref : references_in(tier.value("urls", json()))) {
      if (ref.resource == endpoint.name && tier.contains("name") && tier["name"].is_string()) {
        tt.tier = tier["name"].get<std::string>();
      }
    }
  }
  if (tt.tier.empty()) {
    ctx.error(ctx.value_at(pointer + "/router"),
              what + ".router: no tier of \"" + router + "\" takes its urls from \"" +
                  endpoint.name + "\" (write urls: ${" + endpoint.name + ".urls})");
    return;
  }
  if (!per || *per <= 0 || !cooldown || !every) {
    return;
  }
  tt.in_flight_per_replica = *per;
  tt.router = router;
  tt.cooldown = *cooldown;
  tt.every = *every;
  out.target = tt;
}

}  // namespace

std::optional<int64_t> parse_duration_ms(const std::string& text) {
  static const std::regex re("([0-9]+)(ms|s|m|h|d)");
  std::smatch m;
  if (!std::regex_match(text, m, re) || m[1].length() > 9) {
    return std::nullopt;
  }
  int64_t n = std::stoll(m[1]);
  const std::string unit = m[2];
  const int64_t scale = unit == "ms"  ? 1
                        : unit == "s" ? 1000
                        : unit == "m" ? 60'000
                        : unit == "h" ? 3'600'000
                                      : 86'400'000;
  return n * scale;
}

void parse_reconcile(const json& value, ParseContext& ctx, ReconcileSpec& out) {
  const std::string what = "reconcile";
  if ((value.is_string() && value.get<std::string>() == "off") ||
      (value.is_boolean() && !value.get<bool>())) {
    out.enabled = false;
    return;
  }
  if (!value.is_object()) {
    ctx.error(ctx.value_at("/reconcile"),
              "reconcile must be a map {every: 1h, dry_run: false} or off, not " + describe(value));
    return;
  }
  check_keys(value, "/reconcile", what, {"every", "dry_run"}, ctx);
  if (auto every = duration_field(value, "/reconcile", what, "every", out.every, ctx)) {
    out.every = *every;
  }
  if (auto it = value.find("dry_run"); it != value.end()) {
    if (!it->is_boolean()) {
      ctx.error(ctx.value_at("/reconcile/dry_run"),
                "reconcile.dry_run must be true or false, not " + describe(*it));
    } else {
      out.dry_run = it->get<bool>();
    }
  }
}

void parse_scaling(const json& value, const std::string& pointer, ResourceSpec& r,
                   const std::vector<ResourceSpec>& resources, ParseContext& ctx) {
  const std::string what = "resource \"" + r.name + "\": scaling";
  if (r.type != "model_endpoint") {
    ctx.error(ctx.key_at(pointer), what + " is for model_endpoint resources, not " +
                                       (r.type.empty() ? "this one" : r.type));
    return;
  }
  if (!value.is_object()) {
    ctx.error(ctx.value_at(pointer), what + " must be a map, not " + describe(value));
    return;
  }
  check_keys(value, pointer, what, {"min", "max", "windows", "timezone", "target"}, ctx);
  ScalingSpec s;
  s.location = ctx.key_at(pointer);
  auto min = int_field(value, pointer, what, "min", 0, ctx);
  auto max = int_field(value, pointer, what, "max", 64, ctx);
  bool ok = min && max;
  if (ok && (*min < 0 || *max > 64 || *min > *max)) {
    ctx.error(ctx.value_at(pointer + (*min < 0 ? "/min" : "/max")),
              what + ": min " + std::to_string(*min) + " and max " + std::to_string(*max) +
                  " must satisfy 0 <= min <= max <= 64");
    ok = false;
  }
  if (ok) {
    s.min = *min;
    s.max = *max;
    int replicas = static_cast<int>(r.inputs.value("replicas", int64_t{1}));
    if (replicas < s.min || replicas > s.max) {
      ctx.error(ctx.value_at(pointer + "/min"),
                what + ": inputs.replicas " + std::to_string(replicas) + " is outside min..max (" +
                    std::to_string(s.min) + ".." + std::to_string(s.max) + ")");
    }
  }
  if (auto tz = value.find("timezone"); tz != value.end()) {
    v1::ScheduleSpec probe;
    if (!tz->is_string()) {
      ctx.error(ctx.value_at(pointer + "/timezone"),
                what + ".timezone must be an IANA name such as Europe/Paris, not " + describe(*tz));
    } else if (probe.set_time_zone(tz->get<std::string>()),
               !schedule::CompiledSpec::compile(probe).ok()) {
      ctx.error(ctx.value_at(pointer + "/timezone"), what + ".timezone: unknown time zone \"" +
                                                         tz->get<std::string>() +
                                                         "\" (an IANA name such as Europe/Paris)");
    } else {
      s.timezone = tz->get<std::string>();
    }
  }
  if (auto w = value.find("windows"); w != value.end()) {
    if (!w->is_array()) {
      ctx.error(ctx.value_at(pointer + "/windows"),
                what + ".windows must be a list of {cron, replicas}, not " + describe(*w));
    } else {
      for (size_t i = 0; i < w->size(); ++i) {
        const std::string p = pointer + "/windows/" + std::to_string(i);
        const std::string wwhat = what + ".windows[" + std::to_string(i) + "]";
        const json& item = (*w)[i];
        if (!item.is_object()) {
          ctx.error(ctx.value_at(p),
                    wwhat + " must be a map {cron, replicas}, not " + describe(item));
          continue;
        }
        check_keys(item, p, wwhat, {"cron", "replicas"}, ctx);
        ScalingWindow win;
        win.location = ctx.value_at(p);
        auto cron = item.find("cron");
        if (cron == item.end() || !cron->is_string()) {
          ctx.error(cron == item.end() ? ctx.value_at(p) : ctx.value_at(p + "/cron"),
                    wwhat + " needs cron, a string such as \"0 22 * * *\"");
        } else if (auto parsed = schedule::parse_cron(cron->get<std::string>()); !parsed.ok()) {
          ctx.error(ctx.value_at(p + "/cron"), wwhat + ".cron: " + parsed.status().message());
        } else {
          win.cron = cron->get<std::string>();
        }
        auto replicas = int_field(item, p, wwhat, "replicas", std::nullopt, ctx);
        if (replicas && ok && (*replicas < s.min || *replicas > s.max)) {
          ctx.error(ctx.value_at(p + "/replicas"),
                    wwhat + ".replicas " + std::to_string(*replicas) + " is outside min..max (" +
                        std::to_string(s.min) + ".." + std::to_string(s.max) + ")");
        } else if (replicas) {
          win.replicas = *replicas;
        }
        s.windows.push_back(win);
      }
    }
  }
  if (auto t = value.find("target"); t != value.end()) {
    parse_target(*t, pointer + "/target", what + ".target", r, resources, s, ctx);
  }
  r.scaling = s;
}

}  // namespace cairn::deploy::spec_internal
