// Worker lifecycle, the long-poll loops, and workflow tasks (replayed by Replayer).
#include "cairn/worker.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <stdexcept>

#include "codec_boundary.h"
#include "failure.h"
#include "replayer.h"
#include "rpc.h"
#include "worker_impl.h"

namespace cairn {
namespace detail {
namespace {

constexpr std::chrono::milliseconds kInitialBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

}  // namespace

WorkerImpl::WorkerImpl(Client& client, WorkerOptions options)
    : core_(client.core()),
      options_(std::move(options)),
      stacks_(options_.fiber_stack_bytes),
      cache_(options_.max_cached_workflows),
      free_slots_(options_.max_concurrent_activities) {
  if (options_.task_queue.empty()) {
    throw std::invalid_argument("cairn::Worker: task_queue is required");
  }
  if (options_.workflow_pollers < 1 || options_.activity_pollers < 1 ||
      options_.max_concurrent_activities < 1) {
    throw std::invalid_argument(
        "cairn::Worker: pollers and max_concurrent_activities must be at least 1");
  }
  if (options_.sticky_schedule_to_start_timeout.count() < 0) {
    throw std::invalid_argument("cairn::Worker: sticky_schedule_to_start_timeout must be >= 0");
  }
  if (options_.identity.empty()) {
    options_.identity = core_->options.identity;
  }
  if (options_.max_cached_workflows > 0) {
    // Unique to this worker: a restarted process starts with an empty cache, so it must not
    // receive the partial histories meant for its predecessor.
    sticky_queue_ = options_.task_queue + "/sticky/" + random_uuid();
  }
}

WorkerImpl::~WorkerImpl() { stop(); }

void WorkerImpl::add_workflow(const std::string& name, WorkflowFunction fn) {
  std::lock_guard lock(mu_);
  if (started_) {
    throw std::logic_error("cairn::Worker: register workflow " + name + " before start()");
  }
  workflows_[name] = std::move(fn);
}

void WorkerImpl::add_activity(const std::string& name, ActivityFunction fn) {
  std::lock_guard lock(mu_);
  if (started_) {
    throw std::logic_error("cairn::Worker: register activity " + name + " before start()");
  }
  activities_[name] = std::move(fn);
}

void WorkerImpl::start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) {
    return;
  }
  started_ = true;
  if (!workflows_.empty()) {
    for (int i = 0; i < options_.workflow_pollers; ++i) {
      pollers_.emplace_back([this] { workflow_poll_loop(options_.task_queue); });
      if (!sticky_queue_.empty()) {
        pollers_.emplace_back([this] { workflow_poll_loop(sticky_queue_); });
      }
    }
  }
  if (!activities_.empty()) {
    for (int i = 0; i < options_.activity_pollers; ++i) {
      pollers_.emplace_back([this] { activity_poll_loop(); });
    }
  }
  spdlog::info("cairn worker {} polling task queue {} ({} workflows, {} activities)",
               options_.identity, options_.task_queue, workflows_.size(), activities_.size());
}

void WorkerImpl::stop() {
  std::lock_guard stop_lock(stop_mu_);
  {
    std::lock_guard lock(mu_);
    if (stopped_) {
      return;
    }
    stopping_ = true;
    // End the long-polls now; tasks already received still run to completion.
    for (grpc::ClientContext* ctx : polls_) {
      ctx->TryCancel();
    }
    cv_.notify_all();
    slot_cv_.notify_all();
  }
  for (auto& t : pollers_) {
    t.join();
  }
  pollers_.clear();
  std::vector<std::thread> executors;
  {
    std::lock_guard lock(mu_);
    executors_stopping_ = true;
    executors.swap(executors_);
    jobs_cv_.notify_all();
  }
  for (auto& t : executors) {
    t.join();  // each drains the queued activities first
  }
  release_cached_runs();
  std::lock_guard lock(mu_);
  stopped_ = true;
  cv_.notify_all();
}

void WorkerImpl::wait_stopped() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return stopped_; });
}

bool WorkerImpl::stopping() {
  std::lock_guard lock(mu_);
  return stopping_;
}

bool WorkerImpl::begin_poll(grpc::ClientContext* ctx) {
  std::lock_guard lock(mu_);
  if (stopping_) {
    return false;
  }
  polls_.insert(ctx);
  return true;
}

void WorkerImpl::end_poll(grpc::ClientContext* ctx) {
  std::lock_guard lock(mu_);
  polls_.erase(ctx);
}

void WorkerImpl::wait_backoff(std::chrono::milliseconds& backoff) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, backoff, [&] { return stopping_; });
  backoff = std::min(backoff * 2, kMaxBackoff);
}

