// How the deterministic endpoint answers a chat request: extractive answers from the supplied
// context, a tool call when an offered tool fits the question, then an answer from the tool's
// result. A pure function of the request: the same request gives the same completion.
#pragma once

#include <string>
#include <vector>

#include "cairn/ai/types.h"

namespace cairn::ai::endpoint {

struct Completion {
  std::string content;
  std::vector<ToolCall> tool_calls;
  std::string finish_reason;  // "stop", "length", "tool_calls"
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// The completion of `request` (its max_tokens and stop sequences applied; usage counted with
// cairn/ai/tokenizer.h). REQUIRES: request.messages is not empty.
Completion generate(const ChatRequest& request);

// The question the answer is about: the last sentence ending in '?' of the last user message,
// else that whole message (trimmed). Empty when there is no user message.
std::string question_of(const std::vector<Message>& messages);

// `text` split into blocks: paragraphs (at blank lines) and retrieved chunks (a line starting
// with a "[source]" tag opens a new block).
std::vector<std::string> split_blocks(const std::string& text);

// `text` split into sentences (at '.', '!' or '?' followed by a space, and at line breaks),
// trimmed, list markers removed, empty ones dropped.
std::vector<std::string> split_sentences(const std::string& text);

}  // namespace cairn::ai::endpoint
