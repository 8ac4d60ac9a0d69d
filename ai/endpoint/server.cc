#include "ai/endpoint/server.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cairn/ai/tokenizer.h"

namespace cairn::ai::endpoint {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// httplib's thread pool, counting the connections it serves (one task per connection).
class CountingQueue : public httplib::TaskQueue {
 public:
  CountingQueue(size_t threads, Stats* stats) : pool_(threads), stats_(stats) {}
  void enqueue(std::function<void()> fn) override {
    stats_->connection_opened();
    pool_.enqueue([fn = std::move(fn), stats = stats_] {
      fn();
      stats->connection_closed();
    });
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  Stats* stats_;
};

int socket_port(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  }
  return -1;
}

// The connection of a request, to notice when its client closes it. httplib does not hand a
// handler its socket, so it is found among this process's descriptors by its two ports; the
// handler's thread holds the connection open, so the descriptor cannot be reused meanwhile.
class ClientWatch {
 public:
  ClientWatch(const httplib::Request& req, const std::atomic<bool>* stopping)
      : stopping_(stopping) {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) {
      return;
    }
    while (dirent* e = readdir(dir)) {
      int fd = std::atoi(e->d_name);
      if (fd <= 2) {
        continue;
      }
      sockaddr_storage local{};
      sockaddr_storage peer{};
      socklen_t ll = sizeof local;
      socklen_t pl = sizeof peer;
      if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) == 0 &&
          getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) == 0 &&
          socket_port(local) == req.local_port && socket_port(peer) == req.remote_port) {
        fd_ = fd;
        break;
      }
    }
    closedir(dir);
  }

  // True once the client has closed (or reset) the connection.
  bool closed() const { return wait(std::chrono::milliseconds(0)); }

  // Waits up to `d`; true as soon as the client closes (or the server stops) meanwhile.
  bool wait(std::chrono::milliseconds d) const {
    auto deadline = Clock::now() + d;
    while (true) {
      if (stopping_->load()) {
        return true;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      int slice = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 100));
      if (fd_ < 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(slice));
      } else {
        pollfd p{fd_, POLLRDHUP, 0};
        if (::poll(&p, 1, slice) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
          return true;
        }
      }
      if (Clock::now() >= deadline) {
        return false;
      }
    }
  }

 private:
  const std::atomic<bool>* stopping_;
  int fd_ = -1;
};

void send(httplib::Response& res, const Reply& reply) {
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers) {
    res.set_header(name, value);
  }
  res.set_content(reply.body, "application/json");
}

// What a request still waiting (hang, slow, latency) gets when the endpoint stops.
Reply shutting_down() {
  return error_reply(503, "server_error",
                     "The endpoint is shutting down: retry against another endpoint or later.",
                     "shutting_down");
}

}  // namespace

struct Server::Impl {
  explicit Impl(Options options) : handler(std::move(options)) {}

  Handler handler;
  httplib::Server http;
  std::atomic<bool> stopping{false};
  int port = 0;

  void reply(httplib::Response& res, const Reply& r) {
    handler.stats().count_status(r.status);
    send(res, r);
  }

  static const std::string* authorization(const httplib::Request& req, std::string* storage) {
    if (!req.has_header("Authorization")) {
      return nullptr;
    }
    *storage = req.get_header_value("Authorization");
    return storage;
  }

  void chat(const httplib::Request& req, httplib::Response& res);
  void embeddings(const httplib::Request& req, httplib::Response& res);
  void stream(const httplib::Request& req, httplib::Response& res, ChatCall call,
              Completion completion, Fault fault);
  void routes();
};

