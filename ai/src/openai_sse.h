// SseParser: the server-sent-events wire format (the WHATWG "text/event-stream" rules) as a
// push parser fed whatever byte splits the network delivers. Lines end in LF, CRLF or CR (a CRLF
// split between two feeds counts once); "data:" lines accumulate (joined by LF), "event:" and
// "id:" set the event's fields, lines starting with ':' are comments (keep-alives), and a blank
// line dispatches the event. A leading UTF-8 BOM is skipped. Single-threaded value type.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cairn::ai {

struct SseEvent {
  std::string event;  // empty: the default type "message"
  std::string data;   // the data lines joined by '\n'
  std::string id;
  bool operator==(const SseEvent&) const = default;
};

class SseParser {
 public:
  // Consumes `bytes` and returns the events they complete, in order. Bytes of an unfinished
  // line or event are kept for the next call.
  std::vector<SseEvent> feed(std::string_view bytes);

  // The end of the stream: an event whose blank line never came is returned when it has data
  // (lenient: some servers close right after their last data line); the parser is reset.
  std::vector<SseEvent> finish();

 private:
  void consume(char c, std::vector<SseEvent>& out);
  void end_line(std::vector<SseEvent>& out);
  void dispatch(std::vector<SseEvent>& out);

  std::string line_;
  bool after_cr_ = false;   // the last byte was CR: an LF right after it ends no second line
  size_t bom_matched_ = 0;  // bytes of a leading BOM matched so far
  bool bom_done_ = false;
  std::string data_;
  bool has_data_ = false;
  std::string event_;
  std::string id_;
};

}  // namespace cairn::ai
