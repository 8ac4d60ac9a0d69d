// The HTTP side of cairn-model-endpoint (cpp-httplib, kept in server.cc alone because it is
// heavy to compile): routes, the connection count, streaming, waiting on a client that may
// close. Owned by main(); start() once, then stop() from any thread.
#pragma once

#include <memory>
#include <string>

#include "ai/endpoint/handlers.h"

namespace cairn::ai::endpoint {

class Server {
 public:
  explicit Server(Options options);
  ~Server();

  // Binds the listening socket. Returns false with `error` naming the address when it cannot.
  bool bind(std::string* error);
  // The bound port (after bind()).
  int port() const;
  // Serves until stop(); blocks. REQUIRES: bind() succeeded.
  void run();
  // Stops serving: requests that wait (hang, slow, paced streams) end promptly.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::ai::endpoint
