// Applying stacks end to end: a real cairn-server, a real cairn-deploy-worker and the real
// processes its providers start (redis-server, cairn-model-endpoint, shell commands).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deploy/e2e/stack_fixture.h"

namespace cairn::deploy::testing {
namespace {

using ::testing::HasSubstr;

// A port nothing listens on now (bound to :0 and closed).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

const char* kSmallStack = R"(name: small
version: 1
resources:
  cache:
    type: redis
    inputs:
      maxmemory: 16mb
      maxmemory_policy: allkeys-lru
  llm:
    type: model_endpoint
    inputs:
      tier: economy
      model: lumen-small
      replicas: 1
      price_per_hour: 0.10
  app:
    type: process
    inputs:
      command: /usr/bin/sleep
      args: ["300"]
      env:
        CACHE_URL: ${cache.url}
        MODEL_URL: ${llm.url}
)";

TEST_F(StackTest, ApplyStartsTheStackAndStatusShowsItsOutputs) {
  StackAccepted a = submit("small", apply_request(kSmallStack));
  EXPECT_EQ(a.deploy_id, "d-1");
  EXPECT_EQ(a.queue_position, 0);
  DeployRecord d = wait_deploy("small", a.deploy_id);
  ASSERT_EQ(d.state, "succeeded") << dump(d) << worker_logs();
  EXPECT_EQ(d.plan_hash.size(), 64u);
  for (const char* r : {"cache", "llm", "app"}) {
    const ResourceProgress* p = progress_of(d, r);
    ASSERT_NE(p, nullptr) << r;
    EXPECT_EQ(p->action, "create") << r;
    EXPECT_EQ(p->state, "done") << r;
  }

  StackStatus s = stack_status(*client_, "small");
  ASSERT_EQ(s.resources.size(), 3u);
  EXPECT_EQ(s.resources[0].name, "cache");  // spec order
  EXPECT_EQ(s.resources[2].name, "app");
  std::string cache_url = s.outputs["cache"]["url"];
  EXPECT_THAT(cache_url, HasSubstr("redis://127.0.0.1:"));
  ASSERT_EQ(s.outputs["llm"]["urls"].size(), 1u);
  std::string llm_url = s.outputs["llm"]["url"];
  int llm_port = std::stoi(llm_url.substr(llm_url.rfind(':') + 1));
  EXPECT_EQ(http_get_status(llm_port, "/v1/models", std::chrono::seconds(2)), 200);
  EXPECT_GT(s.outputs["app"]["pid"].get<int>(), 0);
  // The app's inputs were resolved against the outputs made before it.
  const ResourceStatus& app = s.resources[2];
  EXPECT_EQ(app.state.inputs["env"]["CACHE_URL"], cache_url);
  EXPECT_EQ(app.state.inputs["env"]["MODEL_URL"], llm_url);
  EXPECT_EQ(app.state.dependencies, (std::vector<std::string>{"cache", "llm"}));
  EXPECT_EQ(running_processes(), 3);
  EXPECT_FALSE(s.running.has_value());
  EXPECT_EQ(s.spec_hash, sha256_hex(kSmallStack));

  // The same spec again changes nothing: same processes, nothing but reads.
  DeployRecord again = wait_deploy("small", submit("small", apply_request(kSmallStack)).deploy_id);
  ASSERT_EQ(again.state, "succeeded") << dump(again);
  for (const auto& p : again.resources) {
    EXPECT_EQ(p.action, "read") << dump(again);
  }
  StackStatus s2 = stack_status(*client_, "small");
  EXPECT_EQ(s2.outputs, s.outputs);
  EXPECT_EQ(running_processes(), 3);
  ASSERT_EQ(s2.recent.size(), 2u);
  EXPECT_EQ(s2.recent[0].deploy_id, "d-2");  // newest first
}

TEST_F(StackTest, ASecondApplyWhileOneRunsIsRefusedNamingItAndWaitQueues) {
  const std::string spec = "name: busy\nresources:\n" + slow_listener("slow", 2.0, "busy-slow");
  StackAccepted first = submit("busy", apply_request(spec, "alice"));
  try {
    submit("busy", apply_request(spec, "bob"));
    ADD_FAILURE() << "a second apply was accepted while " << first.deploy_id << " runs";
  } catch (const StackRequestError& e) {
    EXPECT_EQ(e.type(), "StackLocked");
    EXPECT_THAT(e.what(), HasSubstr(first.deploy_id));
    EXPECT_THAT(e.what(), HasSubstr("apply requested by alice"));
  }
  StackRequest queued = apply_request(spec, "bob");
  queued.wait = true;
  StackAccepted second = submit("busy", queued);
  EXPECT_EQ(second.queue_position, 1);
  EXPECT_EQ(second.deploy_id, "d-2");  // the refused request took no deploy id
  StackStatus during = stack_status(*client_, "busy");
  ASSERT_EQ(during.queued.size(), 1u);
  EXPECT_EQ(during.queued[0].deploy_id, "d-2");

  DeployRecord d1 = wait_deploy("busy", first.deploy_id);
  EXPECT_EQ(d1.state, "succeeded") << dump(d1) << worker_logs();
  DeployRecord d2 = wait_deploy("busy", second.deploy_id);
  EXPECT_EQ(d2.state, "succeeded") << dump(d2);
  EXPECT_GE(d2.started_ms, d1.finished_ms);  // one at a time
  EXPECT_EQ(count_processes("--model busy-slow"), 1);
  StackStatus after = stack_status(*client_, "busy");
  EXPECT_FALSE(after.running.has_value());  // the lock is released
  EXPECT_TRUE(after.queued.empty());
}

TEST_F(StackTest, AFailureAtTheThirdOfFiveResourcesRollsBackToNothingRunning) {
  const int port_a = free_port();
  const int port_b = free_port();
  const std::string spec = "name: five\nresources:\n"
                           "  a:\n    type: redis\n    inputs:\n      port: " +
                           std::to_string(port_a) +
                           "\n"
                           "  b:\n    type: process\n    inputs:\n"
                           "      command: /bin/sh\n"
                           "      args: [\"-c\", \"exec " +
                           kRedis +
                           " --port {port} --save ''\"]\n"
                           "      port: " +
                           std::to_string(port_b) +
                           "\n      health: {tcp: true}\n"
                           "      env: {UPSTREAM: \"${a.url}\"}\n"
                           "  c:\n    type: process\n    inputs:\n"
                           "      command: /bin/sh\n"
                           "      args: [\"-c\", \"echo starting; exit 3\"]\n"
                           "      health: {tcp: true}\n"
                           "      env: {UPSTREAM: \"${b.url}\"}\n"
                           "  d:\n    type: process\n    inputs:\n"
                           "      command: /usr/bin/sleep\n      args: [\"300\"]\n"
                           "      env: {UPSTREAM: \"${c.url}\"}\n"
                           "  e:\n    type: process\n    inputs:\n"
                           "      command: /usr/bin/sleep\n      args: [\"301\"]\n"
                           "      env: {UPSTREAM: \"${c.url}\"}\n";
  DeployRecord d = wait_deploy("five", submit("five", apply_request(spec)).deploy_id);
  ASSERT_EQ(d.state, "rolled_back") << dump(d) << worker_logs();
  EXPECT_THAT(d.error, HasSubstr("c: "));
  // a and b were made, then destroyed in reverse order; d and e never started.
  std::vector<std::string> rollback_order;
  for (const auto& p : d.resources) {
    if (p.action.rfind("rollback:", 0) == 0) {
      EXPECT_EQ(p.state, "done") << dump(d);
      rollback_order.push_back(p.resource);
    }
  }
  EXPECT_EQ(rollback_order, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(progress_of(d, "d")->state, "pending");
  EXPECT_EQ(running_processes(), 0);
  EXPECT_TRUE(port_free(port_a));
  EXPECT_TRUE(port_free(port_b));
  StackStatus s = stack_status(*client_, "five");
  EXPECT_TRUE(s.resources.empty());
  EXPECT_TRUE(s.outputs.empty()) << s.outputs.dump();
}

TEST_F(StackTest, ACloudTypeIsRefusedAtApplyNamingItAndNothingStarts) {
  const char* spec = R"(name: cloudy
resources:
  app:
    type: process
    inputs:
      command: /usr/bin/sleep
      args: ["300"]
  db:
    type: aws:rds_instance
    inputs:
      cost_per_hour: 0.5
)";
  DeployRecord d = wait_deploy("cloudy", submit("cloudy", apply_request(spec)).deploy_id);
  EXPECT_EQ(d.state, "failed") << dump(d);
  EXPECT_THAT(d.error, HasSubstr("db (aws:rds_instance)"));
  EXPECT_THAT(d.error, HasSubstr("nothing was changed"));
  EXPECT_FALSE(d.plan.is_null());  // planned (cost shown), not applied
  EXPECT_EQ(running_processes(), 0);
  EXPECT_TRUE(stack_status(*client_, "cloudy").resources.empty());
}

TEST_F(StackTest, AnInvalidSpecIsRefusedBeforeAnythingStarts) {
  const char* spec = R"(name: broken
resources:
  app:
    type: process
    inputs:
      command: /usr/bin/sleep
      env: {X: "${nothing.url}"}
  other:
    type: no_such_type
)";
  try {
    submit("broken", apply_request(spec));
    ADD_FAILURE() << "an invalid spec was accepted";
  } catch (const StackRequestError& e) {
    EXPECT_EQ(e.type(), "StackSpecInvalid");
    EXPECT_THAT(e.what(), HasSubstr("stack.yaml:7:"));  // the reference, with its line
    EXPECT_THAT(e.what(), HasSubstr("no_such_type"));
  }
  StackStatus s = stack_status(*client_, "broken");
  EXPECT_EQ(s.deploys, 0);  // refused by the validator: no deploy, no history event for it
  EXPECT_EQ(running_processes(), 0);

  // Bad fields are refused by the client, naming the field.
  StackRequest r = apply_request(spec);
  r.requested_by = "";
  EXPECT_THROW(submit("broken", r), OptionsError);
}

}  // namespace
}  // namespace cairn::deploy::testing
