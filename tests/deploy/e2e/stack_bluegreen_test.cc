// Blue/green of a model_endpoint behind a router, end to end: a real cairn-server, a real
// cairn-deploy-worker, real HAProxy and cairn-model-endpoint replicas. Two callers keep sending
// chat requests through the router while the endpoint's model changes; every request must be
// answered 2xx, whether the new replicas come up (the router switches and drains, then the old
// replicas stop) or fail health (the deploy rolls back and the old replicas keep serving).
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deploy/e2e/stack_fixture.h"

namespace cairn::deploy::testing {
namespace {

using namespace std::chrono_literals;
using cairn::testing::await_until;

// Model ids unique to this test process: ctest runs this file's tests in parallel, and the tests
// count replicas by their model id on the command line.
const std::string kBlue = "m-blue-" + std::to_string(::getpid());
const std::string kGreen = "m-green-" + std::to_string(::getpid());

// The stack: a tier of two replicas serving `model` and a router over it.
std::string bluegreen_stack(const std::string& model, const std::string& args = "[]") {
  return "name: bg\n"
         "version: 1\n"
         "resources:\n"
         "  economy:\n"
         "    type: model_endpoint\n"
         "    inputs: {tier: economy, model: " +
         model + ", replicas: 2, args: " + args +
         "}\n"
         "  router:\n"
         "    type: router\n"
         "    inputs:\n"
         "      default_tier: economy\n"
         "      tiers:\n"
         "        - {name: economy, model: \"${economy.model}\", urls: \"${economy.urls}\"}\n";
}

struct Answer {
  int status = 0;  // 0: no answer (connection refused, reset, cut)
  std::string body;
};

// One POST on a fresh connection (Connection: close), read to the end.
Answer http_post(int port, const std::string& path, const std::string& body) {
  Answer a;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return a;
  }
  std::string req = "POST " + path +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    "Connection: close\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return a;
  }
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t head_end = reply.find("\r\n\r\n");
  if (reply.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos) {
    return a;
  }
  a.status = std::atoi(reply.c_str() + 9);
  a.body = reply.substr(head_end + 4);
  return a;
}

// Callers sending chat requests through the router's economy tier until stopped. The request
// names no model, so the answer names the model of the replica that served it.
class Load {
 public:
  explicit Load(int router_port) : port_(router_port) {}
  ~Load() { stop(); }

  void start(int threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { run(); });
    }
  }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }
  // Requests sent from now on are "after": checked against `after_model_`.
  void mark_after() {
    after_started_ = done_.load();
    after_ = true;
  }

  std::atomic<int> done_{0};
  std::atomic<int> failures_{0};
  std::atomic<int> after_done_{0};
  std::atomic<int> after_wrong_{0};  // "after" requests answered by another model
  std::string after_model_;
  int after_started_ = 0;

  std::map<std::string, int> models() {
    std::lock_guard<std::mutex> lock(mu_);
    return models_;
  }
  std::string first_failure() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_failure_;
  }

 private:
  void run() {
    const std::string body = R"({"messages":[{"role":"user","content":"hello blue/green"}]})";
    while (!stop_.load()) {
      bool after = after_.load();
      Answer a = http_post(port_, "/tiers/economy/v1/chat/completions", body);
      std::string model;
      if (a.status >= 200 && a.status < 300) {
        json j = json::parse(a.body, nullptr, /*allow_exceptions=*/false);
        model = j.is_object() ? j.value("model", "") : "";
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (model.empty()) {
          if (failures_++ == 0) {
            first_failure_ = "status " + std::to_string(a.status) + ": " + a.body;
          }
        } else {
          ++models_[model];
        }
      }
      if (after) {
        ++after_done_;
        if (model != after_model_) {
          ++after_wrong_;
        }
      }
      ++done_;
    }
  }

  int port_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> after_{false};
  std::mutex mu_;
  std::map<std::string, int> models_;
  std::string first_failure_;
};

class StackBlueGreenTest : public StackTest {
 protected:
  // Applies the blue stack; returns its status.
  StackStatus apply_blue() {
    DeployRecord d =
        wait_deploy("bg", submit("bg", apply_request(bluegreen_stack(kBlue))).deploy_id);
    EXPECT_EQ(d.state, "succeeded") << dump(d) << worker_logs();
    return stack_status(*client_, "bg");
  }
  static const ResourceStatus* resource(const StackStatus& s, const std::string& name) {
    for (const auto& r : s.resources) {
      if (r.name == name) {
        return &r;
      }
    }
    return nullptr;
  }
  static int64_t master_pid(const StackStatus& s) {
    return resource(s, "router")->private_state["process"]["pid"].get<int64_t>();
  }
};

