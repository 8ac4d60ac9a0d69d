// The `command` provider driven by a small script that behaves like a Terraform program or a
// cloud CLI: create prints {"id", "url"}, read prints the state (or null once gone), delete
// removes its marker file. Adoption on a retried create, drift, and a failing command whose
// error carries its stderr but not the secret it was given.
#include <fstream>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "cairn/deploy/provider.h"
#include "tests/deploy/provider_support.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;
using testing::TempStateDir;

// fakecloud OP: keeps one "instance" per idempotency key in $FAKECLOUD_DIR/<key>.json.
constexpr const char* kFakeCloud = R"SH(#!/bin/sh
set -eu
op="$1"
request=$(cat)
state="$FAKECLOUD_DIR/$CAIRN_IDEMPOTENCY_KEY.json"
echo "$op" >> "$FAKECLOUD_DIR/calls"
case "$op" in
  create)
    if [ "${FAKECLOUD_FAIL:-}" = 1 ]; then
      echo "fakecloud: Error: authentication failed for token $API_TOKEN (region $REGION)" >&2
      exit 4
    fi
    name=$(printf '%s' "$request" | jq -r .parameters.name)
    id="i-$(printf '%s' "$CAIRN_IDEMPOTENCY_KEY" | cksum | cut -d' ' -f1)"
    printf '{"id":"%s","url":"https://%s.fakecloud.test","name":"%s"}\n' "$id" "$name" "$name" > "$state"
    cat "$state" ;;
  read)
    if [ -f "$state" ]; then cat "$state"; else echo null; fi ;;
  delete)
    rm -f "$state" ;;
esac
)SH";

class CommandProviderTest : public ::testing::Test {
 protected:
  CommandProviderTest() {
    register_local_providers(registry_);
    cloud_ = dir_.path() / "cloud";
    std::filesystem::create_directories(cloud_);
    script_ = (dir_.path() / "fakecloud").string();
    std::ofstream(script_) << kFakeCloud;
    std::filesystem::permissions(script_, std::filesystem::perms::owner_all);
    state_ = dir_.path() / "state";
  }
  Provider& provider() { return registry_.get("command"); }

  json inputs(bool fail = false) const {
    return {{"create", script_ + " create"},
            {"read", script_ + " read"},
            {"delete", script_ + " delete"},
            {"parameters", {{"name", "search-index"}}},
            {"env",
             {{"FAKECLOUD_DIR", cloud_.string()},
              {"FAKECLOUD_FAIL", fail ? "1" : "0"},
              {"REGION", "eu-test-1"},
              {"API_TOKEN", {{"secret", "env:CAIRN_TEST_FAKECLOUD_TOKEN"}}}}},
            {"timeout_seconds", 20}};
  }

  int calls(const std::string& op) const {
    std::ifstream in(cloud_ / "calls");
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      n += line == op;
    }
    return n;
  }

  TempStateDir dir_;
  ProviderRegistry registry_;
  std::filesystem::path cloud_;
  std::filesystem::path state_;
  std::string script_;
};

TEST_F(CommandProviderTest, CreateReadDeleteThroughTheUsersCommands) {
  ::setenv("CAIRN_TEST_FAKECLOUD_TOKEN", "tok-9f8e7d6c5b", 1);
  ProviderContext c = testing::make_context(state_);
  ASSERT_TRUE(provider().check(inputs()).empty());
  ProviderState s = provider().create(c, "stack-index", inputs());
  EXPECT_EQ(s.outputs["url"], "https://search-index.fakecloud.test");
  ASSERT_TRUE(s.outputs["id"].is_string());
  EXPECT_EQ(s.provider_id, s.outputs["id"]);
  EXPECT_TRUE(std::filesystem::exists(cloud_ / "stack-index.json"));
  // What is recorded keeps the secret as a reference.
  EXPECT_EQ(to_json(s).dump().find("tok-9f8e7d6c5b"), std::string::npos);

  // A retry of create with the key adopts: read, not a second create.
  ProviderState again = provider().create(c, "stack-index", inputs());
  EXPECT_EQ(again.outputs, s.outputs);
  EXPECT_EQ(calls("create"), 1);

  ReadResult r = provider().read(c, s);
  EXPECT_TRUE(r.exists);
  EXPECT_TRUE(r.drift.empty());

  // Someone changes it behind our back: drift.
  std::ofstream(cloud_ / "stack-index.json")
      << R"({"id":")" << s.outputs["id"].get<std::string>()
      << R"(","url":"https://moved.fakecloud.test","name":"search-index"})";
  ReadResult drifted = provider().read(c, s);
  ASSERT_EQ(drifted.drift.size(), 1u);
  EXPECT_EQ(drifted.drift[0].field, "url");
  EXPECT_EQ(drifted.drift[0].actual, "https://moved.fakecloud.test");

  provider().destroy(c, s);
  EXPECT_FALSE(std::filesystem::exists(cloud_ / "stack-index.json"));
  EXPECT_FALSE(provider().read(c, s).exists);
  EXPECT_FALSE(std::filesystem::exists(state_ / "stack-index"));
}

TEST_F(CommandProviderTest, AFailingCommandsErrorHasItsStderrAndNoSecret) {
  ::setenv("CAIRN_TEST_FAKECLOUD_TOKEN", "tok-9f8e7d6c5b", 1);
  ProviderContext c = testing::make_context(state_);
  std::vector<std::string> logged;
  c.logger = [&](LogLevel, const std::string& line) { logged.push_back(line); };
  try {
    provider().create(c, "stack-fail", inputs(/*fail=*/true));
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    std::string what = e.what();
    EXPECT_EQ(e.kind(), ProviderErrorKind::kFailed);
    EXPECT_NE(what.find("command create (stack-fail): exited with 4"), std::string::npos) << what;
    EXPECT_NE(what.find("authentication failed for token [redacted] (region eu-test-1)"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find("tok-9f8e7d6c5b"), std::string::npos) << what;
  }
  for (const std::string& line : logged) {
    EXPECT_EQ(line.find("tok-9f8e7d6c5b"), std::string::npos) << line;
  }
  EXPECT_FALSE(std::filesystem::exists(cloud_ / "stack-fail.json"));
}

TEST_F(CommandProviderTest, OutputThatIsNotAJsonObjectIsAnError) {
  ProviderContext c = testing::make_context(state_);
  json in = {{"create", "echo this is not json"}};
  try {
    provider().create(c, "stack-bad", in);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_NE(std::string(e.what()).find("stdout is not a JSON object"), std::string::npos);
  }
}

TEST_F(CommandProviderTest, CheckAndDiff) {
  EXPECT_FALSE(provider().check(json{{"read", "true"}}).empty());  // no create
  EXPECT_FALSE(provider().check(json{{"create", json::array()}}).empty());
  ProviderState none;
  json a = inputs();
  json b = a;
  b["parameters"]["name"] = "other";
  EXPECT_EQ(provider().diff(a, b, none).kind, DiffKind::kReplace);  // no update command
  a["update"] = script_ + " update";
  b["update"] = script_ + " update";
  EXPECT_EQ(provider().diff(a, b, none).kind, DiffKind::kUpdate);
}

}  // namespace
}  // namespace cairn::deploy
