#pragma once
// Where a text/event-stream response is between its events, from the bytes
// the backend sends (the WHATWG "server-sent events" syntax): an event ends
// with an empty line, and a line ends with CRLF, LF or CR. lbd may insert
// bytes of its own — a ": keepalive" comment, a final "event: error" — only
// where they cannot land inside an event, i.e. at an event boundary; and the
// time between event ends is the stream's inter-token latency.
//
// Constant memory whatever the input: two flags and a counter, no buffering.
// A stream that never sends an empty line is simply never at a boundary
// (nothing is ever inserted into it).
#include <cstddef>
#include <cstdint>

namespace lb::http {

class SseEvents {
 public:
  // Feeds body bytes as they go to the client; returns how many events
  // ended in them (an empty line after at least one non-empty line).
  size_t feed(const char* data, size_t len);

  // True when the bytes so far end between events: nothing sent yet, or
  // the last bytes ended an event (or a run of empty lines).
  bool at_boundary() const { return at_line_start_ && line_empty_ && !in_event_; }
  // True while a CR just ended a line and an LF may still follow as part of
  // the same line ending: bytes inserted now would split a CRLF. Inserting
  // is still safe at a boundary (an LF that follows only ends an empty line).
  bool after_cr() const { return after_cr_; }
  uint64_t events() const { return events_; }

 private:
  bool at_line_start_ = true;  // the next byte starts a line
  bool line_empty_ = true;     // the current (or just ended) line had no byte
  bool in_event_ = false;      // a non-empty line since the last event end
  bool after_cr_ = false;
  uint64_t events_ = 0;
};

}  // namespace lb::http
