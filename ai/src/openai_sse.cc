// The server-sent-events parser (see openai_sse.h).
#include "openai_sse.h"

namespace cairn::ai {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

std::vector<SseEvent> SseParser::feed(std::string_view bytes) {
  std::vector<SseEvent> out;
  for (char c : bytes) {
    if (!bom_done_) {
      // The BOM may itself arrive split: hold its bytes until it is whole or proven absent.
      if (c == kBom[bom_matched_]) {
        if (++bom_matched_ == kBom.size()) {
          bom_done_ = true;
        }
        continue;
      }
      bom_done_ = true;
      std::string_view held = kBom.substr(0, bom_matched_);
      for (char h : held) {
        consume(h, out);
      }
    }
    consume(c, out);
  }
  return out;
}

std::vector<SseEvent> SseParser::finish() {
  std::vector<SseEvent> out;
  if (!bom_done_) {
    for (char h : kBom.substr(0, bom_matched_)) {
      consume(h, out);
    }
  }
  if (!line_.empty()) {
    end_line(out);
  }
  if (has_data_) {
    dispatch(out);
  }
  *this = SseParser();
  return out;
}

void SseParser::consume(char c, std::vector<SseEvent>& out) {
  if (after_cr_) {
    after_cr_ = false;
    if (c == '\n') {
      return;  // the LF of a CRLF: the line already ended at the CR
    }
  }
  if (c == '\r') {
    after_cr_ = true;
    end_line(out);
  } else if (c == '\n') {
    end_line(out);
  } else {
    line_.push_back(c);
  }
}

void SseParser::end_line(std::vector<SseEvent>& out) {
  std::string line;
  line.swap(line_);
  if (line.empty()) {
    dispatch(out);
    return;
  }
  if (line[0] == ':') {
    return;  // a comment: servers send them as keep-alives
  }
  std::string_view field = line;
  std::string_view value;
  if (size_t colon = line.find(':'); colon != std::string::npos) {
    field = std::string_view(line).substr(0, colon);
    value = std::string_view(line).substr(colon + 1);
    if (!value.empty() && value[0] == ' ') {
      value.remove_prefix(1);
    }
  }
  if (field == "data") {
    if (has_data_) {
      data_.push_back('\n');
    }
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_ = value;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      id_ = value;
    }
  }
  // "retry" and unknown fields are ignored: the client never reconnects on its own.
}

void SseParser::dispatch(std::vector<SseEvent>& out) {
  if (has_data_) {
    out.push_back(SseEvent{event_, data_, id_});
  }
  // The id persists across events (last event id); data and type do not.
  data_.clear();
  has_data_ = false;
  event_.clear();
}

}  // namespace cairn::ai