TEST_F(StackBlueGreenTest, ANewModelGoesLiveUnder200RequestsWithoutANon2xxAnswer) {
  StackStatus blue = apply_blue();
  ASSERT_NE(resource(blue, "router"), nullptr);
  const int64_t master = master_pid(blue);
  const int port = blue.outputs["router"]["port"];
  EXPECT_EQ(count_processes("--model " + kBlue), 2);

  Load load(port);
  load.after_model_ = kGreen;
  load.start(2);
  ASSERT_TRUE(await_until([&] { return load.done_.load() >= 20; }, 30s));

  StackAccepted a = submit("bg", apply_request(bluegreen_stack(kGreen)));
  DeployRecord d = wait_deploy("bg", a.deploy_id, 120s);
  load.mark_after();
  ASSERT_EQ(d.state, "succeeded") << dump(d) << worker_logs();
  // Keep the load until at least 200 requests, 50 of them sent after the deploy.
  EXPECT_TRUE(
      await_until([&] { return load.done_.load() >= 200 && load.after_done_.load() >= 50; }, 60s));
  load.stop();

  EXPECT_EQ(load.failures_.load(), 0) << load.first_failure();
  std::map<std::string, int> models = load.models();
  EXPECT_GT(models[kBlue], 0);
  EXPECT_GT(models[kGreen], 0);
  EXPECT_EQ(models[kBlue] + models[kGreen], load.done_.load());
  EXPECT_EQ(load.after_wrong_.load(), 0);  // after the deploy only m-green answers

  // The engine's order: the new replicas, then the router, then (after verify) the old ones.
  const ResourceProgress* endpoint = progress_of(d, "economy");
  const ResourceProgress* router = progress_of(d, "router");
  ASSERT_NE(endpoint, nullptr);
  ASSERT_NE(router, nullptr);
  EXPECT_EQ(endpoint->action, "replace");
  EXPECT_EQ(router->action, "update");
  EXPECT_LE(endpoint->finished_ms, router->started_ms);

  EXPECT_EQ(count_processes("--model " + kBlue), 0);
  EXPECT_EQ(count_processes("--model " + kGreen), 2);
  StackStatus green = stack_status(*client_, "bg");
  EXPECT_EQ(master_pid(green), master);  // reloaded, never restarted
  EXPECT_EQ(green.outputs["router"]["port"], port);
  EXPECT_EQ(green.outputs["economy"]["model"], kGreen);
  for (const auto& [p, old_url] : blue.outputs["economy"]["urls"].items()) {
    std::string url = old_url;
    EXPECT_TRUE(await_until([&] { return port_free(std::stoi(url.substr(url.rfind(':') + 1))); }))
        << url;
  }
}

TEST_F(StackBlueGreenTest, NewReplicasFailingHealthRollBackWhileTheOldOnesKeepServing) {
  StackStatus blue = apply_blue();
  ASSERT_NE(resource(blue, "router"), nullptr);
  const int64_t master = master_pid(blue);
  const int port = blue.outputs["router"]["port"];
  const int running_before = running_processes();  // two replicas and the haproxy master

  Load load(port);
  load.after_model_ = kBlue;
  load.start(2);
  ASSERT_TRUE(await_until([&] { return load.done_.load() >= 20; }, 30s));

  // --threads 1 is refused by cairn-model-endpoint: every new replica exits at start.
  StackAccepted a = submit("bg", apply_request(bluegreen_stack(kGreen, R"(["--threads", "1"])")));
  DeployRecord d = wait_deploy("bg", a.deploy_id, 120s);
  load.mark_after();
  ASSERT_EQ(d.state, "rolled_back") << dump(d) << worker_logs();
  EXPECT_TRUE(
      await_until([&] { return load.done_.load() >= 200 && load.after_done_.load() >= 50; }, 60s));
  load.stop();

  EXPECT_EQ(load.failures_.load(), 0) << load.first_failure();
  std::map<std::string, int> models = load.models();
  EXPECT_EQ(models[kBlue], load.done_.load());
  EXPECT_EQ(models.count(kGreen), 0u);
  EXPECT_EQ(load.after_wrong_.load(), 0);
  // The router was never switched.
  const ResourceProgress* router = progress_of(d, "router");
  EXPECT_TRUE(router == nullptr || router->state == "pending" || router->state == "skipped")
      << dump(d);

  EXPECT_EQ(count_processes("--model " + kGreen), 0);
  EXPECT_EQ(count_processes("--model " + kBlue), 2);
  EXPECT_EQ(running_processes(), running_before);  // nothing of the failed create left
  StackStatus after = stack_status(*client_, "bg");
  EXPECT_EQ(master_pid(after), master);
  EXPECT_EQ(after.outputs["economy"]["model"], kBlue);
  EXPECT_EQ(after.outputs["economy"]["urls"], blue.outputs["economy"]["urls"]);
  EXPECT_EQ(resource(after, "router")->state.inputs, resource(blue, "router")->state.inputs);
}

}  // namespace
}  // namespace cairn::deploy::testing
