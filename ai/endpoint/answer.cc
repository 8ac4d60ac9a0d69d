#include "ai/endpoint/answer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
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

std::set<std::string> terms(const std::string& text) {
  std::set<std::string> out;
  for (const std::string& w : words(text)) {
    if (!is_stop_word(w)) {
      out.insert(stem_word(w));
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

// Question terms and their weights: the question's own words count fully, the rest of the
// user's message (the ticket around the question) less.
using Query = std::map<std::string, double>;

constexpr double kQuestionWeight = 1.0;
constexpr double kSurroundingWeight = 0.4;
constexpr size_t kMinCandidateWords = 4;

struct Candidate {
  std::string text;
  std::set<std::string> terms;
  double quality = 1.0;  // below 1 for fragments (a chunk cut mid-sentence)
  size_t block = 0;      // the paragraph or retrieved chunk it comes from
  // How often each of its terms occurs in its block (title and source tag included): a
  // sentence about "refunds" in the refunds chunk beats one that mentions them in passing.
  std::map<std::string, int> block_tf;
};

Query query_of(const std::string& question, const std::string& message) {
  Query q;
  for (const std::string& t : terms(message)) {
    q[t] = kSurroundingWeight;
  }
  for (const std::string& t : terms(question)) {
    q[t] = kQuestionWeight;
  }
  return q;
}

// A candidate sentence, or nullopt when it is too short to answer anything (a heading).
std::optional<Candidate> candidate(std::string text) {
  if (words(text).size() < kMinCandidateWords) {
    return std::nullopt;
  }
  Candidate c;
  c.terms = terms(text);
  if (c.terms.empty()) {
    return std::nullopt;
  }
  auto first = static_cast<unsigned char>(text.front());
  char last = text.back();
  bool whole = !std::islower(first) && (last == '.' || last == '!' || last == '?' || last == ':');
  c.quality = whole ? 1.0 : 0.6;
  c.text = std::move(text);
  return c;
}

// The sentences that best answer `query` among `candidates`: scored by the query terms they
// contain, each weighted by the query and by its rarity among the candidates (so "refund"
// outweighs a word every sentence has), times the candidate's quality; the best one, then
// those of its block scoring at least half as well and those of other blocks nearly as well
// (an answer stays on one topic), up to kMaxAnswerSentences, in their original order, none
// repeated (overlapping chunks repeat sentences). Empty when none shares a term.
std::vector<std::string> best_sentences(const std::vector<Candidate>& candidates,
                                        const Query& query) {
  std::map<std::string, int> df;
  for (const Candidate& c : candidates) {
    for (const std::string& t : c.terms) {
      if (query.count(t) != 0) {
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
        score += query.at(t) * std::log(1.0 + static_cast<double>(candidates.size()) / it->second);
      }
    }
    if (score > 0) {
      double focus = 0;
      for (const auto& [t, n] : candidates[i].block_tf) {
        focus += query.count(t) != 0 ? query.at(t) * std::log(static_cast<double>(n)) : 0;
      }
      scored.emplace_back(score * candidates[i].quality * (1 + 0.25 * focus), i);
    }
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<size_t> picked;
  for (const auto& [score, index] : scored) {
    if (picked.size() == kMaxAnswerSentences || score < scored.front().first * 0.5) {
      break;
    }
    bool same_block = candidates[index].block == candidates[scored.front().second].block;
    if (!same_block && score < scored.front().first * 0.9) {
      continue;
    }
    const std::string& text = candidates[index].text;
    bool repeated = false;
    for (size_t p : picked) {
      const std::string& other = candidates[p].text;
      repeated |= other.find(text) != std::string::npos || text.find(other) != std::string::npos;
    }
    if (!repeated) {
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

// The customer's own words ("I ordered a blender", "my card") are not an answer to them.
bool is_first_person(const std::string& sentence) {
  for (const std::string& w : words(sentence)) {
    if (w == "i" || w == "my" || w == "me" || w == "mine" || w == "we" || w == "our") {
      return true;
    }
  }
  return false;
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

std::string answer_from_context(const ChatRequest& request, size_t user,
                                const std::string& question) {
  std::vector<Candidate> candidates;
  size_t block_id = 0;
  for (size_t i = 0; i < request.messages.size(); ++i) {
    const Message& m = request.messages[i];
    if (m.role != "system" && m.role != "user" && m.role != "developer" && m.role != "tool") {
      continue;
    }
    for (const std::string& block : split_blocks(m.content)) {
      ++block_id;
      std::map<std::string, int> tf;
      for (const std::string& w : words(block)) {
        ++tf[stem_word(w)];
      }
      for (std::string& s : split_sentences(block)) {
        bool instruction = m.role != "user" && m.role != "tool" && is_instruction(s);
        bool asked = i == user && (s == question || is_first_person(s));
        if (instruction || asked) {
          continue;
        }
        if (auto c = candidate(std::move(s))) {
          c->block = block_id;
          for (const std::string& t : c->terms) {
            c->block_tf[t] = tf[t];
          }
          candidates.push_back(std::move(*c));
        }
      }
    }
  }
  std::vector<std::string> best =
      best_sentences(candidates, query_of(question, request.messages[user].content));
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
      Candidate c;
      c.terms = terms(s);
      c.text = std::move(s);
      candidates.push_back(std::move(c));
    }
    std::vector<std::string> best =
        best_sentences(candidates, query_of(question, request.messages[user].content));
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

std::vector<std::string> split_blocks(const std::string& text) {
  std::vector<std::string> blocks(1);
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = std::min(text.find('\n', pos), text.size());
    std::string line = text.substr(pos, end - pos);
    std::string t = trim(line);
    if ((t.empty() || t[0] == '[') && !trim(blocks.back()).empty()) {
      blocks.emplace_back();
    }
    blocks.back() += line + "\n";
    pos = end + 1;
  }
  std::vector<std::string> out;
  for (std::string& b : blocks) {
    if (!trim(b).empty()) {
      out.push_back(std::move(b));
    }
  }
  return out;
}

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
    std::string arguments = build_arguments(*tool, question)
                                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    c.tool_calls.push_back({tool_call_id(tool->name, arguments, 0), tool->name, arguments});
    c.finish_reason = "tool_calls";
    c.completion_tokens = count_tokens(tool->name) + count_tokens(arguments);
    return c;
  } else {
    c.content = answer_from_context(request, user, question);
  }
  c.content = structured_answer(request.response_format, c.content, question);
  apply_limits(request, &c);
  c.completion_tokens = count_tokens(c.content);
  return c;
}

}  // namespace cairn::ai::endpoint
