// cairn-model-endpoint: a deterministic OpenAI-compatible model endpoint for tests and demos
// (ai/docs/endpoint.md). Answers from the supplied context, calls tools, counts usage with the
// tokenizer rule of cairn/ai/tokenizer.h, and misbehaves on request (/control/faults).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <pthread.h>

#include "ai/endpoint/server.h"

int main(int argc, char** argv) {
  cairn::ai::endpoint::Options options;
  std::string listen = "127.0.0.1:0";
  CLI::App app{"cairn-model-endpoint: a deterministic OpenAI-compatible model endpoint"};
  app.add_option("--listen", listen, "HOST:PORT to serve on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--port-file", options.port_file, "write the bound port here once serving");
  app.add_option("--model", options.model, "the served model id")->capture_default_str();
  app.add_option("--context-window", options.context_window,
                 "prompt tokens accepted (longer: 400 context_length_exceeded); 0: no limit")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--api-key-env", options.api_key_env,
                 "require Authorization: Bearer <the value of this environment variable>");
  app.add_option("--latency-ms", options.latency_ms, "added before every chat and embedding answer")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--tokens-per-second", options.tokens_per_second,
                 "pace of streamed tokens; 0: as fast as possible")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--embedding-dim", options.embedding_dim, "dimension of returned embeddings")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--threads", options.threads, "connections served at once")
      ->capture_default_str()
      ->check(CLI::Range(2, 1024));
  app.add_flag("--prompt-cache", options.prompt_cache,
               "report the tokens of leading messages sent before as cached_tokens");
  CLI11_PARSE(app, argc, argv);

  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "cairn-model-endpoint: --listen %s: expected HOST:PORT\n", listen.c_str());
    return 2;
  }
  options.host = listen.substr(0, colon);
  char* end = nullptr;
  long port = std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535 || colon + 1 == listen.size()) {
    std::fprintf(stderr, "cairn-model-endpoint: --listen %s: the port must be 0..65535\n",
                 listen.c_str());
    return 2;
  }
  options.port = static_cast<int>(port);
  if (!options.api_key_env.empty()) {
    const char* key = std::getenv(options.api_key_env.c_str());
    if (key == nullptr || *key == '\0') {
      std::fprintf(stderr,
                   "cairn-model-endpoint: --api-key-env %s: that environment variable is not set "
                   "(set it to the key clients must send)\n",
                   options.api_key_env.c_str());
      return 2;
    }
    options.api_key = key;
  }

  // SIGTERM/SIGINT are taken by a sigwait thread; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  cairn::ai::endpoint::Server server(options);
  std::string error;
  if (!server.bind(&error)) {
    std::fprintf(stderr, "cairn-model-endpoint: %s\n", error.c_str());
    return 1;
  }
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "cairn-model-endpoint: received %s, stopping\n",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    server.stop();
  });
  std::fprintf(stderr, "cairn-model-endpoint: serving model %s on %s:%d%s\n", options.model.c_str(),
               options.host.c_str(), server.port(),
               options.api_key_env.empty() ? "" : " (API key required)");
  if (!options.port_file.empty()) {
    std::string tmp = options.port_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << server.port() << "\n";
    }
    std::rename(tmp.c_str(), options.port_file.c_str());
  }
  server.run();
  stopper.join();
  return 0;
}
