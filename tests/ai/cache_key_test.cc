// The cache key: canonical (same request → same key, whatever the JSON spelling) and complete
// (changing any one output-changing parameter changes the key); which attempts are cacheable.
#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "cairn/ai/cache.h"

namespace cairn::ai {
namespace {

ChatAttempt base() {
  ChatAttempt a;
  a.request.messages = {Message{"system", "You answer from the context."},
                        Message{"user", "How do I reset my password?"}};
  a.request.temperature = 0.0;
  a.request.max_tokens = 256;
  a.request.seed = 7;
  a.request.stop = {"\n\n"};
  ToolSpec tool;
  tool.name = "lookup_order";
  tool.description = "Find an order";
  tool.parameters =
      nlohmann::json::parse(R"({"type":"object","properties":{"id":{"type":"string"}}})");
  a.request.tools = {tool};
  a.prompt_version = "v1";
  return a;
}

std::string key_of(const ChatAttempt& a, const std::string& target = "economy",
                   const std::string& model = "cairn-echo", const std::string& ns = "default") {
  return ResponseCache::cache_key(a, target, model, ns);
}

TEST(CacheKey, IsSha256Hex) {
  std::string k = key_of(base());
  EXPECT_EQ(k.size(), 64u);
  EXPECT_EQ(k.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(k, key_of(base()));
}

TEST(CacheKey, EveryOutputChangingParameterChangesTheKey) {
  const std::string k0 = key_of(base());
  std::vector<std::pair<std::string, std::function<void(ChatAttempt&)>>> changes = {
      {"request.model", [](ChatAttempt& a) { a.request.model = "other"; }},
      {"message content", [](ChatAttempt& a) { a.request.messages[1].content += "!"; }},
      {"message role", [](ChatAttempt& a) { a.request.messages[0].role = "user"; }},
      {"message name", [](ChatAttempt& a) { a.request.messages[1].name = "ann"; }},
      {"message order",
       [](ChatAttempt& a) { std::swap(a.request.messages[0], a.request.messages[1]); }},
      {"extra message",
       [](ChatAttempt& a) {
         a.request.messages.push_back({"user", "more"});
       }},
      {"tool_call_id", [](ChatAttempt& a) { a.request.messages[1].tool_call_id = "c1"; }},
      {"tool_calls",
       [](ChatAttempt& a) {
         a.request.messages[0].tool_calls = {ToolCall{"c1", "f", "{}"}};
       }},
      {"tool call arguments",
       [](ChatAttempt& a) {
         a.request.messages[0].tool_calls = {ToolCall{"c1", "f", "{\"x\":1}"}};
       }},
      {"content_ref", [](ChatAttempt& a) { a.request.messages[1].content_ref = "blob:sha256:ab"; }},
      {"temperature", [](ChatAttempt& a) { a.request.temperature = 0.2; }},
      {"temperature unset", [](ChatAttempt& a) { a.request.temperature.reset(); }},
      {"max_tokens", [](ChatAttempt& a) { a.request.max_tokens = 257; }},
      {"stop", [](ChatAttempt& a) { a.request.stop = {"END"}; }},
      {"seed", [](ChatAttempt& a) { a.request.seed = 8; }},
      {"seed unset", [](ChatAttempt& a) { a.request.seed.reset(); }},
      {"tool name", [](ChatAttempt& a) { a.request.tools[0].name = "lookup"; }},
      {"tool description", [](ChatAttempt& a) { a.request.tools[0].description = "x"; }},
      {"tool parameters",
       [](ChatAttempt& a) { a.request.tools[0].parameters["required"] = {"id"}; }},
      {"no tools", [](ChatAttempt& a) { a.request.tools.clear(); }},
      {"tool_choice", [](ChatAttempt& a) { a.request.tool_choice = "required"; }},
      {"response_format",
       [](ChatAttempt& a) {
         a.request.response_format = {{"type", "json_object"}};
       }},
      {"prompt_version", [](ChatAttempt& a) { a.prompt_version = "v2"; }},
  };
  std::set<std::string> keys{k0};
  for (auto& [what, change] : changes) {
    ChatAttempt a = base();
    change(a);
    std::string k = key_of(a);
    EXPECT_NE(k, k0) << what << " did not change the key";
    keys.insert(k);
  }
  EXPECT_EQ(keys.size(), changes.size() + 1) << "two changes gave the same key";
  // The arguments of cache_key itself.
  EXPECT_NE(key_of(base(), "premium"), k0) << "endpoint_or_tier";
  EXPECT_NE(key_of(base(), "economy", "gpt-4o"), k0) << "model";
  EXPECT_NE(key_of(base(), "economy", "cairn-echo", "team-b"), k0) << "namespace";
}

TEST(CacheKey, FlagsThatDoNotChangeTheOutputKeepTheKey) {
  const std::string k0 = key_of(base());
  ChatAttempt a = base();
  a.tier = "premium";  // the caller passes the tier it routes to as endpoint_or_tier
  a.use_cache = true;
  a.cache_nondeterministic = true;
  EXPECT_EQ(key_of(a), k0);
}

TEST(CacheKey, NumbersAndKeyOrderAreNormalised) {
  ChatAttempt a = base();
  ChatAttempt b = base();
  b.request.temperature = -0.0;
  EXPECT_EQ(key_of(a), key_of(b));
  a.request.tools[0].parameters =
      nlohmann::json::parse(R"({"type":"object","maxItems":3.0,"properties":{}})");
  b.request.tools[0].parameters =
      nlohmann::json::parse(R"({"properties":{},"maxItems":3,"type":"object"})");
  EXPECT_EQ(key_of(a), key_of(b));
  b.request.tools[0].parameters["maxItems"] = 3u;
  EXPECT_EQ(key_of(a), key_of(b));
  b.request.tools[0].parameters["maxItems"] = 3.5;
  EXPECT_NE(key_of(a), key_of(b));
  std::string text = ResponseCache::canonical_json(a, "economy", "m", "ns");
  EXPECT_EQ(text.find(' '), text.find("You answer") + 3) << "no whitespace outside strings";
  EXPECT_LT(text.find("\"model\""), text.find("\"namespace\"")) << "sorted keys";
}

TEST(CacheKey, InvalidUtf8KeepsBytesApart) {
  ChatAttempt a = base();
  ChatAttempt b = base();
  a.request.messages[1].content = std::string("caf\xe9", 4);
  b.request.messages[1].content = std::string("caf\xe8", 4);
  EXPECT_NE(key_of(a), key_of(b));
  EXPECT_EQ(key_of(a), key_of(a));
}

TEST(CacheKey, Cacheable) {
  ChatAttempt a = base();
  EXPECT_TRUE(ResponseCache::cacheable(a));
  a.request.temperature = 0.7;
  EXPECT_FALSE(ResponseCache::cacheable(a));
  a.cache_nondeterministic = true;
  EXPECT_TRUE(ResponseCache::cacheable(a));
  a = base();
  a.request.temperature.reset();  // the provider's default is not 0
  EXPECT_FALSE(ResponseCache::cacheable(a));
  a = base();
  a.stream = true;
  EXPECT_FALSE(ResponseCache::cacheable(a));
  a = base();
  a.use_cache = false;
  EXPECT_FALSE(ResponseCache::cacheable(a));
}

}  // namespace
}  // namespace cairn::ai
