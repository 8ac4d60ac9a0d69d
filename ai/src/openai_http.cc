// HTTP POST over libcurl (see openai_http.h).
#include "openai_http.h"

#include <cctype>
#include <memory>
#include <mutex>

#include <curl/curl.h>

namespace cairn::ai {
namespace {

constexpr int kPollMs = 100;  // the longest a cancellation waits to be noticed

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* easy = nullptr;
  HttpResult* result = nullptr;
  const BodySink* sink = nullptr;
  bool sink_stopped = false;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    t->result->headers.clear();  // a new status line (after a 100 Continue): start over
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return size * count;
  }
  std::string name;
  for (char c : line.substr(0, colon)) {
    name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
    value.remove_prefix(1);
  }
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  t->result->headers[name] = std::string(value);
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  if (t->sink != nullptr && *t->sink && status >= 200 && status < 300) {
    if (!(*t->sink)(std::string_view(data, n))) {
      t->sink_stopped = true;
      return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
    }
    return n;
  }
  t->result->body.append(data, n);
  return n;
}

struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

HttpResult http_post(const HttpPost& post, const BodySink& sink,
                     const std::function<bool()>& cancelled) {
  init_curl_once();
  HttpResult result;
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
  if (!easy || !multi) {
    result.failure = HttpResult::Failure::kNetwork;
    result.failure_detail = "cannot initialise libcurl";
    return result;
  }
  curl_slist* raw = nullptr;
  raw = curl_slist_append(raw, "Content-Type: application/json");
  raw = curl_slist_append(
      raw, post.event_stream ? "Accept: text/event-stream" : "Accept: application/json");
  raw = curl_slist_append(raw, "Expect:");  // no 100-continue round trip for large bodies
  std::string auth;
  if (!post.bearer.empty()) {
    auth = "Authorization: Bearer " + post.bearer;
    raw = curl_slist_append(raw, auth.c_str());
    // curl copied it; do not keep a second copy of the key around longer than needed.
    std::fill(auth.begin(), auth.end(), '\0');
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw);

  Transfer transfer{easy.get(), &result, &sink, false};
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, post.url.c_str());
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, post.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post.body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(post.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(post.timeout.count()));
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &transfer);
  if (!post.event_stream) {
    // gzip only: it is cheap for the server, while brotli at a server's default quality can
    // take seconds per megabyte of embeddings. Streams go uncompressed so that no compressor
    // holds events back.
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
  }
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer);

  curl_multi_add_handle(multi.get(), e);
  bool was_cancelled = false;
  int running = 1;
  while (running > 0) {
    if (curl_multi_perform(multi.get(), &running) != CURLM_OK) {
      break;
    }
    if (running == 0) {
      break;
    }
    if (cancelled && cancelled()) {
      was_cancelled = true;
      break;
    }
    curl_multi_poll(multi.get(), nullptr, 0, kPollMs, nullptr);
  }
  CURLcode code = CURLE_OK;
  if (!was_cancelled) {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &queued)) {
      if (msg->msg == CURLMSG_DONE) {
        code = msg->data.result;
      }
    }
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  result.status = static_cast<int>(status);
  // Removing the handle and cleaning it up closes the connection (FORBID_REUSE), which is how
  // the server learns that a cancelled stream is no longer wanted.
  curl_multi_remove_handle(multi.get(), e);

  if (was_cancelled) {
    result.failure = HttpResult::Failure::kCancelled;
    result.failure_detail = "cancelled";
  } else if (transfer.sink_stopped) {
    result.failure = HttpResult::Failure::kSinkStopped;
    result.failure_detail = "stopped by the reader";
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    result.failure = HttpResult::Failure::kTimeout;
    result.failure_detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  } else if (code != CURLE_OK) {
    result.failure = HttpResult::Failure::kNetwork;
    result.failure_detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  } else if (result.status == 0) {
    result.failure = HttpResult::Failure::kNetwork;
    result.failure_detail = "no HTTP answer";
  }
  return result;
}

}  // namespace cairn::ai
