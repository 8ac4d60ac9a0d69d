#include "ai/endpoint/answer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "ai/endpoint/tools.h"
#include "cairn/ai/tokenizer.h"

namespace cairn::ai::endpoint {
namespace {

constexpr size_t kMaxAnswerSentences = 3;
constexpr const char* kNoAnswer = "I could not find the answer to that in the provided context.";

std::string trim(const std::string& s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) {
    ++b;
  }
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) {
    --e;
  }
  return s.substr(b, e - b);
}

std::string stem(const std::string& w) {
  for (const char* suffix : {"ing", "ed", "es", "s"}) {
    size_t n = std::char_traits<char>::length(suffix);
    if (w.size() > n + 2 && w.compare(w.size() - n, n, suffix) == 0) {
      return w.substr(0, w.size() - n);
    }
  }
  return w;
}

std::set<std::string> terms(const std::string& text) {
  std::set<std::string> out;
  for (const std::string& w : words(text)) {
    if (!is_stop_word(w)) {
      out.insert(stem(w));
    }
  }
  return out;
}

// Sentences of a system prompt that instruct the model rather than inform it.
bool is_instruction(const std::string& sentence) {
  std::string lower;
  for (char c : sentence.substr(0, 16)) {
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  for (const char* p : {"you are", "answer", "respond", "use the", "reply", "be concise"}) {
    if (lower.rfind(p, 0) == 0) {
      return true;
    }
  }
  return false;
}

// "Context: The office opens at 9." → "The office opens at 9."; "[kb/refunds] Refunds ..." →
// "Refunds ...": labels and source tags are framing, not content.
std::string strip_label(std::string s) {
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close != std::string::npos && close < 64) {
      s = trim(s.substr(close + 1));
    }
  }
  size_t colon = s.find(": ");
  if (colon != std::string::npos && colon > 0 && colon <= 16 &&
      std::all_of(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(colon),
                  [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; })) {
    s = trim(s.substr(colon + 2));
  }
  return s;
}

struct Candidate {
  std::string text;
  std::set<std::string> terms;
};

// The sentences that best answer `question` among `candidates`: scored by the question terms
// they contain, each weighted by its rarity among the candidates (so "refund" outweighs a word
// every sentence has); the best one and those scoring at least half as well, up to
// kMaxAnswerSentences, in their original order. Empty when none shares a term.
std::vector<std::string> best_sentences(const std::vector<Candidate>& candidates,
                                        const std::set<std::string>& question) {
  std::map<std::string, int> df;
  for (const Candidate& c : candidates) {
    for (const std::string& t : c.terms) {
      if (question.count(t) != 0) {
        ++df[t];
      }
    }
  }
  std::vector<std::pair<double, size_t>> scored;
  for (size_t i = 0; i < candidates.size(); ++i) {
    double score = 0;
    for (const std::string& t : candidates[i].terms) {
      auto it = df.find(t);
      if (it != df.end()) {
        score += std::log(1.0 + static_cast<double>(candidates.size()) / it->second);
      }
    }
    if (score > 0) {
      scored.emplace_back(score, i);
    }
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<size_t> picked;
  std::set<std::string> seen;
  for (const auto& [score, index] : scored) {
    if (picked.size() == kMaxAnswerSentences || score < scored.front().first * 0.5) {
      break;
    }
    if (seen.insert(candidates[index].text).second) {
      picked.push_back(index);
    }
  }
  std::sort(picked.begin(), picked.end());
  std::vector<std::string> out;
  for (size_t i : picked) {
    out.push_back(candidates[i].text);
  }
  return out;
}

std::string join(const std::vector<std::string>& sentences) {
  std::string out;
  for (const std::string& s : sentences) {
    if (!out.empty()) {
      out += ' ';
    }
    out += s;
    char last = out.back();
    if (last != '.' && last != '!' && last != '?') {
      out += '.';
    }
  }
  return out;
}

size_t last_user_index(const std::vector<Message>& messages) {
  for (size_t i = messages.size(); i > 0; --i) {
    if (messages[i - 1].role == "user") {
      return i - 1;
    }
  }
  return messages.size();
}

// The name of the tool whose call `tool_call_id` answers, from the assistant messages.
std::string tool_name_for(const std::vector<Message>& messages, const Message& result) {
  if (!result.name.empty()) {
    return result.name;
  }
  for (const Message& m : messages) {
    for (const ToolCall& call : m.tool_calls) {
      if (call.id == result.tool_call_id) {
        return call.name;
      }
    }
  }
  return "the tool";
}

std::string answer_from_context(const ChatRequest& request, const std::string& question) {
  std::vector<Candidate> candidates;
  for (const Message& m : request.messages) {
    if (m.role != "system" && m.role != "user" && m.role != "developer" && m.role != "tool") {
      continue;
    }
    for (std::string& s : split_sentences(m.content)) {
      if (s == question || (m.role != "user" && m.role != "tool" && is_instruction(s))) {
        continue;
      }
      auto t = terms(s);
      if (!t.empty()) {
        candidates.push_back({std::move(s), std::move(t)});
      }
    }
  }
  std::vector<std::string> best = best_sentences(candidates, terms(question));
  return best.empty() ? kNoAnswer : join(best);
}

std::string answer_from_tools(const ChatRequest& request, size_t user,
                              const std::string& question) {
  std::vector<std::string> parts;
  for (size_t i = user + 1; i < request.messages.size(); ++i) {
    const Message& m = request.messages[i];
    if (m.role != "tool") {
      continue;
    }
    std::string rendered = render_tool_result(m.content);
    std::vector<Candidate> candidates;
    for (std::string& s : split_sentences(rendered)) {
      auto t = terms(s);
      candidates.push_back({std::move(s), std::move(t)});
    }
    std::vector<std::string> best = best_sentences(candidates, terms(question));
    if (best.empty()) {
      for (size_t k = 0; k < candidates.size() && k < kMaxAnswerSentences; ++k) {
        best.push_back(candidates[k].text);
      }
    }
    std::string text = join(best);
    parts.push_back("According to " + tool_name_for(request.messages, m) + ", " +
                    (text.empty() ? "there is nothing to report." : text));
  }
  return join(parts);
}

// Cuts `content` at the first stop sequence and at max_tokens; sets the finish reason.
void apply_limits(const ChatRequest& request, Completion* c) {
  size_t cut = std::string::npos;
  for (const std::string& stop : request.stop) {
    if (!stop.empty()) {
      cut = std::min(cut, c->content.find(stop));
    }
  }
  if (cut != std::string::npos) {
    c->content.resize(cut);
  }
  if (request.max_tokens && *request.max_tokens > 0) {
    auto pieces = token_pieces(c->content);
    if (pieces.size() > static_cast<size_t>(*request.max_tokens)) {
      std::string_view last = pieces[static_cast<size_t>(*request.max_tokens) - 1];
      c->content.resize(static_cast<size_t>(last.data() + last.size() - c->content.data()));
      c->finish_reason = "length";
    }
  }
}

}  // namespace

