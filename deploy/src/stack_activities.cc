// The deploy activities: each provider call of the stack workflow runs here, on the worker's
// activity threads. Secrets are resolved only here (ProviderContext::resolve_secrets inside the
// providers) and leave as HMAC digests under the worker's key; every message, output and
// private state is redacted before it goes back to history.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/ai/approval.h"
#include "cairn/deploy/spec.h"
#include "cairn/deploy/stack.h"
#include "stack_internal.h"

namespace cairn::deploy {

using nlohmann::json;
using namespace stack_detail;

namespace {

std::string hex(const unsigned char* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

// The digest key: given, or <state_dir>/secret-digest.key (made once, mode 0600).
std::string load_digest_key(const StackWorkerOptions& o) {
  if (!o.digest_key.empty()) {
    return o.digest_key;
  }
  std::filesystem::create_directories(o.state_dir);
  std::filesystem::path path = std::filesystem::path(o.state_dir) / "secret-digest.key";
  {
    std::ifstream in(path, std::ios::binary);
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!key.empty()) {
      return key;
    }
  }
  unsigned char bytes[32];
  std::random_device rd;
  for (auto& b : bytes) {
    b = static_cast<unsigned char>(rd());
  }
  std::string key = hex(bytes, sizeof bytes);
  std::string tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ::write(fd, key.data(), key.size()) != static_cast<ssize_t>(key.size())) {
    throw std::runtime_error("cannot write the digest key " + tmp);
  }
  ::fsync(fd);
  ::close(fd);
  // Another worker may have made one meanwhile: link() keeps the first.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  ::unlink(tmp.c_str());
  return key;
}

struct Shared {
  StackWorkerOptions options;
  std::string key;
  ProviderRegistry registry;
  Client* client = nullptr;
  std::string task_queue;
};

void log_line(const std::string& text) {
  std::fprintf(stderr, "cairn-deploy-worker: %s\n", text.c_str());
  std::fflush(stderr);
}

// One provider call: its context (state dir, secrets from env / files relative to base_dir,
// heartbeats forwarded to the activity — and a heartbeat every 2 s while the call runs, so a
// long health wait is not taken for a dead worker).
class Call {
 public:
  Call(Shared& shared, ActivityContext& actx, const json& in)
      : shared_(shared), actx_(actx), in_(in) {
    stack_ = in.value("stack", "");
    resource_ = in.value("resource", "");
    base_dir_ = in.value("base_dir", "");
    ctx_.state_dir = std::filesystem::path(shared.options.state_dir) / stack_;
    std::filesystem::create_directories(ctx_.state_dir);
    ctx_.client = shared.client;
    ctx_.task_queue = shared.task_queue;
    std::string base = base_dir_;
    ctx_.secret_source = [base](const std::string& ref) -> std::optional<std::string> {
      auto r = parse_secret_ref(ref);
      if (!r) {
        return std::nullopt;
      }
      try {
        return resolve_secret(*r, base);
      } catch (const SecretError&) {
        return std::nullopt;
      }
    };
    ctx_.heartbeat = [this](const json& progress) { beat(progress); };
    ctx_.cancelled = [this] { return actx_.cancel_requested(); };
    const std::string where = stack_ + "/" + resource_;
    ctx_.logger = [where](LogLevel, const std::string& m) { log_line(where + ": " + m); };
    ticker_ = std::thread([this] {
      std::unique_lock lock(tick_mu_);
      while (!done_) {
        tick_cv_.wait_for(lock, std::chrono::seconds(2));
        if (!done_) {
          lock.unlock();
          beat(json());
          lock.lock();
        }
      }
    });
  }
  ~Call() {
    {
      std::lock_guard lock(tick_mu_);
      done_ = true;
    }
    tick_cv_.notify_all();
    ticker_.join();
  }

  ProviderContext& ctx() { return ctx_; }
  const std::string& base_dir() const { return base_dir_; }
  Provider& provider() { return shared_.registry.get(in_.at("type").get<std::string>()); }
  const std::string& type() const { return in_.at("type").get_ref<const std::string&>(); }

  // Digests of every secret reference in `inputs` (the values read here, never returned).
  json with_digests(json inputs) {
    if (auto ref = as_secret_ref(inputs)) {
      json out = {{"secret", ref->to_string()}};
      try {
        std::string value = resolve_secret(*ref, base_dir_);
        ctx_.secrets.push_back(value);
        out["digest"] = secret_digest(value, shared_.key);
      } catch (const SecretError& e) {
        throw ProviderError(ProviderErrorKind::kInvalidInputs, e.what());
      }
      return out;
    }
    if (inputs.is_object() || inputs.is_array()) {
      for (auto& v : inputs) {
        v = with_digests(v);
      }
    }
    return inputs;
  }

  // A recorded secret reference loses its digest before it reaches a provider.
  static json strip_digests(json inputs) {
    if (auto ref = as_secret_ref(inputs)) {
      return json{{"secret", ref->to_string()}};
    }
    if (inputs.is_object() || inputs.is_array()) {
      for (auto& v : inputs) {
        v = strip_digests(v);
      }
    }
    return inputs;
  }