void WorkerImpl::workflow_poll_loop(const std::string& queue) {
  v1::PollWorkflowTaskQueueRequest req;
  req.set_namespace_(core_->options.ns);
  req.set_task_queue(queue);
  req.set_identity(options_.identity);
  auto backoff = kInitialBackoff;
  for (;;) {
    // wait_for_ready: while the server is down (or restarting) the poll waits for it.
    auto ctx = make_context(kLongPollTimeout, /*wait_for_ready=*/true);
    if (!begin_poll(ctx.get())) {
      return;
    }
    v1::PollWorkflowTaskQueueResponse task;
    grpc::Status st = core_->stub->PollWorkflowTaskQueue(ctx.get(), req, &task);
    end_poll(ctx.get());
    if (st.ok()) {
      backoff = kInitialBackoff;
      if (!task.task_token().empty()) {
        handle_workflow_task(task);  // even while stopping: the task is ours now
      } else if (task.has_query()) {
        handle_query_task(task);  // query_task.cc
      }
      continue;
    }
    if (stopping()) {
      return;
    }
    if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      continue;
    }
    spdlog::warn("cairn worker: workflow task poll on {} failed: {}: {}", queue,
                 status_code_name(st.error_code()), st.error_message());
    wait_backoff(backoff);
  }
}

void WorkerImpl::activity_poll_loop() {
  v1::PollActivityTaskQueueRequest req;
  req.set_namespace_(core_->options.ns);
  req.set_task_queue(options_.task_queue);
  req.set_identity(options_.identity);
  auto backoff = kInitialBackoff;
  for (;;) {
    // Poll only with a free slot, so that no task waits in this worker for a thread.
    if (!acquire_slot()) {
      return;
    }
    auto ctx = make_context(kLongPollTimeout, /*wait_for_ready=*/true);
    if (!begin_poll(ctx.get())) {
      release_slot();
      return;
    }
    auto task = std::make_shared<v1::PollActivityTaskQueueResponse>();
    grpc::Status st = core_->stub->PollActivityTaskQueue(ctx.get(), req, task.get());
    end_poll(ctx.get());
    if (st.ok() && !task->task_token().empty()) {
      backoff = kInitialBackoff;
      submit([this, task] {
        run_activity(*task);
        release_slot();
      });
      continue;
    }
    release_slot();
    if (st.ok()) {
      backoff = kInitialBackoff;
      continue;
    }
    if (stopping()) {
      return;
    }
    if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      continue;
    }
    spdlog::warn("cairn worker: activity task poll on {} failed: {}: {}", options_.task_queue,
                 status_code_name(st.error_code()), st.error_message());
    wait_backoff(backoff);
  }
}

bool WorkerImpl::acquire_slot() {
  std::unique_lock lock(mu_);
  slot_cv_.wait(lock, [&] { return stopping_ || free_slots_ > 0; });
  if (stopping_) {
    return false;
  }
  --free_slots_;
  return true;
}

bool WorkerImpl::try_acquire_slot() {
  std::lock_guard lock(mu_);
  if (stopping_ || free_slots_ == 0) {
    return false;
  }
  --free_slots_;
  return true;
}

void WorkerImpl::release_slot() {
  std::lock_guard lock(mu_);
  ++free_slots_;
  slot_cv_.notify_one();  // one slot: one waiting poller
}

void WorkerImpl::submit(std::function<void()> job) {
  std::lock_guard lock(mu_);
  jobs_.push_back(std::move(job));
  // Every queued job needs an executor of its own: activities may block for a long time.
  if (static_cast<int>(jobs_.size()) > idle_executors_) {
    executors_.emplace_back([this] { executor_loop(); });
  } else {
    jobs_cv_.notify_one();  // one job: one idle executor, not all of them
  }
}

void WorkerImpl::executor_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_executors_;
    jobs_cv_.wait(lock, [&] { return !jobs_.empty() || executors_stopping_; });
    --idle_executors_;
    if (jobs_.empty()) {
      return;  // stopping, and nothing left to run
    }
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace detail

namespace {

int g_signal_pipe[2] = {-1, -1};

void on_termination_signal(int) {
  char c = 1;
  ssize_t n = ::write(g_signal_pipe[1], &c, 1);
  (void)n;
}

}  // namespace

Worker::Worker(Client& client, WorkerOptions options)
    : impl_(std::make_unique<detail::WorkerImpl>(client, std::move(options))) {}

Worker::~Worker() { impl_->stop(); }

void Worker::register_workflow_payloads(const std::string& name, detail::WorkflowFunction fn) {
  impl_->add_workflow(name, std::move(fn));
}

void Worker::register_activity_payloads(const std::string& name, detail::ActivityFunction fn) {
  impl_->add_activity(name, std::move(fn));
}

void Worker::start() { impl_->start(); }
void Worker::stop() { impl_->stop(); }

void Worker::run() {
  impl_->start();
  impl_->wait_stopped();
}

void Worker::run_until_signal() {
  // A self-pipe: the handler may run on any thread (gRPC's included); the pipe wakes this one.
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) {
      throw std::runtime_error("cairn::Worker: pipe2 failed");
    }
  });
  struct sigaction sa {};
  sa.sa_handler = on_termination_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  impl_->start();
  char c;
  while (::read(g_signal_pipe[0], &c, 1) < 0 && errno == EINTR) {
  }
  spdlog::info("cairn worker: signal received, stopping");
  impl_->stop();
}

const WorkerOptions& Worker::options() const { return impl_->options(); }
WorkerStats Worker::stats() const { return impl_->stats(); }
const std::string& Worker::sticky_task_queue() const { return impl_->sticky_queue(); }

}  // namespace cairn
