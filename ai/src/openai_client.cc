// OpenAiClient (see cairn/ai/openai.h): reads the key, sends one request, turns the answer or
// the failure into a ChatResponse / EmbeddingResponse or an LlmError. Nothing here retries.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "cairn/ai/openai.h"
#include "openai_errors.h"
#include "openai_http.h"
#include "openai_sse.h"
#include "openai_wire.h"

namespace cairn::ai {
namespace {

using nlohmann::json;

// The key, read at request time (so a rotated key file is picked up without a restart).
std::string read_api_key(const EndpointConfig& c) {
  if (!c.api_key_env.empty()) {
    if (const char* v = std::getenv(c.api_key_env.c_str()); v != nullptr && *v != '\0') {
      return v;
    }
    if (c.api_key_file.empty()) {
      throw LlmError("endpoint \"" + c.name + "\": environment variable " + c.api_key_env +
                         " (api_key_env) is not set; set it to the endpoint's API key",
                     kAuthenticationFailed, /*non_retryable=*/true, 0);
    }
  }
  if (c.api_key_file.empty()) {
    return "";
  }
  std::ifstream in(c.api_key_file);
  if (!in) {
    throw LlmError("endpoint \"" + c.name + "\": cannot read api_key_file " + c.api_key_file +
                       ": " + std::strerror(errno),
                   kAuthenticationFailed, /*non_retryable=*/true, 0);
  }
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t first = 0;
  while (first < key.size() && std::isspace(static_cast<unsigned char>(key[first]))) {
    ++first;
  }
  key.erase(0, first);
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) {
    key.pop_back();
  }
  if (key.empty()) {
    throw LlmError("endpoint \"" + c.name + "\": api_key_file " + c.api_key_file + " is empty",
                   kAuthenticationFailed, /*non_retryable=*/true, 0);
  }
  return key;
}

// Wipes the key when the request is over.
struct KeyGuard {
  std::string key;
  ~KeyGuard() { std::fill(key.begin(), key.end(), '\0'); }
};

std::string prefix(const EndpointConfig& c, const char* op) {
  return "endpoint \"" + c.name + "\": " + op;
}

// A transport failure as an LlmError (Timeout or NetworkError, both retryable).
LlmError transport_error(const EndpointConfig& c, const char* op, const HttpResult& r,
                         const std::string& secret) {
  if (r.failure == HttpResult::Failure::kTimeout) {
    return LlmError(redact(prefix(c, op) + " timed out (" + r.failure_detail +
                               "); connect_timeout " + format_duration(c.connect_timeout) +
                               ", request_timeout " + format_duration(c.request_timeout),
                           secret),
                    kTimeout, /*non_retryable=*/false, r.status);
  }
  return LlmError(
      redact(prefix(c, op) + " failed: " + r.failure_detail + " (" + c.base_url + ")", secret),
      kNetworkError, /*non_retryable=*/false, r.status);
}

LlmError content_filtered(const EndpointConfig& c, const std::string& refusal) {
  std::string m = prefix(c, "chat completion") +
                  " was refused by the provider's content filter (finish_reason content_filter)";
  if (!refusal.empty()) {
    m += ": " + refusal.substr(0, 200);
  }
  return LlmError(m, kContentFiltered, /*non_retryable=*/true, 200, "content_filter");
}

// The streaming half of chat(): parses events as they arrive and hands content to on_delta.
class StreamReader {
 public:
  StreamReader(const EndpointConfig& c, const StreamOptions& s, std::string_view secret)
      : config_(c), stream_(s), secret_(secret) {}

  bool feed(std::string_view bytes) {
    try {
      for (const SseEvent& e : parser_.feed(bytes)) {
        if (!handle(e)) {
          return false;
        }
      }
      return true;
    } catch (...) {
      error_ = std::current_exception();
      return false;
    }
  }