std::vector<std::string> split_sentences(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    std::string s = trim(cur);
    cur.clear();
    while (!s.empty() && (s[0] == '-' || s[0] == '*' || s[0] == '#' || s[0] == '>')) {
      s = trim(s.substr(1));
    }
    s = strip_label(s);
    if (!s.empty()) {
      out.push_back(s);
    }
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      flush();
      continue;
    }
    cur.push_back(c);
    bool end = (c == '.' || c == '!' || c == '?') &&
               (i + 1 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 1])));
    if (end) {
      flush();
    }
  }
  flush();
  return out;
}

std::string question_of(const std::vector<Message>& messages) {
  size_t user = last_user_index(messages);
  if (user == messages.size()) {
    return "";
  }
  std::vector<std::string> sentences = split_sentences(messages[user].content);
  for (size_t i = sentences.size(); i > 0; --i) {
    if (sentences[i - 1].back() == '?') {
      return sentences[i - 1];
    }
  }
  return trim(messages[user].content);
}

Completion generate(const ChatRequest& request) {
  Completion c;
  c.prompt_tokens = count_prompt_tokens(request);
  c.finish_reason = "stop";
  size_t user = last_user_index(request.messages);
  std::string question = question_of(request.messages);
  bool tool_result_since_question = false;
  for (size_t i = user + 1; i < request.messages.size(); ++i) {
    tool_result_since_question |= request.messages[i].role == "tool";
  }
  if (user == request.messages.size()) {
    c.content = "There is no question to answer: send a user message.";
  } else if (tool_result_since_question) {
    c.content = answer_from_tools(request, user, question);
  } else if (auto tool = choose_tool(request, question)) {
    std::string arguments = build_arguments(*tool, question).dump();
    c.tool_calls.push_back({tool_call_id(tool->name, arguments, 0), tool->name, arguments});
    c.finish_reason = "tool_calls";
    c.completion_tokens = count_tokens(tool->name) + count_tokens(arguments);
    return c;
  } else {
    c.content = answer_from_context(request, question);
  }
  apply_limits(request, &c);
  c.completion_tokens = count_tokens(c.content);
  return c;
}

}  // namespace cairn::ai::endpoint
