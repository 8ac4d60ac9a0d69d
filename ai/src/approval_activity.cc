// The worker and client sides of human approval: the notify activity (a libcurl POST, then
// async completion), the on_decided hook registry, search attribute registration, and the
// helpers that answer an approval by update or through the webhook's notice.
#include <map>
#include <mutex>

#include <curl/curl.h>

#include "approval_state.h"
#include "cairn/activity.h"
#include "cairn/ai/approval.h"

namespace cairn::ai {
namespace approval_internal {
namespace {

// Never destroyed: a worker thread may still run a workflow task while the process exits.
std::mutex hooks_mu;
std::map<std::string, std::function<void(double, const ApprovalDecision&)>>& hooks() {
  static auto* m = new std::map<std::string, std::function<void(double, const ApprovalDecision&)>>;
  return *m;
}

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// POSTs `body` to `url`. Returns normally on a 2xx; throws ApplicationError otherwise:
// retryable ("WebhookUnavailable") for network errors, 408, 429 and 5xx, non-retryable
// ("WebhookRejected") for other statuses. The URL's query string is not repeated in messages
// (it may carry a secret).
void post(const std::string& url, const std::string& body, const ApprovalActivityOptions& o) {
  std::string shown = url.substr(0, url.find('?'));
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    throw ApplicationError("approval webhook " + shown + ": curl_easy_init failed",
                           "WebhookUnavailable");
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_guard(headers, curl_slist_free_all);
  std::string response;
  char error[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o.request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    throw ApplicationError("approval webhook " + shown + ": " +
                               (error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc)),
                           "WebhookUnavailable");
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) {
    return;
  }
  std::string what = "approval webhook " + shown + " answered HTTP " + std::to_string(status) +
                     (response.empty() ? "" : ": " + response.substr(0, 200));
  bool retryable = status == 408 || status == 429 || status >= 500;
  throw ApplicationError(what, retryable ? "WebhookUnavailable" : "WebhookRejected",
                         /*non_retryable=*/!retryable);
}

}  // namespace

void set_decided_hook(const std::string& task_queue,
                      std::function<void(double, const ApprovalDecision&)> hook) {
  std::lock_guard lock(hooks_mu);
  hooks()[task_queue] = std::move(hook);
}

void run_decided_hook(const std::string& task_queue, double wait_seconds,
                      const ApprovalDecision& decision) {
  std::function<void(double, const ApprovalDecision&)> hook;
  {
    std::lock_guard lock(hooks_mu);
    auto it = hooks().find(task_queue);
    if (it == hooks().end() || !it->second) {
      return;
    }
    hook = it->second;
  }
  try {
    hook(wait_seconds, decision);
  } catch (...) {
    // A metrics hook must never fail the workflow task.
  }
}

}  // namespace approval_internal

using namespace approval_internal;

void register_approval_activities(Worker& worker, ApprovalActivityOptions options) {
  if (options.connect_timeout.count() <= 0) {
    throw OptionsError("approval activities: connect_timeout must be positive", "connect_timeout");
  }
  if (options.request_timeout.count() <= 0) {
    throw OptionsError("approval activities: request_timeout must be positive", "request_timeout");
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  set_decided_hook(worker.options().task_queue, options.on_decided);
  worker.register_activity(kApprovalNotifyActivity,
                           [options](ActivityContext& ctx, const std::string& url,
                                     ApprovalNotice notice) -> ApprovalDecision {
                             const ActivityInfo& info = ctx.info();
                             notice.namespace_ = info.namespace_;
                             notice.workflow_id = info.workflow_id;
                             notice.run_id = info.run_id;
                             notice.activity_id = info.activity_id;
                             notice.task_token = base64_encode(info.task_token);
                             post(url, nlohmann::json(notice).dump(), options);
                             ctx.complete_async();
                           });
}

void register_approval_search_attributes(Client& client) {
  v1::AddSearchAttributesRequest req;
  req.set_namespace_(client.options().ns);
  auto& m = *req.mutable_search_attributes();
  m[kAwaitingApprovalAttribute] = v1::INDEXED_VALUE_TYPE_BOOL;
  m[kApprovalIdAttribute] = v1::INDEXED_VALUE_TYPE_KEYWORD;
  m[kApprovalWhatAttribute] = v1::INDEXED_VALUE_TYPE_TEXT;
  m[kApprovalRequestedAtAttribute] = v1::INDEXED_VALUE_TYPE_DATETIME;
  m[kApprovalApproversAttribute] = v1::INDEXED_VALUE_TYPE_KEYWORD_LIST;
  v1::AddSearchAttributesResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status st = client.stub().AddSearchAttributes(&ctx, req, &resp);
  if (!st.ok()) {
    throw RpcError(st.error_code(), "registering the approval search attributes in namespace " +
                                        client.options().ns + ": " + st.error_message());
  }
}

ApprovalNotice parse_approval_notice(const std::string& body) {
  try {
    return nlohmann::json::parse(body).get<ApprovalNotice>();
  } catch (const nlohmann::json::exception& e) {
    throw PayloadError(std::string("not an approval notice: ") + e.what());
  }
}

void answer_approval_notice(Client& client, const ApprovalNotice& notice,
                            const ApprovalDecision& decision) {
  auto token = base64_decode(notice.task_token);
  if (!token || token->empty()) {
    if (notice.workflow_id.empty() || notice.activity_id.empty()) {
      throw PayloadError("approval notice " + notice.approval_id +
                         ": no task token and no (workflow id, activity id) to answer by");
    }
    client.complete_activity(notice.workflow_id, notice.run_id, notice.activity_id, decision);
    return;
  }
  client.complete_activity(*token, decision);
}

}  // namespace cairn::ai
