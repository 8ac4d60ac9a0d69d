// A secret reaches the process that needs it and nothing else: not the history, not the
// server's data files, not the worker's log, not the status. What is recorded is its digest.
#include <fstream>

#include "deploy/e2e/stack_fixture.h"

namespace cairn::deploy::testing {
namespace {

bool file_contains(const std::filesystem::path& path, const std::string& needle) {
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return data.find(needle) != std::string::npos;
}

TEST_F(StackTest, ASecretIsRecordedAsADigestAndAppearsNowhere) {
  const char* spec = R"(name: secretive
resources:
  app:
    type: process
    inputs:
      command: /bin/sh
      args: ["-c", "test -n \"$API_TOKEN\" && exec /usr/bin/sleep 300"]
      env:
        API_TOKEN: {secret: "env:CAIRN_E2E_STACK_TOKEN"}
)";
  DeployRecord d = wait_deploy("secretive", submit("secretive", apply_request(spec)).deploy_id);
  ASSERT_EQ(d.state, "succeeded") << dump(d) << worker_logs();
  EXPECT_EQ(running_processes(), 1);  // the process got its token (it exits without one)

  StackStatus s = stack_status(*client_, "secretive");
  ASSERT_EQ(s.resources.size(), 1u);
  const json& token = s.resources[0].state.inputs["env"]["API_TOKEN"];
  EXPECT_EQ(token["secret"], "env:CAIRN_E2E_STACK_TOKEN");
  EXPECT_EQ(token["digest"].get<std::string>().size(), 64u);
  EXPECT_EQ(json(s).dump().find(secret_value_), std::string::npos);

  // History of the entity, every event.
  for (const auto& e : client_->handle(stack_workflow_id("secretive")).history()) {
    EXPECT_EQ(e.DebugString().find(secret_value_), std::string::npos)
        << "event " << e.event_id() << " holds the secret";
  }
  // Every file of the server's data directory.
  int files = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir_.path() + "/data")) {
    if (f.is_regular_file()) {
      ++files;
      EXPECT_FALSE(file_contains(f.path(), secret_value_)) << f.path();
    }
  }
  EXPECT_GT(files, 0);
  // The worker's log.
  EXPECT_EQ(worker_logs().find(secret_value_), std::string::npos);
  EXPECT_NE(worker_logs().find("polling"), std::string::npos);  // the log is the right one
}

}  // namespace
}  // namespace cairn::deploy::testing