void Server::Impl::chat(const httplib::Request& req, httplib::Response& res) {
  bool wants_stream = Handler::wants_stream(req.body);
  handler.stats().count_chat(wants_stream);
  std::string auth_value;
  if (auto denied = handler.check_auth(authorization(req, &auth_value))) {
    return reply(res, *denied);
  }
  Fault fault = handler.faults().take(wants_stream);
  ClientWatch watch(req, &stopping);
  auto gave_up = [&] {
    if (stopping.load()) {
      return send(res, shutting_down());
    }
    if (wants_stream) {
      handler.stats().count_cancelled_stream();
    }
    res.status = 499;  // nobody reads it: the client has gone
  };
  if (fault.mode == FaultMode::kStatus || fault.mode == FaultMode::kRateLimit) {
    return reply(res, Handler::fault_reply(fault));
  }
  if (fault.mode == FaultMode::kHang) {
    while (!watch.wait(std::chrono::hours(1))) {
    }
    return gave_up();
  }
  int64_t delay =
      handler.options().latency_ms + (fault.mode == FaultMode::kSlow ? fault.delay_ms : 0);
  if (delay > 0 && watch.wait(std::chrono::milliseconds(delay))) {
    return gave_up();
  }
  ChatCall call;
  Reply error;
  if (!handler.parse_chat(req.body, &call, &error)) {
    return reply(res, error);
  }
  Completion completion = generate(call.request);
  if (auto too_long = handler.check_context(completion)) {
    return reply(res, *too_long);
  }
  if (call.stream) {
    return stream(req, res, std::move(call), std::move(completion), fault);
  }
  reply(res,
        handler.chat_reply(call, completion, handler.next_id(), fault.mode == FaultMode::kRefuse));
}

void Server::Impl::stream(const httplib::Request& req, httplib::Response& res, ChatCall call,
                          Completion completion, Fault fault) {
  handler.stats().count_status(200);
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  std::string id = handler.next_id();
  auto watch = std::make_shared<ClientWatch>(req, &stopping);
  res.set_chunked_content_provider("text/event-stream", [this, call = std::move(call),
                                                         completion = std::move(completion), fault,
                                                         id,
                                                         watch](size_t, httplib::DataSink& sink) {
    double tps = handler.options().tokens_per_second;
    auto pace = std::chrono::milliseconds(tps > 0 ? static_cast<int64_t>(1000.0 / tps) : 0);
    auto cancelled = [&] {
      if (!stopping.load()) {  // a stop cuts the stream; the client did not cancel it
        handler.stats().count_cancelled_stream();
      }
      return false;  // httplib closes the connection
    };
    auto write = [&](const std::string& event) { return sink.write(event.data(), event.size()); };
    if (!write(handler.chunk_event(call, id, {{"role", "assistant"}, {"content", ""}}, nullptr))) {
      return cancelled();
    }
    bool refused = fault.mode == FaultMode::kRefuse;
    std::string text = refused ? "" : completion.content;
    std::string arguments;
    if (!refused && !completion.tool_calls.empty()) {
      const ToolCall& c = completion.tool_calls.front();
      json start = {
          {"tool_calls", json::array({{{"index", 0},
                                       {"id", c.id},
                                       {"type", "function"},
                                       {"function", {{"name", c.name}, {"arguments", ""}}}}})}};
      if (!write(handler.chunk_event(call, id, start, nullptr))) {
        return cancelled();
      }
      arguments = c.arguments;
    }
    const std::string& streamed = arguments.empty() ? text : arguments;
    int64_t sent = 0;
    for (std::string_view piece : token_pieces(streamed)) {
      if (fault.mode == FaultMode::kStreamError && sent >= fault.after_tokens) {
        write(Handler::error_event(fault));
        sink.done();
        return true;
      }
      if ((pace.count() > 0 && watch->wait(pace)) || watch->closed()) {
        return cancelled();
      }
      json delta = arguments.empty()
                       ? json{{"content", std::string(piece)}}
                       : json{{"tool_calls",
                               json::array({{{"index", 0},
                                             {"function", {{"arguments", std::string(piece)}}}}})}};
      if (!write(handler.chunk_event(call, id, delta, nullptr))) {
        return cancelled();
      }
      ++sent;
    }
    if (fault.mode == FaultMode::kStreamError) {
      write(Handler::error_event(fault));
      sink.done();
      return true;
    }
    std::string finish = refused ? "content_filter" : completion.finish_reason;
    Completion counted = completion;
    if (refused) {
      counted.completion_tokens = 0;
    }
    bool ok = write(handler.chunk_event(call, id, json::object(), finish)) &&
              (!call.include_usage || write(handler.usage_event(call, id, counted))) &&
              write(Handler::done_event());
    if (!ok) {
      return cancelled();
    }
    sink.done();
    return true;
  });
}

