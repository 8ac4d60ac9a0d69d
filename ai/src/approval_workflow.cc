// request_approval: the workflow side of a human approval. Everything here is workflow code:
// it reads time only through ctx.now(), waits only on durable timers (await_condition with a
// timeout), and decides from what history delivered, so a replay reaches the same decision.
#include <algorithm>
#include <memory>

#include "approval_state.h"
#include "cairn/ai/approval.h"

namespace cairn::ai {
namespace {

using namespace approval_internal;
using std::chrono::milliseconds;

// What the handlers, the query and the waiting code share. Owned by shared_ptr: the handlers
// outlive request_approval() (a late answer must still be refused with the decision).
struct Book {
  ApprovalStatus status;
  std::vector<Future<ApprovalDecision>> notices;  // notify activities, in scheduling order
  std::vector<bool> consumed;
  bool escalation_possible = false;
};

int64_t ms_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

int64_t now_ms(WorkflowContext& ctx) { return ms_of(ctx.now()); }

// At most `limit` bytes of `text`, cut at a UTF-8 character boundary.
std::string clipped(const std::string& text, size_t limit) {
  if (text.size() <= limit) {
    return text;
  }
  size_t n = limit;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) {
    --n;
  }
  return text.substr(0, n);
}

bool has_ready_notice(const Book& b) {
  for (size_t i = 0; i < b.notices.size(); ++i) {
    if (!b.consumed[i] && b.notices[i].ready()) {
      return true;
    }
  }
  return false;
}

// The first ready webhook answer that would be taken, without consuming anything (validators
// must not change workflow state).
std::optional<ApprovalDecision> peek_webhook(const Book& b) {
  for (size_t i = 0; i < b.notices.size(); ++i) {
    if (b.consumed[i] || !b.notices[i].ready()) {
      continue;
    }
    try {
      ApprovalDecision d = Future<ApprovalDecision>(b.notices[i]).get();
      if (!check_answer(b.status, ApprovalAnswer{"", d.approved, d.by, d.comment})) {
        d.via = "webhook";
        return d;
      }
    } catch (const std::exception&) {
      // A failed or canceled notify activity carries no answer.
    }
  }
  return std::nullopt;
}

void take(WorkflowContext& ctx, Book& b, ApprovalDecision d) {
  d.approval_id = b.status.approval_id;
  d.decided_at_ms = now_ms(ctx);
  d.escalated = b.status.state == "escalated";
  b.status.state = d.via == "timeout" ? "timed_out" : d.approved ? "approved" : "rejected";
  b.status.decision = std::move(d);
}

// Consumes the ready notify results in scheduling order: the first valid webhook answer is
// taken (when nothing was decided yet); the others are listed as ignored.
void absorb_notices(WorkflowContext& ctx, Book& b) {
  for (size_t i = 0; i < b.notices.size(); ++i) {
    if (b.consumed[i] || !b.notices[i].ready()) {
      continue;
    }
    b.consumed[i] = true;
    ApprovalDecision d;
    try {
      d = b.notices[i].get();
    } catch (const CanceledError&) {
      continue;  // canceled by us once the approval was decided
    } catch (const std::exception& e) {
      b.status.webhook_error = e.what();
      continue;
    }
    auto refusal = check_answer(b.status, ApprovalAnswer{"", d.approved, d.by, d.comment});
    if (refusal) {
      b.status.ignored.push_back(
          {{"by", d.by}, {"via", "webhook"}, {"reason", refusal->type + ": " + refusal->message}});
      continue;
    }
    d.via = "webhook";
    take(ctx, b, std::move(d));
  }
}

void notify(WorkflowContext& ctx, Book& b, const std::string& url, milliseconds window,
            CancellationScope& scope) {
  const ApprovalStatus& s = b.status;
  ApprovalNotice notice;
  notice.approval_id = s.approval_id;
  notice.what = s.what;
  notice.details = s.details;
  notice.approvers = s.approvers;
  notice.escalated = s.state == "escalated";
  notice.requested_at_ms = s.requested_at_ms;
  notice.deadline_ms = s.deadline_ms;
  ActivityOptions o;
  o.activity_id = "cairn.approval." + s.approval_id + (notice.escalated ? ".escalation" : "");
  // The activity stays pending (async completion) for the whole wait, plus room for the
  // receiver's answer to reach the server.
  o.start_to_close = window + std::chrono::minutes(1);
  o.retry.initial_interval = std::chrono::seconds(1);
  o.retry.backoff_coefficient = 2;
  o.retry.maximum_interval = std::chrono::seconds(30);
  o.retry.maximum_attempts = 10;
  o.retry.non_retryable_error_types = {"WebhookRejected"};
  scope.run([&] {
    b.notices.push_back(
        ctx.activity_with<ApprovalDecision>(kApprovalNotifyActivity, o, url, notice));
  });
  b.consumed.push_back(false);
}

// Waits until an answer is taken (true) or `deadline_ms` (workflow time) passes (false).
bool wait_for_answer(WorkflowContext& ctx, Book& b, int64_t deadline_ms) {
  for (;;) {
    absorb_notices(ctx, b);
    if (b.status.decision) {
      return true;
    }
    const int64_t left = deadline_ms - now_ms(ctx);
    if (left <= 0) {
      return false;
    }
    bool woke = ctx.await_condition(
        [&] { return b.status.decision.has_value() || has_ready_notice(b); }, milliseconds(left));
    if (!woke) {
      absorb_notices(ctx, b);
      return b.status.decision.has_value();
    }
  }
}

void register_handlers(WorkflowContext& ctx, const std::shared_ptr<Book>& book) {
  WorkflowContext* c = &ctx;
  ctx.set_query_handler(kApprovalPendingQuery, [book] { return book->status; });
  ctx.set_update_handler(
      kApprovalAnswerUpdate,
      [book, c](const ApprovalAnswer& answer) {
        absorb_notices(*c, *book);
        if (auto refusal = check_answer(book->status, answer)) {
          throw to_error(*refusal);
        }
        ApprovalDecision d;
        d.approved = answer.approved;
        d.by = answer.by;
        d.comment = answer.comment;
        d.via = book->status.state == "escalated" ? "escalation" : "update";
        take(*c, *book, std::move(d));
        return *book->status.decision;
      },
      [book, c](const ApprovalAnswer& answer) {
        ApprovalStatus s = book->status;
        if (!s.decision) {
          if (auto w = peek_webhook(*book)) {
            w->decided_at_ms = now_ms(*c);
            s.decision = w;
          }
        }
        if (auto refusal = check_answer(s, answer)) {
          throw to_error(*refusal);
        }
      });
}

void upsert_waiting(WorkflowContext& ctx, const ApprovalStatus& s) {
  ctx.upsert_search_attributes({
      {kAwaitingApprovalAttribute, to_payload(true)},
      {kApprovalIdAttribute, to_payload(s.approval_id)},
      {kApprovalWhatAttribute, to_payload(clipped(s.what, 256))},
      {kApprovalRequestedAtAttribute, to_payload(rfc3339(s.requested_at_ms))},
      {kApprovalApproversAttribute, to_payload(s.approvers)},
  });
}

void finish(WorkflowContext& ctx, Book& b, CancellationScope& scope) {
  if (std::find(b.consumed.begin(), b.consumed.end(), false) != b.consumed.end()) {
    scope.cancel();  // the webhook's receiver now gets NOT_FOUND (or is ignored)
  }
  ctx.upsert_search_attributes({{kAwaitingApprovalAttribute, to_payload(false)}});
}

}  // namespace