  json redacted_state(const ProviderState& s) {
    ProviderState r = s;
    r.provider_id = ctx_.redact(r.provider_id);
    r.outputs = ctx_.redact(r.outputs);
    r.private_state = ctx_.redact(r.private_state);
    return to_json(r);
  }

  // Runs `fn`, turning any failure into a redacted ProviderError (kind kept).
  template <class F>
  json guarded(const char* what, F fn) {
    try {
      return fn();
    } catch (const ProviderError& e) {
      log_line(stack_ + "/" + resource_ + ": " + what +
               " failed: " + ctx_.redact(std::string(e.what())));
      throw ProviderError(e.kind(), ctx_.redact(std::string(e.what())));
    } catch (const std::exception& e) {
      log_line(stack_ + "/" + resource_ + ": " + what +
               " failed: " + ctx_.redact(std::string(e.what())));
      throw ProviderError(ProviderErrorKind::kFailed, ctx_.redact(std::string(e.what())));
    }
  }

 private:
  void beat(const json& progress) {
    std::lock_guard lock(beat_mu_);
    if (progress.is_null()) {
      actx_.heartbeat();
    } else {
      actx_.heartbeat(ctx_.redact(progress));
    }
  }

  Shared& shared_;
  ActivityContext& actx_;
  const json& in_;
  std::string stack_, resource_, base_dir_;
  ProviderContext ctx_;
  std::mutex beat_mu_;
  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool done_ = false;
  std::thread ticker_;
};

json read_result_json(const ReadResult& r) {
  json drift = json::array();
  for (const auto& d : r.drift) {
    drift.push_back({{"field", d.field}, {"expected", d.expected}, {"actual", d.actual}});
  }
  return {{"exists", r.exists}, {"outputs", r.outputs}, {"drift", drift}};
}

// Digests of every secret the spec references, for the plan (values never leave).
json spec_digests(const StackSpec& spec, const std::string& key, std::vector<std::string>* seen) {
  json digests = json::object();
  std::function<void(const json&)> walk = [&](const json& v) {
    if (auto ref = as_secret_ref(v)) {
      try {
        std::string value = resolve_secret(*ref, spec.base_dir);
        seen->push_back(value);
        digests[ref->to_string()] = secret_digest(value, key);
      } catch (const SecretError&) {
        // Unreadable here: the plan compares the reference only; create reports it.
      }
      return;
    }
    if (v.is_object() || v.is_array()) {
      for (const auto& e : v) {
        walk(e);
      }
    }
  };
  for (const auto& r : spec.resources) {
    walk(r.inputs);
  }
  return digests;
}

}  // namespace

