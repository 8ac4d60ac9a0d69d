// The classification table (status and provider code → error type, retryable or not), what the
// messages say, and that a key never survives into one.
#include <chrono>

#include <gtest/gtest.h>

#include "ai/src/openai_errors.h"
#include "cairn/ai/openai.h"

namespace cairn::ai {
namespace {

struct Row {
  int status;
  const char* code;
  const char* type;
  bool retryable;
};

TEST(ClientErrors, ClassificationTable) {
  const Row rows[] = {
      {408, "", kTimeout, true},
      {409, "", kConflict, true},
      {429, "", kRateLimited, true},
      {429, "rate_limit_exceeded", kRateLimited, true},
      {500, "", kServerError, true},
      {502, "", kServerError, true},
      {503, "", kServerError, true},
      {504, "", kServerError, true},
      {599, "", kServerError, true},
      {400, "", kInvalidRequest, false},
      {401, "", kAuthenticationFailed, false},
      {403, "", kPermissionDenied, false},
      {404, "", kNotFound, false},
      {413, "", kInvalidRequest, false},
      {422, "", kInvalidRequest, false},
      {302, "", kInvalidRequest, false},
      // The code wins over the status: OpenAI sends insufficient_quota with 429.
      {429, "insufficient_quota", kInsufficientQuota, false},
      {403, "insufficient_quota", kInsufficientQuota, false},
      {400, "context_length_exceeded", kContextLengthExceeded, false},
      {400, "content_filter", kContentFiltered, false},
  };
  for (const Row& r : rows) {
    ErrorClass c = classify_http(r.status, r.code);
    EXPECT_EQ(c.type, r.type) << r.status << " " << r.code;
    EXPECT_EQ(c.retryable, r.retryable) << r.status << " " << r.code;
    EXPECT_EQ(is_retryable_type(c.type), r.retryable) << c.type;
  }
}

TEST(ClientErrors, StreamErrorCodes) {
  EXPECT_EQ(classify_stream_error("server_error"), (ErrorClass{kServerError, true}));
  EXPECT_EQ(classify_stream_error(""), (ErrorClass{kServerError, true}));
  EXPECT_EQ(classify_stream_error("rate_limit_exceeded"), (ErrorClass{kRateLimited, true}));
  EXPECT_EQ(classify_stream_error("insufficient_quota"), (ErrorClass{kInsufficientQuota, false}));
  EXPECT_EQ(classify_stream_error("invalid_request_error"), (ErrorClass{kInvalidRequest, false}));
}

TEST(ClientErrors, RetryableTypes) {
  for (const char* t : {kRateLimited, kTimeout, kConflict, kServerError, kNetworkError}) {
    EXPECT_TRUE(is_retryable_type(t)) << t;
  }
  for (const char* t :
       {kInvalidRequest, kAuthenticationFailed, kPermissionDenied, kNotFound, kInsufficientQuota,
        kContentFiltered, kContextLengthExceeded, kStreamInterrupted}) {
    EXPECT_FALSE(is_retryable_type(t)) << t;
  }
}

TEST(ClientErrors, HttpErrorNamesEndpointStatusTypeCodeAndProviderMessage) {
  LlmError e = http_error(
      {"standard-2", "chat completion"}, 400,
      R"({"error":{"message":"prompt too long","type":"invalid_request_error","code":"context_length_exceeded"}})",
      {}, std::chrono::system_clock::now(), std::chrono::seconds(60), "");
  EXPECT_EQ(e.type(), kContextLengthExceeded);
  EXPECT_TRUE(e.non_retryable());
  EXPECT_EQ(e.http_status(), 400);
  EXPECT_EQ(e.error_code(), "context_length_exceeded");
  EXPECT_STREQ(e.what(),
               "endpoint \"standard-2\": chat completion failed with HTTP 400 "
               "(ContextLengthExceeded, code context_length_exceeded): prompt too long");
}

TEST(ClientErrors, TheTypeFieldServesWhenThereIsNoCode) {
  LlmError e =
      http_error({"e", "chat completion"}, 429,
                 R"({"error":{"message":"quota","type":"insufficient_quota","code":null}})", {},
                 std::chrono::system_clock::now(), std::chrono::seconds(60), "");
  EXPECT_EQ(e.type(), kInsufficientQuota);
  EXPECT_TRUE(e.non_retryable());
}

TEST(ClientErrors, AuthenticationFailureSaysWhereKeysComeFrom) {
  LlmError e = http_error({"e", "chat completion"}, 401, "", {}, std::chrono::system_clock::now(),
                          std::chrono::seconds(60), "");
  EXPECT_NE(std::string(e.what()).find("api_key_env / api_key_file"), std::string::npos)
      << e.what();
}

TEST(ClientErrors, NonJsonBodiesAreQuotedShortenedAndValidUtf8) {
  std::string body(400, 'x');
  body.replace(299, 2, "\xC3\xA9");  // an "é" across the cut
  LlmError e = http_error({"e", "embeddings"}, 502, body, {}, std::chrono::system_clock::now(),
                          std::chrono::seconds(60), "");
  std::string m = e.what();
  EXPECT_EQ(e.type(), kServerError);
  EXPECT_NE(m.find("xxx..."), std::string::npos) << m;
  EXPECT_EQ(m.find("\xC3..."), std::string::npos) << "a UTF-8 sequence was split";
  EXPECT_LT(m.size(), 400u);
}

TEST(ClientErrors, KeysEchoedByTheProviderAreRedacted) {
  const std::string key = "sk-test-0123456789abcdef";
  LlmError e = http_error(
      {"e", "chat completion"}, 401,
      R"J({"error":{"message":"Incorrect API key provided: sk-test-0123456789abcdef (header Bearer sk-other-999)"}})J",
      {}, std::chrono::system_clock::now(), std::chrono::seconds(60), key);
  std::string m = e.what();
  EXPECT_EQ(m.find(key), std::string::npos) << m;
  EXPECT_EQ(m.find("sk-other-999"), std::string::npos) << m;
  EXPECT_NE(m.find("[redacted]"), std::string::npos) << m;
}

TEST(ClientErrors, RedactReplacesEveryOccurrence) {
  EXPECT_EQ(redact("k1 and k1", "k1"), "[redacted] and [redacted]");
  EXPECT_EQ(redact("nothing here", ""), "nothing here");
  EXPECT_EQ(redact("Authorization: Bearer abc.def\"", ""), "Authorization: Bearer [redacted]\"");
}

TEST(ClientErrors, Durations) {
  EXPECT_EQ(format_duration(std::chrono::milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(2000)), "2s");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(125000)), "2m5s");
}

TEST(ClientErrors, ConstructorChecksTheConfigNamingTheField) {
  EndpointConfig c;
  c.name = "bad";
  c.base_url = "127.0.0.1:8080/v1";
  try {
    OpenAiClient client(c);
    FAIL() << "a base_url without scheme was accepted";
  } catch (const OptionsError& e) {
    EXPECT_EQ(e.field(), "base_url");
    EXPECT_NE(std::string(e.what()).find("\"bad\""), std::string::npos) << e.what();
  }
  c.base_url = "http://127.0.0.1:1/v1";
  c.request_timeout = std::chrono::milliseconds(0);
  try {
    OpenAiClient client(c);
    FAIL() << "a zero request_timeout was accepted";
  } catch (const OptionsError& e) {
    EXPECT_EQ(e.field(), "request_timeout");
  }
}

}  // namespace
}  // namespace cairn::ai