ApprovalDecision request_approval(WorkflowContext& ctx, const ApprovalRequest& request) {
  check_request(request);
  auto book = std::make_shared<Book>();
  ApprovalStatus& s = book->status;
  s.approval_id = request.id.empty() ? "approval-" + ctx.uuid() : request.id;
  s.what = request.what;
  s.details = request.details;
  s.state = "waiting";
  s.approvers = request.approvers;
  s.escalation_approvers = request.escalation.approvers;
  s.requested_at_ms = now_ms(ctx);
  s.deadline_ms = s.requested_at_ms + request.timeout.count();
  s.webhook_url = request.webhook_url.substr(0, request.webhook_url.find('?'));  // no secrets
  register_handlers(ctx, book);
  upsert_waiting(ctx, s);

  CancellationScope notices = ctx.cancellation_scope();
  try {
    if (!request.webhook_url.empty()) {
      notify(ctx, *book, request.webhook_url, request.timeout + request.escalation.timeout,
             notices);
    }
    bool answered = wait_for_answer(ctx, *book, s.deadline_ms);
    if (!answered && !request.escalation.approvers.empty()) {
      s.state = "escalated";
      s.approvers = merged(s.approvers, request.escalation.approvers);
      s.deadline_ms = now_ms(ctx) + request.escalation.timeout.count();
      ctx.upsert_search_attributes({{kApprovalApproversAttribute, to_payload(s.approvers)}});
      if (!request.webhook_url.empty()) {
        notify(ctx, *book, request.webhook_url, request.escalation.timeout, notices);
      }
      answered = wait_for_answer(ctx, *book, s.deadline_ms);
    }
    if (!answered) {
      ApprovalDecision d;
      d.via = "timeout";
      d.comment = "no answer within " + duration_words(request.timeout.count()) +
                  (request.escalation.approvers.empty()
                       ? std::string()
                       : " and " + duration_words(request.escalation.timeout.count()) +
                             " after escalation");
      take(ctx, *book, std::move(d));
    }
  } catch (const CanceledError&) {
    s.state = "canceled";
    ctx.upsert_search_attributes({{kAwaitingApprovalAttribute, to_payload(false)}});
    throw;
  }
  finish(ctx, *book, notices);
  const ApprovalDecision& d = *s.decision;
  if (!ctx.is_replaying()) {
    run_decided_hook(ctx.info().task_queue,
                     static_cast<double>(d.decided_at_ms - s.requested_at_ms) / 1000.0, d);
  }
  return d;
}

}  // namespace cairn::ai
