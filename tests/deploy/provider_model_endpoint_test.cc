// The `model_endpoint` provider with the repository's cairn-model-endpoint: replicas on their
// own ports answering /v1/models, scaled in place (the surviving replicas keep their pids), read
// reporting dead replicas as drift, adoption on a retried create.
#include <gtest/gtest.h>
#include <signal.h>

#include "cairn/deploy/process.h"
#include "cairn/deploy/provider.h"
#include "tests/deploy/provider_support.h"

namespace cairn::deploy {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::await_until;
using testing::TempStateDir;

class ModelEndpointTest : public ::testing::Test {
 protected:
  ModelEndpointTest() {
    LocalProviderOptions options;
    options.model_endpoint_binary = testing::kEndpointBinary;
    register_local_providers(registry_, options);
  }
  Provider& provider() { return registry_.get("model_endpoint"); }

  static json inputs(int replicas, const std::string& model = "tier-small-v1") {
    return {{"model", model},
            {"tier", "small"},
            {"price_per_hour", 0.25},
            {"replicas", replicas},
            {"startup_timeout_seconds", 20}};
  }

  // The model id /v1/models answers on a url, or "" when it does not answer.
  static std::string served_model(const std::string& url) {
    int port = std::stoi(url.substr(url.rfind(':') + 1));
    std::string body;
    if (http_get_status(port, "/v1/models", 2s, &body) != 200) {
      return "";
    }
    return json::parse(body)["data"][0]["id"];
  }

  static std::vector<int> pids(const ProviderState& s) {
    std::vector<int> out;
    for (const json& r : s.private_state["replicas"]) {
      out.push_back(r["pid"]);
    }
    return out;
  }

