#include "tests/ai/support/endpoint_process.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>
#include <signal.h>

#include "tests/ai/support/http_client.h"
#include "tests/ai/support/process_util.h"
#include "tests/support/process.h"

namespace cairn::testing {

using namespace ai_support;

EndpointProcess::EndpointProcess(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)), dir_(make_temp_dir("cairn-endpoint")) {
  log_path_ = dir_ + "/endpoint.log";
}

EndpointProcess::~EndpointProcess() {
  kill9();
  remove_tree(dir_);
}

bool EndpointProcess::start(std::string* error) {
  if (pid_ > 0) {
    if (error != nullptr) {
      *error = "EndpointProcess::start: already running (pid " + std::to_string(pid_) +
               "): stop() first";
    }
    return false;
  }
  std::string port_file = dir_ + "/port";
  std::remove(port_file.c_str());
  std::vector<std::string> args = {CAIRN_MODEL_ENDPOINT_BINARY, "--port-file", port_file};
  if (std::find(extra_args_.begin(), extra_args_.end(), "--listen") == extra_args_.end()) {
    args.push_back("--listen");
    args.push_back("127.0.0.1:" + std::to_string(port_));  // 0 the first time
  }
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  pid_ = spawn_process(args, {.out_path = log_path_, .append_out = true, .err_path = log_path_});
  bool exited = false;
  bool up = poll_until(
      [&] {
        if (child_exited(pid_)) {
          exited = true;
          return true;
        }
        std::ifstream in(port_file);
        int p = 0;
        if (in >> p && p > 0) {
          port_ = p;
          return true;
        }
        return false;
      },
      std::chrono::seconds(20));
  if (exited) {
    pid_ = -1;
  }
  bool healthy =
      up && !exited &&
      poll_until(
          [&] { return http_get(root_url() + "/health", std::chrono::seconds(1)).status == 200; },
          std::chrono::seconds(20));
  if (!healthy) {
    if (error != nullptr) {
      *error = "cairn-model-endpoint did not start; its log:\n" + log();
    }
    kill9();
    return false;
  }
  return true;
}

void EndpointProcess::stop() {
  stop_child(pid_, SIGTERM, std::chrono::seconds(5));
  pid_ = -1;
}

void EndpointProcess::kill9() {
  stop_child(pid_, SIGKILL, std::chrono::milliseconds(0));
  pid_ = -1;
}

std::string EndpointProcess::base_url() const { return root_url() + "/v1"; }

std::string EndpointProcess::root_url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

nlohmann::json EndpointProcess::stats() const {
  HttpResponse r = http_get(root_url() + "/control/stats");
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (r.status != 200 || !j.is_object()) {
    ADD_FAILURE() << "GET /control/stats: status " << r.status << " " << r.error << " " << r.body;
    return nlohmann::json::object();
  }
  return j;
}

void EndpointProcess::set_fault(const nlohmann::json& fault) {
  HttpResponse r = http_post(root_url() + "/control/faults", fault.dump());
  if (r.status != 200) {
    ADD_FAILURE() << "POST /control/faults " << fault.dump() << ": status " << r.status << " "
                  << r.error << " " << r.body;
  }
}

void EndpointProcess::reset() {
  HttpResponse r = http_post(root_url() + "/control/reset", "{}");
  if (r.status != 200) {
    ADD_FAILURE() << "POST /control/reset: status " << r.status << " " << r.error;
  }
}

std::string EndpointProcess::log() const { return read_file(log_path_); }

}  // namespace cairn::testing