void register_stack_worker(Worker& worker, Client& client, const StackWorkerOptions& options) {
  if (options.state_dir.empty()) {
    throw std::invalid_argument("StackWorkerOptions.state_dir: must not be empty");
  }
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  shared->key = load_digest_key(options);
  shared->client = &client;
  shared->task_queue = worker.options().task_queue;
  register_local_providers(shared->registry, options.local);
  if (options.extra_providers) {
    options.extra_providers(shared->registry);
  }
  register_stack_workflow(worker);
  register_stack_schedules(worker, client,
                           std::shared_ptr<const ProviderRegistry>(shared, &shared->registry),
                           options.state_dir);

  worker.register_activity(kPlanActivity, [shared](ActivityContext&, json in) -> json {
    StackParseResult parsed =
        parse_stack(in.value("spec_text", ""), in.value("spec_file", "stack.yaml"));
    if (!parsed.ok()) {
      return {{"errors", parsed.errors.report()}};
    }
    StackSpec spec = *parsed.spec;
    json overrides = in.value("overrides", json::object());
    for (auto it = overrides.begin(); it != overrides.end(); ++it) {
      for (auto& r : spec.resources) {
        if (r.name == it.key()) {
          for (auto f = it->begin(); f != it->end(); ++f) {
            r.inputs[f.key()] = *f;
          }
        }
      }
    }
    if (!in.value("base_dir", "").empty()) {
      spec.base_dir = in["base_dir"].get<std::string>();
    }
    std::vector<std::string> seen;
    json digests = spec_digests(spec, shared->key, &seen);
    StackState current = in.value("current", json::object()).get<StackState>();
    PlanOptions po;
    po.secret_digest = [&](const SecretRef& r) -> std::optional<std::string> {
      auto it = digests.find(r.to_string());
      if (it == digests.end()) {
        return std::nullopt;
      }
      return it->get<std::string>();
    };
    Plan plan = make_plan(spec, current, po);
    ApprovalCheck check = needs_approval(plan, spec.policy);
    // Inputs the providers would refuse, known now (references to outputs not yet made are
    // checked at create).
    json problems = json::array();
    for (const auto& rp : plan.resources) {
      if (rp.action == Action::kNone || rp.action == Action::kDelete || !rp.apply_supported) {
        continue;
      }
      Provider* p = shared->registry.find(rp.type);
      if (p == nullptr) {
        problems.push_back(rp.name + ": no provider for type " + rp.type);
        continue;
      }
      bool unknown = false;
      std::function<void(const json&)> scan = [&](const json& v) {
        if (is_known_after_apply(v)) {
          unknown = true;
        } else if (v.is_object() || v.is_array()) {
          for (const auto& e : v) {
            scan(e);
          }
        }
      };
      scan(rp.inputs);
      if (unknown) {
        continue;
      }
      for (const InputError& e :
           p->check(provider_inputs(rp.type, Call::strip_digests(rp.inputs), spec.base_dir))) {
        problems.push_back(rp.name + "." + e.field + ": " + e.message);
      }
    }
    return {{"hash", plan.hash},
            {"plan", to_json(plan)},
            {"digests", digests},
            {"approval", {{"required", check.required}, {"reasons", check.reasons}}},
            {"problems", problems}};
  });

  worker.register_activity(kReadActivity, [shared](ActivityContext& actx, json in) -> json {
    Call call(*shared, actx, in);
    return call.guarded("read", [&] {
      ProviderState s = provider_state_from_json(in.at("state"));
      ReadResult r = call.provider().read(call.ctx(), s);
      r.outputs = call.ctx().redact(r.outputs);
      for (auto& d : r.drift) {
        d.expected = call.ctx().redact(d.expected);
        d.actual = call.ctx().redact(d.actual);
      }
      return read_result_json(r);
    });
  });

  worker.register_activity(kCreateActivity, [shared](ActivityContext& actx, json in) -> json {
    Call call(*shared, actx, in);
    return call.guarded("create", [&] {
      Provider& p = call.provider();
      json recorded = call.with_digests(in.at("inputs"));
      json inputs =
          provider_inputs(call.type(), Call::strip_digests(in.at("inputs")), call.base_dir());
      auto errors = p.check(inputs);
      if (!errors.empty()) {
        std::string m;
        for (const auto& e : errors) {
          m += (m.empty() ? "" : "; ") + e.field + ": " + e.message;
        }
        throw ProviderError(ProviderErrorKind::kInvalidInputs, call.ctx().redact(m));
      }
      ProviderState s = p.create(call.ctx(), in.at("key").get<std::string>(), inputs);
      return json{{"state", call.redacted_state(s)}, {"inputs", recorded}};
    });
  });

  worker.register_activity(kUpdateActivity, [shared](ActivityContext& actx, json in) -> json {
    Call call(*shared, actx, in);
    return call.guarded("update", [&] {
      Provider& p = call.provider();
      ProviderState s = provider_state_from_json(in.at("state"));
      json recorded = call.with_digests(in.at("inputs"));
      json old_inputs =
          provider_inputs(call.type(), Call::strip_digests(in.at("old_inputs")), call.base_dir());
      json inputs =
          provider_inputs(call.type(), Call::strip_digests(in.at("inputs")), call.base_dir());
      // A changed secret behind the same reference changes the recorded digest only.
      Diff d = p.diff(old_inputs, inputs, s);
      if (d.kind == DiffKind::kReplace) {
        return json{{"replace", true}};
      }
      if (d.kind == DiffKind::kUpdate) {
        s = p.update(call.ctx(), s, inputs);
      }
      return json{{"replace", false}, {"state", call.redacted_state(s)}, {"inputs", recorded}};
    });
  });

  worker.register_activity(kDestroyActivity, [shared](ActivityContext& actx, json in) -> json {
    Call call(*shared, actx, in);
    return call.guarded("destroy", [&] {
      call.provider().destroy(call.ctx(), provider_state_from_json(in.at("state")));
      return json(true);
    });
  });

  worker.register_activity(kRevertActivity, [shared](ActivityContext& actx, json in) -> json {
    Call call(*shared, actx, in);
    return call.guarded("revert", [&] {
      ProviderState s =
          call.provider().revert_drift(call.ctx(), provider_state_from_json(in.at("state")));
      return json{{"state", call.redacted_state(s)}};
    });
  });

  worker.register_activity(kSnapshotActivity, [shared](ActivityContext& actx, json in) -> json {
    Call call(*shared, actx, in);
    return call.guarded("snapshot", [&] {
      return json{{"snapshot", call.ctx().redact(call.provider().snapshot(
                                   call.ctx(), provider_state_from_json(in.at("state"))))}};
    });
  });

  worker.register_activity(kRestoreActivity, [shared](ActivityContext& actx, json in) -> json {
    Call call(*shared, actx, in);
    return call.guarded("restore", [&] {
      ProviderState s = call.provider().restore(
          call.ctx(), provider_state_from_json(in.at("state")), in.value("snapshot", json()));
      return json{{"state", call.redacted_state(s)}};
    });
  });

  ai::register_approval_activities(worker);
}

}  // namespace cairn::deploy