void Server::Impl::embeddings(const httplib::Request& req, httplib::Response& res) {
  handler.stats().count_embedding();
  std::string auth_value;
  if (auto denied = handler.check_auth(authorization(req, &auth_value))) {
    return reply(res, *denied);
  }
  Fault fault = handler.faults().take(false);
  ClientWatch watch(req, &stopping);
  if (fault.mode == FaultMode::kStatus || fault.mode == FaultMode::kRateLimit ||
      fault.mode == FaultMode::kRefuse) {
    Fault f = fault;
    if (f.mode == FaultMode::kRefuse) {  // embeddings cannot be filtered: a plain 400
      f.mode = FaultMode::kStatus;
      f.status = 400;
    }
    return reply(res, Handler::fault_reply(f));
  }
  auto gave_up = [&] {
    if (stopping.load()) {
      return send(res, shutting_down());
    }
    res.status = 499;  // nobody reads it: the client has gone
  };
  if (fault.mode == FaultMode::kHang) {
    while (!watch.wait(std::chrono::hours(1))) {
    }
    return gave_up();
  }
  int64_t delay =
      handler.options().latency_ms + (fault.mode == FaultMode::kSlow ? fault.delay_ms : 0);
  if (delay > 0 && watch.wait(std::chrono::milliseconds(delay))) {
    return gave_up();
  }
  reply(res, handler.embeddings(req.body));
}

void Server::Impl::routes() {
  http.Post("/v1/chat/completions",
            [this](const httplib::Request& req, httplib::Response& res) { chat(req, res); });
  http.Post("/v1/embeddings",
            [this](const httplib::Request& req, httplib::Response& res) { embeddings(req, res); });
  http.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    std::string auth_value;
    if (auto denied = handler.check_auth(authorization(req, &auth_value))) {
      return send(res, *denied);
    }
    send(res, handler.models());
  });
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  http.Post("/control/faults", [this](const httplib::Request& req, httplib::Response& res) {
    send(res, handler.set_faults(req.body));
  });
  http.Get("/control/stats", [this](const httplib::Request&, httplib::Response& res) {
    send(res, handler.stats_reply());
  });
  http.Post("/control/reset", [this](const httplib::Request&, httplib::Response& res) {
    send(res, handler.reset());
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) {  // httplib found no route
      send(res, error_reply(404, "invalid_request_error",
                            "Unknown path " + req.path +
                                ": this endpoint serves /v1/chat/completions, /v1/embeddings, "
                                "/v1/models, /health and /control/{faults,stats,reset}.",
                            "unknown_url"));
    }
  });
  // One line per request on stderr: method, path, status. Never headers (Authorization).
  http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    std::fprintf(stderr, "%s %s %d\n", req.method.c_str(), req.path.c_str(), res.status);
  });
  http.set_keep_alive_timeout(30);
}

Server::Server(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {
  size_t threads = static_cast<size_t>(std::max(impl_->handler.options().threads, 2));
  Stats* stats = &impl_->handler.stats();
  impl_->http.new_task_queue = [threads, stats] { return new CountingQueue(threads, stats); };
  impl_->routes();
}

Server::~Server() = default;

bool Server::bind(std::string* error) {
  const Options& o = impl_->handler.options();
  if (o.port == 0) {
    impl_->port = impl_->http.bind_to_any_port(o.host);
  } else if (impl_->http.bind_to_port(o.host, o.port)) {
    impl_->port = o.port;
  } else {
    impl_->port = -1;
  }
  if (impl_->port <= 0) {
    *error = "cannot listen on " + o.host + ":" + std::to_string(o.port) +
             " (address in use, or not an address of this machine)";
    return false;
  }
  return true;
}

int Server::port() const { return impl_->port; }

void Server::run() { impl_->http.listen_after_bind(); }

void Server::stop() {
  impl_->stopping.store(true);
  impl_->http.stop();
}

}  // namespace cairn::ai::endpoint