  // After the transfer: flush what the parser holds.
  void finish() {
    if (error_ || user_stopped_ || done_) {
      return;
    }
    try {
      for (const SseEvent& e : parser_.finish()) {
        if (!handle(e)) {
          return;
        }
      }
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  bool done() const { return done_; }
  bool user_stopped() const { return user_stopped_; }
  std::exception_ptr error() const { return error_; }
  const ChatStreamAccumulator& accumulator() const { return acc_; }

 private:
  bool handle(const SseEvent& e) {
    if (done_) {
      return true;  // anything after [DONE] is ignored
    }
    if (e.data == "[DONE]") {
      done_ = true;
      return true;
    }
    json chunk = json::parse(e.data, nullptr, /*allow_exceptions=*/false);
    if (chunk.is_discarded() || !chunk.is_object()) {
      throw LlmError(prefix(config_, "chat completion") + " stream sent an unreadable chunk",
                     kServerError, /*non_retryable=*/false, 200);
    }
    if (auto err = chunk.find("error"); err != chunk.end() || e.event == "error") {
      json ej = err != chunk.end() ? *err : chunk;
      std::string code = ej.is_object() && ej.contains("code") && ej["code"].is_string()
                             ? ej["code"].get<std::string>()
                             : "";
      if (code.empty() && ej.is_object() && ej.contains("type") && ej["type"].is_string()) {
        code = ej["type"].get<std::string>();
      }
      std::string message = ej.is_object() && ej.contains("message") && ej["message"].is_string()
                                ? ej["message"].get<std::string>()
                                : ej.dump();
      ErrorClass cls = classify_stream_error(code);
      throw LlmError(
          redact(prefix(config_, "chat completion") + " stream failed (" + cls.type +
                     (code.empty() ? "" : ", code " + code) + "): " + message.substr(0, 300),
                 secret_),
          cls.type, !cls.retryable, 200, code);
    }
    std::string delta = acc_.add(chunk);
    if (!delta.empty() && !stream_.on_delta(delta)) {
      user_stopped_ = true;
      return false;
    }
    return true;
  }

  const EndpointConfig& config_;
  const StreamOptions& stream_;
  std::string_view secret_;
  SseParser parser_;
  ChatStreamAccumulator acc_;
  bool done_ = false;
  bool user_stopped_ = false;
  std::exception_ptr error_;
};

// After the first token, any failure becomes StreamInterrupted: a retry would send the whole
// answer again to whoever already saw its beginning.
[[noreturn]] void throw_stream_failure(const EndpointConfig& c, const LlmError& cause,
                                       bool saw_token) {
  if (!saw_token) {
    throw cause;
  }
  throw LlmError(
      std::string(cause.what()) +
          " — after the first streamed token: " + "not retried (the output would be duplicated)",
      kStreamInterrupted, /*non_retryable=*/true, cause.http_status(), cause.error_code());
}

// Rethrows what the stream reader caught, as an LlmError of the stream's kind.
[[noreturn]] void rethrow_stream_error(const EndpointConfig& c, std::exception_ptr error,
                                       bool saw_token) {
  try {
    std::rethrow_exception(error);
  } catch (const LlmError& e) {
    throw_stream_failure(c, e, saw_token);
  } catch (const std::exception& e) {
    throw_stream_failure(c,
                         LlmError(prefix(c, "chat completion") + " stream unreadable: " + e.what(),
                                  kServerError, /*non_retryable=*/false, 200),
                         saw_token);
  }
}

}  // namespace

OpenAiClient::OpenAiClient(EndpointConfig config, OpenAiOptions options)
    : config_(std::move(config)), options_(options) {
  const std::string subject = "endpoint \"" + config_.name + "\"";
  if (config_.base_url.rfind("http://", 0) != 0 && config_.base_url.rfind("https://", 0) != 0) {
    throw OptionsError(subject + ": base_url must start with http:// or https:// (got \"" +
                           config_.base_url + "\")",
                       "base_url");
  }
  while (!config_.base_url.empty() && config_.base_url.back() == '/') {
    config_.base_url.pop_back();
  }
  if (config_.connect_timeout.count() <= 0) {
    throw OptionsError(subject + ": connect_timeout must be positive", "connect_timeout");
  }
  if (config_.request_timeout.count() <= 0) {
    throw OptionsError(subject + ": request_timeout must be positive", "request_timeout");
  }
  if (options_.max_retry_after.count() < 0) {
    throw OptionsError(subject + ": max_retry_after must not be negative", "max_retry_after");
  }
}

ChatResponse OpenAiClient::chat(const ChatRequest& request, const StreamOptions* stream) {
  const bool streaming = stream != nullptr && static_cast<bool>(stream->on_delta);
  KeyGuard key{read_api_key(config_)};
  HttpPost post;
  post.url = config_.base_url + "/chat/completions";
  try {
    post.body = chat_request_body(request, config_.model, streaming).dump();
  } catch (const std::invalid_argument& e) {
    throw LlmError(prefix(config_, "chat completion") + ": " + e.what(), kInvalidRequest,
                   /*non_retryable=*/true, 0);
  } catch (const json::exception& e) {
    throw LlmError(prefix(config_, "chat completion") + ": cannot encode the request: " + e.what(),
                   kInvalidRequest, /*non_retryable=*/true, 0);
  }
  post.bearer = key.key;
  post.event_stream = streaming;
  post.connect_timeout = config_.connect_timeout;
  post.timeout = config_.request_timeout;
  std::function<bool()> cancelled = stream != nullptr ? stream->cancelled : nullptr;

  std::optional<StreamReader> reader;
  BodySink sink;
  if (streaming) {
    reader.emplace(config_, *stream, key.key);
    sink = [&](std::string_view bytes) { return reader->feed(bytes); };
  }
  HttpResult r = http_post(post, sink, cancelled);
  std::fill(post.bearer.begin(), post.bearer.end(), '\0');
  const bool saw_token = reader && reader->accumulator().saw_token();

  if (r.failure == HttpResult::Failure::kCancelled || (reader && reader->user_stopped())) {
    throw CanceledError(prefix(config_, "chat completion") + " canceled; connection closed");
  }
  if (reader && reader->error()) {
    rethrow_stream_error(config_, reader->error(), saw_token);
  }
  if (r.failure != HttpResult::Failure::kNone) {
    throw_stream_failure(config_, transport_error(config_, "chat completion", r, key.key),
                         saw_token);
  }
  if (r.status < 200 || r.status >= 300) {
    throw http_error({config_.name, "chat completion"}, r.status, r.body, r.headers,
                     std::chrono::system_clock::now(), options_.max_retry_after, key.key);
  }
  ChatResponse response;
  if (streaming) {
    reader->finish();
    if (reader->error()) {
      rethrow_stream_error(config_, reader->error(), reader->accumulator().saw_token());
    }
    if (!reader->done() && !reader->accumulator().finished()) {
      throw_stream_failure(
          config_,
          LlmError(prefix(config_, "chat completion") +
                       " stream ended before its last chunk (no finish_reason, no [DONE])",
                   kNetworkError, /*non_retryable=*/false, r.status),
          reader->accumulator().saw_token());
    }
    response = reader->accumulator().response();
    if (response.finish_reason == "content_filter") {
      throw content_filtered(config_, reader->accumulator().refusal());
    }
  } else {
    json body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    try {
      if (body.is_discarded()) {
        throw std::runtime_error("the answer is not JSON");
      }
      response = parse_chat_response(body);
    } catch (const std::exception& e) {
      throw LlmError(prefix(config_, "chat completion") + " answered HTTP " +
                         std::to_string(r.status) + " with an unreadable body: " + e.what(),
                     kServerError, /*non_retryable=*/false, r.status);
    }
    if (response.finish_reason == "content_filter") {
      std::string refusal;
      if (body.contains("choices") && body["choices"][0]["message"].contains("refusal") &&
          body["choices"][0]["message"]["refusal"].is_string()) {
        refusal = body["choices"][0]["message"]["refusal"].get<std::string>();
      }
      throw content_filtered(config_, refusal);
    }
  }
  if (response.model.empty()) {
    response.model = request.model.empty() ? config_.model : request.model;
  }
  return response;
}

EmbeddingResponse OpenAiClient::embed(const EmbeddingRequest& request) {
  if (request.input.size() > kMaxEmbeddingInputs) {
    throw LlmError(prefix(config_, "embeddings") + ": " + std::to_string(request.input.size()) +
                       " inputs, at most " + std::to_string(kMaxEmbeddingInputs) +
                       " a request: split the batch",
                   kInvalidRequest, /*non_retryable=*/true, 0);
  }
  if (request.input.empty()) {
    return EmbeddingResponse{request.model.empty() ? config_.model : request.model, {}, {}};
  }
  KeyGuard key{read_api_key(config_)};
  HttpPost post;
  post.url = config_.base_url + "/embeddings";
  post.body = embedding_request_body(request, config_.model).dump();
  post.bearer = key.key;
  post.connect_timeout = config_.connect_timeout;
  post.timeout = config_.request_timeout;
  HttpResult r = http_post(post, nullptr, nullptr);
  std::fill(post.bearer.begin(), post.bearer.end(), '\0');
  if (r.failure != HttpResult::Failure::kNone) {
    throw transport_error(config_, "embeddings", r, key.key);
  }
  if (r.status < 200 || r.status >= 300) {
    throw http_error({config_.name, "embeddings"}, r.status, r.body, r.headers,
                     std::chrono::system_clock::now(), options_.max_retry_after, key.key);
  }
  try {
    json body = json::parse(r.body);
    EmbeddingResponse response = parse_embedding_response(body, request.input.size());
    if (response.model.empty()) {
      response.model = request.model.empty() ? config_.model : request.model;
    }
    return response;
  } catch (const std::exception& e) {
    throw LlmError(prefix(config_, "embeddings") + " answered HTTP " + std::to_string(r.status) +
                       " with an unreadable body: " + e.what(),
                   kServerError, /*non_retryable=*/false, r.status);
  }
}

}  // namespace cairn::ai
