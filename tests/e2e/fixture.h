// E2eTest: a gtest fixture with a real cairn-server process on a free loopback port and a fresh
// data directory, a connected cairn::Client, and helpers to run workers and read history.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cairn/client.h"
#include "cairn/worker.h"
#include "e2e/server_process.h"

namespace cairn::testing {

// A gate that activities block on until the test opens it. Owned by the fixture and opened in
// TearDown before workers stop, so a failed assertion never leaves a worker thread waiting on a
// destroyed condition variable.
class Gate {
 public:
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // Blocks until open() or `limit`; returns whether the gate was opened.
  bool wait(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(dir_.path() + "/data", server_args());
    std::string error;
    ASSERT_TRUE(server_->start(0, std::chrono::seconds(30), &error)) << error;
    ClientOptions opts;
    opts.address = server_->address();
    client_ = std::make_unique<Client>(opts);
  }

  void TearDown() override {
    for (auto& g : gates_) {
      g->open();
    }
    for (auto& w : workers_) {
      w->stop();
    }
    workers_.clear();
    if (server_ && server_->running() && verify_runs_on_teardown_ && !HasFatalFailure()) {
      verify_every_run();
    }
    if (server_ && server_->running()) {
      EXPECT_EQ(server_->stop(), 0) << "cairn-server did not shut down cleanly:\n" << server_->log();
    }
  }

  virtual std::vector<std::string> server_args() { return {}; }

  // Every run the test left behind, in every namespace, must have a stored state equal to what
  // its events rebuild (VerifyWorkflowExecution): each e2e test doubles as a check that the
  // engine's transitions and the history rules agree.
  void verify_every_run() {
    v1::ListNamespacesRequest nreq;
    v1::ListNamespacesResponse namespaces;
    grpc::ClientContext nctx;
    ASSERT_TRUE(client_->stub().ListNamespaces(&nctx, nreq, &namespaces).ok());
    for (const auto& ns : namespaces.namespaces()) {
      v1::ListWorkflowExecutionsRequest req;
      req.set_namespace_(ns.name());
      req.set_page_size(1000);
      while (true) {
        v1::ListWorkflowExecutionsResponse page;
        grpc::ClientContext ctx;
        grpc::Status st = client_->stub().ListWorkflowExecutions(&ctx, req, &page);
        ASSERT_TRUE(st.ok()) << st.error_message();
        for (const auto& info : page.executions()) {
          v1::VerifyWorkflowExecutionRequest vreq;
          vreq.set_namespace_(ns.name());
          *vreq.mutable_execution() = info.execution();
          v1::VerifyWorkflowExecutionResponse verdict;
          grpc::ClientContext vctx;
          grpc::Status vst = client_->stub().VerifyWorkflowExecution(&vctx, vreq, &verdict);
          if (vst.error_code() == grpc::StatusCode::NOT_FOUND) {
            continue;  // deleted meanwhile (retention)
          }
          ASSERT_TRUE(vst.ok()) << vst.error_message();
          std::string lines;
          for (const auto& d : verdict.differences()) {
            lines += "\n  " + d;
          }
          EXPECT_TRUE(verdict.differences().empty())
              << ns.name() << "/" << info.execution().workflow_id() << " ("
              << info.execution().run_id() << "): stored state differs from its events:" << lines;
        }
        if (page.next_page_token().empty()) {
          break;
        }
        req.set_next_page_token(page.next_page_token());
      }
    }
  }

  // A worker on `task_queue`, not yet started; stopped in TearDown. With CAIRN_E2E_WORKER_CACHE
  // set (ctest runs the suite a second time with 0), that many cached runs instead of the
  // default: 0 makes every workflow task replay the full history.
  Worker& new_worker(const std::string& task_queue, int pollers = 2) {
    WorkerOptions wo;
    wo.task_queue = task_queue;
    wo.workflow_pollers = pollers;
    wo.activity_pollers = pollers;
    if (const char* cache = std::getenv("CAIRN_E2E_WORKER_CACHE")) {
      wo.max_cached_workflows = std::strtoul(cache, nullptr, 10);
    }
    workers_.push_back(std::make_unique<Worker>(*client_, wo));
    return *workers_.back();
  }

  // A gate that lives as long as the fixture.
  Gate& new_gate() {
    gates_.push_back(std::make_unique<Gate>());
    return *gates_.back();
  }

  StartWorkflowOptions start_options(const std::string& id, const std::string& task_queue) {
    StartWorkflowOptions o;
    o.id = id;
    o.task_queue = task_queue;
    return o;
  }

  // The runs of the default namespace that match `query` (every run when empty), newest first;
  // one page of up to 1,000, which is more than any test here starts.
  std::vector<v1::WorkflowExecutionInfo> list_runs(const std::string& query = "") {
    v1::ListWorkflowExecutionsRequest req;
    req.set_namespace_("default");
    req.set_query(query);
    req.set_page_size(1000);
    v1::ListWorkflowExecutionsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status st = client_->stub().ListWorkflowExecutions(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << query << ": " << st.error_message();
    return {resp.executions().begin(), resp.executions().end()};
  }

  // Polls `done()` until it holds; false when it still does not after `limit`. For conditions
  // only observable from outside (a listing, a deleted run), not a stand-in for a signal.
  static bool eventually(const std::function<bool()>& done,
                         std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the polling interval
    }
    return done();
  }

  static std::vector<v1::EventType> event_types(const std::vector<v1::HistoryEvent>& events) {
    std::vector<v1::EventType> out;
    for (auto& e : events) {
      out.push_back(e.event_type());
    }
    return out;
  }

  static int count(const std::vector<v1::HistoryEvent>& events, v1::EventType type) {
    int n = 0;
    for (auto& e : events) {
      n += e.event_type() == type ? 1 : 0;
    }
    return n;
  }

  static const v1::HistoryEvent* find(const std::vector<v1::HistoryEvent>& events,
                                      v1::EventType type) {
    for (auto& e : events) {
      if (e.event_type() == type) {
        return &e;
      }
    }
    return nullptr;
  }

  bool verify_runs_on_teardown_ = true;  // off for a test that corrupts a run on purpose
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<Gate>> gates_;
};

}  // namespace cairn::testing