  TempStateDir dir_;
  ProviderRegistry registry_;
};

TEST_F(ModelEndpointTest, TwoReplicasAnswerThenScaleToOneAndToThreeInPlace) {
  ProviderContext c = testing::make_context(dir_.path());
  ASSERT_TRUE(provider().check(inputs(2)).empty());
  ProviderState s = provider().create(c, "stack-small", inputs(2));
  ASSERT_EQ(s.outputs["urls"].size(), 2u);
  EXPECT_EQ(s.outputs["url"], s.outputs["urls"][0]);
  EXPECT_NE(s.outputs["urls"][0], s.outputs["urls"][1]);
  EXPECT_EQ(s.outputs["tier"], "small");
  EXPECT_EQ(s.outputs["model"], "tier-small-v1");
  EXPECT_EQ(s.outputs["price_per_hour"], 0.25);
  for (const json& url : s.outputs["urls"]) {
    EXPECT_EQ(served_model(url), "tier-small-v1") << url;
  }
  std::vector<int> two = pids(s);

  // Scale in: replicas is an in-place update; replica 0 keeps running, replica 1 is stopped.
  EXPECT_EQ(provider().diff(inputs(2), inputs(1), s).kind, DiffKind::kUpdate);
  std::string gone_url = s.outputs["urls"][1];
  ProviderState one = provider().update(c, s, inputs(1));
  ASSERT_EQ(one.outputs["urls"].size(), 1u);
  EXPECT_EQ(pids(one), std::vector<int>{two[0]});
  EXPECT_EQ(served_model(one.outputs["url"]), "tier-small-v1");
  EXPECT_EQ(served_model(gone_url), "");
  EXPECT_FALSE(alive(process_record_from_json(s.private_state["replicas"][1])));
  ReadResult r1 = provider().read(c, one);
  EXPECT_TRUE(r1.exists);
  EXPECT_TRUE(r1.drift.empty());

  // Scale out to three: the first keeps its pid, two more start, all answer.
  ProviderState three = provider().update(c, one, inputs(3));
  ASSERT_EQ(three.outputs["urls"].size(), 3u);
  EXPECT_EQ(pids(three)[0], two[0]);
  for (const json& url : three.outputs["urls"]) {
    EXPECT_EQ(served_model(url), "tier-small-v1") << url;
  }
  EXPECT_EQ(three.outputs["replicas"], 3);

  provider().destroy(c, three);
  for (const json& r : three.private_state["replicas"]) {
    EXPECT_FALSE(alive(process_record_from_json(r)));
    EXPECT_TRUE(await_until([&] { return port_free(r["port"]); }));
  }
}

TEST_F(ModelEndpointTest, RetriedCreateAdoptsEveryReplica) {
  ProviderContext c = testing::make_context(dir_.path());
  ProviderState first = provider().create(c, "stack-adopt", inputs(2));
  ProviderState again = provider().create(c, "stack-adopt", inputs(2));
  EXPECT_EQ(pids(again), pids(first));
  EXPECT_EQ(again.outputs["urls"], first.outputs["urls"]);
  for (const json& p : first.outputs["ports"]) {
    EXPECT_EQ(testing::count_processes("127.0.0.1:" + std::to_string(p.get<int>())), 1);
  }
  provider().destroy(c, again);
}

TEST_F(ModelEndpointTest, AKilledReplicaIsDriftAndRevertingRestartsIt) {
  ProviderContext c = testing::make_context(dir_.path());
  ProviderState s = provider().create(c, "stack-drift", inputs(2));
  ProcessRecord victim = process_record_from_json(s.private_state["replicas"][1]);
  ::kill(victim.pid, SIGKILL);
  ASSERT_TRUE(await_until([&] { return !alive(victim); }));

  ReadResult r = provider().read(c, s);
  EXPECT_TRUE(r.exists);
  ASSERT_EQ(r.drift.size(), 1u);
  EXPECT_EQ(r.drift[0].field, "replicas");
  EXPECT_EQ(r.drift[0].expected, 2);
  EXPECT_EQ(r.drift[0].actual, 1);
  EXPECT_EQ(r.outputs["urls"].size(), 1u);

  ProviderState fixed = provider().revert_drift(c, s);
  EXPECT_EQ(pids(fixed)[0], pids(s)[0]);
  EXPECT_NE(pids(fixed)[1], pids(s)[1]);
  EXPECT_TRUE(provider().read(c, fixed).drift.empty());
  for (const json& url : fixed.outputs["urls"]) {
    EXPECT_EQ(served_model(url), "tier-small-v1");
  }
  provider().destroy(c, fixed);
}

TEST_F(ModelEndpointTest, AModelChangeIsAReplaceAndZeroReplicasIsValid) {
  ProviderState none;
  Diff d = provider().diff(inputs(1, "a"), inputs(1, "b"), none);
  EXPECT_EQ(d.kind, DiffKind::kReplace);
  EXPECT_EQ(d.replace, std::vector<std::string>{"model"});

  ProviderContext c = testing::make_context(dir_.path());
  ProviderState zero = provider().create(c, "stack-night", inputs(0));
  EXPECT_EQ(zero.outputs["urls"], json::array());
  EXPECT_EQ(zero.outputs["url"], "");
  EXPECT_TRUE(provider().read(c, zero).exists);
  ProviderState morning = provider().update(c, zero, inputs(1));
  EXPECT_EQ(served_model(morning.outputs["url"]), "tier-small-v1");
  provider().destroy(c, morning);

  EXPECT_FALSE(provider().check({{"replicas", -1}}).empty());
}

TEST_F(ModelEndpointTest, AUserCommandGetsItsPortAndModel) {
  ProviderContext c = testing::make_context(dir_.path());
  json in = inputs(1, "custom-model");
  in["command"] = testing::kEndpointBinary;
  in["args"] = {"--listen", "127.0.0.1:{port}", "--model", "{model}"};
  ProviderState s = provider().create(c, "stack-custom", in);
  EXPECT_EQ(served_model(s.outputs["url"]), "custom-model");
  provider().destroy(c, s);
}

}  // namespace
}  // namespace cairn::deploy
